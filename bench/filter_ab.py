"""CPU time of ``safenum filter`` against an older checkout, in one process.

    .venv/bin/python bench/filter_ab.py OLD_DIR [--texts 40000] [--rounds 8]

On a shared machine whole-benchmark runs differ by more than a speed step of a few per
cent. This script loads the filter twice, from this checkout and from ``OLD_DIR`` (e.g.
``git archive BASE | tar -x -C OLD_DIR``), pins itself to one core, and judges the
texts of :func:`bench.filter.lines` in 2,048-text batches (``cli_filter.BATCH``),
alternating old and new ``app_api.cli_filter.run`` per batch so both see the same
load. Per round it prints the CPU time (``time.process_time``) of each and their ratio
old/new (above 1: the new code is faster), then the median of the rounds' ratios, the
median of the per-batch ratios (less swayed by a burst of load on the other core) and
the load.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parents[1]
_PACKAGES = ("blocking", "app_api")


def _ours(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in _PACKAGES)


def _load(root: Path) -> tuple[dict[str, ModuleType], Any, Any]:
    """Import the filter from ``root``: its modules, ``run`` and a loaded filter."""
    for name in [n for n in sys.modules if _ours(n)]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        from app_api.cli_filter import run
        from blocking.filter import MessageFilter

        mf = MessageFilter.default()
        import blocking.jsonlines  # noqa: F401  (run imports it lazily)
    finally:
        sys.path.remove(str(root))
    return {n: m for n, m in sys.modules.items() if _ours(n)}, run, mf


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("old", type=Path, help="checkout of the baseline")
    parser.add_argument("--texts", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    sys.path.insert(0, str(HERE / "bench"))
    from filter import lines  # bench/filter.py

    data = lines(args.texts)
    new = _load(HERE)
    old = _load(args.old.resolve())
    new[1].__globals__["keep_batch_memory"]()
    batch = int(new[1].__globals__["BATCH"])
    chunks = [data[i : i + batch] for i in range(0, len(data), batch)]

    def judge(side: tuple[dict[str, ModuleType], Any, Any], chunk: list[str]) -> float:
        sys.modules.update(side[0])
        start = time.process_time()
        side[1](chunk, io.StringIO(), side[2])
        return time.process_time() - start

    for side in (old, new):  # warm-up: caches of reasons, first-use costs
        judge(side, chunks[0])
    ratios, pairs = [], []
    for number in range(1, args.rounds + 1):
        spent = {"old": 0.0, "new": 0.0}
        for i, chunk in enumerate(chunks):
            order = (
                (("old", old), ("new", new)) if (i + number) % 2 else (("new", new), ("old", old))
            )
            took = {label: judge(side, chunk) for label, side in order}
            spent["old"] += took["old"]
            spent["new"] += took["new"]
            pairs.append(took["old"] / took["new"])
        ratio = spent["old"] / spent["new"]
        ratios.append(ratio)
        print(
            f"round {number}: old {len(data) / spent['old']:,.0f} texts/s CPU, "
            f"new {len(data) / spent['new']:,.0f}, old/new {ratio:.3f}",
            flush=True,
        )
    load = os.getloadavg()
    print(
        f"median old/new CPU time: {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f}; {args.rounds} rounds of "
        f"{len(data)} texts); median of the {len(pairs)} per-batch ratios "
        f"{statistics.median(pairs):.3f}; load {load[0]:.1f} {load[1]:.1f} ({os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
