"""The dialplan template and ``proxy.dialplan`` spell the same families and events."""

from __future__ import annotations

import re
from pathlib import Path

from proxy import dialplan

TEMPLATE = Path(__file__).resolve().parents[3] / "deploy/asterisk/extensions.conf.tmpl"


def _code(text: str) -> str:
    """The template without its comments (they may name families in prose)."""
    return "\n".join(line.split(";", 1)[0] for line in text.splitlines())


def test_the_dialplan_uses_exactly_the_contract_families() -> None:
    code = _code(TEMPLATE.read_text(encoding="utf-8"))
    used = {f"safenum/{m}" for m in re.findall(r"\bsafenum/([a-z]+)/", code)}
    assert used == dialplan.FAMILIES - {dialplan.META_FAMILY}


def test_the_dialplan_raises_exactly_the_contract_events() -> None:
    code = _code(TEMPLATE.read_text(encoding="utf-8"))
    assert set(re.findall(r"UserEvent\((\w+),", code)) == {
        dialplan.CALL_EVENT,
        dialplan.TEXT_EVENT,
    }
    statuses = set(re.findall(r"UserEvent\(SafenumText,[^)]*Status: (\w+)", code))
    assert statuses == {dialplan.TEXT_SPOOLED, dialplan.TEXT_REFUSED}
