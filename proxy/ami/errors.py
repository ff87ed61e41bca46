"""Errors the AMI adapter raises; nothing from asterisk-ami or asyncio leaks past it.

Each carries the HTTP status and stable id the API maps it to, so a router can
branch on ``error.code`` instead of on message text. Messages name the host and
port, never the secret.
"""

from __future__ import annotations


class AmiError(Exception):
    """Base of every AMI adapter error."""

    code = "pbx-error"
    http_status = 502


class AmiUnavailable(AmiError):
    """No usable manager connection to Asterisk (down, restarting, refused login)."""

    code = "pbx-unavailable"
    http_status = 503

    def __init__(self, host: str, port: int, reason: str = "not connected") -> None:
        super().__init__(f"Asterisk manager at {host}:{port} unavailable: {reason}")
        self.host = host
        self.port = port
        self.reason = reason


class AmiTimeout(AmiUnavailable):
    """An action got no complete answer in time; the connection is suspect."""

    code = "pbx-timeout"
    http_status = 504

    def __init__(self, host: str, port: int, action: str, timeout: float) -> None:
        super().__init__(host, port, f"{action} not answered within {timeout:g}s")
        self.action = action
        self.timeout = timeout


class AmiActionFailed(AmiError):
    """Asterisk answered ``Response: Error`` to an action."""

    code = "pbx-action-failed"
    http_status = 502

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action} failed: {message}")
        self.action = action
        self.message = message


class AmiProtocolError(AmiError):
    """Something on the AMI port did not speak AMI, or we were asked to send bad input."""

    code = "pbx-protocol-error"
    http_status = 502
