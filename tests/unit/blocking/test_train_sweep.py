"""``python -m blocking.train --sweep`` on a machine without the KISA cache."""

from __future__ import annotations

import pytest

from blocking import train
from blocking.corpus import build
from blocking.model import DEFAULT_PATH


def test_sweep_without_the_kisa_cache_says_so_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A fresh clone has no cache: there is no November to measure on. Before, the sweep
    # died dividing by the zero texts it had.
    monkeypatch.setattr(train, "build", lambda: build(real=False))
    with pytest.raises(SystemExit) as stop:
        train.sweep_saved(DEFAULT_PATH)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "python -m blocking.sources --kisa DIR" in err[0]
