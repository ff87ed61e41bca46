"""The driver's per-number preferences: quiet hours (Asia/Seoul) and the move-car text.

Another driver's number answers 404 exactly like an unknown one. A change commits
with its outbox entry and reaches Asterisk through the bridges (``safenum/quiet``,
``safenum/text``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time
from typing import Any

from fastapi import APIRouter

from app_api.auth.deps import Api, Driver
from app_api.auth.tokens import Principal
from app_api.routers.drivers import NumberPath
from app_api.routers.schemas import MoveCarTextIn, PreferencesOut, QuietHoursIn, problems
from app_api.state import ApiState
from numbering.preferences import PreferencesService, PreferencesView
from numbering.types import SafeNumber

router = APIRouter(
    prefix="/v1/numbers/{number}/preferences",
    tags=["drivers"],
    responses=problems(401, 403, 404, 422, 503),
)


@contextmanager
def _mine(
    api: ApiState, who: Principal, number: str, *, write: bool = False
) -> Iterator[tuple[SafeNumber, PreferencesService]]:
    """Preferences of one of my numbers, read-only unless ``write``."""
    n = SafeNumber.parse(number)
    unit = api.core.numbers if write else api.core.reading
    with unit(who.actor) as svc:
        svc.show(n, owner_id=who.subject)  # 404 unless it is mine
        yield n, PreferencesService(svc.repo.session, api.core.clock, who.actor)


def _out(view: PreferencesView) -> dict[str, Any]:
    def hhmm(value: time | None) -> str | None:
        return None if value is None else f"{value:%H:%M}"

    return {
        "safe_number": view.number.national,
        "quiet_start": hhmm(view.quiet_start),
        "quiet_end": hhmm(view.quiet_end),
        "timezone": view.timezone,
        "move_car_text": view.move_text,
    }


@router.get("", response_model=PreferencesOut, summary="Quiet hours and move-car text")
def get_preferences(number: NumberPath, api: Api, who: Driver) -> dict[str, Any]:
    with _mine(api, who, number) as (n, prefs):
        return _out(prefs.get(n))


@router.put(
    "/quiet-hours",
    response_model=PreferencesOut,
    summary="Set quiet hours (Asia/Seoul): callers are offered the text, the phone never rings",
)
def set_quiet_hours(
    number: NumberPath, body: QuietHoursIn, api: Api, who: Driver
) -> dict[str, Any]:
    start, end = time.fromisoformat(body.quiet_start), time.fromisoformat(body.quiet_end)
    with _mine(api, who, number, write=True) as (n, prefs):
        view = prefs.set_quiet_hours(n, start, end)
    return _out(view)


@router.delete("/quiet-hours", response_model=PreferencesOut, summary="Clear quiet hours")
def clear_quiet_hours(number: NumberPath, api: Api, who: Driver) -> dict[str, Any]:
    with _mine(api, who, number, write=True) as (n, prefs):
        view = prefs.clear_quiet_hours(n)
    return _out(view)


@router.put(
    "/move-car-text",
    response_model=PreferencesOut,
    summary="Let callers send the move-car text (menu key 1), or not",
)
def set_move_car_text(
    number: NumberPath, body: MoveCarTextIn, api: Api, who: Driver
) -> dict[str, Any]:
    with _mine(api, who, number, write=True) as (n, prefs):
        view = prefs.set_move_text(n, body.enabled)
    return _out(view)
