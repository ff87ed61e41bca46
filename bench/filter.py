"""Filter throughput on one core, as a ratio to the JSON I/O floor of the same run.

    .venv/bin/python bench/filter.py [--texts 40000]

Builds 200-character texts (a mix of car texts, Korean spam and English SMS), pins
the process to one core, then times (a) ``json.loads`` + ``json.dumps`` of the same
JSON Lines (the I/O floor) and (b) ``app_api.cli_filter.run`` on them. Prints
texts/second for both, their ratio and the held-out precision/recall.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app_api.cli_filter import run
from blocking.corpus import build
from blocking.filter import MessageFilter
from blocking.model import REPORT_PATH


def lines(n: int) -> list[str]:
    train, held_out = build()
    pool = [e.text for e in train + held_out]
    rng = random.Random(7)
    out = []
    for _ in range(n):
        text = rng.choice(pool)
        while len(text) < 200:
            text += " " + rng.choice(pool)
        out.append(json.dumps({"text": text[:200], "sender": "01012345678"}, ensure_ascii=False))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=40_000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    data = lines(args.texts)
    mf = MessageFilter.default()
    run(data[:2000], io.StringIO(), mf)  # warm up

    start = time.perf_counter()
    sink = io.StringIO()
    for line in data:
        sink.write(json.dumps(json.loads(line), ensure_ascii=False) + "\n")
    floor = time.perf_counter() - start

    start = time.perf_counter()
    run(data, io.StringIO(), mf)
    spent = time.perf_counter() - start

    print(f"texts: {len(data)} x 200 chars, one core")
    print(f"json floor: {len(data) / floor:,.0f} texts/s")
    print(f"filter:     {len(data) / spent:,.0f} texts/s")
    print(f"ratio filter/floor time: {spent / floor:.1f}x")
    if REPORT_PATH.exists():
        print(REPORT_PATH.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
