"""Logging set-up with a last line of defence: any Korean mobile number is masked.

Code never logs a real phone on purpose (value types print masked), but a library's
error text or a request dump might; the filter rewrites the final message so nothing
that looks like 010-1234-5678, +821012345678 or 8210... reaches a log line in clear.
"""

from __future__ import annotations

import logging
import re
from typing import Final

_MOBILE: Final = re.compile(
    r"(?<![\d+])(?P<cc>\+?82[-\s.]?|0)(?P<p>1[016789])[-\s.]?(?P<mid>\d{3,4})[-\s.]?(?P<last>\d{4})(?!\d)"
)


def mask_phones(text: str) -> str:
    return _MOBILE.sub(lambda m: f"0{m['p']}-{'*' * len(m['mid'])}-{m['last']}", text)


class PhoneRedactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phones(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_OURS: Final = "_safenum_handler"
LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def configure(level: str) -> None:
    """Send every logger's records at ``level`` and above to stderr, phones masked.

    Callable more than once (the CLI configures a default before it reads settings,
    ``serve`` configures SAFENUM_LOG_LEVEL later): each call sets the level again and
    adds the handler only once. ``logging.basicConfig`` would ignore every call but
    the first.
    """
    root = logging.getLogger()
    if not any(getattr(h, _OURS, False) for h in root.handlers):
        ours = logging.StreamHandler()
        ours.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        setattr(ours, _OURS, True)
        root.addHandler(ours)
    root.setLevel(level.upper())
    for handler in root.handlers:
        if not any(isinstance(f, PhoneRedactor) for f in handler.filters):
            handler.addFilter(PhoneRedactor())
