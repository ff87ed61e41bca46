"""The OpenAPI document, made true to what the app answers outside the routes' own code.

- Every error is ``application/problem+json`` with the ``Problem`` schema (FastAPI
  would list the schema under ``application/json`` and its own 422 body).
- Every operation that takes a body may also answer 400 (the body could not be
  decoded, e.g. not UTF-8), 413 (over ``SAFENUM_HTTP_MAX_BODY_BYTES``) and 422
  (malformed JSON, or a field refused); routes list their business errors themselves.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_BODY_ERRORS = {
    "400": "The body could not be decoded (bad-request), e.g. it is not UTF-8.",
    "413": "The body is larger than SAFENUM_HTTP_MAX_BODY_BYTES (too-large).",
    "422": "Malformed JSON (field `body`) or a field refused (invalid-value).",
}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for operations in doc.get("paths", {}).values():
                for operation in operations.values():
                    responses = operation["responses"]
                    if "requestBody" in operation:
                        _body_errors(responses)
                    for status, answer in responses.items():
                        if status[0] in "45" and _is_problem(answer):
                            answer["content"] = {"application/problem+json": {"schema": _PROBLEM}}
            doc.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
            doc.get("components", {}).get("schemas", {}).pop("ValidationError", None)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _is_problem(answer: dict[str, Any]) -> bool:
    """An error the problem handlers render (not /readyz's own JSON body)."""
    content = answer.get("content")
    if content is None:  # added here for bodies: rendered by the handlers
        return True
    schema = content.get("application/json", {}).get("schema", {})
    return "application/problem+json" in content or schema.get("$ref", "").endswith(
        "/HTTPValidationError"
    )


def _body_errors(responses: dict[str, Any]) -> None:
    for status, description in _BODY_ERRORS.items():
        responses.setdefault(status, {"description": description})
