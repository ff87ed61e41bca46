"""What the API does with bodies it should not take: loose types, oversize, malformed
JSON; and a 405 that names every method of the path."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from pydantic.types import Strict

from app_api.main import create_app
from app_api.routers import schemas
from app_api.settings import Settings
from tests.integration.api.conftest import Api

PROBLEM = "application/problem+json"


def _loose(annotation: object) -> bool:
    """True when ``annotation`` takes an int, float or bool without strict checking."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        return not any(isinstance(m, Strict) and m.strict for m in meta) and _loose(base)
    if origin in (typing.Union, types.UnionType):
        return any(_loose(a) for a in typing.get_args(annotation))
    return annotation in (int, float, bool)


def _body_models() -> set[type[BaseModel]]:
    """The model of every request body the OpenAPI document names."""
    spec = create_app(Settings(env="test")).openapi()
    names = {
        operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        for operations in spec["paths"].values()
        for operation in operations.values()
        if "requestBody" in operation
    }
    return {getattr(schemas, name) for name in names}


def test_every_number_and_boolean_in_a_request_body_is_strict() -> None:
    loose = [
        f"{model.__name__}.{name}"
        for model in _body_models()
        for name, field in model.model_fields.items()
        if not any(isinstance(m, Strict) and m.strict for m in field.metadata)
        and _loose(field.annotation)
    ]
    assert {m.__name__ for m in _body_models()} >= {"AgreementPatch", "MoveCarTextIn", "PoolIn"}
    assert loose == []


@pytest.mark.parametrize(
    "quota", [False, True, "5", 5.0, "0"], ids=["false", "true", "str", "float", "str0"]
)
def test_agreement_quota_takes_only_an_integer(api: Api, quota: object) -> None:
    admin = api.operator("admin", "district_admin")
    made = api.client.post(
        "/v1/ops/agreements",
        json={
            "name": "pilot",
            "district": "Gangnam-gu",
            "partner": "Example Telecom",
            "term_start": "2026-12-01",
            "term_end": "2027-11-30",
            "quota": 10,
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    url = f"/v1/ops/agreements/{made.json()['id']}"
    r = api.client.patch(url, json={"quota": quota}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["field"] == "quota"
    assert api.client.get(url, headers=admin).json()["quota"] == 10
    assert api.client.patch(url, json={"quota": 0}, headers=admin).json()["quota"] == 0


def test_move_car_switch_takes_only_a_boolean(api: Api) -> None:
    api.pool()
    driver = api.driver("010-2345-6789")
    number = api.numbered_vehicle(driver).replace("-", "")
    url = f"/v1/numbers/{number}/preferences/move-car-text"
    for loose in (0, 1, "true", "false"):
        r = api.client.put(url, json={"enabled": loose}, headers=driver)
        assert r.status_code == 422, (loose, r.text)
        assert r.json()["errors"][0]["field"] == "enabled"


@pytest.fixture
def small(api_settings: Settings, core, sender, redis_url: str) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    limited = api_settings.model_copy(update={"http_max_body_bytes": 1024})
    with TestClient(create_app(limited, core=core, text_sender=sender)) as c:
        yield c


def test_a_declared_oversize_body_is_refused_before_parsing(small: TestClient, sender) -> None:  # type: ignore[no-untyped-def]
    body = b'{"phone": "010-1234-5678", "pad": "' + b"x" * 2000 + b'"}'
    r = small.post("/v1/auth/code", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["title"] == "too-large"
    assert "1024" in r.json()["detail"]
    assert sender.sent == []  # nothing was parsed, so no code was texted
    # Even with no JSON content type and a malformed body: the size decides first.
    r = small.post("/v1/ops/agreements", content=b"\x00" * 1025)
    assert r.status_code == 413


def test_a_chunked_oversize_body_is_refused(small: TestClient, sender) -> None:  # type: ignore[no-untyped-def]
    def chunks() -> Iterator[bytes]:
        yield b'{"phone": "010-1234-5678", "pad": "'
        for _ in range(10):
            yield b"x" * 200
        yield b'"}'

    r = small.post("/v1/auth/code", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM
    assert sender.sent == []


def test_a_body_at_the_limit_is_read(small: TestClient) -> None:
    body = b'{"phone": "010-1234-5678"}'
    body = body[:-1] + b" " * (1024 - len(body)) + b"}"
    assert len(body) == 1024
    r = small.post("/v1/auth/code", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 202, r.text


def test_malformed_json_is_422_naming_the_body(client: TestClient) -> None:
    r = client.post("/v1/auth/code", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["errors"] == [
        {
            "field": "body",
            "reason": "not valid JSON: Expecting property name enclosed in double quotes "
            "at character 1",
        }
    ]


def test_an_undecodable_body_is_400_and_documented(client: TestClient) -> None:
    r = client.post(
        "/v1/auth/code", content=b'{"phone": "\xff"}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.headers["content-type"] == PROBLEM
    spec = client.app.openapi()  # type: ignore[attr-defined]
    responses = spec["paths"]["/v1/auth/code"]["post"]["responses"]
    assert {"400", "413", "422"} <= responses.keys()
    assert list(responses["400"]["content"]) == [PROBLEM]


def test_every_error_is_documented_as_problem_json(client: TestClient) -> None:
    spec = client.app.openapi()  # type: ignore[attr-defined]
    wrong = [
        f"{method.upper()} {path} {status}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        for status, answer in operation["responses"].items()
        if status[0] in "45" and list(answer.get("content", {})) != [PROBLEM]
    ]
    assert wrong == ["GET /readyz 503"]  # its own JSON: which dependency is down


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v1/auth/code", "POST"),
        ("PUT", "/v1/vehicles", "GET, HEAD, POST"),
        ("POST", "/v1/blocks", "GET, HEAD"),
    ],
)
def test_405_allows_every_method_of_the_path(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    r = client.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert r.headers["content-type"] == PROBLEM
    documented = client.app.openapi()["paths"][path]  # type: ignore[attr-defined]
    assert {m.upper() for m in documented} | {"HEAD"} >= set(allow.split(", "))


def test_a_date_is_an_iso_string_never_a_number(api: Api) -> None:
    admin = api.operator("admin", "district_admin")
    body = {
        "name": "pilot",
        "district": "Gangnam-gu",
        "partner": "Example Telecom",
        "term_start": 0,  # was read as 1970-01-01
        "term_end": "2027-11-30",
        "quota": 10,
    }
    r = api.client.post("/v1/ops/agreements", json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "term_start"


def test_an_empty_number_filter_is_refused_not_ignored(api: Api) -> None:
    driver = api.driver("010-2345-6789")
    assert api.client.get("/v1/calls?number=", headers=driver).status_code == 422
    assert api.client.get("/v1/calls", headers=driver).status_code == 200
