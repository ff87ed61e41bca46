"""Every CLI start pays for what ``app_api.cli`` imports: the filter's numpy and model
load only in the commands that judge texts (``safenum filter``, serve's and a bridge's
relay), and uvicorn only in ``safenum serve``; not in ``numbers issue`` and the like that
the tests and operators run often."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("numpy", "blocking.filter", "uvicorn")


def test_the_cli_starts_without_the_filter() -> None:
    probe = "import sys, app_api.cli; print(' '.join(m for m in %r if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe % (HEAVY,)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.split() == []


def test_the_package_still_names_the_filter() -> None:
    import blocking
    import blocking.filter

    assert blocking.MessageFilter is blocking.filter.MessageFilter
    assert blocking.Message is blocking.filter.Message
    assert set(blocking.__all__) <= set(dir(blocking)) | {"Message", "MessageFilter"}
    with pytest.raises(AttributeError):
        blocking.NoSuchThing  # noqa: B018
