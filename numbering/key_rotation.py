"""Rotating the wrapping key: add a version, re-wrap every data key, retire the old ones.

Only the wrapping key rotates. The index key behind look-up hashes and the callers'
references kept in blocks stays as it is (those hashes can never be recomputed).

``rotate`` adds a wrapping-key version to the key file (unless an earlier, interrupted
rotation left data keys under older versions: then it finishes that one), then
re-wraps every owner's data key under the newest version, ``batch`` owners per
transaction. Each owner's wrapped key and its version change together in one row
update, so at every moment each data key is wrapped under exactly one version the
key file holds, and a rerun after a crash simply continues. ``retire_old`` removes
every version but the newest from the key file, and refuses while any data key is
still wrapped under one of them. It records the retirement in the database in the same
transaction as that count, and a server registering an owner checks the record in its
own transaction (``OwnerOps._wrap_unretired``), so no owner commits under a version
after it was counted as unused.

Both hold the key file's lock, and run their transactions through ``transaction``,
supplied by the job's edge: it yields a repository and commits when the block ends.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from numbering import keyfile
from numbering.crypto import Keyring, WrappedKey, load_or_create_master_key
from numbering.errors import KeyFileError, OldKeysInUse
from numbering.keyfile import KEY_BYTES, KeyMaterial
from numbering.repository import NumberRepository

Transaction = Callable[[], AbstractContextManager[NumberRepository]]
MAX_PASSES: Final = 3
"""Passes over the owners: a second one catches owners that a server registered under
the old version while the first ran (servers follow the key file on their next wrap)."""


@dataclass(frozen=True, slots=True)
class RotationReport:
    version: int
    added: bool
    """False: an interrupted rotation to ``version`` was finished, no version added."""
    rewrapped: int
    remaining: int
    """Data keys still under an older version: 0 unless servers kept wrapping under one."""

    def to_json(self) -> dict[str, object]:
        return {
            "current_version": self.version,
            "version_added": self.added,
            "rewrapped": self.rewrapped,
            "remaining_under_old_versions": self.remaining,
        }


@dataclass(frozen=True, slots=True)
class RetireReport:
    retired: list[int]
    version: int
    data_keys: int

    def to_json(self) -> dict[str, object]:
        return {
            "retired_versions": self.retired,
            "current_version": self.version,
            "data_keys_under_retired_versions": 0,
            "data_keys": self.data_keys,
        }


@dataclass(frozen=True, slots=True)
class KeyStatus:
    version: int
    versions: list[int]
    in_use: dict[int, int]
    oldest_usable: int
    """Versions below this one are retired in the database: no data key may use them."""

    def to_json(self) -> dict[str, object]:
        return {
            "current_version": self.version,
            "versions": self.versions,
            "data_keys_by_version": {str(v): n for v, n in sorted(self.in_use.items())},
            "oldest_usable_version": self.oldest_usable,
        }


class KeyRotation:
    def __init__(
        self,
        key_file: Path,
        transaction: Transaction,
        clock: Callable[[], datetime],
        batch: int = 500,
        actor: str = "cli",
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.key_file = key_file
        self.transaction = transaction
        self.clock = clock
        self.batch = batch
        self.actor = actor

    def _audit(self, action: str, version: int, detail: dict[str, object]) -> None:
        with self.transaction() as repo:
            repo.audit(self.clock(), self.actor, action, f"key-version:{version}", detail)

    def _in_use(self, material: KeyMaterial) -> dict[int, int]:
        with self.transaction() as repo:
            return self._known(repo.wrapping_versions_in_use(), material)

    def _known(self, in_use: dict[int, int], material: KeyMaterial) -> dict[int, int]:
        unknown = sorted(set(in_use) - set(material.wrap_roots))
        if unknown:  # the wrong key file: writing to it now would only make things worse
            raise KeyFileError(
                f"data keys are wrapped under key versions {unknown} that {self.key_file} "
                "does not hold: is SAFENUM_MASTER_KEY_FILE the right file?"
            )
        return in_use

    def status(self) -> KeyStatus:
        material = load_or_create_master_key(self.key_file)
        with self.transaction() as repo:
            in_use = self._known(repo.wrapping_versions_in_use(), material)
            oldest = repo.oldest_usable_key_version()
        return KeyStatus(material.current, sorted(material.wrap_roots), in_use, oldest)

    def rotate(self) -> RotationReport:
        load_or_create_master_key(self.key_file)  # a fresh install: its version 1 first
        with keyfile.locked(self.key_file):
            material = keyfile.load(self.key_file)
            in_use = self._in_use(material)
            added = not any(v != material.current for v in in_use)
            if added:
                material = material.with_version(secrets.token_bytes(KEY_BYTES))
                keyfile.write(self.key_file, material)  # before any data key uses it
            keyring = Keyring(material)
            rewrapped = 0
            for _ in range(MAX_PASSES):
                done = self._rewrap_pass(keyring)
                rewrapped += done
                if not done:
                    break
            remaining = sum(n for v, n in self._in_use(material).items() if v != material.current)
            report = RotationReport(material.current, added, rewrapped, remaining)
            self._audit("keys.rotated", material.current, report.to_json())
        return report

    def _rewrap_pass(self, keyring: Keyring) -> int:
        """One pass in id order, one transaction per ``batch`` owners."""
        after, done = "", 0
        while True:
            with self.transaction() as repo:
                rows = repo.wrapped_keys_not_under(keyring.current_version, after, self.batch)
                for owner_id, blob, version in rows:
                    new = keyring.rewrap(WrappedKey(blob, version), owner_id)
                    done += repo.replace_wrapped_key(owner_id, version, new.blob, new.version)
            if len(rows) < self.batch:
                return done
            after = rows[-1][0]

    def retire_old(self) -> RetireReport:
        """Retire in the database first, in one transaction that marks the old versions
        retired (an update lock writers' share locks conflict with) and only then counts
        the data keys under them: a registration still in flight is waited for and
        counted, a later one sees the mark. The key file loses the old versions after
        that commit; a crash in between leaves them in the file, and a rerun removes them."""
        with keyfile.locked(self.key_file):
            material = keyfile.load(self.key_file)
            with self.transaction() as repo:  # a refusal rolls the mark back
                repo.retire_key_versions_below(material.current)
                in_use = self._known(repo.wrapping_versions_in_use(), material)
                still = {v: n for v, n in in_use.items() if v != material.current}
                if still:
                    raise OldKeysInUse(
                        f"{sum(still.values())} data keys are still wrapped under key "
                        f"versions {sorted(still)}: run `safenum keys rotate` to finish "
                        "re-wrapping them"
                    )
            retired = sorted(v for v in material.wrap_roots if v != material.current)
            report = RetireReport(retired, material.current, sum(in_use.values()))
            if retired:
                keyfile.write(self.key_file, material.only_current())
                self._audit("keys.retired", material.current, report.to_json())
        return report
