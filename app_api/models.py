"""Tables owned by the HTTP API (operators, agreements, tokens, idempotency keys)."""

from __future__ import annotations
