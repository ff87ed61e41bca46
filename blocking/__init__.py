"""Spam and advertising filter for texts sent to a safe number (pure domain code).

``MessageFilter.default().judge(text)`` returns a :class:`Verdict`; see
:mod:`blocking.filter` for the policy and ``blocking/data/README.md`` for the corpus.

``Message`` and ``MessageFilter`` load on first use: the filter brings numpy and the
model, which a process that only stores texts or blocks (every CLI command but
``safenum filter``) never needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from blocking.sender import InMemorySenderHistory, SenderHistory, SenderStats
from blocking.types import Category, Decision, Verdict

if TYPE_CHECKING:
    from blocking.filter import Message, MessageFilter

_LAZY = {"Message": "blocking.filter", "MessageFilter": "blocking.filter"}

__all__ = [
    "Category",
    "Decision",
    "InMemorySenderHistory",
    "Message",
    "MessageFilter",
    "SenderHistory",
    "SenderStats",
    "Verdict",
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
