"""The AstDB replica against the real Asterisk: changes reach calls, restarts heal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from pbx_sipp import DRIVER_E164, Pbx, SippRun, TrunkTrap

from blocking.blocks import Blocks
from numbering.types import SafeNumber
from proxy.ami import AmiClient
from proxy.ami.types import AmiListResult
from proxy.block_replica import INDEX_FAMILY, BlockReplica
from proxy.dialplan import BLOCK_FAMILY, BLOCKED, LAST_FAMILY
from proxy.replica import ROUTE_FAMILY, RouteReplica

NUMBER = "050412345678"
OTHER_PHONE = "+821087654321"


def loader(routes: Mapping[str, str]) -> Callable[[], asyncio.Future[Mapping[str, str]]]:
    async def load() -> Mapping[str, str]:
        return dict(routes)

    return load  # type: ignore[return-value]


async def wait_for(predicate: Callable[[], bool], timeout: float) -> None:
    """Poll with a deadline (the condition lives in another task)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def answered_by(pbx: Pbx, dialled: str) -> tuple[SippRun, str]:
    with pbx.sipp.driver("driver_answer") as phone:
        caller = pbx.sipp.call(dialled)
    assert phone.run is not None
    invites = [m.first_line for m in phone.run.received if m.first_line.startswith("INVITE")]
    return caller, invites[0] if invites else ""


async def test_route_change_is_visible_to_the_next_call(pbx: Pbx, ami: AmiClient) -> None:
    replica = RouteReplica(ami, loader({}))
    await replica.put(SafeNumber(NUMBER), DRIVER_E164)

    await replica.put(SafeNumber(NUMBER), OTHER_PHONE)
    assert await ami.db_get(ROUTE_FAMILY, NUMBER) == OTHER_PHONE
    caller, invite = await asyncio.to_thread(answered_by, pbx, NUMBER)
    assert caller.returncode == 0, caller.log_text
    assert invite.startswith("INVITE sip:01087654321@")

    await replica.delete(SafeNumber(NUMBER))
    with TrunkTrap(pbx.config.trunk_port) as trap:
        caller = await asyncio.to_thread(pbx.sipp.call, NUMBER)
        assert trap.drain() == []
    assert caller.final_status == 404


async def test_restart_with_empty_astdb_is_healed_by_reconcile(pbx: Pbx, ami: AmiClient) -> None:
    async with AmiClient(pbx.ami_settings()) as link:
        replica = RouteReplica(link, loader({NUMBER: DRIVER_E164}))
        link.add_connect_hook(replica.reconcile)
        await wait_for(lambda: replica.ready, 5)
        first = replica.last_report
        assert first is not None
        assert first.added == 1

        await asyncio.to_thread(pbx.supervisor.down)
        for suffix in ("", "-wal", "-shm"):  # a fresh machine
            pbx.config.astdb_file.with_name(pbx.config.astdb_file.name + suffix).unlink(
                missing_ok=suffix != ""
            )
        await asyncio.to_thread(pbx.supervisor.up)
        # In this order: the restarted Asterisk has no route, the reconnect's reconcile
        # writes it back, and the next call reaches the driver. How fast: bench/.
        await wait_for(lambda: replica.last_report is not first, 10)
        healed = replica.last_report
        assert await link.db_get(ROUTE_FAMILY, NUMBER) == DRIVER_E164
        caller, invite = await asyncio.to_thread(answered_by, pbx, NUMBER)

    assert healed is not None
    assert (healed.added, healed.removed) == (1, 0)  # the route was missing, now written
    assert caller.returncode == 0, caller.log_text
    assert invite.startswith("INVITE sip:01012345678@")


async def test_reconcile_fixes_added_changed_and_removed_routes_exactly(
    pbx: Pbx, ami: AmiClient
) -> None:
    # More routes than the AMI pipeline keeps in flight (2,048), so the bulk
    # writes span several windows against the real manager.
    wanted = {f"0504{i:08d}": f"+82105{i:07d}" for i in range(3000)}
    numbers = list(wanted)
    right, stale = numbers[:1000], numbers[1000:2000]  # numbers[2000:] are missing
    extra = [f"0504{i:08d}" for i in range(5000, 5500)]  # no longer active
    await ami.db_put_many(ROUTE_FAMILY, [(n, wanted[n]) for n in right])
    await ami.db_put_many(ROUTE_FAMILY, [(n, OTHER_PHONE) for n in stale + extra])
    await ami.db_put(f"{ROUTE_FAMILY}/{NUMBER}", "nested", "x")  # not ours to remove

    report = await RouteReplica(ami, loader(wanted)).reconcile()

    assert (report.added, report.fixed, report.removed) == (1000, 1000, 500)
    present = await ami.db_tree(ROUTE_FAMILY)
    assert present == {**wanted, f"{NUMBER}/nested": "x"}
    again = await RouteReplica(ami, loader(wanted)).reconcile()
    assert (again.added, again.fixed, again.removed) == (0, 0, 0)
    # The dialplan reads the corrected value: a fixed route rings its driver.
    caller, invite = await asyncio.to_thread(answered_by, pbx, stale[0])
    assert caller.returncode == 0, caller.log_text
    assert invite.startswith(f"INVITE sip:0{wanted[stale[0]][3:]}@")


