"""The rendered Asterisk configuration: values, safety properties, file modes."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import stat
from pathlib import Path

import pytest

from proxy.asterisk.config import (
    RENDERED_FILES,
    AsteriskConfig,
    ConfigError,
    fill,
    render,
    write_config,
)


def make(tmp_path: Path, **overrides: object) -> AsteriskConfig:
    values: dict[str, object] = {
        "config_dir": tmp_path / "ast",
        "sip_port": 15060,
        "trunk_host": "192.0.2.10",
        "trunk_port": 5070,
        "ami_port": 15038,
        "ami_secret": "s3cret-s3cret-s3cret",
    }
    values.update(overrides)
    return AsteriskConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    return render(make(tmp_path))


def section(text: str, name: str, kind: str | None = None) -> list[str]:
    """Option lines of every [name] section (optionally only of one type=)."""
    out: list[str] = []
    for block in re.split(r"^\[", text, flags=re.MULTILINE)[1:]:
        head, _, body = block.partition("\n")
        lines = [ln.strip() for ln in body.splitlines() if ln.strip() and not ln.startswith(";")]
        if head.split("]")[0] == name and (kind is None or f"type = {kind}" in lines):
            out += lines
    return out


def test_every_placeholder_is_filled(files: dict[str, str]) -> None:
    assert set(files) == set(RENDERED_FILES)
    for name, text in files.items():
        assert "{{" not in text, name


def test_unknown_placeholder_is_an_error() -> None:
    with pytest.raises(ConfigError):
        fill("{{nope}}", {})


def test_directories_stay_inside_the_config_dir(tmp_path: Path, files: dict[str, str]) -> None:
    dirs = dict(line.split(" => ") for line in section(files["asterisk.conf"], "directories"))
    base = str(tmp_path / "ast")
    for key in ("astetcdir", "astvarlibdir", "astdbdir", "astkeydir", "astspooldir"):
        assert dirs[key].startswith(base), key
    assert dirs["astrundir"].startswith(base)
    assert dirs["astlogdir"].startswith(base)
    assert dirs["astdatadir"] == "/opt/safenum/asterisk-22/share/asterisk"
    assert dirs["astmoddir"] == "/opt/safenum/asterisk-22/lib/asterisk/modules"
    assert dirs["astsbindir"] == "/opt/safenum/asterisk-22/sbin"
    code = [ln for ln in files["asterisk.conf"].splitlines() if not ln.startswith(";")]
    assert "[directories](!)" not in code  # a template section would be ignored


def test_modules_are_explicit_and_minimal(files: dict[str, str]) -> None:
    modules = section(files["modules.conf"], "modules")
    assert "autoload = no" in modules
    loaded = {line.split("=> ")[1] for line in modules if line.startswith("load")}
    assert "chan_pjsip.so" in loaded
    assert "res_pjsip_authenticator_digest.so" in loaded
    for banned in ("chan_sip.so", "res_pjsip_endpoint_identifier_anonymous.so", "app_system.so"):
        assert banned not in loaded


def test_pjsip_has_only_the_trunk_and_full_privacy(files: dict[str, str]) -> None:
    text = files["pjsip.conf"]
    assert "anonymous" not in section(text, "anonymous")
    endpoints = re.findall(r"^\[(\w[\w-]*)\]\ntype = endpoint", text, flags=re.MULTILINE)
    assert endpoints == ["trunk"]
    trunk = section(text, "trunk", "endpoint")
    for option in (
        "send_pai = no",
        "send_rpid = no",
        "send_diversion = no",
        "send_connected_line = no",
        "trust_id_inbound = no",
        "trust_id_outbound = no",
        "allow_transfer = no",
        "allow_subscribe = no",
        "identify_by = ip",
    ):
        assert option in trunk
    assert "match = 192.0.2.10" in section(text, "trunk", "identify")
    acl = section(text, "trunk-only", "acl")
    assert acl[1:] == ["deny = 0.0.0.0/0.0.0.0", "permit = 192.0.2.10/255.255.255.255"]


def test_manager_is_loopback_only_and_least_privilege(files: dict[str, str]) -> None:
    general = section(files["manager.conf"], "general")
    assert "bindaddr = 127.0.0.1" in general
    assert "webenabled = no" in general
    user = section(files["manager.conf"], "safenum")
    assert "read = call,user" in user  # user: UserEvent(SafenumCall) for the call records
    assert "write = system,message" in user  # message: MessageSend for the text relay
    assert "permit = 127.0.0.1/255.255.255.255" in user
    assert "writetimeout = 5000" in user


def test_only_the_route_replica_can_reach_dial(files: dict[str, str]) -> None:
    text = "\n".join(ln for ln in files["extensions.conf"].splitlines() if not ln.startswith(";"))
    assert "include" not in text
    patterns = re.findall(r"^exten => (\S+?),", text, flags=re.MULTILINE)
    assert "_X." not in patterns
    assert "_." not in patterns
    dials = [ln for ln in text.splitlines() if "Dial(" in ln and not ln.lstrip().startswith(";")]
    assert dials == [
        " same => n,Dial(PJSIP/${NATIONAL}@trunk,${DIAL_TIMEOUT},I${IF($[${MENU}]?r)}"
        "U(safenum-whisper))",
        " same => n,Dial(PJSIP/${LAST_NUM}@trunk,${DIAL_TIMEOUT},I)",  # the callback
    ]
    # The callback target: the whole stored value is shape-checked first, then only
    # Korean mobile and geographic numbers (CALLBACK_ALLOW) not blocked since.
    assert '${REGEX("^0[1-9][0-9]{7,10}:[0-9]{1,12}$" ${LAST})}' in text
    assert '${REGEX("${CALLBACK_ALLOW}" ${LAST_NUM})}' in text
    assert "${DB_EXISTS(safenum/block/${SAFENUM_NUMBER}/${LAST_REF})}" in text
    assert "${DB(safenum/route/${EXTEN})}" in text
    assert 'Set(CALLERID(all)="안심번호" <${EXTEN}>)' in text


@pytest.mark.parametrize(
    "overrides",
    [
        {"config_dir": Path("relative")},
        {"sip_port": 0},
        {"trunk_host": "carrier.example"},
        {"ami_secret": "short"},
        {"ami_secret": "with space and more than sixteen"},
        {"ami_user": "Root\nx"},
        {"dial_timeout": 0},
        {"config_dir": Path("/" + "x" * 120)},
        {"caller_ref_key": "not-hex"},
        {"bench_route": "1;Dial(x)"},
        {"menu_timeout": 0},
    ],
)
def test_unsafe_values_are_refused(tmp_path: Path, overrides: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        make(tmp_path, **overrides)


def test_secret_is_not_in_repr(tmp_path: Path) -> None:
    assert "s3cret" not in repr(make(tmp_path))


def test_written_files_are_private(tmp_path: Path) -> None:
    config = make(tmp_path)
    paths = write_config(config)
    assert stat.S_IMODE(config.config_dir.stat().st_mode) == 0o700
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (config.config_dir / "run").is_dir()
    assert "secret = s3cret-s3cret-s3cret" in (config.config_dir / "manager.conf").read_text()


def test_astdb_is_prepared_in_wal_mode(tmp_path: Path) -> None:
    config = make(tmp_path)
    write_config(config)
    assert config.astdb_file == config.config_dir / "lib" / "astdb.sqlite3"
    assert stat.S_IMODE(config.astdb_file.stat().st_mode) == 0o600
    with contextlib.closing(sqlite3.connect(config.astdb_file)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_bench_route_is_absent_unless_asked(tmp_path: Path) -> None:
    assert "exten => bench" not in render(make(tmp_path))["extensions.conf"]
    bench = render(make(tmp_path, bench_route="01012345678"))["extensions.conf"]
    assert "exten => bench,1,Dial(PJSIP/01012345678@trunk,30)" in bench
    assert "exten => bench-whisper,1,Dial(PJSIP/01012345678@trunk,30,A(${SOUNDS}/whisper))" in bench


def test_inbound_messages_are_spooled_never_sent_by_the_dialplan(files: dict[str, str]) -> None:
    assert "message_context = messages-in" in section(files["pjsip.conf"], "trunk", "endpoint")
    text = files["extensions.conf"]
    entry = text.split("[messages-in]\n", 1)[1].split("\n[", 1)[0]
    lines = [ln for ln in entry.splitlines() if ln.startswith(("exten", " same"))]
    assert lines
    assert all("Goto(safenum-text," in ln for ln in lines)
    spool = text.split("[safenum-text]\n", 1)[1].split("\n[", 1)[0]
    assert "MessageSend" not in spool  # the bridge relays, after the filter
    assert "Dial" not in spool
    assert "DB(safenum/msg/" in spool
