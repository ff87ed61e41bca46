"""Held-out precision/recall: ``python -m blocking.evaluate`` prints Markdown tables.

The held-out split (see :mod:`blocking.corpus`: later month, whole sources, or groups)
is never trained on. A delivered text counts as ``ham``; blocking is counted per
category, per source and per language, and against the targets of issue 10. The
output is also written to ``blocking/model/heldout.md`` for docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from blocking.corpus import KISA_NOT_SPAM, Example, build
from blocking.filter import MessageFilter
from blocking.holder import load_active
from blocking.model import DEFAULT_PATH
from blocking.model import REPORT_PATH as REPORT
from blocking.types import CATEGORIES, Category

Pairs = list[tuple[Example, Category]]

COMMANDS = (
    "Written by `python -m blocking.evaluate`, after `python -m blocking.sources --kisa DIR` "
    "(blocking/data/README.md) and `python -m blocking.train`; the settings were chosen with "
    "`python -m blocking.train --select` on November 2022 (docs/benchmarks.md).\n\n"
)


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _blocked(p: Category) -> bool:
    return p is not Category.HAM


def report(examples: Sequence[Example], predicted: Sequence[Category]) -> str:
    """Per class, then block-vs-deliver per language (reports judged not spam by KISA
    are left out here: they are shown apart, in :func:`by_source`)."""
    pairs = [(e, p) for e, p in zip(examples, predicted, strict=True) if e.source != KISA_NOT_SPAM]
    lines = [
        "| class | support | precision | recall | F1 |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for c in CATEGORIES:
        tp = sum(e.label is c and p is c for e, p in pairs)
        fp = sum(e.label is not c and p is c for e, p in pairs)
        fn = sum(e.label is c and p is not c for e, p in pairs)
        p, r, f = _prf(tp, fp, fn)
        support = sum(e.label is c for e, _p in pairs)
        lines.append(f"| {c.value} | {support} | {p:.3f} | {r:.3f} | {f:.3f} |")
    for language in ("all", "ko", "en"):
        chosen = [(e, p) for e, p in pairs if language in ("all", e.language)]
        tp = sum(e.label is not Category.HAM and _blocked(p) for e, p in chosen)
        fp = sum(e.label is Category.HAM and _blocked(p) for e, p in chosen)
        fn = sum(e.label is not Category.HAM and not _blocked(p) for e, p in chosen)
        p, r, f = _prf(tp, fp, fn)
        lines.append(f"| **block** ({language}) | {tp + fn} | {p:.3f} | {r:.3f} | {f:.3f} |")
    ham = [(e, p) for e, p in pairs if e.label is Category.HAM]
    false_blocks = sum(_blocked(p) for _e, p in ham)
    lines.append("")
    lines.append(f"Ham falsely blocked: {false_blocks} of {len(ham)}.")
    return "\n".join(lines)


def by_source(pairs: Pairs) -> str:
    """Share blocked per (source, language, class, period): the held-out part of each."""
    cells: dict[tuple[str, str, str, str], list[bool]] = {}
    for e, p in pairs:
        key = (e.source, e.language, e.label.value, e.period)
        cells.setdefault(key, []).append(_blocked(p))
    lines = [
        "| source | language | class | period | texts | blocked | delivered |",
        "| --- | --- | --- | --- | ---: | ---: | ---: |",
    ]
    for (source, language, label, period), blocked in sorted(cells.items()):
        share = sum(blocked) / len(blocked)
        lines.append(
            f"| {source} | {language} | {label} | {period or '-'} | {len(blocked)} "
            f"| {share:.3f} | {1 - share:.3f} |"
        )
    return "\n".join(lines)


def by_kind(pairs: Pairs) -> str:
    """Real Korean spam blocked per KISA 스팸유형 (the reporters' own type)."""
    cells: dict[str, list[bool]] = {}
    for e, p in pairs:
        if e.source == "kisa-2022":
            cells.setdefault(e.kind or "-", []).append(_blocked(p))
    lines = ["| KISA type | texts | blocked |", "| --- | ---: | ---: |"]
    for kind, blocked in sorted(cells.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"| {kind} | {len(blocked)} | {sum(blocked) / len(blocked):.3f} |")
    return "\n".join(lines)


def targets(pairs: Pairs) -> str:
    """The numbers issue 10 sets targets for."""

    def share(chosen: list[bool]) -> str:
        return (
            f"{sum(chosen) / len(chosen):.3f} ({sum(chosen)} of {len(chosen)})" if chosen else "-"
        )

    real_spam = [_blocked(p) for e, p in pairs if e.source == "kisa-2022"]
    ko_ham = [
        not _blocked(p)
        for e, p in pairs
        if e.label is Category.HAM and e.language == "ko" and e.source != KISA_NOT_SPAM
    ]
    en_ham = [not _blocked(p) for e, p in pairs if e.label is Category.HAM and e.language == "en"]
    hand = [
        _blocked(p)
        for e, p in pairs
        if e.source == "safenum-handwritten" and e.label is not Category.HAM
    ]
    return "\n".join(
        [
            "| measure | target | held out |",
            "| --- | ---: | ---: |",
            f"| real Korean spam, ads, smishing blocked (KISA, Dec 2022) | >= 0.95 "
            f"| {share(real_spam)} |",
            f"| Korean ham delivered (NSMC, Chatbot_data, card notices, parking) | >= 0.99 "
            f"| {share(ko_ham)} |",
            f"| English ham delivered (UCI, parking) | >= 0.99 | {share(en_ham)} |",
            f"| hand-written campaigns blocked (incl. 2025 patterns) | - | {share(hand)} |",
        ]
    )


def evaluate(message_filter: MessageFilter, held_out: Sequence[Example]) -> str:
    verdicts = message_filter.judge_many([e.text for e in held_out])
    predicted = [v.category for v in verdicts]
    pairs = list(zip(held_out, predicted, strict=True))
    periods = sorted({e.period for e in held_out if e.period})
    return (
        f"Model {message_filter.version}. Held-out split: {len(held_out)} texts "
        f"({sum(e.language == 'ko' for e in held_out)} Korean, "
        f"{sum(e.language == 'en' for e in held_out)} English; dated: "
        f"{', '.join(periods) or 'none'}), never trained on.\n\n"
        + targets(pairs)
        + "\n\nPer class (KISA's not-spam reports left out):\n\n"
        + report(held_out, predicted)
        + "\n\nPer source:\n\n"
        + by_source(pairs)
        + "\n\nReal Korean spam (KISA, December 2022) by the reporters' type:\n\n"
        + by_kind(pairs)
    )


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="held-out report of a filter model")
    parser.add_argument("--model", type=str, default=str(DEFAULT_PATH))
    args = parser.parse_args()
    from pathlib import Path

    _train, held_out = build()
    text = evaluate(load_active(Path(args.model)), held_out)
    if Path(args.model) == DEFAULT_PATH:
        REPORT.write_text(COMMANDS + text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
