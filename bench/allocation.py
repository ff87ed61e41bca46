"""Issue rate as the pool fills and as active numbers grow, as ratios in one run.

    .venv/bin/python bench/allocation.py [--database-url URL] [--issues 300] [--rounds 5]

Each case gets its own database (SQLite file, or PostgreSQL schema), pre-filled with
bulk inserts: taken numbers spread at random over the pool, and for the active-number
cases owners and routes too. Then the cases are timed round-robin, ``--rounds`` times,
each round issuing ``issues/rounds`` real numbers per case through NumberService, one
transaction each as the CLI and API do; a case's rate is its median round. Interleaving
keeps a busy machine from favouring whichever case ran while it was quiet. Ratios are
against the 0 % fill case and the 1,000-active case of the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text

from app_api.db import make_engine, make_session_factory
from app_api.migrate import upgrade
from app_api.model_registry import Base
from app_api.settings import Settings
from app_api.wiring import Core
from numbering.crypto import Keyring
from numbering.models import NumberRecord, Owner, Pool, Route
from numbering.types import OwnerPhone, Plate

CHUNK = 50_000


def open_core(url: str | None, data_dir: Path, case: str) -> Core:
    settings = Settings(
        env="test",
        data_dir=data_dir,
        database_url=url or f"sqlite:///{data_dir / f'{case}.db'}",
    )
    if url is None:
        return Core.build(settings)
    schema = f"bench_{case}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    return Core(
        settings, engine, make_session_factory(engine), Keyring.from_file(settings.key_file)
    )


def prefill(core: Core, pool_size: int, taken: int, active: bool) -> None:
    upgrade(core.engine)
    now = datetime.now(UTC)
    subs = random.Random(42).sample(range(pool_size), taken)
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
        for start in range(0, taken, CHUNK):
            part = list(enumerate(subs[start : start + CHUNK], start))
            if active:
                conn.execute(
                    insert(Owner),
                    [
                        {
                            "id": f"{i:032x}",
                            "phone_hash": secrets.token_bytes(32),
                            "phone_ct": secrets.token_bytes(41),
                            "wrapped_key": secrets.token_bytes(60),
                            "key_version": 1,
                            "created_at": now,
                        }
                        for i, _ in part
                    ],
                )
            conn.execute(
                insert(NumberRecord),
                [
                    {
                        "number": f"0504{s:08d}",
                        "pool_id": 1,
                        "status": "active" if active else "quarantined",
                        "owner_id": f"{i:032x}" if active else None,
                        "vehicle_id": None,
                        "issued_at": now,
                        "expires_at": now + timedelta(days=365),
                        "released_at": None if active else now,
                        "quarantine_until": None if active else now + timedelta(days=180),
                        "updated_at": now,
                    }
                    for i, s in part
                ],
            )
            if active:
                conn.execute(
                    insert(Route),
                    [
                        {
                            "number": f"0504{s:08d}",
                            "owner_id": f"{i:032x}",
                            "target_ct": secrets.token_bytes(41),
                            "updated_at": now,
                        }
                        for i, s in part
                    ],
                )
    if core.engine.dialect.name == "postgresql":
        with core.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for t in Base.metadata.sorted_tables:
                conn.exec_driver_sql(f"VACUUM ANALYZE {t.name}")


def timed_issues(core: Core, phones: list[OwnerPhone]) -> float:
    plate = Plate.parse("12가3456")
    start = time.perf_counter()
    for phone in phones:
        with core.numbers() as svc:
            svc.issue(phone, plate)
    return len(phones) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    ap.add_argument("--issues", type=int, default=300, help="issues per case in all")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pool", type=int, default=200_000, help="pool size for the fill cases")
    ap.add_argument("--active", type=int, default=1_000_000, help="the large active case")
    args = ap.parse_args()
    cases = {
        "fill 0%": (args.pool, 0, False),
        "fill 50%": (args.pool, args.pool // 2, False),
        "fill 90%": (args.pool, args.pool * 9 // 10, False),
        "active 1,000": (100_000_000, 1_000, True),
        f"active {args.active:,}": (100_000_000, args.active, True),
    }
    backend = "postgresql" if args.database_url else "sqlite"
    print(
        f"backend={backend} issues/case={args.issues} rounds={args.rounds} "
        f"python={sys.version.split()[0]}",
        flush=True,
    )
    serial = count()
    per_round = max(1, args.issues // args.rounds)
    with tempfile.TemporaryDirectory() as d:
        cores: dict[str, Core] = {}
        for i, (name, (size, taken, active)) in enumerate(cases.items()):
            t0 = time.perf_counter()
            cores[name] = open_core(args.database_url, Path(d), f"c{i}")
            prefill(cores[name], size, taken, active)
            print(f"  set up {name} in {time.perf_counter() - t0:.1f}s", flush=True)
        rates: dict[str, list[float]] = {name: [] for name in cases}
        order = list(cases)
        for _ in range(args.rounds):
            random.shuffle(order)
            for name in order:
                phones = [
                    OwnerPhone.parse(f"010-{7000 + n // 10000:04d}-{n % 10000:04d}")
                    for n in (next(serial) for _ in range(per_round))
                ]
                rates[name].append(timed_issues(cores[name], phones))
        for core in cores.values():
            core.close()
    median = {name: statistics.median(r) for name, r in rates.items()}
    for name in cases:
        base = median["fill 0%"] if name.startswith("fill") else median["active 1,000"]
        spread = f"{min(rates[name]):.0f}-{max(rates[name]):.0f}"
        print(
            f"{name:>18}: {median[name]:7.1f} issues/s (rounds {spread})"
            f"  ratio {median[name] / base:5.2f}"
        )


if __name__ == "__main__":
    main()
