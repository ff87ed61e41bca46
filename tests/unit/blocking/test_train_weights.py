"""Sample weights of the training: cells balanced, campaigns weighed by their reports."""

from __future__ import annotations

import math

import pytest

from blocking import train
from blocking.corpus import Example
from blocking.types import Category


def _spam(group: str, reports: tuple[tuple[str, int], ...]) -> Example:
    return Example("text", Category.SPAM, group, "kisa-2022", "ko", "2022-09", "기타", reports)


def test_often_reported_campaigns_weigh_more_but_only_by_earlier_reports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(train, "REPORT_WEIGHT", True)
    monkeypatch.setattr(train, "REPORTS_BEFORE", "2022-11")
    examples = [
        _spam("a", (("2022-09", 1),)),
        _spam("b", (("2022-09", 4), ("2022-10", 5), ("2022-11", 90))),
        Example("차 좀 빼주세요", Category.HAM, "h", "safenum-handwritten", "ko"),
    ]
    w = train.sample_weights(examples)
    # reports of November (the month measured on) and later are not counted: 1 + ln 9
    assert w[1] / w[0] == pytest.approx(1 + math.log(9), rel=1e-5)
    # the spam cell as a whole still weighs what it did (half the doubled ham cell)
    assert w[0] + w[1] == pytest.approx(w[2] / train.HAM_WEIGHT, rel=1e-5)


def test_without_report_weight_every_row_of_a_cell_weighs_the_same() -> None:
    examples = [_spam("a", (("2022-09", 1),)), _spam("b", (("2022-09", 400),))]
    w = train.sample_weights(examples)
    assert w[0] == pytest.approx(w[1])
