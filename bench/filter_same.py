"""Check that a speed change to the filter changed no verdict: dump everything the filter
derives from a large text set, under two checkouts, and compare the dumps byte for byte.

    .venv/bin/python bench/filter_same.py texts /tmp/texts.jsonl     # once
    mkdir /tmp/base && git archive BASE | tar -x -C /tmp/base        # the old code
    cd /tmp/base && ~-/.venv/bin/python ~-/bench/filter_same.py dump /tmp/texts.jsonl /tmp/old.out
    cd ~- && .venv/bin/python bench/filter_same.py dump /tmp/texts.jsonl /tmp/new.out
    cmp /tmp/old.out /tmp/new.out

The text set: the corpus (with the KISA cache when present), every line of the data
files, each evasion of :mod:`blocking.obfuscate` and random mixes of them, 200-character
cuts, random strings over the characters normalisation treats specially, and texts
padded with masks and dot stand-ins. ``dump`` imports the filter from the current
directory, so the same script runs against any checkout; per text it writes the
``safenum filter`` line, the outcome with its exact score, the :class:`Verdict` (every
tenth text with a sender's history, every fiftieth a burst), the normalised text, rule
flags, hits and reported hits and the n-gram sizes, then :func:`normalize` of every
seventh text.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import random
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))


def build_texts(out: Path) -> None:
    from blocking.corpus import DATA, build
    from blocking.normalize import MASKS
    from blocking.obfuscate import EVASIONS, disguise

    train, held_out = build()
    texts = [e.text for e in train + held_out]
    for path in sorted(DATA.glob("*.tsv")):
        texts += [
            ln.split("\t")[-1] for ln in path.read_text("utf-8").splitlines() if ln[:1] != "#"
        ]
    for path in [DATA / "ko_ham_public.tsv.gz", DATA / "cache" / "kisa_2022.tsv.gz"]:
        if path.exists():
            with gzip.open(path, "rt", encoding="utf-8") as f:
                texts += [ln.rstrip("\n").split("\t")[-1].replace("\\n", "\n") for ln in f]
    base = list(dict.fromkeys(texts))
    rng, fuzz = random.Random(11), random.Random(5)
    found = list(base)
    for text in rng.sample(base, min(len(base), 30_000)):
        found += [rng.choice(EVASIONS)(text, rng), disguise(text, rng)]
    found += [t[:200] for t in rng.sample(base, min(len(base), 20_000))]
    alphabet = [
        *"abcdefghijklmnopqrstuvwxyzOIL|0123456789 .-_*~/:@#?!()[]{}<>,'\"$€£%+=^\t\n\r",
        *MASKS, *"。｡ㆍᆞ·•‧∙닷컴넷케이알", "닷컴", "닷넷", "닷케이알", ".com", "dot", "[.]", "(dot)",
        " . ", ".kr", *"가나다대출카지노주차빼주세요텔레그램라인위챗광고발신국외무료거부수신",
        *"ㄱㄴㄷㄹㅁㅂㅅㅇㅈㅊㅋㅌㅍㅎㅏㅐㅑㅓㅔㅗㅜㅡㅣ", "\u1100", "\u1161", "\u11a8", "\u1112",
        *"ＡＢＣａｂｃ０１２？＊＃ⓐⓑⓝ①⑦㉠\u200b\u00ad\ufeff\u202aΣσςаеорсху𝐚𝐛🎰💰Ⅻ㎏ﬁ\u0301\u0308",
        "http://", "https://", "www.", "bit.ly/", "010", "O1O", "0l0", "080", "1588", "050",
    ]  # fmt: skip
    for _ in range(60_000):
        found.append("".join(fuzz.choice(alphabet) for _ in range(fuzz.randint(1, 60))))
    for text in rng.sample(base, min(len(base), 10_000)):
        found.append(
            "".join(c + fuzz.choice(MASKS + "。ㆍ· ") if fuzz.random() < 0.1 else c for c in text)
        )
    with out.open("w", encoding="utf-8") as f:
        for text in found:
            f.write(json.dumps({"text": text.replace("\x00", "")}, ensure_ascii=False) + "\n")
    print(f"{len(found)} texts ({len(base)} distinct from the corpus and data files)")


def dump(texts_path: Path, out_path: Path) -> None:
    from app_api.cli_filter import run
    from blocking.filter import Message, MessageFilter, shared_rules
    from blocking.normalize import normalize, normalize_batch
    from blocking.pipeline import analyse
    from blocking.sender import SenderStats

    lines = texts_path.read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines]
    mf = MessageFilter.default()
    sink = io.StringIO()
    run(lines, sink, mf)
    cli = sink.getvalue().split("\n")[:-1]
    rows = []
    for start in range(0, len(texts), 1000):
        chunk = texts[start : start + 1000]
        outcomes = mf.outcomes_of_texts(chunk)
        messages = [
            Message(t, "010", SenderStats("010", 9 if k % 50 == 0 else k % 5, timedelta(minutes=5)))
            if k % 10 == 0
            else Message(t)
            for k, t in enumerate(chunk)
        ]
        verdicts = mf.judge_many(messages)
        evidence = analyse(chunk, shared_rules(), mf._model.bits)
        reported = evidence.rules.reported()
        for i, (o, v) in enumerate(zip(outcomes, verdicts, strict=True)):
            row = [
                cli[start + i],
                [o.decision.value, o.category.value, repr(o.score)],
                [(r.text, r.json, r.ham) for r in o.reasons],
                [v.verdict.value, v.category.value, repr(v.score), list(v.reasons), v.model],
                evidence.normalised[i],
                evidence.rules.flags[i].nonzero()[0].tolist(),
                evidence.rules.hits[i],
                reported[i],
                float(evidence.ngrams.sizes[i]),
                float(evidence.ngrams.scale[i]),
            ]
            rows.append(json.dumps(row, ensure_ascii=False))
    rows += [json.dumps(["normalize", normalize(t)], ensure_ascii=False) for t in texts[::7]]
    joined = "\x01".join(normalize_batch(texts[::3])).encode("utf-8", "surrogatepass")
    rows.append(json.dumps(["normalize_batch", hashlib.sha256(joined).hexdigest()]))
    out_path.write_text("\n".join(rows) + "\n", encoding="utf-8", errors="surrogatepass")
    print(f"{len(rows)} rows for {len(texts)} texts")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("texts").add_argument("out", type=Path)
    dumping = sub.add_parser("dump")
    dumping.add_argument("texts", type=Path)
    dumping.add_argument("out", type=Path)
    args = parser.parse_args()
    if args.command == "texts":
        build_texts(args.out)
    else:
        dump(args.texts, args.out)


if __name__ == "__main__":
    main()
