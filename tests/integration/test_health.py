"""The API starts on SQLite or PostgreSQL and reports what it depends on."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app_api.main import create_app
from app_api.settings import Settings
from tests.conftest import free_port


def test_healthz_and_readyz_with_everything_up(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"ready": True, "database": "up", "redis": "up"}


def test_readyz_names_redis_when_it_is_down(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(down)) as client:
        assert client.get("/healthz").status_code == 200  # still serves
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"ready": False, "database": "up", "redis": "down"}
