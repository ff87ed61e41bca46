"""Issue rate as the pool fills and as active numbers grow, as ratios in one run.

    .venv/bin/python bench/allocation.py [--database-url URL] [--issues 300]

Each case builds its own database, pre-fills it with bulk inserts (taken numbers spread
at random over the pool; for the active-number cases, owners and routes too), then
times ``--issues`` real issues through NumberService, one transaction each, as the CLI
and API do. Ratios are against the 0 % fill case and the 10^3 active case of the same
run, so the machine's speed cancels out.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text

from app_api.migrate import upgrade
from app_api.settings import Settings
from app_api.wiring import Core
from numbering.models import Base, NumberRecord, Owner, Pool, Route
from numbering.types import OwnerPhone, Plate

CHUNK = 50_000


def build(url: str | None, data_dir: Path, pool_size: int, taken: int, active: bool) -> Core:
    db_url = url or f"sqlite:///{data_dir / 'bench.db'}"
    core = Core.build(Settings(env="test", data_dir=data_dir, database_url=db_url))
    if url:
        with core.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(core.engine)
    now = datetime.now(UTC)
    rng = random.Random(42)
    with core.engine.begin() as conn:
        conn.execute(
            insert(Pool),
            [
                {
                    "id": 1,
                    "prefix": "0504",
                    "range_start": 0,
                    "range_end": pool_size - 1,
                    "created_at": now,
                }
            ],
        )
        subs = rng.sample(range(pool_size), taken)
        for start in range(0, taken, CHUNK):
            part = subs[start : start + CHUNK]
            if active:
                owners = [
                    {
                        "id": f"{i:032x}",
                        "phone_hash": secrets.token_bytes(32),
                        "phone_ct": secrets.token_bytes(41),
                        "wrapped_key": secrets.token_bytes(60),
                        "key_version": 1,
                        "created_at": now,
                    }
                    for i in range(start, start + len(part))
                ]
                conn.execute(insert(Owner), owners)
            conn.execute(
                insert(NumberRecord),
                [
                    {
                        "number": f"0504{s:08d}",
                        "pool_id": 1,
                        "status": "active" if active else "quarantined",
                        "owner_id": f"{start + i:032x}" if active else None,
                        "vehicle_id": None,
                        "issued_at": now,
                        "expires_at": now + timedelta(days=365),
                        "released_at": None if active else now,
                        "quarantine_until": None if active else now + timedelta(days=180),
                        "updated_at": now,
                    }
                    for i, s in enumerate(part)
                ],
            )
            if active:
                conn.execute(
                    insert(Route),
                    [
                        {
                            "number": f"0504{s:08d}",
                            "owner_id": f"{start + i:032x}",
                            "target_ct": secrets.token_bytes(41),
                            "updated_at": now,
                        }
                        for i, s in enumerate(part)
                    ],
                )
    if core.engine.dialect.name == "postgresql":
        with core.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for t in Base.metadata.sorted_tables:
                conn.exec_driver_sql(f"VACUUM ANALYZE {t.name}")
    return core


def rate(core: Core, issues: int) -> float:
    phones = [
        OwnerPhone.parse(f"010-{7000 + i // 10000:04d}-{i % 10000:04d}") for i in range(issues)
    ]
    plate = Plate.parse("12가3456")
    start = time.perf_counter()
    for phone in phones:
        with core.numbers() as svc:
            svc.issue(phone, plate)
    return issues / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    ap.add_argument("--issues", type=int, default=300)
    ap.add_argument("--pool", type=int, default=200_000, help="pool size for the fill cases")
    ap.add_argument("--active", type=int, default=1_000_000, help="the large active case")
    args = ap.parse_args()
    cases = [
        ("fill 0%", args.pool, 0, False),
        ("fill 50%", args.pool, args.pool // 2, False),
        ("fill 90%", args.pool, args.pool * 9 // 10, False),
        ("active 10^3", 100_000_000, 1_000, True),
        (
            f"active {args.active:.0e}".replace("e+0", "0^").replace("1 0^", "10^"),
            100_000_000,
            args.active,
            True,
        ),
    ]
    results: dict[str, float] = {}
    backend = "postgresql" if args.database_url else "sqlite"
    print(f"backend={backend} issues/case={args.issues} python={sys.version.split()[0]}")
    for name, size, taken, active in cases:
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            core = build(args.database_url, Path(d), size, taken, active)
            setup = time.perf_counter() - t0
            results[name] = rate(core, args.issues)
            core.close()
        base = results["fill 0%"] if name.startswith("fill") else results["active 10^3"]
        print(
            f"{name:>14}: {results[name]:8.1f} issues/s  ratio {results[name] / base:5.2f}"
            f"  (setup {setup:.1f}s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
