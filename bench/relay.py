"""Text relay latency and rate: a texter's MESSAGE to the driver's phone, vs raw MessageSend.

    .venv/bin/python bench/relay.py [--texts 200] [--concurrency 1,8]

One private Asterisk (the shipped configs, free ports), redis-server and SQLite
database, the ``Bridge`` with its ``TextRelay`` as ``safenum serve`` runs them, and
a UDP phone on the trunk port that answers 200 to every MESSAGE (``tests/pbx``'s
``Inbox``). ``--concurrency`` texters each send a text and wait for it to reach the
phone before sending the next (closed loop), so latency is service time, and the
rate is what the path sustains with that many texts in flight. Two cases, timed
from the first byte sent to the phone's receipt:

- relay: a MESSAGE from the trunk to an issued 050 number goes through the dialplan
  spool, the bridge (filter, Redis sender history, sealed store, MessageSend) and back
  out to the phone;
- baseline: the bridge process asks Asterisk for the same outbound MESSAGE directly
  (AMI ``MessageSend``), the last leg of the relay alone.

Each texter is a distinct fictitious number (so sender limits do not trip), texts
are car-related Korean of ~40 characters. Cases alternate per round; ratios are
relay / baseline from the same run. Everything started here is stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pbx"))

import redis
import redis.asyncio as aioredis
from sip_text import Inbox, send_text

from app_api.migrate import upgrade
from app_api.pbx_config import make_bridge, relay_config
from app_api.settings import Settings
from app_api.wiring import Core
from bench.calls import Ports, ami_settings, start_asterisk
from bench.propagation import pct
from numbering.types import OwnerPhone, Plate, SafeNumber
from proxy.ami import AmiClient
from proxy.bridge import TextRelay
from proxy.texts import CallerRefs
from proxy.texts import send_text as ami_send_text
from tests.conftest import start_redis

DRIVER = "+821023456789"
BODY = "안녕하세요, 주차장 입구를 막고 있어서요. 차 좀 빼주실 수 있나요? {}"


async def run(texts: int, levels: list[int], base: Path, redis_url: str) -> None:
    ports = Ports.free()
    supervisor = start_asterisk(base, ports)
    config = supervisor.config
    trunk = f"127.0.0.1:{config.trunk_port}"
    try:
        settings = Settings(
            env="test",
            data_dir=base / "data",
            database_url=f"sqlite:///{base / 'safenum.db'}",
            redis_url=redis_url,
            text_sender_per_minute=1_000_000,
            text_sender_max_numbers=1_000_000,
        )
        settings.data_dir.mkdir()
        core = Core.build(settings)
        upgrade(core.engine)
        with core.numbers() as svc:
            svc.add_pool("0504", "00000000", "99999999")
            number = SafeNumber.parse(
                svc.issue(OwnerPhone(DRIVER), Plate.parse("12가3456")).safe_number
            )
        ami = AmiClient(ami_settings(config))
        relay = TextRelay(
            core,
            ami,
            CallerRefs(*config.ref_keys()),
            replace(relay_config(settings), trunk=trunk),
            redis.Redis.from_url(redis_url),
        )
        bridge = make_bridge(core, ami, aioredis.from_url(redis_url), relay)
        await bridge.start()
        async with asyncio.timeout(10):
            while not bridge.ready:
                await asyncio.sleep(0.01)
        inbox = Inbox(config.trunk_port)
        sent_at: dict[str, float] = {}
        seq = 0

        async def relayed(i: int) -> None:
            tag = f"#{i}"
            sent_at[tag] = time.perf_counter()
            texter = f"0107{i:07d}"
            await asyncio.to_thread(
                send_text, config.sip_port, number.digits, texter, BODY.format(tag).encode()
            )

        async def direct(i: int) -> None:
            tag = f"#{i}"
            sent_at[tag] = time.perf_counter()
            await ami_send_text(ami, trunk, "01023456789", number.digits, BODY.format(tag))

        async def measure(step: object, concurrency: int) -> tuple[list[float], float]:
            nonlocal seq
            first = seq
            seq += texts
            started = time.perf_counter()
            sem = asyncio.Semaphore(concurrency)

            got: dict[str, float] = {}
            seen = 0

            async def arrived(tag: str) -> None:
                nonlocal seen
                while tag not in got:
                    fresh = inbox.texts()[seen:]
                    seen += len(fresh)
                    for t in fresh:
                        got[t.body.decode().rsplit(" ", 1)[-1]] = t.received_at
                    if tag not in got:
                        await asyncio.sleep(0.001)

            async def one(i: int) -> None:
                # Closed loop: each of ``concurrency`` texters waits for its text to
                # reach the phone before sending the next, so latency is not queueing.
                async with sem:
                    await step(i)  # type: ignore[operator]
                    await arrived(f"#{i}")

            async with asyncio.timeout(300):
                await asyncio.gather(*(one(first + i) for i in range(texts)))
            want = [f"#{first + i}" for i in range(texts)]
            elapsed = max(got[k] for k in want) - started
            return [(got[k] - sent_at[k]) * 1000 for k in want], texts / elapsed

        print(f"{texts} texts per case and level, cases alternating")
        print(
            f"{'case':<10} {'conc':>4} {'p50 ms':>8} {'p99 ms':>8} {'texts/s':>8}"
            f" {'p50 x':>7} {'p99 x':>7} {'rate x':>7}"
        )
        for level in levels:
            await measure(direct, level)  # warm-up both paths
            await measure(relayed, level)
            base_lat, base_rate = await measure(direct, level)
            lat, rate = await measure(relayed, level)
            b50, b99 = statistics.median(base_lat), pct(base_lat, 0.99)
            r50, r99 = statistics.median(lat), pct(lat, 0.99)
            print(f"{'baseline':<10} {level:>4} {b50:8.1f} {b99:8.1f} {base_rate:8.0f}")
            print(
                f"{'relay':<10} {level:>4} {r50:8.1f} {r99:8.1f} {rate:8.0f}"
                f" {r50 / b50:7.2f} {r99 / b99:7.2f} {rate / base_rate:7.3f}"
            )
        inbox.close()
        await bridge.stop()
        await bridge.redis.aclose()
        core.close()
    finally:
        supervisor.down()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=200)
    ap.add_argument("--concurrency", default="1,8")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="safenum-bench-relay-"))
    proc, redis_url = start_redis(base)
    try:
        levels = [int(x) for x in args.concurrency.split(",")]
        asyncio.run(run(args.texts, levels, base, redis_url))
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
