"""The linear model over hashed n-grams and rule flags, and its file format.

Weights are a plain ``.npz`` (no pickle: ``allow_pickle=False`` on load), so the model
shipped in the package is data, never code. Scoring is a gather and ``reduceat`` per
n-gram order for the whole batch.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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
    version: str = "untrained"
    """Names the weights: ``<label>-<hash of the weights>``, stored in the file."""
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
        # The rule term in float64, where these few float32 products add up exactly: the
        # BLAS behind ``@`` sums in another order for one row than for many.
        rules = (flags.astype(np.float64) @ self.rule_weights.astype(np.float64)).astype(np.float32)
        out: npt.NDArray[np.float32] = self.bias + total * batch.scale[:, None] + rules
        return out

    def probabilities(
        self, batch: NgramBatch, flags: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        return softmax(self.logits(batch, flags))

    def save(self, path: Path, label: str = "base") -> str:
        """Write the model to ``path`` atomically (a reader sees the old file or the new
        one, never half of one); returns the version it is saved under."""
        path.parent.mkdir(parents=True, exist_ok=True)
        half = self.hash_weights.astype(np.float16)
        digest = hashlib.sha256(half.tobytes())
        digest.update(self.rule_weights.tobytes() + self.bias.tobytes())
        digest.update(repr(self.threshold).encode())
        version = f"{label}-{digest.hexdigest()[:10]}"
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with partial.open("wb") as f:
            self._write(f, half, version)
        os.replace(partial, path)
        return version

    def _write(self, f: IO[bytes], half: npt.NDArray[np.float16], version: str) -> None:
        np.savez_compressed(
            f,
            version=np.array(version),
            hash_weights=half,
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
            version = str(data["version"]) if "version" in data.files else "legacy"
            return cls(
                version=version,
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
