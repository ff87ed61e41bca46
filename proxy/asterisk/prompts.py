"""Korean announcements, generated at config time with espeak-ng and sox.

The texts live in ``deploy/asterisk/prompts.ko.toml`` (operator-editable). Each
prompt becomes ``<sounds_dir>/<name>.wav`` (8 kHz, mono, 16-bit: what
``format_wav`` plays without transcoding). A stamp file next to each WAV holds the
hash of text, voice and speed, so a second ``safenum asterisk config`` only
re-synthesises what changed. A cache directory shared by several configurations (the
nodes of a cluster, the Asterisks of a test run) keeps each synthesised WAV under that
same hash, so a prompt is synthesised once per text, voice and speed, not once per node.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from numbering import atomic_files

PROMPTS_FILE = Path(__file__).resolve().parents[2] / "deploy" / "asterisk" / "prompts.ko.toml"

REQUIRED = (
    "greeting",
    "whisper",
    "unavailable",
    "quiet",
    "unavailable_no_text",
    "text_sent",
    "text_failed",
    "unknown",
    "no_recent_caller",
    "callback_refused",
)
# Characters that would end or escape a value in extensions.conf [globals].
_UNSAFE_IN_DIALPLAN = set(';$\\\r\n"')
_MAX_MESSAGE = 300


class PromptError(ValueError):
    """The prompts file is incomplete or unsafe, or synthesis failed."""


@dataclass(frozen=True)
class PromptBook:
    voice: str
    speed: int
    prompts: dict[str, str]
    move_car_text: str

    @classmethod
    def load(cls, path: Path = PROMPTS_FILE) -> PromptBook:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise PromptError(f"cannot read prompts file {path}: {exc}") from exc
        prompts = {str(k): str(v) for k, v in data.get("prompts", {}).items()}
        missing = [name for name in REQUIRED if not prompts.get(name, "").strip()]
        if missing:
            raise PromptError(f"{path}: missing prompts {', '.join(missing)}")
        text = str(data.get("message", {}).get("move_car", "")).strip()
        if not text or len(text) > _MAX_MESSAGE or _UNSAFE_IN_DIALPLAN & set(text):
            raise PromptError(
                f"{path}: [message] move_car must be 1..{_MAX_MESSAGE} characters "
                'without ; $ \\ " or line breaks'
            )
        voice = data.get("voice", {})
        return cls(str(voice.get("name", "ko")), int(voice.get("speed", 230)), prompts, text)

    def stamp(self, name: str) -> str:
        key = f"espeak-ng|{self.voice}|{self.speed}|8000|{self.prompts[name]}"
        return hashlib.sha256(key.encode()).hexdigest()


def _synthesise(text: str, voice: str, speed: int, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        steps = (
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text],
            [
                "sox",
                str(raw),
                "-r",
                "8000",
                "-c",
                "1",
                "-b",
                "16",
                "-e",
                "signed-integer",
                str(out),
            ],
        )
        for argv in steps:
            try:
                subprocess.run(argv, capture_output=True, check=True, timeout=60)  # noqa: S603
            except (OSError, subprocess.SubprocessError) as exc:
                raise PromptError(f"{argv[0]} failed: {exc}") from exc


def write_prompts(sounds_dir: Path, book: PromptBook, cache_dir: Path | None = None) -> list[str]:
    """Write every prompt whose stamp changed; return the names (re)written.

    A prompt is copied from ``cache_dir`` when the cache holds its stamp (the hash of
    text, voice and speed: a changed text is a miss), else synthesised and then kept
    there for the next configuration.
    """
    sounds_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if cache_dir is not None:
        cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    made = []
    for name in sorted(book.prompts):
        wav = sounds_dir / f"{name}.wav"
        stamp_file = sounds_dir / f"{name}.stamp"
        stamp = book.stamp(name)
        try:
            if wav.is_file() and stamp_file.read_text().strip() == stamp:
                continue
        except OSError:
            pass
        tmp = sounds_dir / f".{name}.tmp.wav"
        cached = None if cache_dir is None else cache_dir / f"{stamp}.wav"
        if cached is not None and cached.is_file():
            shutil.copyfile(cached, tmp)
        else:
            _synthesise(book.prompts[name], book.voice, book.speed, tmp)
            if cached is not None:
                # whole or not at all: cluster nodes configure in parallel
                atomic_files.replace(cached, tmp.read_bytes())
        os.replace(tmp, wav)
        stamp_file.write_text(stamp + "\n")
        made.append(name)
    return made
