"""Finding an Asterisk install from its binary (a fake prefix laid out like ours)."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.asterisk.install import AsteriskInstall, AsteriskNotInstalled


def prefix(tmp_path: Path, data: str = "share/asterisk") -> Path:
    root = tmp_path / "asterisk-22"
    (root / "sbin").mkdir(parents=True)
    binary = root / "sbin" / "asterisk"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    (root / "lib/asterisk/modules").mkdir(parents=True)
    (root / "lib/asterisk/modules/chan_pjsip.so").write_bytes(b"")
    (root / data / "documentation").mkdir(parents=True)
    (root / data / "documentation/core-en_US.xml").write_text("<docs/>")
    return root


def test_everything_is_found_beside_the_binary(tmp_path: Path) -> None:
    root = prefix(tmp_path)
    install = AsteriskInstall.locate(root / "sbin" / "asterisk")
    assert install.module_dir == root / "lib/asterisk/modules"
    assert install.data_dir == root / "share/asterisk"
    assert install.sbin_dir == root / "sbin"
    install.verify()


def test_an_upstream_layout_keeps_its_data_under_var(tmp_path: Path) -> None:
    root = prefix(tmp_path, data="var/lib/asterisk")
    assert AsteriskInstall.locate(root / "sbin" / "asterisk").data_dir == root / "var/lib/asterisk"


def test_what_is_missing_is_named(tmp_path: Path) -> None:
    with pytest.raises(AsteriskNotInstalled, match="make system"):
        AsteriskInstall.locate(tmp_path / "nowhere" / "sbin" / "asterisk").verify()
    root = prefix(tmp_path)
    (root / "share/asterisk/documentation/core-en_US.xml").unlink()
    with pytest.raises(AsteriskNotInstalled, match=r"core-en_US\.xml"):
        AsteriskInstall.locate(root / "sbin" / "asterisk").verify()
    (root / "lib/asterisk/modules/chan_pjsip.so").unlink()
    with pytest.raises(AsteriskNotInstalled, match=r"chan_pjsip\.so"):
        AsteriskInstall.locate(root / "sbin" / "asterisk").verify()
