"""Generated secrets (AMI, JWT): processes that start together read one whole secret."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from app_api.pbx_config import ensure_secret_file


def test_created_once_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "var" / "jwt.secret"
    first = ensure_secret_file(path)
    assert len(first) >= 32
    assert ensure_secret_file(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["jwt.secret"]  # no temporary left


def test_processes_starting_together_all_get_the_same_whole_secret(tmp_path: Path) -> None:
    for round_ in range(50):
        path = tmp_path / f"{round_}.secret"
        start = threading.Barrier(4)
        got: list[str] = []

        def read(path: Path, start: threading.Barrier, got: list[str]) -> None:
            start.wait()
            got.append(ensure_secret_file(path))

        threads = [threading.Thread(target=read, args=(path, start, got)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(got)) == 1, got
        assert got[0] == path.read_text().strip() != ""
