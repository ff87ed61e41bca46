"""The shipped fit: threshold tuned on a held-back sixth, then refit on every group."""

from __future__ import annotations

import numpy as np
import pytest

from blocking import train
from blocking.corpus import Example
from blocking.model import LinearModel
from blocking.rules import RULE_NAMES, RuleSet
from blocking.types import CATEGORIES, Category


def _examples() -> list[Example]:
    spam = [
        Example(f"spam {i}", Category.SPAM, f"kisa:{i}", "kisa-2022", "ko", "2022-10")
        for i in range(30)
    ]
    ham = [
        Example(f"ham {i}", Category.HAM, f"h:{i}", "safenum-handwritten", "ko") for i in range(30)
    ]
    return spam + ham


def _blank(threshold: float) -> LinearModel:
    n = len(CATEGORIES)
    return LinearModel(
        np.zeros(((1 << train.BITS) + 1, n), dtype=np.float32),
        np.zeros((len(RULE_NAMES), n), dtype=np.float32),
        np.arange(n, dtype=np.float32),
        RULE_NAMES,
        train.BITS,
        threshold,
    )


def test_the_final_fit_uses_every_group_and_keeps_the_tuned_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fits: list[list[Example]] = []
    tuned_on: list[list[Example]] = []

    def fake_fit(examples: list[Example], rules: RuleSet, threshold: float = 0.5) -> LinearModel:
        fits.append(list(examples))
        return _blank(threshold)

    def fake_tune(model: LinearModel, examples: list[Example], rules: RuleSet) -> float:
        tuned_on.append(list(examples))
        return 0.37

    monkeypatch.setattr(train, "fit", fake_fit)
    monkeypatch.setattr(train, "tune_threshold", fake_tune)
    examples = _examples()
    model = train.train_shipped(examples, RuleSet())

    assert len(fits) == 2
    first, final = fits
    validation = {e.group for e in tuned_on[0]}
    # the threshold is tuned on groups the first fit has not seen
    assert validation
    assert not validation & {e.group for e in first}
    assert len(first) + len(tuned_on[0]) == len(examples)
    # the final fit sees every training text, the validation sixth included
    assert sorted(e.group for e in final) == sorted(e.group for e in examples)
    assert model.threshold == 0.37


def test_without_refit_the_shipped_model_is_the_first_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    fits: list[int] = []

    def fake_fit(examples: list[Example], rules: RuleSet, threshold: float = 0.5) -> LinearModel:
        fits.append(len(examples))
        return _blank(threshold)

    monkeypatch.setattr(train, "fit", fake_fit)
    monkeypatch.setattr(train, "tune_threshold", lambda m, e, r: 0.41)
    monkeypatch.setattr(train, "REFIT", False)
    model = train.train_shipped(_examples(), RuleSet())
    assert len(fits) == 1
    assert fits[0] < len(_examples())
    assert model.threshold == 0.41
