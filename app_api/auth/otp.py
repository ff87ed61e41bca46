"""One-time sign-in codes, held in Redis under a keyed hash of the phone.

A code lives ``otp_ttl_seconds`` (3 minutes), allows ``otp_max_attempts`` tries, and
is consumed by the first correct try. Requests are limited per phone and per client
address. Redis keeps only HMACs: neither the phone nor the code is stored in clear.

In development (``SAFENUM_ENV=development``, where no text reaches a phone) the code is
also logged on the ``serve`` console and returned to the caller as ``dev_code``, both
marked development-only, so the drivers' app can be tried without a carrier. Test and
production never reveal it.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass

import redis

from app_api.errors import CodeRejected
from app_api.ratelimit import RateLimiter
from numbering.crypto import Keyring
from numbering.types import OwnerPhone
from proxy.bridge.senders import TextSender

KEY = "safenum:otp:"
HOUR = 3600
log = logging.getLogger("safenum.auth")


@dataclass(frozen=True, slots=True)
class OtpPolicy:
    ttl_seconds: int = 180
    max_attempts: int = 5
    per_phone_per_hour: int = 5
    per_client_per_hour: int = 30
    reveal_code: bool = False  # development only: log and return the code


@dataclass(frozen=True, slots=True)
class CodeSent:
    phone: str  # masked
    expires_in: int
    dev_code: str | None = None  # only when the policy reveals codes (development)


class OtpService:
    def __init__(
        self,
        client: redis.Redis,
        keyring: Keyring,
        limiter: RateLimiter,
        sender: TextSender,
        policy: OtpPolicy,
    ) -> None:
        self.redis = client
        self.keyring = keyring
        self.limiter = limiter
        self.sender = sender
        self.policy = policy

    def _key(self, phone: OwnerPhone) -> str:
        return KEY + self.keyring.lookup_hash("otp-phone", phone.e164).hex()[:40]

    def _code_mac(self, phone: OwnerPhone, code: str) -> str:
        return self.keyring.lookup_hash("otp-code", f"{phone.e164}:{code}").hex()

    def request(self, phone: OwnerPhone, client: str) -> CodeSent:
        p = self.policy
        bucket = self.keyring.lookup_hash("rl-phone", phone.e164).hex()[:40]
        self.limiter.hit(f"otp:phone:{bucket}", p.per_phone_per_hour, HOUR, "codes for this phone")
        self.limiter.hit(f"otp:client:{client}", p.per_client_per_hour, HOUR, "code requests")
        code = f"{secrets.randbelow(1_000_000):06d}"
        key = self._key(phone)
        pipe = self.redis.pipeline()
        pipe.delete(key)
        pipe.hset(key, mapping={"mac": self._code_mac(phone, code), "tries": 0})
        pipe.expire(key, p.ttl_seconds)
        pipe.execute()
        self.sender.send(phone, f"[safenum] 인증번호 {code} ({p.ttl_seconds // 60}분 안에 입력)")
        if not p.reveal_code:
            return CodeSent(phone.masked, p.ttl_seconds)
        log.warning(
            "DEVELOPMENT ONLY (SAFENUM_ENV=development): sign-in code for %s is %s",
            phone.masked,
            code,
        )
        return CodeSent(phone.masked, p.ttl_seconds, dev_code=code)

    def verify(self, phone: OwnerPhone, code: str) -> None:
        """Consume the code or raise ``CodeRejected`` saying why."""
        key = self._key(phone)
        stored = self.redis.hget(key, "mac")
        if stored is None:
            raise CodeRejected(
                "no valid code for this phone (codes expire after "
                f"{self.policy.ttl_seconds // 60} minutes); request a new one",
                field="code",
            )
        tries = int(self.redis.hincrby(key, "tries", 1))
        if tries > self.policy.max_attempts:
            self.redis.delete(key)
            raise CodeRejected("too many wrong tries; request a new code", field="code")
        expected = stored.decode() if isinstance(stored, bytes) else str(stored)
        if not hmac.compare_digest(expected, self._code_mac(phone, code)):
            left = self.policy.max_attempts - tries
            raise CodeRejected(f"wrong code; {left} tries left", field="code")
        if not self.redis.delete(key):  # a concurrent try consumed it first
            raise CodeRejected("this code was already used; request a new one", field="code")
