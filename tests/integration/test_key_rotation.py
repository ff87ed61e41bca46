"""Rotating the wrapping key on the real database: every owner still opens, look-ups
still match, an interrupted rotation finishes on a rerun, and retiring removes the old
key from the key file only once no data key needs it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select, text

from app_api.db import make_engine, make_session_factory
from app_api.settings import Settings
from app_api.wiring import Core
from numbering import keyfile
from numbering.crypto import Keyring, WrappedKey, load_or_create_master_key
from numbering.errors import KeyFileError, KeyVersionMissing
from numbering.key_rotation import KeyRotation
from numbering.models import AuditEntry, Owner
from numbering.repository import NumberRepository
from numbering.types import OwnerPhone, Plate, SafeNumber
from tests.conftest import wait_until
from tests.integration.owners import issue_numbers
from tests.integration.test_cli import ok, refused, run_in_background

PHONES = [f"010-{2000 + i:04d}-{5000 + i:04d}" for i in range(7)]
PLATES = [f"{10 + i}가{3000 + i:04d}" for i in range(7)]


class Interrupted(Exception):
    pass


def owners(core: Core) -> list[Owner]:
    with core.sessions() as session:
        return list(session.scalars(select(Owner).order_by(Owner.id)))


def assert_everyone_opens(core: Core, numbers: list[SafeNumber]) -> None:
    """Through the running core, whose keyring was read before the rotation: every
    route and plate decrypts, and "is this phone registered" finds the same owner."""
    ids = {o.id for o in owners(core)}
    for number, phone, plate in zip(numbers, PHONES, PLATES, strict=True):
        with core.numbers() as svc:
            assert svc.current_route(number) == OwnerPhone.parse(phone)
            owner_id = svc.register(OwnerPhone.parse(phone))  # the keyed look-up
            assert owner_id in ids
            assert [v.plate for v in svc.vehicles(owner_id)] == [Plate.parse(plate).masked]
    assert {o.id for o in owners(core)} == ids  # no look-up missed and made a new owner


def test_rotate_rewraps_every_owner_and_retire_removes_the_old_key(
    core: Core, settings: Settings
) -> None:
    numbers = issue_numbers(core, PHONES, PLATES)
    master = load_or_create_master_key(settings.key_file).wrap_roots[1]
    before = {o.id: o.wrapped_key for o in owners(core)}
    assert {o.key_version for o in owners(core)} == {1}

    report = ok(settings, "keys", "rotate", "--batch", "2")
    assert report == {
        "current_version": 2,
        "version_added": True,
        "rewrapped": len(PHONES),
        "remaining_under_old_versions": 0,
    }
    after = owners(core)
    assert {o.key_version for o in after} == {2}
    assert all(o.wrapped_key != before[o.id] for o in after)
    assert_everyone_opens(core, numbers)
    assert ok(settings, "keys", "status")["oldest_usable_version"] == 1  # not retired yet

    retired = ok(settings, "keys", "retire-old")
    assert retired["retired_versions"] == [1]
    assert retired["data_keys"] == len(PHONES)
    text = settings.key_file.read_bytes()
    assert base64.b64encode(master) not in text
    assert base64.b64encode(keyfile.derive(master, keyfile.WRAP_INFO)) not in text
    assert Keyring.from_file(settings.key_file).versions == (2,)
    with pytest.raises(KeyVersionMissing):  # a backup's wrapped keys are shredded with it
        Keyring.from_file(settings.key_file).unwrap(WrappedKey(before[after[0].id], 1), after[0].id)
    assert_everyone_opens(core, numbers)
    status = ok(settings, "keys", "status")
    assert status["data_keys_by_version"] == {"2": len(PHONES)}
    assert status["oldest_usable_version"] == 2  # version 1 is retired in the database too
    with core.sessions() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action.like("keys.%")))
        assert [(a.action, a.subject) for a in audit] == [
            ("keys.rotated", "key-version:2"),
            ("keys.retired", "key-version:2"),
        ]


def test_an_interrupted_rotation_is_finished_by_a_rerun_and_blocks_retirement(
    core: Core, settings: Settings
) -> None:
    numbers = issue_numbers(core, PHONES, PLATES)
    calls = 0

    @contextmanager
    def dies_on_the_third_transaction() -> Iterator[NumberRepository]:
        nonlocal calls
        calls += 1
        if calls == 3:  # 1: versions in use, 2: the first batch, 3: the second batch
            raise Interrupted
        with core.writing() as session:
            yield NumberRepository(session)

    with pytest.raises(Interrupted):
        KeyRotation(settings.key_file, dies_on_the_third_transaction, core.clock, batch=2).rotate()
    versions = sorted(o.key_version for o in owners(core))
    assert versions == [1] * (len(PHONES) - 2) + [2, 2]  # each under one version, no other
    assert_everyone_opens(core, numbers)  # both versions open meanwhile

    line = refused(settings, "keys", "retire-old")
    assert f"{len(PHONES) - 2} data keys are still wrapped under key versions [1]" in line
    assert Keyring.from_file(settings.key_file).versions == (1, 2)  # nothing removed

    report = ok(settings, "keys", "rotate")
    assert report["version_added"] is False  # the same rotation, finished
    assert report["current_version"] == 2
    assert report["rewrapped"] == len(PHONES) - 2
    assert {o.key_version for o in owners(core)} == {2}
    assert ok(settings, "keys", "retire-old")["retired_versions"] == [1]
    assert_everyone_opens(core, numbers)


def test_a_second_rotation_adds_version_3_and_the_look_ups_never_change(
    core: Core, settings: Settings
) -> None:
    numbers = issue_numbers(core, PHONES, PLATES)
    hashes = {o.id: o.phone_hash for o in owners(core)}
    for version in (2, 3):
        assert ok(settings, "keys", "rotate")["current_version"] == version
        assert ok(settings, "keys", "retire-old")["retired_versions"] == [version - 1]
    assert {o.id: o.phone_hash for o in owners(core)} == hashes
    assert_everyone_opens(core, numbers)


def test_a_key_file_missing_versions_in_use_is_refused(core: Core, settings: Settings) -> None:
    issue_numbers(core, PHONES, PLATES)
    ok(settings, "keys", "rotate")
    material = keyfile.load(settings.key_file)
    keyfile.write(
        settings.key_file, keyfile.KeyMaterial(material.index_key, {1: material.wrap_roots[1]})
    )
    line = refused(settings, "keys", "rotate")
    assert "key versions [2]" in line
    assert keyfile.load(settings.key_file).current == 1  # not made worse


def test_an_owner_registered_under_the_old_version_mid_rotation_is_rewrapped_too(
    core: Core, settings: Settings
) -> None:
    """A server that wrapped under version 1 just before the new version was written,
    and committed behind the rotation's cursor (ids are random): a later pass takes it."""
    numbers = issue_numbers(core, PHONES, PLATES)
    lagging = Keyring(load_or_create_master_key(settings.key_file))  # version 1 only
    calls = 0

    @contextmanager
    def transaction() -> Iterator[NumberRepository]:
        nonlocal calls
        calls += 1
        if calls == 3:  # after the first batch: a late registration behind the cursor
            dek = lagging.new_data_key()
            wrapped = lagging.wrap(dek, "0" * 32)
            with core.writing() as session:
                session.add(
                    Owner(
                        id="0" * 32,
                        phone_hash=lagging.lookup_hash("phone", "+821099990000"),
                        phone_ct=dek.seal("+821099990000", f"owner-phone:{'0' * 32}"),
                        wrapped_key=wrapped.blob,
                        key_version=wrapped.version,
                        created_at=core.clock(),
                    )
                )
        with core.writing() as session:
            yield NumberRepository(session)

    report = KeyRotation(settings.key_file, transaction, core.clock, batch=2).rotate()
    assert report.remaining == 0
    assert report.rewrapped == len(PHONES) + 1
    assert {o.key_version for o in owners(core)} == {2}
    ok(settings, "keys", "retire-old")
    late = next(o for o in owners(core) if o.id == "0" * 32)
    dek = Keyring.from_file(settings.key_file).unwrap(late.wrapped, late.id)
    assert dek.open(late.phone_ct, f"owner-phone:{late.id}") == "+821099990000"
    assert_everyone_opens(core, numbers)


