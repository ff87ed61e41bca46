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
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pbx"))

import redis
import redis.asyncio as aioredis
from sip_text import Inbox, message, split_datagram

from app_api.migrate import upgrade
from app_api.pbx_config import make_bridge, relay_config
from app_api.settings import Settings
from app_api.wiring import Core
from bench.calls import Ports, ami_settings, start_asterisk
from bench.propagation import pct
from numbering.types import OwnerPhone, Plate, SafeNumber
from proxy.ami import AmiClient
from proxy.bridge import Bridge, TextRelay
from proxy.messaging import CallerRefs
from proxy.messaging import send_text as ami_send_text
from tests.conftest import start_redis

DRIVER = "+821023456789"
BODY = "안녕하세요, 주차장 입구를 막고 있어서요. 차 좀 빼주실 수 있나요? {}"


class Texters(asyncio.DatagramProtocol):
    """Every texter on one UDP socket of the event loop: a MESSAGE out, its final
    answer matched by Call-ID (a thread per texter would cap the texts in flight at
    the default executor's few threads, which the relay's database work shares)."""

    def __init__(self, sip_port: int) -> None:
        self.sip_port = sip_port
        self.waiting: dict[str, asyncio.Future[int]] = {}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        line, headers, _ = split_datagram(data)
        waiter = self.waiting.get(headers.get("call-id", ""))
        if line.startswith("SIP/2.0 ") and waiter is not None and not waiter.done():
            status = int(line.split()[1])
            if status >= 200:
                waiter.set_result(status)

    async def send(self, to: str, sender: str, body: bytes) -> int:
        assert self.transport is not None
        port = self.transport.get_extra_info("sockname")[1]
        datagram, call_id = message(self.sip_port, to, sender, body, "127.0.0.1", port)
        waiter = self.waiting[call_id] = asyncio.get_running_loop().create_future()
        try:
            for _ in range(16):  # retransmit every 0.5 s, as sip_text.send_text does
                self.transport.sendto(datagram, ("127.0.0.1", self.sip_port))
                try:
                    async with asyncio.timeout(0.5):
                        return await asyncio.shield(waiter)
                except TimeoutError:
                    continue
            raise TimeoutError(f"no final answer to a MESSAGE for {to}")
        finally:
            del self.waiting[call_id]


async def run(texts: int, levels: list[int], backlog: int, base: Path, redis_url: str) -> None:
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

        async def start_bridge() -> tuple[AmiClient, Bridge]:
            """The bridge with its relay, as ``safenum serve`` runs them."""
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
            return ami, bridge

        ami, bridge = await start_bridge()
        async with asyncio.timeout(10):
            while not bridge.ready:
                await asyncio.sleep(0.01)
        inbox = Inbox(config.trunk_port)
        _, texters = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: Texters(config.sip_port), local_addr=("127.0.0.1", 0)
        )
        sent_at: dict[str, float] = {}
        seq = 0

        async def relayed(i: int) -> None:
            tag = f"#{i}"
            sent_at[tag] = time.perf_counter()
            texter = f"0107{i:07d}"
            await texters.send(number.digits, texter, BODY.format(tag).encode())

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
            waiting: dict[str, asyncio.Event] = {}

            async def collect() -> None:
                # One reader for every texter: polling per texter would spend the
                # relay's own CPU (same process) at high concurrency.
                seen = 0
                while True:
                    fresh = inbox.texts_since(seen)
                    seen += len(fresh)
                    for t in fresh:
                        tag = t.body.decode().rsplit(" ", 1)[-1]
                        got[tag] = t.received_at
                        if tag in waiting:
                            waiting[tag].set()
                    await asyncio.sleep(0.001)

            async def one(i: int) -> None:
                # Closed loop: each of ``concurrency`` texters waits for its text to
                # reach the phone before sending the next, so latency is not queueing.
                async with sem:
                    tag = f"#{i}"
                    waiting[tag] = asyncio.Event()
                    await step(i)  # type: ignore[operator]
                    if tag not in got:
                        await waiting[tag].wait()

            collector = asyncio.create_task(collect())
            try:
                async with asyncio.timeout(300):
                    await asyncio.gather(*(one(first + i) for i in range(texts)))
            finally:
                collector.cancel()
            want = [f"#{first + i}" for i in range(texts)]
            elapsed = max(got[k] for k in want) - started
            return [(got[k] - sent_at[k]) * 1000 for k in want], texts / elapsed

        async def arrivals(first: int, count: int) -> list[float]:
            tags = {f"#{first + i}" for i in range(count)}
            async with asyncio.timeout(600):
                while True:
                    got = {t.body.decode().rsplit(" ", 1)[-1]: t.received_at for t in inbox.texts()}
                    if tags <= got.keys():
                        return sorted(got[tag] for tag in tags)
                    await asyncio.sleep(0.05)

        async def drain(count: int, first: int) -> None:
            """Throughput alone: ``count`` MessageSends all at once (200 in flight), vs
            ``count`` texts spooled while the relay is down, taken when it starts.
            Rate: texts after the first / time from the first arrival to the last."""
            nonlocal bridge
            sem = asyncio.Semaphore(200)

            async def one(i: int) -> None:
                async with sem:
                    await direct(i)

            await asyncio.gather(*(one(first + i) for i in range(count)))
            times = await arrivals(first, count)
            base_rate = (count - 1) / (times[-1] - times[0])
            await bridge.stop()  # the relay is down: texts queue in the spool
            await bridge.redis.aclose()
            first += count
            sem = asyncio.Semaphore(200)

            async def texted(i: int) -> None:
                async with sem:
                    await texters.send(number.digits, f"0107{i:07d}", BODY.format(f"#{i}").encode())

            await asyncio.gather(*(texted(first + i) for i in range(count)))
            _, bridge = await start_bridge()
            times = await arrivals(first, count)
            rate = (count - 1) / (times[-1] - times[0])
            print(f"{'baseline':<10} {'drain':>4} {'':>8} {'':>8} {base_rate:8.0f}")
            print(f"{'relay':<10} {'drain':>4} {'':>8} {'':>8} {rate:8.0f}", end="")
            print(f" {'':>7} {'':>7} {rate / base_rate:7.3f}   ({count} texts)")

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
        if backlog:
            seq += 1_000_000  # tags of their own
            await drain(backlog, seq)
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
    ap.add_argument("--backlog", type=int, default=0, help="then drain this many spooled texts")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="safenum-bench-relay-"))
    proc, redis_url = start_redis(base)
    try:
        levels = [int(x) for x in args.concurrency.split(",")]
        asyncio.run(run(args.texts, levels, args.backlog, base, redis_url))
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
