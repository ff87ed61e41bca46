"""Route load and full reconcile of 10^6 routes into a private Asterisk's AstDB.

    .venv/bin/python bench/routes.py [--routes 1000000] [--drift 0.01] [--skip-old]

Issue 15 asks for 10^6 routes into AstDB in <= 60 s through a documented interface
and a full reconcile of 10^6 in <= 2 min. This runs the production path end to end:
a SQLite database pre-filled with ``--routes`` active numbers, each with an owner,
a wrapped data key and a sealed route (real crypto, bulk inserts: not timed), and
``RouteReplica.reconcile`` fed by the bridge's own loader (``active_routes()``,
which unwraps and opens every route) over one ``AmiClient`` link to one private
Asterisk 22 (shipped configs, free ports). Steps, in one run:

- floor: pre-encoded ``DBPut`` bytes on a raw socket, responses counted, never
  parsed: what Asterisk itself costs (the best any AMI client can do);
- old: the previous fastest load, ``AmiClient.db_put`` awaited per action, 2
  processes x 2 links x 64 in flight (``load_parallel`` below; ``--skip-old``);
- new: ``AmiClient.db_put_many`` on one link (pipelined), no database;
- load: ``reconcile`` into an empty family (10^6 added); the database load (its
  worker thread, overlapping the ``DBGetTree`` read) is timed apart;
- no-op: ``reconcile`` again (reads the family with one ``DBGetTree``, writes nothing);
- drift: ``--drift`` of the routes removed, as many changed and as many stale extra
  keys written into AstDB, then ``reconcile`` (the report must match exactly);
- all changed: every AstDB value overwritten, then ``reconcile`` (10^6 fixed);
- one key: a single-number ``DBGetTree`` with the full table (what the outbox
  applier pays per number: Asterisk 22 answers it with a ``LIKE`` scan).

After every step the family is read back and compared with the database, entry by
entry. Ratios are against the floor of the same run; ``uptime`` is printed at the
start and the end (the 2-core machine is shared). Asterisk is stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from app_api.migrate import upgrade
from app_api.settings import Settings
from app_api.wiring import Core
from bench.calls import Ports, ami_settings, make_routes, start_asterisk
from numbering.models import NumberRecord, Owner, Pool, Route
from proxy.ami import AmiClient
from proxy.ami.transport import encode_action, encode_actions
from proxy.asterisk.config import AsteriskConfig
from proxy.replica import ROUTE_FAMILY, ReconcileReport, RouteReplica

CHUNK = 20_000
RAW_CHUNK = 256
RAW_WINDOW = 2048


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def uptime() -> str:
    return Path("/proc/loadavg").read_text().strip()


# -- the old load (2 processes x 2 links x 64 awaited DBPuts), for comparison -----


async def load_pipelined(
    config: AsteriskConfig, routes: Sequence[tuple[str, str]], connections: int, window: int
) -> float:
    """DBPut with ``window`` actions in flight on each of ``connections`` AMI links."""
    clients = [AmiClient(ami_settings(config)) for _ in range(connections)]
    async with contextlib.AsyncExitStack() as stack:
        for client in clients:
            await stack.enter_async_context(client)
        await asyncio.gather(*(c.wait_connected(10) for c in clients))

        async def lanes(client: AmiClient, part: Iterator[tuple[str, str]]) -> None:
            async def lane() -> None:
                for number, phone in part:  # the lanes of a link share one iterator
                    await client.db_put(ROUTE_FAMILY, number, phone)

            await asyncio.gather(*(lane() for _ in range(window)))

        started = time.perf_counter()
        await asyncio.gather(
            *(lanes(c, iter(routes[i::connections])) for i, c in enumerate(clients))
        )
        return time.perf_counter() - started


def _load_part(job: tuple[AsteriskConfig, Sequence[tuple[str, str]], int, int]) -> float:
    return asyncio.run(load_pipelined(*job))


def load_parallel(
    config: AsteriskConfig,
    routes: Sequence[tuple[str, str]],
    procs: int,
    connections: int,
    window: int,
) -> float:
    """:func:`load_pipelined` in ``procs`` processes (the client's parsing is the bottleneck)."""
    jobs = [(config, routes[i::procs], connections, window) for i in range(procs)]
    started = time.perf_counter()
    pool = multiprocessing.get_context("fork").Pool(procs, initializer=_default_sigterm)
    try:
        pool.map(_load_part, jobs)
        pool.close()
    finally:
        pool.terminate()
        pool.join()
    return time.perf_counter() - started


def _default_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # pool workers die on SIGTERM


# -- the database ------------------------------------------------------------------


def prefill(core: Core, routes: Sequence[tuple[str, str]]) -> None:
    """Active numbers with owners and sealed routes, as ``NumberService.issue`` stores them."""
    upgrade(core.engine)
    now = datetime.now(UTC)
    keyring = core.keyring
    with core.engine.begin() as conn:
        conn.execute(
            insert(Pool),
            [
                {
                    "id": 1,
                    "prefix": "0504",
                    "range_start": 0,
                    "range_end": 99_999_999,
                    "created_at": now,
                }
            ],
        )
        for start in range(0, len(routes), CHUNK):
            owners, numbers, sealed = [], [], []
            for i, (number, phone) in enumerate(routes[start : start + CHUNK], start):
                owner_id = f"{i:032x}"
                dek = keyring.new_data_key()
                wrapped = keyring.wrap(dek, owner_id)
                owners.append(
                    {
                        "id": owner_id,
                        "phone_hash": keyring.lookup_hash("phone", phone),
                        "phone_ct": dek.seal(phone, f"owner-phone:{owner_id}"),
                        "wrapped_key": wrapped.blob,
                        "key_version": wrapped.version,
                        "created_at": now,
                    }
                )
                numbers.append(
                    {
                        "number": number,
                        "pool_id": 1,
                        "status": "active",
                        "owner_id": owner_id,
                        "vehicle_id": None,
                        "issued_at": now,
                        "expires_at": now + timedelta(days=365),
                        "released_at": None,
                        "quarantine_until": None,
                        "updated_at": now,
                    }
                )
                sealed.append(
                    {
                        "number": number,
                        "owner_id": owner_id,
                        "target_ct": dek.seal(phone, f"route:{number}"),
                        "updated_at": now,
                    }
                )
            conn.execute(insert(Owner), owners)
            conn.execute(insert(NumberRecord), numbers)
            conn.execute(insert(Route), sealed)


class TimedLoader:
    """The bridge's route loader (``Bridge._load_routes``), timing each call."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.seconds = 0.0

    def _load(self) -> dict[str, str]:
        with self.core.reading("bridge") as svc:
            return {n.digits: p.e164 for n, p in svc.active_routes()}

    async def __call__(self) -> Mapping[str, str]:
        started = time.perf_counter()
        routes = await asyncio.to_thread(self._load)
        self.seconds = time.perf_counter() - started
        return routes


# -- AMI steps ---------------------------------------------------------------------


async def raw_floor(config: AsteriskConfig, routes: Sequence[tuple[str, str]]) -> float:
    """Pre-encoded DBPuts on a bare socket, answers counted and never parsed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", config.ami_port)
    try:
        await reader.readline()
        login = {"ActionID": "login", "Username": config.ami_user, "Secret": config.ami_secret}
        writer.write(encode_action("Login", {**login, "Events": "off"}))
        if b"Success" not in await reader.readuntil(b"\r\n\r\n"):
            raise RuntimeError("raw login refused")
        chunks = [
            encode_actions(
                "DBPut",
                (
                    (str(i), {"Family": ROUTE_FAMILY, "Key": number, "Val": phone})
                    for i, (number, phone) in enumerate(routes[start : start + RAW_CHUNK], start)
                ),
            )
            for start in range(0, len(routes), RAW_CHUNK)
        ]
        answered = 0
        progress = asyncio.Event()

        async def count() -> None:
            nonlocal answered
            tail = b""
            while answered < len(routes):
                data = await reader.read(1 << 16)
                if not data:
                    raise ConnectionResetError("Asterisk closed the raw link")
                buffer = tail + data
                answered += buffer.count(b"\r\n\r\n")
                tail = buffer[-3:]
                progress.set()

        started = time.perf_counter()
        counter = asyncio.create_task(count())
        sent = 0
        for chunk in chunks:
            while sent - answered > RAW_WINDOW and not counter.done():
                progress.clear()
                await progress.wait()
            writer.write(chunk)
            await writer.drain()
            sent += RAW_CHUNK
        await counter
        return time.perf_counter() - started
    finally:
        writer.close()


async def with_ami(config: AsteriskConfig, work: Callable[[AmiClient], Awaitable[None]]) -> None:
    async with AmiClient(ami_settings(config)) as ami:
        await ami.wait_connected(10)
        await work(ami)


async def clear(ami: AmiClient) -> None:
    await ami.db_deltree(ROUTE_FAMILY)


async def expect(ami: AmiClient, wanted: Mapping[str, str], step: str) -> None:
    present = await ami.db_tree(ROUTE_FAMILY)
    if present != wanted:
        missing = len(wanted.keys() - present.keys())
        extra = len(present.keys() - wanted.keys())
        wrong = sum(1 for k, v in wanted.items() if k in present and present[k] != v)
        raise RuntimeError(f"{step}: AstDB differs (-{missing} +{extra} ~{wrong})")


class Run:
    def __init__(self, config: AsteriskConfig, core: Core, wanted: dict[str, str]) -> None:
        self.config = config
        self.wanted = wanted
        self.loader = TimedLoader(core)
        self.rows: list[tuple[str, float, str]] = []

    def record(self, step: str, seconds: float, note: str = "") -> None:
        self.rows.append((step, seconds, note))
        print(f"  {step}: {seconds:.1f} s {note}", flush=True)

    async def reconcile(self, ami: AmiClient, step: str) -> ReconcileReport:
        replica = RouteReplica(ami, self.loader)
        cpu, started = cpu_seconds(), time.perf_counter()
        report = await replica.reconcile()
        seconds = time.perf_counter() - started
        cpu = cpu_seconds() - cpu
        self.record(
            step,
            seconds,
            f"(+{report.added} ~{report.fixed} -{report.removed}; database load "
            f"{self.loader.seconds:.1f} s; client CPU {cpu:.1f} s)",
        )
        await expect(ami, self.wanted, step)
        return report

    async def put_many(self, ami: AmiClient) -> None:
        rows = list(self.wanted.items())
        cpu, started = cpu_seconds(), time.perf_counter()
        await ami.db_put_many(ROUTE_FAMILY, rows)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds() - cpu
        self.record("new: db_put_many, 1 link, no database", seconds, f"(client CPU {cpu:.1f} s)")
        await expect(ami, self.wanted, "new")

    async def steps(self, ami: AmiClient, drift: float) -> None:
        n = len(self.wanted)
        await clear(ami)
        report = await self.reconcile(ami, "load: reconcile into an empty family")
        assert (report.added, report.fixed, report.removed) == (n, 0, 0), report
        report = await self.reconcile(ami, "no-op: reconcile, nothing differs")
        assert (report.added, report.fixed, report.removed) == (0, 0, 0), report

        k = max(1, int(n * drift))
        rng = random.Random(11)
        picked = rng.sample(sorted(self.wanted), 2 * k)
        gone, changed = picked[:k], picked[k:]
        extra = [f"0509{i:08d}" for i in range(k)]  # never issued: 0509 is not our pool
        await ami.db_del_many(ROUTE_FAMILY, gone)
        await ami.db_put_many(ROUTE_FAMILY, [(x, "+821000000000") for x in changed + extra])
        report = await self.reconcile(ami, f"drift: reconcile, {k:,} each -/~/+")
        assert (report.added, report.fixed, report.removed) == (k, k, k), report

        await ami.db_put_many(ROUTE_FAMILY, [(x, "+821000000000") for x in self.wanted])
        report = await self.reconcile(ami, "all changed: reconcile, every value stale")
        assert (report.added, report.fixed, report.removed) == (0, n, 0), report

        probe = next(iter(self.wanted))
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            if await ami.db_get(ROUTE_FAMILY, probe) != self.wanted[probe]:
                raise RuntimeError("single-key read disagrees")
            samples.append(time.perf_counter() - started)
        self.record(
            f"one key: DBGetTree of one number with {n:,} rows present",
            statistics.median(samples),
            "(median of 5)",
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--routes", type=int, default=1_000_000)
    ap.add_argument("--drift", type=float, default=0.01, help="share removed/changed/added")
    ap.add_argument("--skip-old", action="store_true", help="skip the old per-action load")
    args = ap.parse_args()
    os.environ.setdefault("SAFENUM_LOG_LEVEL", "ERROR")
    print(f"routes={args.routes:,} cpus={os.cpu_count()} loadavg at start: {uptime()}", flush=True)
    base = Path(tempfile.mkdtemp(prefix="safenum-bench-routes-"))
    settings = Settings(
        env="test", data_dir=base / "data", database_url=f"sqlite:///{base / 'safenum.db'}"
    )
    settings.data_dir.mkdir()
    core = Core.build(settings)
    routes = make_routes(args.routes)
    started = time.perf_counter()
    prefill(core, routes)
    print(f"  database pre-filled in {time.perf_counter() - started:.0f} s (not timed)")
    supervisor = start_asterisk(base, Ports.free())
    config = supervisor.config
    run = Run(config, core, dict(routes))
    try:
        run.record("floor: raw socket, pre-encoded DBPut", asyncio.run(raw_floor(config, routes)))
        asyncio.run(with_ami(config, lambda ami: expect(ami, run.wanted, "floor")))
        asyncio.run(with_ami(config, clear))
        if not args.skip_old:
            seconds = load_parallel(config, routes, 2, 2, 64)
            run.record("old: db_put per action, 2 procs x 2 links x 64", seconds)
            asyncio.run(with_ami(config, lambda ami: expect(ami, run.wanted, "old")))
            asyncio.run(with_ami(config, clear))
        asyncio.run(with_ami(config, run.put_many))
        asyncio.run(with_ami(config, lambda ami: run.steps(ami, args.drift)))
    finally:
        supervisor.down()
        core.close()
    floor = run.rows[0][1]
    print(f"\nloadavg at end: {uptime()}\n")
    print(f"| step ({args.routes:,} routes) | seconds | routes/s | x floor |")
    print("|---|---:|---:|---:|")
    for step, seconds, note in run.rows:
        rate = f"{args.routes / seconds:,.0f}" if not step.startswith("one key") else ""
        ratio = f"{seconds / floor:.2f}" if not step.startswith("one key") else ""
        print(f"| {step} {note} | {seconds:.2f} | {rate} | {ratio} |")


if __name__ == "__main__":
    main()
