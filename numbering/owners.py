"""Owners and vehicles: registration under a fresh data key, and destruction of both."""

from __future__ import annotations

import secrets

from numbering.crypto import DataKey, WrappedKey
from numbering.errors import KeyVersionRetired, NotFound
from numbering.models import Owner, Vehicle
from numbering.service_base import ServiceBase
from numbering.types import OwnerPhone, Plate, SafeNumber
from numbering.views import DestructionReceipt, VehicleView


class OwnerOps(ServiceBase):
    def _owner_for(self, phone: OwnerPhone) -> tuple[Owner, DataKey]:
        phone_hash = self.keyring.lookup_hash("phone", phone.e164)
        for _ in range(2):
            owner = self.repo.owner_by_hash(phone_hash)
            if owner is not None:
                return owner, self.keyring.unwrap(owner.wrapped, owner.id)
            owner_id = secrets.token_hex(16)
            dek = self.keyring.new_data_key()
            wrapped = self._wrap_unretired(dek, owner_id)
            owner = Owner(
                id=owner_id,
                phone_hash=phone_hash,
                phone_ct=dek.seal(phone.e164, f"owner-phone:{owner_id}"),
                wrapped_key=wrapped.blob,
                key_version=wrapped.version,
                created_at=self.clock(),
            )
            if self.repo.try_insert(owner):
                return owner, dek
        raise RuntimeError("owner row vanished during registration")  # pragma: no cover

    def _wrap_unretired(self, dek: DataKey, owner_id: str) -> WrappedKey:
        """Wrap under a version ``retire-old`` has not retired, checked in this transaction.

        The retirement mark is read first, share-locked until the commit, and the key file
        after it: ``retire-old`` either waits for this commit and counts the new owner, or
        committed before, when the file already holds the newer version it kept."""
        oldest = self.repo.oldest_usable_key_version()
        wrapped = self.keyring.wrap(dek, owner_id)  # re-reads the key file if it changed
        if wrapped.version < oldest:
            raise KeyVersionRetired(
                f"this server would wrap a new data key under key version {wrapped.version}, "
                f"which is retired (the oldest usable is {oldest}): its master key file is "
                "older than the database's; give it the current key file"
            )
        return wrapped

    def _vehicle_for(self, owner: Owner, dek: DataKey, plate: Plate) -> Vehicle:
        plate_hash = self.keyring.lookup_hash("plate", f"{owner.id}:{plate.text}")
        vehicle = self.repo.vehicle(owner.id, plate_hash)
        if vehicle is None:
            vehicle = Vehicle(
                owner_id=owner.id,
                plate_hash=plate_hash,
                plate_ct=dek.seal(plate.text, f"plate:{owner.id}"),
                created_at=self.clock(),
            )
            self.repo.add(vehicle)
        return vehicle

    def _vehicle_view(self, vehicle: Vehicle, plate: Plate) -> VehicleView:
        number = self.repo.live_number_of_vehicle(vehicle.id)
        return VehicleView(
            id=vehicle.id,
            plate=plate.masked,
            safe_number=SafeNumber(number).national if number else None,
            created_at=vehicle.created_at,
        )

    def register(self, phone: OwnerPhone) -> str:
        """The owner id for this phone, creating the owner on first sign-in."""
        owner, _ = self._owner_for(phone)
        return owner.id

    def add_vehicle(self, owner_id: str, plate: Plate) -> VehicleView:
        owner = self._owner(owner_id)
        dek = self.keyring.unwrap(owner.wrapped, owner.id)
        return self._vehicle_view(self._vehicle_for(owner, dek, plate), plate)

    def vehicles(self, owner_id: str) -> list[VehicleView]:
        owner = self._owner(owner_id)
        dek = self.keyring.unwrap(owner.wrapped, owner.id)
        return [
            self._vehicle_view(v, Plate(dek.open(v.plate_ct, f"plate:{owner.id}")))
            for v in self.repo.vehicles_of(owner.id)
        ]

    def delete_owner(self, phone: OwnerPhone) -> DestructionReceipt:
        owner = self.repo.owner_by_hash(self.keyring.lookup_hash("phone", phone.e164))
        if owner is None:
            raise NotFound("no owner with this phone", field="phone")
        return self._destroy(owner)

    def delete_owner_id(self, owner_id: str) -> DestructionReceipt:
        """Account deletion from the app: same destruction, found by the opaque id."""
        return self._destroy(self._owner(owner_id))

    def _destroy(self, owner: Owner) -> DestructionReceipt:
        live = self.repo.live_numbers_of(owner.id)
        for record in live:
            self._release(record, "number.released")
        routes, vehicles = self.repo.destroy_owner(owner)
        self.shredded = True
        now = self.clock()
        receipt = DestructionReceipt(
            receipt_id=secrets.token_hex(8),
            subject=f"owner:{owner.id}",
            destroyed_at=now,
            actor=self.actor,
            method="crypto-shredding: the owner's data key was deleted, so every ciphertext "
            "sealed with it (phone, plates, routes) can no longer be decrypted; rows deleted",
            destroyed=[
                "owner data key",
                "owner phone (encrypted)",
                f"vehicle plates (encrypted): {vehicles}",
                f"routes: {routes + len(live)}",
            ],
            numbers_released=len(live),
        )
        self.repo.audit(now, self.actor, "owner.destroyed", receipt.subject, receipt.to_json())
        return receipt