async def test_astdb_commits_go_to_the_write_ahead_log(pbx: Pbx, ami: AmiClient) -> None:
    # A commit holds the lock every DB() read in the dialplan waits on; in WAL mode it
    # is one fdatasync instead of four (proxy/asterisk/astdb.py). Asterisk commits
    # within about a second of a write.
    wal = pbx.config.astdb_file.with_name(pbx.config.astdb_file.name + "-wal")
    await RouteReplica(ami, loader({})).put(SafeNumber(NUMBER), DRIVER_E164)
    await wait_for(lambda: wal.is_file() and wal.stat().st_size > 0, 5)


def astdb_pragma(pbx: Pbx, name: str) -> str:
    """A pragma of Asterisk's own AstDB connection, read through the CLI."""
    out = pbx.supervisor.cli(f'database query "PRAGMA {name}"')
    values = [
        v.strip() for k, _, v in (ln.partition(":") for ln in out.splitlines()) if k.strip() == name
    ]
    assert len(values) == 1, out
    return values[0]


def test_astdb_keeps_full_durability_in_wal_mode(pbx: Pbx) -> None:
    # Asterisk's own connection, not a file check: WAL with synchronous=FULL (2) makes
    # every once-a-second AstDB commit durable before the lock is released. The spool of
    # texts already answered 202 lives only there, so a change to NORMAL (1), which
    # syncs only at checkpoints, is a durability decision (docs/benchmarks.md, issue 15).
    assert astdb_pragma(pbx, "journal_mode") == "wal"
    assert astdb_pragma(pbx, "synchronous") == "2"


class RecordingAmi(AmiClient):
    """The real client, noting the name of every list action (DBGet, DBGetTree) it sends."""

    def __init__(self, pbx: Pbx) -> None:
        super().__init__(pbx.ami_settings())
        self.list_actions: list[str] = []

    async def list_action(  # type: ignore[override]
        self, name: str, *args: object, **kwargs: object
    ) -> AmiListResult:
        self.list_actions.append(name)
        return await super().list_action(name, *args, **kwargs)  # type: ignore[arg-type]


async def test_single_key_reads_and_block_apply_never_scan_astdb(pbx: Pbx) -> None:
    # Asterisk 22 answers DBGetTree with a scan of all of AstDB; DBGet is indexed.
    # Against the real Asterisk: absent and present keys read right through DBGet, and a
    # per-number block apply removes the stale key the dialplan's DB_EXISTS would see.
    r1, r2 = "1" * 20, "2" * 20

    async def no_blocks() -> Blocks:
        return Blocks()

    async with RecordingAmi(pbx) as link:
        await link.wait_connected(10)
        await link.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
        assert await link.db_get(ROUTE_FAMILY, NUMBER) == DRIVER_E164
        assert await link.db_get(ROUTE_FAMILY, "050400000009") is None
        assert await link.db_del(LAST_FAMILY, "050400000009") is False  # absent: no tree read

        blocks = BlockReplica(link, no_blocks)
        await blocks.apply(SafeNumber(NUMBER), {r1, r2})
        await blocks.apply(SafeNumber(NUMBER), {r2})
        family = f"{BLOCK_FAMILY}/{NUMBER}"
        assert await link.db_get(family, r1) is None  # stale: gone
        assert await link.db_get(family, r2) == BLOCKED
        await blocks.apply(SafeNumber(NUMBER), ())
        assert await link.db_get_many(family, [r1, r2]) == {}
        assert await link.db_get(INDEX_FAMILY, NUMBER) is None
        assert "DBGetTree" not in link.list_actions
        assert "DBGet" in link.list_actions
        await link.db_del(ROUTE_FAMILY, NUMBER)
