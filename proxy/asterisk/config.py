"""Render the Asterisk configuration the bridge runs on.

The templates in ``deploy/asterisk/`` are the reviewed artefact; this module only
fills in the few values that differ between machines (ports, trunk address, AMI
credentials, directories). Rendering is a pure function of :class:`AsteriskConfig`
so a test can assert on the exact text Asterisk will read, and the writer is kept
separate so the pure part never touches the disk.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from proxy.asterisk.astdb import use_wal
from proxy.asterisk.callback import callback_allow_pattern
from proxy.asterisk.install import DEFAULT_INSTALL, AsteriskInstall
from proxy.asterisk.prompts import PROMPTS_FILE, PromptBook
from proxy.asterisk.prompts import write_prompts as _synthesise

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "asterisk"
"""Where the ``*.conf.tmpl`` files live in a source checkout."""

RENDERED_FILES = (
    "asterisk.conf",
    "modules.conf",
    "pjsip.conf",
    "manager.conf",
    "extensions.conf",
    "logger.conf",
    "indications.conf",
    "rtp.conf",
    "cdr.conf",
    "cel.conf",
    "stasis.conf",
    "acl.conf",
    "ccss.conf",
    "features.conf",
    "pjproject.conf",
    "udptl.conf",
)
"""Every file Asterisk reads from ``astetcdir``; the others are left absent on purpose."""

SUBDIRS = ("lib", "keys", "spool", "run", "log", "agi-bin", "sounds")

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_AMI_USER = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_SECRET = re.compile(r"^[A-Za-z0-9_\-.~+/=]{16,128}$")
_HEX_KEY = re.compile(r"^[0-9a-f]{64}$")
_BENCH_TARGET = re.compile(r"^0[1-9][0-9]{7,10}$")
_UNIX_PATH_MAX = 107  # sun_path is 108 bytes including the NUL


class ConfigError(ValueError):
    """A value that would render a configuration Asterisk rejects or that is unsafe."""


@dataclass(frozen=True)
class AsteriskConfig:
    """Everything that varies between two Asterisk instances of the bridge."""

    config_dir: Path
    sip_port: int
    trunk_host: str
    trunk_port: int
    ami_port: int
    ami_secret: str = field(repr=False)
    ami_user: str = "safenum"
    sip_bind_host: str = "0.0.0.0"  # noqa: S104 - the carrier reaches us from outside
    dial_timeout: int = 30
    tone_seconds: float = 3.0
    rtp_port_start: int = 10000
    rtp_port_end: int = 20000
    ami_writetimeout_ms: int = 5000
    verbose: int = 0
    menu: bool = True
    """Answer with the move-car menu; off skips it (the bench's service path)."""
    menu_timeout: float = 3.0
    callback_window: int = 86400
    caller_ref_key: str = field(default="", repr=False)
    """64 hex digits (from the master key); empty derives one from ami_secret."""
    bench_route: str | None = None
    """Bench only: a static one-line route ``bench`` -> this national number, and
    ``bench-whisper``, the same line playing the driver's whisper (``Dial`` option ``A``)."""
    prompts_file: Path = PROMPTS_FILE
    prompt_cache_dir: Path | None = None
    """Synthesised prompts shared with other configurations, by content hash."""
    install: AsteriskInstall = DEFAULT_INSTALL
    """Binary, modules and data of the Asterisk to run (``AsteriskInstall.locate``)."""
    templates_dir: Path = TEMPLATES_DIR

    def __post_init__(self) -> None:
        if not self.config_dir.is_absolute():
            raise ConfigError(f"config_dir must be absolute: {self.config_dir}")
        if len(str(self.config_dir / "run" / "asterisk.ctl")) > _UNIX_PATH_MAX:
            raise ConfigError("config_dir is too long for the control socket path")
        for name in ("sip_port", "trunk_port", "ami_port", "rtp_port_start", "rtp_port_end"):
            value = getattr(self, name)
            if not 0 < value < 65536:
                raise ConfigError(f"{name} out of range: {value}")
        if self.rtp_port_start >= self.rtp_port_end:
            raise ConfigError("rtp_port_start must be below rtp_port_end")
        for name in ("trunk_host", "sip_bind_host"):
            try:
                ipaddress.IPv4Address(getattr(self, name))
            except ValueError as exc:
                # The trunk is matched by the identify section and an ACL; both
                # need a literal address, a name would be resolved once at load.
                raise ConfigError(f"{name} must be an IPv4 address") from exc
        if not _AMI_USER.match(self.ami_user):
            raise ConfigError("ami_user must be lower-case letters, digits, '-' or '_'")
        if not _SECRET.match(self.ami_secret):
            raise ConfigError("ami_secret must be 16-128 URL-safe characters")
        if not 1 <= self.dial_timeout <= 300:
            raise ConfigError("dial_timeout must be 1..300 seconds")
        if not 0 <= self.tone_seconds <= 30:
            raise ConfigError("tone_seconds must be 0..30")
        if not 0.5 <= self.menu_timeout <= 30:
            raise ConfigError("menu_timeout must be 0.5..30 seconds")
        if not 60 <= self.callback_window <= 7 * 86400:
            raise ConfigError("callback_window must be 60..604800 seconds")
        if self.caller_ref_key and not _HEX_KEY.match(self.caller_ref_key):
            raise ConfigError("caller_ref_key must be 64 lower-case hex digits")
        if self.bench_route is not None and not _BENCH_TARGET.match(self.bench_route):
            raise ConfigError("bench_route must be a national number")

    @property
    def sounds_dir(self) -> Path:
        return self.config_dir / "sounds"

    def ref_keys(self) -> tuple[str, str]:
        """The inner and outer keys of the dialplan's caller references."""
        key = (
            self.caller_ref_key
            or hashlib.sha256(b"safenum caller-ref v1:" + self.ami_secret.encode()).hexdigest()
        )
        inner = hashlib.sha256(b"inner:" + key.encode()).hexdigest()
        outer = hashlib.sha256(b"outer:" + key.encode()).hexdigest()
        return inner, outer

    @property
    def astdb_file(self) -> Path:
        """AstDB's SQLite file (``astdbdir`` in asterisk.conf, plus Asterisk's file name)."""
        return self.config_dir / "lib" / "astdb.sqlite3"

    @property
    def asterisk_conf(self) -> Path:
        return self.config_dir / "asterisk.conf"

    @property
    def ctl_socket(self) -> Path:
        return self.config_dir / "run" / "asterisk.ctl"

    @property
    def pid_file(self) -> Path:
        return self.config_dir / "run" / "asterisk.pid"

    @property
    def console_log(self) -> Path:
        return self.config_dir / "log" / "console.log"

    def values(self) -> Mapping[str, str]:
        """The template variables, as text."""
        inner, outer = self.ref_keys()
        return {
            "config_dir": str(self.config_dir),
            "module_dir": str(self.install.module_dir),
            "data_dir": str(self.install.data_dir),
            "sbin_dir": str(self.install.sbin_dir),
            "verbose": str(self.verbose),
            "sip_bind_host": self.sip_bind_host,
            "sip_port": str(self.sip_port),
            "trunk_host": self.trunk_host,
            "trunk_port": str(self.trunk_port),
            "ami_port": str(self.ami_port),
            "ami_user": self.ami_user,
            "ami_secret": self.ami_secret,
            "ami_writetimeout_ms": str(self.ami_writetimeout_ms),
            "dial_timeout": str(self.dial_timeout),
            "tone_seconds": f"{self.tone_seconds:g}",
            "rtp_port_start": str(self.rtp_port_start),
            "rtp_port_end": str(self.rtp_port_end),
            "menu": "1" if self.menu else "0",
            "menu_timeout": f"{self.menu_timeout:g}",
            "callback_window": str(self.callback_window),
            "callback_allow": callback_allow_pattern(),
            "sounds_dir": str(self.sounds_dir),
            "move_text": PromptBook.load(self.prompts_file).move_car_text,
            "ref_key_inner": inner,
            "ref_key_outer": outer,
            "bench_route": (
                f"exten => bench,1,Dial(PJSIP/{self.bench_route}@trunk,{self.dial_timeout})\n"
                f"exten => bench-whisper,1,Dial(PJSIP/{self.bench_route}@trunk,"
                f"{self.dial_timeout},A(${{SOUNDS}}/whisper))"
                if self.bench_route
                else ""
            ),
        }


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace ``{{name}}`` placeholders; an unknown name is an error, not a blank."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ConfigError(f"template uses unknown placeholder {name!r}")
        return values[name]

    return _PLACEHOLDER.sub(one, template)


def render(config: AsteriskConfig) -> dict[str, str]:
    """Return ``{file name: text}`` for every file in :data:`RENDERED_FILES`."""
    values = config.values()
    return {
        name: fill((config.templates_dir / f"{name}.tmpl").read_text(encoding="utf-8"), values)
        for name in RENDERED_FILES
    }


def write_prompts(config: AsteriskConfig) -> list[str]:
    """Synthesise the announcements into ``config.sounds_dir`` (or copy them from
    ``config.prompt_cache_dir``); returns what was (re)made."""
    book = PromptBook.load(config.prompts_file)
    return _synthesise(config.sounds_dir, book, config.prompt_cache_dir)


def write_config(config: AsteriskConfig) -> list[Path]:
    """Render into ``config.config_dir`` (mode 0700, files 0600) and return the paths.

    Files are replaced atomically so a running Asterisk that reloads never reads a
    half-written file. Everything is private: ``manager.conf`` holds the secret.
    AstDB's file is put in WAL mode (:func:`proxy.asterisk.astdb.use_wal`): this runs
    before every start (``ExecStartPre`` in production).
    """
    config.config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(config.config_dir, 0o700)
    for sub in SUBDIRS:
        (config.config_dir / sub).mkdir(mode=0o700, exist_ok=True)
    written = []
    for name, text in render(config).items():
        path = config.config_dir / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
        written.append(path)
    use_wal(config.astdb_file)
    return written
