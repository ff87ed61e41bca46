"""A real ``safenum serve`` process and the real ``safenum`` CLI, for the pbx tier.

The ``service`` fixture (``tests/pbx/conftest.py``) points both at the session's
Asterisk, a fresh database and the session's Redis.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

import httpx

from tests.conftest import wait_until


@dataclass
class Service:
    env: dict[str, str]
    url: str
    proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, expect: int = 0) -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-c", "from app_api.cli import main; main()", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            check=False,
        )
        assert done.returncode == expect, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def ready(self) -> dict[str, object] | None:
        try:
            response = httpx.get(f"{self.url}/readyz", timeout=1)
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start serve without waiting for it (``wait_ready``): several start together."""
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from app_api.cli import main; main()", "serve"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_ready(self) -> None:
        # A deadline, not a wait: ready returns as soon as /readyz says so. 20 s was
        # too short on a loaded 2-core machine (three outbox tests failed at load 15).
        wait_until(self.ready, timeout=60, what="safenum serve /readyz")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(45)
            self.proc = None
