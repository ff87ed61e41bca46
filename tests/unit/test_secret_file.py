"""``ensure_secret_file``: the first writer wins, and nobody ever reads a half-written file."""

from __future__ import annotations

import multiprocessing
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from app_api.pbx_config import ensure_secret_file

RACERS = 12


def _race(path: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        results.put(ensure_secret_file(Path(path)))
    except Exception as exc:  # reported, not lost: the parent asserts on it
        results.put(f"error: {exc!r}")


@pytest.mark.parametrize("round_", range(3))
def test_processes_racing_on_a_fresh_path_all_read_the_same_secret(
    tmp_path: Path, round_: int
) -> None:
    ctx = multiprocessing.get_context("fork")
    path = tmp_path / "sub" / "ami.secret"
    barrier, results = ctx.Barrier(RACERS), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(path), barrier, results)) for _ in range(RACERS)]
    for proc in procs:
        proc.start()
    seen = [results.get(timeout=30) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    assert len(set(seen)) == 1, seen
    assert seen[0]
    assert not seen[0].startswith("error")
    assert path.read_text(encoding="ascii").strip() == seen[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(path.parent) == ["ami.secret"]  # no temporary file left behind


def test_a_reader_arriving_while_the_first_writer_writes_gets_a_whole_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving the race needs, made deterministic: the first writer stops just
    before it writes its secret's bytes, and a second caller runs to the end meanwhile.
    Writing in place (create the file, then fill it) hands that caller an empty secret."""
    path = tmp_path / "jwt.secret"
    writing, reader_done = threading.Event(), threading.Event()
    real_fdopen = os.fdopen

    def first_write_pauses(fd: int, *args: Any, **kwargs: Any) -> Any:
        if not writing.is_set():
            writing.set()
            assert reader_done.wait(10), "the second caller did not finish"
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", first_write_pauses)
    first: list[str] = []
    writer = threading.Thread(target=lambda: first.append(ensure_secret_file(path)))
    writer.start()
    assert writing.wait(10)
    try:
        second = ensure_secret_file(path)
    finally:
        reader_done.set()
        writer.join(10)
    assert second
    assert first == [second]
    assert path.read_text(encoding="ascii").strip() == second


def test_an_existing_secret_is_read_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "ami.secret"
    path.write_text("kept-secret\n", encoding="ascii")
    assert ensure_secret_file(path) == "kept-secret"
    assert path.read_text(encoding="ascii") == "kept-secret\n"


def test_an_empty_secret_file_is_refused_not_used_as_a_key(tmp_path: Path) -> None:
    path = tmp_path / "jwt.secret"
    path.touch()
    with pytest.raises(RuntimeError, match="is empty"):
        ensure_secret_file(path)
