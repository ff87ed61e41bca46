"""Sample weights of the training: cells balanced, campaigns weighed by their reports."""

from __future__ import annotations

import math

import numpy as np
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


def test_months_back_counts_from_the_month_before_the_one_measured_on() -> None:
    assert train.months_back("2022-10", "2022-11") == 0
    assert train.months_back("2022-08", "2022-11") == 2
    assert train.months_back("2022-11", "2023-01") == 1
    assert train.months_back("2021-12", "2022-12") == 11


def test_recency_weighs_older_months_less_within_a_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train, "RECENCY", 0.5)
    monkeypatch.setattr(train, "REPORTS_BEFORE", "2022-11")

    def spam(period: str) -> Example:
        return Example("text", Category.SPAM, period, "kisa-2022", "ko", period, "기타")

    examples = [
        spam("2022-10"),
        spam("2022-09"),
        spam("2022-08"),
        Example("차 좀 빼주세요", Category.HAM, "h", "safenum-handwritten", "ko"),
        Example("주차 문의", Category.HAM, "g", "safenum-handwritten", "ko"),
    ]
    w = train.sample_weights(examples)
    assert w[1] / w[0] == pytest.approx(0.5, rel=1e-5)
    assert w[2] / w[0] == pytest.approx(0.25, rel=1e-5)
    # the cell keeps its weight, and undated rows are not touched
    assert w[0] + w[1] + w[2] == pytest.approx((w[3] + w[4]) / train.HAM_WEIGHT, rel=1e-5)
    assert w[3] == pytest.approx(w[4])


def test_recency_one_weighs_every_month_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train, "RECENCY", 1.0)
    early = Example("text", Category.SPAM, "a", "kisa-2022", "ko", "2022-08", "기타")
    late = Example("text", Category.SPAM, "b", "kisa-2022", "ko", "2022-11", "기타")
    w = train.sample_weights([early, late])
    assert w[0] == pytest.approx(w[1])


def test_recency_can_leave_dated_ham_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train, "RECENCY", 0.5)
    monkeypatch.setattr(train, "REPORTS_BEFORE", "2022-11")
    old = Example("text", Category.HAM, "a", "kisa-2022-not-spam", "ko", "2022-08")
    assert train.recency_weight(old) == pytest.approx(0.25)
    monkeypatch.setattr(train, "RECENCY_HAM", False)
    assert train.recency_weight(old) == 1.0
    spam = Example("text", Category.SPAM, "b", "kisa-2022", "ko", "2022-08")
    assert train.recency_weight(spam) == pytest.approx(0.25)


def _not_spam(group: str) -> Example:
    return Example(
        "안녕하세요 새해 복 많이", Category.HAM, group, "kisa-2022-not-spam", "ko", "2022-10"
    )


def test_not_spam_verdicts_can_weigh_less_within_the_korean_ham_cell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(train, "RECENCY", 1.0)
    monkeypatch.setattr(train, "NOT_SPAM_WEIGHT", 0.5)
    examples = [
        _not_spam("a"),
        Example("차 좀 빼주세요", Category.HAM, "h", "safenum-handwritten", "ko"),
        _spam("s", ()),
    ]
    w = train.sample_weights(examples)
    assert w[0] / w[1] == pytest.approx(0.5, rel=1e-5)
    # the Korean ham cell keeps its weight against the spam cell
    assert w[0] + w[1] == pytest.approx(train.HAM_WEIGHT * w[2], rel=1e-5)
    monkeypatch.setattr(train, "NOT_SPAM_WEIGHT", 1.0)
    w = train.sample_weights(examples)
    assert w[0] == pytest.approx(w[1])


def test_not_spam_weight_zero_leaves_the_verdicts_out_of_the_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from blocking.rules import RuleSet

    monkeypatch.setattr(train, "NOT_SPAM_WEIGHT", 0.0)
    spam = [_spam("s", ()), Example("대출 상담", Category.SPAM, "t", "kisa-2022", "ko", "2022-10")]
    # a cell made only of not-spam verdicts would weigh 0 / 0 if they stayed in the fit
    with_verdicts = train.fit([*spam, _not_spam("a"), _not_spam("b")], RuleSet(), epochs=3)
    without = train.fit(spam, RuleSet(), epochs=3)
    assert np.isfinite(with_verdicts.hash_weights).all()
    assert np.array_equal(with_verdicts.hash_weights, without.hash_weights)
    assert np.array_equal(with_verdicts.bias, without.bias)
