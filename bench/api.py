"""HTTP API latency and throughput at fixed concurrency, as ratios to /healthz in one run.

    .venv/bin/python bench/api.py [--database-url URL] [--requests 400] [--concurrency 16]

Starts ``uvicorn app_api.main:create_app`` in a subprocess on a fresh database (SQLite
in a temp dir unless --database-url names an empty PostgreSQL database), registers one
driver with one vehicle per request, then times, each at the same concurrency:
``GET /healthz`` (the baseline), ``POST /v1/vehicles/{id}/number`` (issue a number, one
per driver) and ``GET /v1/numbers`` (read my records: call records do not exist yet, so
the driver's number list stands in). Prints p50, p99 and requests/s, and each as a
ratio to /healthz measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from app_api.auth.tokens import AccessTokens, Principal
from app_api.migrate import upgrade
from app_api.settings import Settings
from app_api.wiring import Core, utc_now
from numbering.types import OwnerPhone, Plate
from tests.conftest import free_port


def prepare(settings: Settings, drivers: int, key: str) -> list[tuple[dict[str, str], int]]:
    core = Core.build(settings)
    upgrade(core.engine)
    tokens = AccessTokens(key.encode(), timedelta(hours=1), utc_now)
    out = []
    with core.numbers("bench") as svc:
        svc.add_pool("0504", "00000000", "99999999")
        for i in range(drivers):
            owner = svc.register(OwnerPhone.parse(f"010-{5000 + i // 10000:04d}-{i % 10000:04d}"))
            vehicle = svc.add_vehicle(owner, Plate.parse(f"{10 + i % 89}가{i % 10000:04d}"))
            headers = {"Authorization": f"Bearer {tokens.issue(Principal('driver', owner))}"}
            out.append((headers, vehicle.id))
    core.close()
    return out


async def timed(client: httpx.AsyncClient, concurrency: int, calls: list) -> tuple[list, float]:
    sem = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(method: str, url: str, **kw) -> None:
        async with sem:
            t = time.perf_counter()
            r = await client.request(method, url, **kw)
            latencies.append(time.perf_counter() - t)
            assert r.status_code < 300, (url, r.status_code, r.text)

    start = time.perf_counter()
    await asyncio.gather(*(one(*c[:2], **c[2]) for c in calls))
    return latencies, time.perf_counter() - start


def summary(latencies: list[float], wall: float) -> tuple[float, float, float]:
    q = statistics.quantiles(latencies, n=100)
    return q[49] * 1000, q[98] * 1000, len(latencies) / wall


async def run(base: str, drivers: list, n: int, concurrency: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        # Wait until the server answers (poll against a deadline: a loaded machine may
        # take well over 10 s to start it, and a bench that starts early measures nothing).
        deadline = time.monotonic() + 120
        while True:
            try:
                if (await client.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("bench/api.py: no 200 from /healthz within 120 s")
            await asyncio.sleep(0.05)
        await timed(client, concurrency, [("GET", "/healthz", {})] * 50)  # warm-up
        cases = {
            "GET /healthz": [("GET", "/healthz", {})] * n,
            "POST issue number": [
                ("POST", f"/v1/vehicles/{vid}/number", {"json": {}, "headers": h})
                for h, vid in drivers[:n]
            ],
            "GET /v1/numbers": [
                ("GET", "/v1/numbers", {"headers": drivers[i % len(drivers)][0]}) for i in range(n)
            ],
        }
        results = {
            name: summary(*(await timed(client, concurrency, calls)))
            for name, calls in cases.items()
        }
    p50b, p99b, rateb = results["GET /healthz"]
    print(f"concurrency {concurrency}, {n} requests per case")
    print(
        f"{'case':<20} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}"
        f" {'p50 x':>7} {'p99 x':>7} {'rate x':>7}"
    )
    for name, (p50, p99, rate) in results.items():
        print(
            f"{name:<20} {p50:8.1f} {p99:8.1f} {rate:8.0f} "
            f"{p50 / p50b:7.2f} {p99 / p99b:7.2f} {rate / rateb:7.3f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", default="")
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="safenum-bench-api-"))
    key = secrets.token_urlsafe(48)
    env = {
        **os.environ,
        "SAFENUM_ENV": "test",
        "SAFENUM_DATA_DIR": str(tmp),
        "SAFENUM_DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'safenum.db'}",
        "SAFENUM_JWT_SECRET": key,
        "SAFENUM_AMI_PORT": str(free_port()),
        "SAFENUM_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "SAFENUM_LOG_LEVEL": "ERROR",
    }
    settings = Settings(
        env="test", data_dir=tmp, database_url=env["SAFENUM_DATABASE_URL"], jwt_secret=key
    )
    drivers = prepare(settings, args.requests, key)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app_api.main:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--no-access-log",
        ],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        asyncio.run(run(f"http://127.0.0.1:{port}", drivers, args.requests, args.concurrency))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
