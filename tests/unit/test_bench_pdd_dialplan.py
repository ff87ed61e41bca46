"""bench/pdd_dialplan.py's diagnostic dialplans still apply to the shipped template."""

from __future__ import annotations

import re
from pathlib import Path

from bench.pdd_dialplan import LOOPS, loop_contexts, variant
from proxy.asterisk.config import AsteriskConfig, render


def shipped(tmp_path: Path) -> str:
    config = AsteriskConfig(
        config_dir=tmp_path / "ast",
        sip_port=15060,
        trunk_host="192.0.2.10",
        trunk_port=5070,
        ami_port=15038,
        ami_secret="s3cret-s3cret-s3cret",
        menu=False,
    )
    return render(config)["extensions.conf"]


def route_context(text: str) -> str:
    start = text.index("\n[safenum-route]\n") + 1
    return text[start : text.index("\n[", start + 1)]


def astdb_calls(context: str) -> int:
    """DB(), DB_EXISTS() uses in a context's first extension (the call path before Dial)."""
    before_dial = context[: context.index("Dial(")]
    return len(re.findall(r"\$\{DB(?:_EXISTS)?\(", before_dial)) + before_dial.count("Set(DB(")


def test_each_variant_removes_exactly_its_astdb_calls(tmp_path: Path) -> None:
    text = shipped(tmp_path)
    counts = {
        name: astdb_calls(route_context(variant(text, name)))
        for name in ("shipped", "onedb", "nolast", "lean")
    }
    assert counts == {"shipped": 6, "onedb": 4, "nolast": 5, "lean": 3}
    onedb = route_context(variant(text, "onedb"))
    assert "DB(safenum/r1/${EXTEN})" in onedb
    assert "safenum/text/" not in onedb
    assert "safenum/quiet/" not in onedb
    assert "safenum/last/${EXTEN})=" not in route_context(variant(text, "nolast"))


def test_loop_contexts_run_the_lines_before_dial(tmp_path: Path) -> None:
    loops = loop_contexts(shipped(tmp_path), 10)
    assert re.findall(r"^\[loop-(\w+)\]$", loops, re.M) == list(LOOPS)
    assert loops.count("Dial(") == 0
    assert loops.count("hangup_handler_push") == 0
    assert loops.count("GotoIf($[${I} < 10]?top)") == len(LOOPS)


def test_whisper_variants_change_only_how_the_driver_hears_the_whisper(tmp_path: Path) -> None:
    text = shipped(tmp_path)
    dial = re.compile(r"^ same => n,Dial\(.*$", re.M)
    shipped_dials = dial.findall(text)
    assert sum("U(safenum-whisper)" in line for line in shipped_dials) == 1
    for name, played in (("awhisper", "A(${SOUNDS}/whisper)"), ("nowhisper", "")):
        changed = variant(text, name)
        expected = [line.replace("U(safenum-whisper)", played) for line in shipped_dials]
        assert dial.findall(changed) == expected
        assert dial.sub("", changed) == dial.sub("", text)  # nothing else differs
