"""Route-change propagation: from a committed change to Asterisk's AstDB, vs raw AMI.

    .venv/bin/python bench/propagation.py [--rounds 200]

Issue 3 asks that every change reaches Asterisk within 100 ms. The tests only check
that it arrives; this measures how fast, on one private Asterisk (the shipped
configs, free ports), one private redis-server and a fresh SQLite database, with the
``Bridge`` that ``safenum serve`` runs. Each round pauses or resumes one number and
times from the moment the unit of work returns (the commit is durable) until a
second AMI link reads the new value from AstDB, polling every millisecond:

- baseline: no database, no bridge: a ``DBPut``/``DBDel`` on one AMI link, seen by the
  other. The floor any replica over AMI pays (two round trips plus polling).
- in-process: the change is committed with its outbox entry in the bridge's own process
  (what the API does); the post-commit hint wakes the bridge, which reads the outbox,
  re-reads the number and pushes it.
- cross-process: committed through a ``Core`` without the bridge (what the CLI does);
  the bridge is woken by the Redis hint the CLI publishes after commit.

Cases run round-robin so load drift on a shared machine hits them alike. Ratios are
case / baseline from the same run. Asterisk and redis-server are stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis.asyncio as aioredis

from app_api.migrate import upgrade
from app_api.pbx_config import make_bridge
from app_api.settings import Settings
from app_api.wiring import Core
from bench.calls import Ports, ami_settings, start_asterisk
from numbering.types import OwnerPhone, Plate, SafeNumber
from proxy.ami import AmiClient
from proxy.bridge.hints import RedisHint
from proxy.replica import ROUTE_FAMILY
from tests.conftest import start_redis

DRIVER = "010-2345-6789"
DRIVER_E164 = "+821023456789"
BASELINE_NUMBER = "050499999999"


async def seen(watch: AmiClient, number: str, want: str | None, since: float) -> float:
    """Milliseconds from ``since`` until AstDB shows ``want`` for ``number``."""
    async with asyncio.timeout(10):
        while await watch.db_get(ROUTE_FAMILY, number) != want:
            await asyncio.sleep(0.001)
    return (time.perf_counter() - since) * 1000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(rounds: int, base: Path, redis_url: str, ami_port_config: Ports) -> None:
    supervisor = start_asterisk(base, ami_port_config)
    try:
        settings = Settings(
            env="test",
            data_dir=base / "data",
            database_url=f"sqlite:///{base / 'safenum.db'}",
            redis_url=redis_url,
        )
        settings.data_dir.mkdir()
        core = Core.build(settings)
        upgrade(core.engine)
        cli_core = Core.build(settings)  # what a CLI process has: a Redis hint, no bridge
        cli_core.outbox_hints.append(RedisHint(redis_url))

        def issue(plate: str) -> str:
            with core.numbers() as svc:
                return svc.issue(OwnerPhone.parse(DRIVER), Plate.parse(plate)).safe_number

        with core.numbers() as svc:
            svc.add_pool("0504", "00000000", "99999999")
        local = SafeNumber.parse(issue("12가3456")).digits
        remote = SafeNumber.parse(issue("34나5678")).digits

        ami = ami_settings(supervisor.config)
        bridge = make_bridge(core, AmiClient(ami), aioredis.from_url(redis_url))
        await bridge.start()
        async with AmiClient(ami) as watch, AmiClient(ami) as raw:
            await watch.wait_connected(10)
            await raw.wait_connected(10)
            async with asyncio.timeout(10):
                while not bridge.ready:
                    await asyncio.sleep(0.01)
            await asyncio.sleep(1)  # let the Redis subscription settle

            def flip(c: Core, number: str, paused: bool) -> None:
                with c.numbers() as svc:
                    (svc.resume if paused else svc.pause)(SafeNumber(number))

            async def via(c: Core, number: str, paused: bool) -> float:
                await asyncio.to_thread(flip, c, number, paused)
                since = time.perf_counter()
                return await seen(watch, number, DRIVER_E164 if paused else None, since)

            async def baseline(_: str, paused: bool) -> float:
                since = time.perf_counter()
                if paused:
                    await raw.db_put(ROUTE_FAMILY, BASELINE_NUMBER, DRIVER_E164)
                else:
                    await raw.db_del(ROUTE_FAMILY, BASELINE_NUMBER)
                return await seen(watch, BASELINE_NUMBER, DRIVER_E164 if paused else None, since)

            await raw.db_put(ROUTE_FAMILY, BASELINE_NUMBER, DRIVER_E164)
            cases: dict[str, tuple[str, Callable[[str, bool], Awaitable[float]]]] = {
                "baseline (raw AMI)": (BASELINE_NUMBER, baseline),
                "in-process commit": (local, partial(via, core)),
                "cross-process (Redis)": (remote, partial(via, cli_core)),
            }
            samples: dict[str, list[float]] = {name: [] for name in cases}
            paused = dict.fromkeys(cases, False)  # every number starts routed
            for _ in range(rounds):
                for name, (number, step) in cases.items():
                    samples[name].append(await step(number, paused[name]))
                    paused[name] = not paused[name]
            await bridge.stop()
            await bridge.redis.aclose()
        core.close()
        cli_core.close()
    finally:
        supervisor.down()

    base_p50 = statistics.median(samples["baseline (raw AMI)"])
    base_p99 = pct(samples["baseline (raw AMI)"], 0.99)
    print(f"{rounds} changes per case, alternating pause/resume, cases round-robin")
    print(f"{'case':<24} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'p50 x':>7} {'p99 x':>7}")
    for name, values in samples.items():
        p50, p99 = statistics.median(values), pct(values, 0.99)
        print(
            f"{name:<24} {p50:8.2f} {p99:8.2f} {max(values):8.2f}"
            f" {p50 / base_p50:7.2f} {p99 / base_p99:7.2f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="safenum-bench-propagation-"))
    os.environ.setdefault("SAFENUM_LOG_LEVEL", "ERROR")
    proc, redis_url = start_redis(base)
    try:
        asyncio.run(run(args.rounds, base, redis_url, Ports.free()))
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
