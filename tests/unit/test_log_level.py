"""SAFENUM_LOG_LEVEL reaches every logger, however often logging is configured."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from app_api import logs


@pytest.fixture
def root_restored() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    # An app built earlier in this process may have configured logging already.
    root.handlers[:] = [h for h in handlers if not getattr(h, "_safenum_handler", False)]
    yield root
    root.setLevel(level)
    root.handlers[:] = handlers


def test_a_later_configure_sets_the_level_again(root_restored: logging.Logger) -> None:
    logs.configure("WARNING")  # what the CLI does before it reads settings
    assert not logging.getLogger("safenum.texts").isEnabledFor(logging.INFO)
    logs.configure("INFO")  # what serve does with SAFENUM_LOG_LEVEL
    assert logging.getLogger("safenum.texts").isEnabledFor(logging.INFO)
    assert logging.getLogger("proxy.ami.client").isEnabledFor(logging.INFO)
    logs.configure("ERROR")
    assert not logging.getLogger("safenum").isEnabledFor(logging.WARNING)


def test_configure_adds_one_handler_and_masks_phones(root_restored: logging.Logger) -> None:
    before = len(root_restored.handlers)
    logs.configure("INFO")
    logs.configure("DEBUG")
    added = root_restored.handlers[before:]
    assert len(added) == 1
    assert all(
        any(isinstance(f, logs.PhoneRedactor) for f in h.filters) for h in root_restored.handlers
    )
