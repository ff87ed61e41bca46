"""Files that readers only ever see whole: published once, or replaced in one step.

The one way safenum writes a generated secret or key file. The content goes whole
into a temporary file (mode 0600) in the same directory and is fsynced; then it is
made visible in one step:

- ``publish_once`` links it into place with ``os.link``, which fails when the path
  exists: the first writer wins, a later or concurrent writer leaves the winner's file
  alone, and no reader ever sees an empty or half-written file.
- ``replace`` renames it over the path (``os.replace``): a reader sees the old file or
  the new one, never a mix.

Both fsync the directory afterwards, so the new name survives a crash.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def publish_once(path: Path, content: bytes) -> bool:
    """Create ``path`` holding ``content`` unless it exists; True if this call created it."""
    tmp = _write_temp(path, content)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:  # another writer won: its file stands
            return False
    finally:
        os.unlink(tmp)
    fsync_dir(path.parent)
    return True


def replace(path: Path, content: bytes) -> None:
    """Put ``content`` at ``path`` in one step (mode 0600), replacing what was there."""
    tmp = _write_temp(path, content)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def _write_temp(path: Path, content: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
