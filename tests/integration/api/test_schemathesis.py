"""Generated requests against the live OpenAPI document: no 5xx and no schema violation.

``schemathesis run --checks all`` against a live server reports more; what remains is
by design and listed in the README ("What the OpenAPI document does not say").

Each operation gets ``EXAMPLES`` generated cases, as a driver on driver routes and as a
district admin on operator routes (so the generated data reaches the handlers instead
of stopping at 401). The total is asserted to be at least 1,000 requests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

from app_api.main import create_app
from app_api.settings import Settings
from app_api.wiring import Core
from proxy.bridge.senders import LoggingTextSender
from tests.integration.api.conftest import Api

EXAMPLES = 40
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.unsupported_method,  # 405 with an Allow header naming every method of the path
]


@pytest.fixture
def live(api_settings: Settings, core: Core, redis_url: str) -> Iterator[tuple[TestClient, Api]]:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    # Generous limits: the generator hammers the sign-in and move-car routes.
    loose = api_settings.model_copy(
        update={
            "otp_per_phone_per_hour": 10**6,
            "otp_per_client_per_hour": 10**6,
            "move_car_per_card_per_hour": 10**6,
            "move_car_per_client_per_hour": 10**6,
        }
    )
    sender = LoggingTextSender()
    with TestClient(create_app(loose, core=core, text_sender=sender)) as client:
        yield client, Api(client, core, sender)


def test_generated_requests_cause_no_server_error(live: tuple[TestClient, Api]) -> None:
    client, api = live
    api.pool()
    driver = api.driver("010-2345-6789")
    api.numbered_vehicle(driver)
    admin = api.operator("admin", "district_admin")
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    calls = 0
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/readyz":  # 503 by design here (no Asterisk): test_health
            continue
        run = _runner(operation, admin if operation.path.startswith("/v1/ops") else driver)
        try:
            calls += run()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    assert failures == [], "\n\n".join(failures)
    assert calls >= 1000


def _runner(operation, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    count = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=operation.as_strategy())
    def run(case: schemathesis.Case) -> None:
        nonlocal count
        count += 1
        case.call_and_validate(headers=headers, checks=CHECKS)

    def go() -> int:
        run()
        return count

    return go
