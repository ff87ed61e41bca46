"""What the HTTP routes share, built once in ``lifespan`` (typed, instead of loose attrs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import redis

from app_api.auth.otp import OtpPolicy, OtpService
from app_api.auth.sessions import SignInSessions
from app_api.auth.tokens import AccessTokens
from app_api.pbx_config import ensure_secret_file
from app_api.ratelimit import RateLimiter
from app_api.settings import Settings
from app_api.wiring import Core
from proxy.bridge.senders import TextSender


@dataclass
class ApiState:
    core: Core
    settings: Settings
    redis: redis.Redis
    limiter: RateLimiter
    access: AccessTokens
    signins: SignInSessions
    otp: OtpService
    sender: TextSender

    @classmethod
    def build(cls, core: Core, s: Settings, sender: TextSender) -> ApiState:
        client = redis.Redis.from_url(s.redis_url, socket_timeout=2, socket_connect_timeout=2)
        key = (
            s.jwt_secret.get_secret_value()
            if s.jwt_secret is not None
            else ensure_secret_file(s.data_dir / "jwt.secret")
        )
        access = AccessTokens(key.encode(), timedelta(minutes=s.access_token_minutes), core.clock)
        limiter = RateLimiter(client)
        otp = OtpService(
            client,
            core.keyring,
            limiter,
            sender,
            OtpPolicy(
                s.otp_ttl_seconds,
                s.otp_max_attempts,
                s.otp_per_phone_per_hour,
                s.otp_per_client_per_hour,
                reveal_code=s.env == "development",
            ),
        )
        signins = SignInSessions(
            core.sessions, access, timedelta(days=s.refresh_token_days), core.clock
        )
        return cls(core, s, client, limiter, access, signins, otp, sender)

    def close(self) -> None:
        self.redis.close()
