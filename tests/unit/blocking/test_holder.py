"""A running filter picks up a retrained model file without a restart."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from blocking.holder import FilterHolder
from blocking.model import DEFAULT_PATH, LinearModel
from blocking.rules import RULE_NAMES


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_holder_reloads_a_replaced_model_and_keeps_going_on_a_bad_file(tmp_path: Path) -> None:
    active = tmp_path / "filter-model.npz"
    clock = Clock()
    holder = FilterHolder(active, check_seconds=5.0, clock=clock)
    shipped = LinearModel.load(DEFAULT_PATH, RULE_NAMES).version
    assert holder.version == shipped
    assert holder.judge("차 좀 빼주세요").model == shipped

    stricter = replace(LinearModel.load(DEFAULT_PATH, RULE_NAMES), threshold=0.99)
    version = stricter.save(active, label="retrained")
    assert version.startswith("retrained-")
    assert version != shipped
    assert holder.version == shipped  # not checked again yet
    clock.now += 5.0
    assert holder.version == version
    assert holder.judge("차 좀 빼주세요").model == version
    assert holder.current().threshold == 0.99

    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a model")
    os.replace(broken, active)
    clock.now += 5.0
    assert holder.version == version  # the bad file is refused, the filter in use stays
