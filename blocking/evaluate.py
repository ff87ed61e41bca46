"""Held-out precision/recall: ``python -m blocking.evaluate`` prints a Markdown table.

The held-out split (see :mod:`blocking.corpus`) is never trained on. A delivered text
counts as ``ham``; blocking is counted both per category and as block-vs-deliver.
The output is also written to ``blocking/model/heldout.md`` for docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from blocking.corpus import Example, build
from blocking.filter import MessageFilter
from blocking.model import REPORT_PATH as REPORT
from blocking.types import CATEGORIES, Category


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def report(examples: Sequence[Example], predicted: Sequence[Category]) -> str:
    lines = [
        "| class | support | precision | recall | F1 |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for c in CATEGORIES:
        tp = sum(e.label is c and p is c for e, p in zip(examples, predicted, strict=True))
        fp = sum(e.label is not c and p is c for e, p in zip(examples, predicted, strict=True))
        fn = sum(e.label is c and p is not c for e, p in zip(examples, predicted, strict=True))
        p, r, f = _prf(tp, fp, fn)
        support = sum(e.label is c for e in examples)
        lines.append(f"| {c.value} | {support} | {p:.3f} | {r:.3f} | {f:.3f} |")
    pairs = list(zip(examples, predicted, strict=True))
    for language in ("all", "ko", "en"):
        chosen = [(e, p) for e, p in pairs if language in ("all", e.language)]
        tp = sum(e.label is not Category.HAM and p is not Category.HAM for e, p in chosen)
        fp = sum(e.label is Category.HAM and p is not Category.HAM for e, p in chosen)
        fn = sum(e.label is not Category.HAM and p is Category.HAM for e, p in chosen)
        p, r, f = _prf(tp, fp, fn)
        lines.append(f"| **block** ({language}) | {tp + fn} | {p:.3f} | {r:.3f} | {f:.3f} |")
    ham = [(e, p) for e, p in pairs if e.label is Category.HAM]
    false_blocks = sum(p is not Category.HAM for _e, p in ham)
    lines.append("")
    lines.append(f"Ham falsely blocked: {false_blocks} of {len(ham)}.")
    return "\n".join(lines)


def main() -> None:
    _train, held_out = build()
    verdicts = MessageFilter.default().judge_many([e.text for e in held_out])
    text = (
        f"Held-out split: {len(held_out)} texts "
        f"({sum(e.language == 'ko' for e in held_out)} Korean, "
        f"{sum(e.language == 'en' for e in held_out)} English), never trained on.\n\n"
        + report(held_out, [v.category for v in verdicts])
    )
    REPORT.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
