"""Prometheus metrics at /metrics: requests, call outcomes, filter verdicts, AMI link.

The call side and the filter increment ``CALL_OUTCOMES`` and ``FILTER_VERDICTS``
(imported from here) where they decide; the AMI link state is read at scrape time.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "safenum_http_requests_total",
    "HTTP requests by route template and status.",
    ("method", "route", "status"),
    registry=REGISTRY,
)
LATENCY = Histogram(
    "safenum_http_request_seconds",
    "HTTP request latency by route template.",
    ("method", "route"),
    registry=REGISTRY,
)
CALL_OUTCOMES = Counter(
    "safenum_call_outcomes_total",
    "Calls to safe numbers by outcome (bridged, busy, no-answer, blocked, paused).",
    ("outcome",),
    registry=REGISTRY,
)
FILTER_VERDICTS = Counter(
    "safenum_filter_verdicts_total",
    "Texts judged by the spam filter, by verdict and category.",
    ("verdict", "category"),
    registry=REGISTRY,
)
AMI_UP = Gauge("safenum_ami_up", "1 while the AMI link to Asterisk is up.", registry=REGISTRY)


def install(app: FastAPI, ami_up: Callable[[], bool]) -> None:
    AMI_UP.set_function(lambda: 1.0 if ami_up() else 0.0)

    @app.middleware("http")
    async def _measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        LATENCY.labels(request.method, template).observe(time.perf_counter() - start)
        REQUESTS.labels(request.method, template, str(response.status_code)).inc()
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
