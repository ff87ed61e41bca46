"""The contract between safenum and its dialplan (``deploy/asterisk/extensions.conf.tmpl``).

The call path has no Python in it: the dialplan routes from AstDB alone and reports
what happened as UserEvents. This module is the one place that spells what both
sides agree on; the replicas, the events consumer, the text relay and the tests
import it, and ``tests/unit/proxy/test_dialplan_contract.py`` checks that the
template uses exactly these families and events.

AstDB families (family / key -> value), keys are the 12 national digits of a safe
number unless said otherwise:

- ``safenum/route/<number>`` -> ``+82<driver's national number without 0>``
- ``safenum/meta/generation`` -> decimal count of completed route reconciles
- ``safenum/quiet/<number>`` -> ``HHMM-HHMM`` quiet hours in Asia/Seoul
- ``safenum/text/<number>`` -> ``off`` when the driver turned the move-car text off
- ``safenum/last/<number>`` -> ``<caller national digits>:<epoch>``, written by the
  dialplan, read by the callback; a bridge deletes it past the window and as soon
  as the number is no longer held (release, owner deleted)
- ``safenum/cdr/<call tag>`` -> the hangup handler's call summary
- ``safenum/block/<number>/<caller ref>`` and ``safenum/block/all/<caller key>`` ->
  ``1``: calls (and texts) from that caller are refused
- ``safenum/msg/<spool id>`` -> an inbound text, see :mod:`proxy.messaging`

UserEvents: ``SafenumCall`` (headers ``Call``, ``Phase``, ``Number``, ``Ref``,
``Key``, ``At``, ``Choice``, ``Status``, ``Reason``, ``Summary``; see
:mod:`proxy.state`) and ``SafenumText`` (``Id``, ``Status``: ``spooled`` or
``refused``).
"""

from __future__ import annotations

import re
from typing import Final

ROUTE_FAMILY: Final = "safenum/route"
META_FAMILY: Final = "safenum/meta"
QUIET_FAMILY: Final = "safenum/quiet"
TEXT_FAMILY: Final = "safenum/text"
LAST_FAMILY: Final = "safenum/last"
CDR_FAMILY: Final = "safenum/cdr"
BLOCK_FAMILY: Final = "safenum/block"
SPOOL_FAMILY: Final = "safenum/msg"

FAMILIES: Final = frozenset(
    {
        ROUTE_FAMILY,
        META_FAMILY,
        QUIET_FAMILY,
        TEXT_FAMILY,
        LAST_FAMILY,
        CDR_FAMILY,
        BLOCK_FAMILY,
        SPOOL_FAMILY,
    }
)
"""Every family the dialplan reads or writes (``meta`` is ours alone)."""

GENERATION_KEY: Final = "generation"
GLOBAL_BLOCK_KEY: Final = "all"
"""``safenum/block/all/<caller key>``: the operators' global blocklist."""
TEXT_OFF: Final = "off"
BLOCKED: Final = "1"

CALL_EVENT: Final = "SafenumCall"
TEXT_EVENT: Final = "SafenumText"
TEXT_SPOOLED: Final = "spooled"
TEXT_REFUSED: Final = "refused"

SAFE_NUMBER: Final = re.compile(r"^050[0-9]{9}$")
"""12 national digits of a safe number, e.g. ``050412345678``."""
DRIVER_PHONE: Final = re.compile(r"^\+82(?!50)[1-9][0-9]{7,9}$")
"""A Korean E.164 number the trunk can reach; never another 050 number (a loop)."""
QUIET_HOURS: Final = re.compile(r"^([01][0-9]|2[0-3])[0-5][0-9]-([01][0-9]|2[0-3])[0-5][0-9]$")
CALLER_REFERENCE: Final = re.compile(r"^[0-9a-f]{20}$")
"""A per-number caller reference or a caller key (the dialplan's keyed SHA-1, 20 hex)."""


def last_caller_epoch(value: str) -> int | None:
    """The epoch of a ``safenum/last`` value, None when it is malformed."""
    _, _, at = value.partition(":")
    return int(at) if at.isdigit() else None
