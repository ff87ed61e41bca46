"""Refuse request bodies over ``SAFENUM_HTTP_MAX_BODY_BYTES`` with 413, before parsing.

A declared ``Content-Length`` over the limit is answered at once, before the app runs.
A body without one (chunked) is counted as it is read; the read that crosses the limit
raises, and the problem handler answers 413 like any other refusal. Starlette's own
limiter answers in plain text and only when a route reads its body, hence this one.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app_api.problems import problem


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit} bytes (SAFENUM_HTTP_MAX_BODY_BYTES)"


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = problem(413, "too-large", _too_large(self.max_bytes))
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413, _too_large(self.max_bytes))
            return message

        await self.app(scope, counted, send)
