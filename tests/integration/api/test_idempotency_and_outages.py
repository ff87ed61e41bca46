"""Idempotency-Key replays; the app serves without Redis or Asterisk and says which is down."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app_api.auth.tokens import Principal
from app_api.main import create_app
from app_api.settings import Settings
from app_api.wiring import Core
from numbering.models import NumberRecord
from numbering.types import OwnerPhone
from proxy.bridge.senders import LoggingTextSender, PbxGatedSender
from tests.conftest import free_port
from tests.integration.api.conftest import Api


def _numbers(core: Core) -> int:
    with core.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(NumberRecord)) or 0)


def test_a_retried_issue_returns_the_same_number_once(api: Api) -> None:
    api.pool()
    me = api.driver("010-2345-6789")
    v = api.client.post("/v1/vehicles", json={"plate": "12가3456"}, headers=me).json()
    url = f"/v1/vehicles/{v['id']}/number"
    h = {**me, "Idempotency-Key": "k-1"}
    first = api.client.post(url, json={}, headers=h)
    again = api.client.post(url, json={}, headers=h)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _numbers(api.core) == 1
    other = api.client.post(url, json={"prefix": "0504"}, headers=h)
    assert other.status_code == 422
    assert other.json()["title"] == "idempotency-key-reused"
    without = api.client.post(url, json={}, headers=me)
    assert without.status_code == 409  # no key: a real second attempt, refused by the domain


def test_concurrent_retries_issue_once(api: Api) -> None:
    api.pool()
    me = api.driver("010-2345-6789")
    v = api.client.post("/v1/vehicles", json={"plate": "12가3456"}, headers=me).json()
    h = {**me, "Idempotency-Key": "same"}
    with ThreadPoolExecutor(6) as pool:
        results = list(
            pool.map(
                lambda _: api.client.post(f"/v1/vehicles/{v['id']}/number", json={}, headers=h),
                range(6),
            )
        )
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["safe_number"] for r in results}) == 1
    assert _numbers(api.core) == 1


def test_move_car_is_idempotent_and_rate_limited(api: Api) -> None:
    api.pool()
    me = api.driver("010-2345-6789")
    number = api.numbered_vehicle(me)
    api.client.get(f"/v1/numbers/{number}/card.png", headers=me)
    with api.core.sessions() as s:
        token = s.scalar(select(NumberRecord.card_token))
    sent_before = len(api.sender.sent)
    for _ in range(2):
        r = api.client.post(f"/p/{token}/move-car", headers={"Idempotency-Key": "tap"})
        assert r.status_code == 202
    assert len(api.sender.sent) == sent_before + 1
    statuses = [api.client.post(f"/p/{token}/move-car").status_code for _ in range(3)]
    assert statuses[-1] == 429


def test_redis_down_answers_cache_unavailable_and_the_rest_still_works(
    settings: Settings, core: Core
) -> None:
    down = settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{free_port()}/0", "ami_port": free_port()}
    )
    with core.numbers() as svc:
        svc.add_pool("0504", "0", "999")
        owner = svc.register(OwnerPhone.parse("010-2345-6789"))
    with TestClient(create_app(down, core=core, text_sender=LoggingTextSender())) as c:
        r = c.post("/v1/auth/code", json={"phone": "010-2345-6789"})
        assert r.status_code == 503
        assert r.json()["title"] == "cache-unavailable"
        assert r.headers["Retry-After"]
        tokens = c.app.state.api.signins.start(Principal("driver", owner))  # type: ignore[attr-defined]
        me = {"Authorization": f"Bearer {tokens.access_token}"}
        v = c.post("/v1/vehicles", json={"plate": "12가3456"}, headers=me).json()
        assert c.post(f"/v1/vehicles/{v['id']}/number", json={}, headers=me).status_code == 201
        assert c.get("/readyz").json()["redis"] == "down"


def test_pbx_down_answers_pbx_unavailable(api_settings: Settings, core: Core) -> None:
    gated = PbxGatedSender(LoggingTextSender(), lambda: False)
    with TestClient(create_app(api_settings, core=core, text_sender=gated)) as c:
        r = c.post("/v1/auth/code", json={"phone": "010-2345-6789"})
        assert r.status_code == 503
        assert r.json()["title"] == "pbx-unavailable"
        assert c.get("/healthz").status_code == 200


def test_metrics_count_requests_and_show_the_ami_link(api: Api) -> None:
    api.client.get("/healthz")
    text = api.client.get("/metrics").text
    assert 'safenum_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "safenum_ami_up 0.0" in text
    assert "safenum_call_outcomes_total" in text
    assert "safenum_filter_verdicts_total" in text
