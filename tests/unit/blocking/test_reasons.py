"""blocking.reasons: the batch rounding behind the score and probability texts."""

import math
import random

import numpy as np
import pytest

from blocking.reasons import decimal_steps, decimal_texts


def _values(rng: random.Random, places: int) -> list[float]:
    """Random values in [0, 1], their float32 roundings (what the model gives), the
    exact steps and the halves between them with their neighbouring floats, and a
    few values outside [0, 1]."""
    scale = 10**places
    out = [rng.random() for _ in range(3000)]
    out += [float(np.float32(v)) for v in out[:1000]]
    for k in rng.sample(range(scale + 1), min(scale + 1, 500)):
        for v in (k / scale, (k + 0.5) / scale, float(np.float32((k + 0.5) / scale))):
            out += [v, math.nextafter(v, 0.0), math.nextafter(v, 1.0)]
    return [*out, 0.0, 1.0, -0.0, -0.25, 1.5, math.nan, math.inf]


@pytest.mark.parametrize("places", [2, 4])
def test_decimal_steps_read_as_the_format_rounds(places):
    """Where decimal_steps is sure, the table text of its step is the format's text of
    the value; it is unsure only near halves or outside [0, 1]."""
    rng = random.Random(places)
    values = _values(rng, places)
    texts = decimal_texts(places)
    steps, sure = decimal_steps(np.array(values, dtype=np.float64), places)
    unsure_inside = 0
    for value, step, certain in zip(values, steps.tolist(), sure.tolist(), strict=True):
        if certain:
            assert texts[step] == f"{value:.{places}f}", value
        elif 0.0 <= value <= 1.0 and math.copysign(1.0, value) > 0:
            unsure_inside += 1
            scaled = value * 10**places
            assert abs(scaled - math.floor(scaled) - 0.5) <= 1e-6, value
    assert sure.sum() > 0.8 * len(values)
    assert unsure_inside > 0  # the halves are there, and left to the caller


def test_decimal_texts_are_the_format_of_each_step():
    assert decimal_texts(2)[:3] == ["0.00", "0.01", "0.02"]
    assert decimal_texts(2)[-1] == "1.00"
    assert all(t == f"{k / 10_000:.4f}" for k, t in enumerate(decimal_texts(4)))


def test_model_reasons_read_as_formatting_each_probability_did():
    """_model_reasons (table look-ups for the batch) against the per-text formatting
    it replaces, on float32 probabilities around every two-decimal half."""
    from blocking.filter import _model_reasons
    from blocking.reasons import reason
    from blocking.types import CATEGORIES

    rng = np.random.default_rng(4)
    halves = (np.arange(100) + 0.5) / 100
    probabilities = np.concatenate(
        (rng.random(3000), halves, np.nextafter(halves, 0), np.nextafter(halves, 1), [0, 1])
    ).astype(np.float32)
    kinds = rng.integers(0, len(CATEGORIES), len(probabilities))
    expected = [
        reason(f"n-gram model: {CATEGORIES[k].value} p={float(p):.2f}")
        for k, p in zip(kinds.tolist(), probabilities.astype(np.float64).tolist(), strict=True)
    ]
    assert _model_reasons(kinds, probabilities) == expected
