"""The linear model over hashed n-grams and rule flags, and its file format.

Weights are a plain ``.npz`` (no pickle: ``allow_pickle=False`` on load), so the model
shipped in the package is data, never code. Scoring is a gather and ``reduceat`` per
n-gram order for the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from blocking.features import NgramBatch
from blocking.types import CATEGORIES, Category

DEFAULT_PATH = Path(__file__).parent / "model" / "filter.npz"
REPORT_PATH = Path(__file__).parent / "model" / "heldout.md"


class ModelMismatch(RuntimeError):
    """The model file was trained for other rules or classes: retrain it."""


@dataclass(frozen=True, slots=True)
class LinearModel:
    """Softmax regression: logits = bias + scale * sum(ngram weights) + flags @ rules."""

    hash_weights: npt.NDArray[np.float32]  # (2**bits + 1, classes); last row stays zero
    rule_weights: npt.NDArray[np.float32]  # (rules, classes)
    bias: npt.NDArray[np.float32]  # (classes,)
    rule_names: tuple[str, ...]
    bits: int
    threshold: float
    """Block when P(not ham) reaches this; tuned at training to favour delivery."""
    split: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]] | None = None
    """``hash_weights`` as contiguous columns ``[:, :4]`` and ``[:, 4]`` for serving;
    ``None`` while training, where the weights change in place."""

    def logits(self, batch: NgramBatch, flags: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        # np.take is several times faster than fancy indexing (``weights[buckets]``),
        # and faster still on rows of 16 bytes: a loaded model keeps its weights as a
        # 4-column table plus one column. Each order is reduced on its own, in a fixed
        # order, so a text's float rounding (its score) is the same alone or in a batch.
        total = np.zeros((len(batch.starts), self.bias.shape[0]), dtype=np.float32)
        if self.split is None:
            for buckets in batch.buckets:
                gathered = np.take(self.hash_weights, buckets, axis=0)
                total += np.add.reduceat(gathered, batch.starts, axis=0)
        else:
            head, last = self.split
            total_head, total_last = total[:, :4], total[:, 4]
            for buckets in batch.buckets:
                total_head += np.add.reduceat(np.take(head, buckets, axis=0), batch.starts, axis=0)
                total_last += np.add.reduceat(np.take(last, buckets), batch.starts)
        out: npt.NDArray[np.float32] = (
            self.bias + total * batch.scale[:, None] + flags @ self.rule_weights
        )
        return out

    def probabilities(
        self, batch: NgramBatch, flags: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        return softmax(self.logits(batch, flags))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            hash_weights=self.hash_weights.astype(np.float16),
            rule_weights=self.rule_weights,
            bias=self.bias,
            rule_names=np.array(self.rule_names),
            classes=np.array([c.value for c in CATEGORIES]),
            bits=np.array(self.bits),
            threshold=np.array(self.threshold),
        )

    @classmethod
    def load(cls, path: Path, rule_names: tuple[str, ...]) -> LinearModel:
        with np.load(path, allow_pickle=False) as data:
            classes = tuple(str(c) for c in data["classes"])
            names = tuple(str(n) for n in data["rule_names"])
            if classes != tuple(c.value for c in CATEGORIES) or names != rule_names:
                raise ModelMismatch(f"{path} was trained for other classes or rules")
            hash_weights = data["hash_weights"].astype(np.float32)
            split = None
            if hash_weights.shape[1] == 5:
                split = (
                    np.ascontiguousarray(hash_weights[:, :4]),
                    np.ascontiguousarray(hash_weights[:, 4]),
                )
            return cls(
                hash_weights=hash_weights,
                split=split,
                rule_weights=data["rule_weights"].astype(np.float32),
                bias=data["bias"].astype(np.float32),
                rule_names=names,
                bits=int(data["bits"]),
                threshold=float(data["threshold"]),
            )


def softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    out: npt.NDArray[np.float32] = exp / exp.sum(axis=1, keepdims=True)
    return out


def class_index(category: Category) -> int:
    return CATEGORIES.index(category)
