"""No real phone number or plate in clear at rest, and shredding leaves nothing to open."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from app_api.wiring import Core
from numbering.crypto import DecryptionError, WrappedKey
from numbering.models import Owner, Route, Vehicle
from numbering.types import OwnerPhone
from tests.conftest import PostgresFiles, sqlite_path
from tests.integration.owners import issue_numbers

PHONES = ["010-2345-6789", "011-876-5432", "019-1357-2468"]
PLATES = ["12가3456", "서울34나5678", "123가4567"]


def spellings(phone: str) -> list[bytes]:
    p = OwnerPhone.parse(phone)
    d = p.national_digits
    forms = {
        d,
        p.e164,
        p.e164[1:],
        d[1:],
        p.national,
        p.national.replace("-", " "),
        p.national.replace("-", "."),
        "+82-" + p.national[1:],
        d[-8:],
    }
    out = []
    for form in forms:
        out += [form.encode(), form.encode("utf-16-le")]
    return out


def raw_bytes(core: Core) -> bytes:
    """Every byte the database holds: the SQLite files, or a dump of every PostgreSQL table."""
    path = sqlite_path(core.settings.database_url)
    if path is not None:
        return b"".join(
            Path(f"{path}{suffix}").read_bytes()
            for suffix in ("", "-wal", "-shm")
            if Path(f"{path}{suffix}").exists()
        )
    chunks: list[bytes] = []
    with core.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                for value in row:
                    chunks.append(
                        bytes(value)
                        if isinstance(value, bytes | memoryview)
                        else str(value).encode()
                    )
    return b"\x00".join(chunks)


def test_no_phone_or_plate_in_clear_anywhere_in_the_database(core: Core) -> None:
    numbers = issue_numbers(core, PHONES, PLATES)
    with core.numbers() as svc:
        svc.pause(numbers[1])
        svc.show(numbers[0])
    blob = raw_bytes(core)
    assert numbers[0].digits.encode() in blob  # the scan does see stored data
    for phone in PHONES:
        for form in spellings(phone):
            assert form not in blob, f"{form!r} found at rest"
    for plate in PLATES:
        assert plate.encode() not in blob


def test_after_owner_deletion_nothing_can_decrypt_their_data(core: Core) -> None:
    issue_numbers(core, PHONES, PLATES)
    target = OwnerPhone.parse(PHONES[0])
    owner_hash = core.keyring.lookup_hash("phone", target.e164)
    with core.sessions() as s:
        owner = s.scalars(select(Owner).where(Owner.phone_hash == owner_hash)).one()
        wrapped, phone_ct, owner_id = owner.wrapped, owner.phone_ct, owner.id
        number, route_ct = s.execute(
            select(Route.number, Route.target_ct).where(Route.owner_id == owner_id)
        ).one()
    sealed = ((phone_ct, f"owner-phone:{owner_id}"), (route_ct, f"route:{number}"))
    dek = core.keyring.unwrap(wrapped, owner_id)
    for blob, ctx in sealed:  # the contexts are the real ones: they open before
        assert dek.open(blob, ctx) == target.e164

    with core.numbers() as svc:
        svc.delete_owner(target)

    with core.sessions() as s:
        remaining = s.execute(select(Owner.id, Owner.wrapped_key, Owner.key_version)).all()
    assert owner_id not in {oid for oid, _, _ in remaining}
    assert wrapped.blob not in {w for _, w, _ in remaining}
    assert remaining  # the other owners' keys, tried below
    for other_id, other_blob, other_version in remaining:  # none opens the old data
        other = core.keyring.unwrap(WrappedKey(other_blob, other_version), other_id)
        for blob, ctx in sealed:
            with pytest.raises(DecryptionError):
                other.open(blob, ctx)
    # Same blobs, same contexts: only the shredded key opens them, so what stops a
    # reader now is that the key is gone, not a wrong context.
    assert [dek.open(blob, ctx) for blob, ctx in sealed] == [target.e164] * 2
    blob = raw_bytes(core)
    assert wrapped.blob not in blob, "the wrapped data key survives in the database"
    assert phone_ct not in blob
    assert route_ct not in blob
    for form in spellings(PHONES[0]):
        assert form not in blob


@pytest.mark.postgres
def test_on_postgresql_nothing_of_a_deleted_owner_is_left_in_the_files(core: Core) -> None:
    """What VACUUM leaves: every file of the database on disk (heap, TOAST, indexes,
    catalogs, statistics) after a checkpoint, not what SELECT shows."""
    files = PostgresFiles.of(core)
    issue_numbers(core, PHONES, PLATES)
    target = OwnerPhone.parse(PHONES[0])
    owner_hash = core.keyring.lookup_hash("phone", target.e164)
    with core.sessions() as s:
        owner = s.scalars(select(Owner).where(Owner.phone_hash == owner_hash)).one()
        sealed = [owner.wrapped_key, owner.phone_ct]
        sealed += s.scalars(select(Route.target_ct).where(Route.owner_id == owner.id)).all()
        sealed += s.scalars(select(Vehicle.plate_ct).where(Vehicle.owner_id == owner.id)).all()
    before = files.read()
    assert all(value in before for value in sealed)  # the scan does see stored data

    with core.numbers() as svc:
        svc.delete_owner(target)

    after = files.read()
    for value in sealed:
        assert value not in after, "a deleted owner's sealed data is still on disk"
    # Plaintext: never in the application's tables, their TOAST or indexes (the
    # system catalogs hold unrelated digit runs, e.g. an 8-digit tail in UTF-16).
    ours = files.read(core)
    found = [f for phone in PHONES for f in spellings(phone) if f in ours]
    assert found == [], f"{found!r} in clear on disk"
    for plate in PLATES:
        assert plate.encode() not in ours
