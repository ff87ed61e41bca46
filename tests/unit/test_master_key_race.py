"""``load_or_create_master_key``: processes starting at once all read the same whole key."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from numbering.crypto import load_or_create_master_key

RACERS = 12


def _race(path: str, barrier: Any, results: Any, pause: Any = None) -> None:
    if pause is not None:
        first, finished = pause
        real_fdopen = os.fdopen

        def first_write_waits(fd: int, *args: Any, **kwargs: Any) -> Any:
            # The first process to open its key file for writing waits (on a fact: the
            # others have all returned) before writing a byte, so the others run their
            # whole load while its file is still empty, if it is already visible.
            if first.acquire(block=False):
                for _ in range(RACERS - 1):
                    assert finished.acquire(timeout=30), "the other processes did not finish"
            return real_fdopen(fd, *args, **kwargs)

        os.fdopen = first_write_waits  # this forked child only
    barrier.wait()
    try:
        results.put(load_or_create_master_key(Path(path)).wrap_roots[1].hex())
    except Exception as exc:  # reported, not lost: the parent asserts on it
        results.put(f"error: {exc!r}")
    if pause is not None:
        pause[1].release()


@pytest.mark.parametrize("slow_writer", [False, True], ids=["free-race", "slow-first-writer"])
def test_processes_racing_on_a_fresh_key_file_all_read_the_same_key(
    tmp_path: Path, slow_writer: bool
) -> None:
    """Twelve processes start at once on a missing key file. With ``slow_writer`` the
    first one to write stops before writing its key until all others have finished:
    creating the file and then filling it hands them an empty key file."""
    ctx = multiprocessing.get_context("fork")
    path = tmp_path / "keys" / "master.key"
    barrier, results = ctx.Barrier(RACERS), ctx.Queue()
    pause = (ctx.Lock(), ctx.Semaphore(0)) if slow_writer else None
    procs = [
        ctx.Process(target=_race, args=(str(path), barrier, results, pause)) for _ in range(RACERS)
    ]
    for proc in procs:
        proc.start()
    seen = [results.get(timeout=30) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    assert not [s for s in seen if s.startswith("error")], seen
    assert len(set(seen)) == 1, seen
    assert load_or_create_master_key(path).wrap_roots[1].hex() == seen[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(path.parent) == ["master.key"]  # no temporary file left behind
