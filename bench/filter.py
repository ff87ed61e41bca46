"""Filter throughput on one core, as a ratio to the JSON I/O floor of the same run.

    .venv/bin/python bench/filter.py [--texts 40000]

Builds 200-character texts from the corpus in a fixed mix (:data:`MIX`: Korean and
English ham and unwanted texts, drawn from the real sources where the KISA cache is
present, plus the hand-written seeds, half of whose unwanted variants are disguised
with :mod:`blocking.obfuscate`, so the slow normalisation paths are exercised), pins
the process to one core and sets up its memory allocator as ``safenum filter`` does
(:func:`app_api.cli_filter.keep_batch_memory`), then times (a) ``json.loads`` +
``json.dumps`` of the same JSON Lines (the I/O floor) and (b)
``app_api.cli_filter.run`` on them. Prints texts/second for both, their ratio and the
held-out precision/recall.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app_api.cli_filter import keep_batch_memory, run
from blocking.corpus import build
from blocking.filter import MessageFilter
from blocking.model import REPORT_PATH
from blocking.types import Category

MIX = {
    ("ko", True): 0.40,
    ("ko", False): 0.30,
    ("en", True): 0.15,
    ("en", False): 0.15,
}
"""Share of texts per (language, is ham). Most texts to a Korean safe number are Korean
and harmless, but spam is over-represented here because it is the expensive case
(more rule hits, reasons and disguises to undo)."""


def lines(n: int, seed: int = 7) -> list[str]:
    """``n`` JSON Lines of exactly 200 characters, each built from one stratum of MIX."""
    train, held_out = build()
    pools: dict[tuple[str, bool], list[str]] = {key: [] for key in MIX}
    for e in train + held_out:
        pools[e.language, e.label is Category.HAM].append(e.text)
    rng = random.Random(seed)
    strata = rng.choices(list(MIX), weights=list(MIX.values()), k=n)
    out = []
    for key in strata:
        pool = pools[key]
        text = rng.choice(pool)
        while len(text) < 200:
            text += " " + rng.choice(pool)
        out.append(json.dumps({"text": text[:200], "sender": "01012345678"}, ensure_ascii=False))
    return out


def _best_of(
    repeat: int, work: Callable[[], object], clock: Callable[[], float] = time.perf_counter
) -> float:
    """The fastest of ``repeat`` timings: other processes only ever add time."""
    spent = []
    for _ in range(repeat):
        start = clock()
        work()
        spent.append(clock() - start)
    return min(spent)


def _json_floor(data: list[str]) -> None:
    sink = io.StringIO()
    for line in data:
        sink.write(json.dumps(json.loads(line), ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=40_000)
    parser.add_argument("--repeat", type=int, default=3, help="report the best of N runs")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):  # one core: the first of those we may run on, so
        # that ``taskset -c 1`` keeps the bench off a core others are using
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    keep_batch_memory()  # as ``safenum filter`` does, for the floor and the filter alike
    data = lines(args.texts)
    mf = MessageFilter.default()
    run(data[:2000], io.StringIO(), mf)  # warm up

    floor = _best_of(args.repeat, lambda: _json_floor(data))
    spent = _best_of(args.repeat, lambda: run(data, io.StringIO(), mf))
    # CPU time of this process: on a shared machine it leaves out the time the core was
    # given to others (not what they do to the caches).
    cpu = _best_of(args.repeat, lambda: run(data, io.StringIO(), mf), time.process_time)

    mix = ", ".join(
        f"{lang} {'ham' if ham else 'unwanted'} {share:.0%}" for (lang, ham), share in MIX.items()
    )
    print(f"texts: {len(data)} x 200 chars ({mix}), one core, best of {args.repeat}")
    print(f"json floor: {len(data) / floor:,.0f} texts/s")
    print(f"filter:     {len(data) / spent:,.0f} texts/s")
    print(f"filter CPU: {len(data) / cpu:,.0f} texts/s (process CPU time, best of {args.repeat})")
    print(f"load:       {os.getloadavg()[0]:.2f} (1-minute average, {os.cpu_count()} cores)")
    print(f"ratio filter/floor time: {spent / floor:.1f}x")
    if REPORT_PATH.exists():
        print(REPORT_PATH.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
