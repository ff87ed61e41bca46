"""``safenum keys``: rotate the wrapping key of personal data, retire old versions."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from app_api import datadir
from app_api.settings import Settings
from app_api.wiring import Core
from numbering.key_rotation import KeyRotation
from numbering.repository import NumberRepository

app = typer.Typer(
    no_args_is_help=True, help="The master key file: wrapping-key rotation and retirement."
)


def _emit(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload.to_json(), ensure_ascii=False) + "\n")


@contextmanager
def _rotation(batch: int = 500) -> Iterator[KeyRotation]:
    settings = Settings()
    datadir.secure(settings)
    core = Core.build(settings)

    @contextmanager
    def transaction() -> Iterator[NumberRepository]:
        with core.writing("keys") as session:  # commits when the block ends
            yield NumberRepository(session)

    try:
        yield KeyRotation(settings.key_file, transaction, core.clock, batch)
    finally:
        core.close()


@app.command("rotate")
def rotate(
    batch: Annotated[int, typer.Option(min=1, help="owners re-wrapped per transaction")] = 500,
) -> None:
    """Add a wrapping-key version and re-wrap every owner's data key under it.

    Restartable: run again after an interruption and it finishes the same rotation.
    Look-up hashes and callers' references keep their key: nothing else changes."""
    with _rotation(batch) as rotation:
        report = rotation.rotate()
    _emit(report)
    if report.remaining:  # done but for keys servers wrapped meanwhile: exit 3, as pending
        sys.stderr.write(
            f"safenum: pending: {report.remaining} data keys were wrapped under an older "
            "version while this ran: run `safenum keys rotate` again\n"
        )
        raise SystemExit(3)


@app.command("retire-old")
def retire_old() -> None:
    """Remove every wrapping-key version but the newest from the key file.

    Refused (exit 2) while any data key is still wrapped under an old version."""
    with _rotation() as rotation:
        _emit(rotation.retire_old())


@app.command("status")
def status() -> None:
    """The wrapping-key versions in the key file, how many data keys each wraps, and the
    oldest version the database still accepts (older ones are retired)."""
    with _rotation() as rotation:
        _emit(rotation.status())
