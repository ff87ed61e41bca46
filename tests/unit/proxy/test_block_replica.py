"""BlockReplica against the fake manager: per-number apply reads by key, never a tree.

Asterisk answers ``DBGetTree`` of a small family by scanning all of AstDB, so the
outbox applier's per-number apply must not send one; it finds the keys it wrote
through ``safenum/blockindex/<number>``.
"""

from __future__ import annotations

from blocking.blocks import Blocks
from numbering.types import SafeNumber
from proxy.ami import AmiClient
from proxy.ami.testing import FakeAmi
from proxy.block_replica import INDEX_CHARS, INDEX_FAMILY, BlockReplica

A = "050411110000"
N = SafeNumber(A)
R1, R2, R3 = "1" * 20, "2" * 20, "3" * 20


def replica(ami: AmiClient, blocks: Blocks | None = None) -> BlockReplica:
    async def load() -> Blocks:
        return blocks or Blocks()

    return BlockReplica(ami, load)


def block_keys(fake: FakeAmi, number: str = A) -> set[str]:
    prefix = f"/safenum/block/{number}/"
    return {k[len(prefix) :] for k in fake.db if k.startswith(prefix)}


async def test_apply_removes_stale_keys_without_a_tree_read(ami: AmiClient, fake: FakeAmi) -> None:
    blocks = replica(ami)
    await blocks.apply(N, {R1, R2})
    assert block_keys(fake) == {R1, R2}
    await blocks.apply(N, {R2, R3})
    assert block_keys(fake) == {R2, R3}  # R1, stale, is gone
    await blocks.apply(N, ())
    assert block_keys(fake) == set()
    assert f"/{INDEX_FAMILY}/{A}" not in fake.db  # nothing blocked: no index key either
    assert fake.received("DBGetTree") == []


async def test_a_widened_index_left_by_a_crash_still_converges(
    ami: AmiClient, fake: FakeAmi
) -> None:
    # A crash after the index was widened and before the keys were written leaves
    # a listing wider than what exists: the next apply writes what is missing.
    fake.db[f"/{INDEX_FAMILY}/{A}"] = f"{R1},{R2}"
    fake.db[f"/safenum/block/{A}/{R1}"] = "1"
    await replica(ami).apply(N, {R2})
    assert block_keys(fake) == {R2}
    assert fake.db[f"/{INDEX_FAMILY}/{A}"] == R2
    assert fake.received("DBGetTree") == []


async def test_too_many_blocks_to_list_fall_back_to_the_tree(ami: AmiClient, fake: FakeAmi) -> None:
    many = {f"{i:020x}" for i in range(INDEX_CHARS // 21 + 2)}
    blocks = replica(ami)
    await blocks.apply(N, many)
    assert fake.db[f"/{INDEX_FAMILY}/{A}"] == "*"
    await blocks.apply(N, {R1})
    assert block_keys(fake) == {R1}
    assert fake.db[f"/{INDEX_FAMILY}/{A}"] == R1


async def test_reconcile_repairs_blocks_and_their_index(ami: AmiClient, fake: FakeAmi) -> None:
    # An unindexed stale key (written before the index existed), a lost index, and an
    # index for a number with no blocks left: reconcile makes both families right, so
    # a later apply finds every key it must remove.
    fake.db[f"/safenum/block/{A}/{R3}"] = "1"
    fake.db[f"/{INDEX_FAMILY}/050422220000"] = R1
    blocks = replica(ami, Blocks(numbers={A: frozenset({R1})}))
    assert await blocks.reconcile() == (1, 1)
    assert block_keys(fake) == {R1}
    assert fake.db[f"/{INDEX_FAMILY}/{A}"] == R1
    assert f"/{INDEX_FAMILY}/050422220000" not in fake.db
    await blocks.apply(N, ())
    assert block_keys(fake) == set()