LATE = OwnerPhone.parse("010-9999-0000")


def waiting_on_a_lock(core: Core) -> bool:
    """PostgreSQL: some other session of this database waits for a row or transaction lock."""
    with core.engine.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    return bool(waiting)


def opens_after_a_restart(settings: Settings) -> str:
    """The late owner's id, through a server started now (its keyring read from the
    key file as it is, not the versions a running one still holds in memory): it
    registers the same owner and opens its data key."""
    fresh = Core.build(settings)
    try:
        with fresh.numbers() as svc:
            owner_id = svc.register(LATE)
            assert svc.vehicles(owner_id) == []  # unwraps the data key
    finally:
        fresh.close()
    return owner_id


@pytest.mark.postgres
def test_retire_old_waits_for_a_registration_in_flight_and_refuses_instead_of_shredding_it(
    core: Core, settings: Settings
) -> None:
    """Another server's registration wrapped its data key under version 1 and has not
    committed when `rotate` and `retire-old` run in other processes. The rotation cannot
    see the uncommitted owner; retire-old must wait for it and then refuse, never remove
    version 1 from under it. (PostgreSQL only: on SQLite every write transaction begins
    IMMEDIATE, so these never overlap; the next test covers SQLite.)"""
    numbers = issue_numbers(core, PHONES, PLATES)
    with core.numbers() as registering:  # session A: commits when the block ends
        late_id = registering.register(LATE)
        rotated = ok(settings, "keys", "rotate")  # session B: does not see A's owner
        assert rotated["current_version"] == 2
        assert rotated["remaining_under_old_versions"] == 0
        retire = run_in_background(settings, "keys", "retire-old")  # session C
        wait_until(
            lambda: retire.poll() is not None or waiting_on_a_lock(core),
            timeout=30,
            what="retire-old to finish or to wait for the registration",
        )
    _, err = retire.communicate(timeout=60)
    assert opens_after_a_restart(settings) == late_id
    assert retire.returncode == 2, err
    assert "1 data keys are still wrapped under key versions [1]" in err
    assert Keyring.from_file(settings.key_file).versions == (1, 2)
    assert ok(settings, "keys", "rotate")["rewrapped"] == 1
    assert ok(settings, "keys", "retire-old")["retired_versions"] == [1]
    assert_everyone_opens(core, numbers)


def test_a_server_that_never_saw_the_rotation_cannot_commit_under_a_retired_key(
    core: Core, settings: Settings
) -> None:
    """A second server (its own engine and connections) whose keyring still holds only
    version 1 registers an owner after `rotate` and `retire-old`: the interleaving of a
    registration that wrapped before the rotation and commits after the retirement, on
    both databases. It must be refused, leaving nothing under the retired version."""
    numbers = issue_numbers(core, PHONES, PLATES)
    stale_keys = Keyring(keyfile.load(settings.key_file))  # no path: never re-reads it
    engine = make_engine(settings.database_url)
    stale = Core(settings, engine, make_session_factory(engine), stale_keys, core.clock)
    try:
        ok(settings, "keys", "rotate")
        ok(settings, "keys", "retire-old")
        refusal = ""
        try:
            with stale.numbers() as svc:
                svc.register(LATE)
        except KeyFileError as exc:
            refusal = str(exc)
    finally:
        stale.close()
    opens_after_a_restart(settings)  # whatever the stale server did
    assert "key version 1, which is retired" in refusal
    assert {o.key_version for o in owners(core)} == {2}
    assert_everyone_opens(core, numbers)
