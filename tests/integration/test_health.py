"""The API starts and serves with parts missing, and /readyz names each one that is down.

With everything up (Asterisk included) it is covered in tests/pbx/test_pbx_serve.py.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from app_api.main import create_app
from app_api.settings import Settings
from tests.conftest import free_port


def test_serves_without_asterisk_and_says_so(settings: Settings) -> None:
    no_pbx = settings.model_copy(update={"ami_port": free_port()})
    with TestClient(create_app(no_pbx)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {
            "ready": False,
            "database": "up",
            "redis": "up",
            "ami": "down",
            "replica": "down",
        }


def test_readyz_names_redis_when_it_is_down(settings: Settings) -> None:
    down = settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{free_port()}/0", "ami_port": free_port()}
    )
    with TestClient(create_app(down)) as client:
        assert client.get("/healthz").status_code == 200  # still serves
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["redis"] == "down"
        assert ready.json()["database"] == "up"
