"""Where the Asterisk that safenum runs is installed: binary, modules, data.

safenum runs Asterisk 22 LTS built from Debian's source package by
``deploy/scripts/build-asterisk.sh`` under a prefix of its own
(:data:`DEFAULT_BINARY`), never Debian's packaged Asterisk 16 on ``PATH``. Every
other path follows from the binary: ``PREFIX/lib/asterisk/modules`` and
``PREFIX/share/asterisk`` (which must hold ``documentation/core-en_US.xml``, or
Asterisk refuses to start). A distribution build under ``/usr`` is found the same
way, so ``SAFENUM_ASTERISK_BINARY=/usr/sbin/asterisk`` still works where one exists.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PREFIX = Path("/opt/safenum/asterisk-22")
DEFAULT_BINARY = DEFAULT_PREFIX / "sbin" / "asterisk"
"""What ``make system`` builds and installs (deploy/scripts/build-asterisk.sh)."""

_MODULE_DIRS = (
    "lib/asterisk/modules",  # our build, and Debian's packages (even on multiarch)
    "lib/x86_64-linux-gnu/asterisk/modules",
    "lib64/asterisk/modules",  # RPM builds
)
_DATA_DIRS = ("share/asterisk", "var/lib/asterisk")
_DOCS = Path("documentation") / "core-en_US.xml"


class AsteriskNotInstalled(RuntimeError):
    """No usable Asterisk where the settings point."""


@dataclass(frozen=True)
class AsteriskInstall:
    """One installed Asterisk: what to run and the read-only directories it needs."""

    binary: Path
    module_dir: Path
    data_dir: Path

    @property
    def sbin_dir(self) -> Path:
        return self.binary.parent

    @classmethod
    def locate(cls, binary: str | Path = DEFAULT_BINARY) -> AsteriskInstall:
        """The install ``binary`` (a path, or a name on ``PATH``) belongs to.

        Never fails, so that rendering and ``serve`` work where no Asterisk is
        installed; :meth:`verify` says what is missing before anything runs it.
        """
        found = shutil.which(str(binary))
        path = Path(found).resolve() if found else Path(binary)
        prefix = path.parent.parent
        modules = [prefix / d for d in _MODULE_DIRS]
        data = [prefix / d for d in _DATA_DIRS]
        return cls(
            binary=path,
            module_dir=next((d for d in modules if (d / "chan_pjsip.so").is_file()), modules[0]),
            data_dir=next((d for d in data if (d / _DOCS).is_file()), data[0]),
        )

    def verify(self) -> None:
        """Raise :class:`AsteriskNotInstalled` naming the first missing piece."""
        if shutil.which(str(self.binary)) is None:
            raise AsteriskNotInstalled(
                f"no Asterisk executable at {self.binary} (run `make system` to build Asterisk 22)"
            )
        if not (self.module_dir / "chan_pjsip.so").is_file():
            raise AsteriskNotInstalled(f"no chan_pjsip.so in {self.module_dir}")
        if not (self.data_dir / _DOCS).is_file():
            raise AsteriskNotInstalled(
                f"no {_DOCS} in {self.data_dir}: Asterisk refuses to start without it"
            )


DEFAULT_INSTALL = AsteriskInstall(
    binary=DEFAULT_BINARY,
    module_dir=DEFAULT_PREFIX / "lib" / "asterisk" / "modules",
    data_dir=DEFAULT_PREFIX / "share" / "asterisk",
)
"""Where build-asterisk.sh installs; :meth:`AsteriskInstall.locate` checks it is there."""
