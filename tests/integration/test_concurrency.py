"""Eight allocators in eight processes never hand out the same number twice."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from sqlalchemy import func, select

from app_api.settings import Settings
from app_api.wiring import Core
from numbering.errors import OwnerLimitReached, PoolExhausted
from numbering.models import NumberRecord
from numbering.types import OwnerPhone, Plate

WORKERS = 8


def _allocate(args: tuple[str, str, int, int, bool]) -> tuple[list[str], int, int]:
    db_url, data_dir, worker, count, same_owner = args
    settings = Settings(env="test", data_dir=Path(data_dir), database_url=db_url)
    core = Core.build(settings)
    got: list[str] = []
    exhausted = limited = 0
    for i in range(count):
        phone = "010-5555-0000" if same_owner else f"010-{1000 + worker:04d}-{i:04d}"
        try:
            with core.numbers() as svc:
                view = svc.issue(OwnerPhone.parse(phone), Plate.parse(f"{10 + worker}가{i:04d}"))
            got.append(view.safe_number)
        except PoolExhausted:
            exhausted += 1
        except OwnerLimitReached:
            limited += 1
    core.close()
    return got, exhausted, limited


def _run(core: Core, count: int, same_owner: bool = False) -> list[tuple[list[str], int, int]]:
    s = core.settings
    jobs = [(s.database_url, str(s.data_dir), w, count, same_owner) for w in range(WORKERS)]
    with mp.get_context("spawn").Pool(WORKERS) as pool:
        return pool.map(_allocate, jobs)


def _rows(core: Core) -> int:
    with core.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(NumberRecord)) or 0)


def test_contended_small_pool_is_filled_exactly_once(core: Core) -> None:
    with core.numbers() as svc:
        svc.add_pool("0504", "00000000", "00000119")  # 120 numbers, 160 requests
    results = _run(core, 20)
    issued = [n for got, _, _ in results for n in got]
    assert len(issued) == len(set(issued)) == 120
    assert sum(ex for _, ex, _ in results) == 40
    assert _rows(core) == 120


def test_large_pool_under_eight_allocators_has_no_duplicates(core: Core) -> None:
    with core.numbers() as svc:
        svc.add_pool("0504", "00000000", "00099999")
    results = _run(core, 25)
    issued = [n for got, _, _ in results for n in got]
    assert len(issued) == len(set(issued)) == WORKERS * 25
    assert _rows(core) == WORKERS * 25


def test_one_owner_racing_from_eight_processes_gets_exactly_the_limit(core: Core) -> None:
    with core.numbers() as svc:
        svc.add_pool("0504", "00000000", "00099999")
    results = _run(core, 1, same_owner=True)
    issued = [n for got, _, _ in results for n in got]
    assert len(issued) == core.settings.max_numbers_per_owner
    assert sum(lim for _, _, lim in results) == WORKERS - len(issued)
