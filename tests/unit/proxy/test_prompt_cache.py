"""The prompt cache: a prompt is synthesised once per text, voice and speed.

The synthesiser is replaced by one that writes what it was asked for, so each WAV
says which text, voice and speed it was made from and every call is counted
(espeak-ng and sox themselves run in the pbx tier, on every Asterisk it starts).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from proxy.asterisk import prompts
from proxy.asterisk.prompts import PromptBook, write_prompts

BOOK = PromptBook(
    voice="ko",
    speed=230,
    prompts={"greeting": "안전번호입니다", "unknown": "없는 번호입니다"},
    move_car_text="차 좀 빼주세요",
)


@pytest.fixture
def synthesised(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def fake(text: str, voice: str, speed: int, out: Path) -> None:
        calls.append(text)
        out.write_text(f"{voice}|{speed}|{text}")

    monkeypatch.setattr(prompts, "_synthesise", fake)
    return calls


def test_a_second_configuration_copies_from_the_cache(
    tmp_path: Path, synthesised: list[str]
) -> None:
    cache = tmp_path / "cache"
    assert write_prompts(tmp_path / "node-1", BOOK, cache) == ["greeting", "unknown"]
    assert write_prompts(tmp_path / "node-2", BOOK, cache) == ["greeting", "unknown"]
    assert sorted(synthesised) == sorted(BOOK.prompts.values())  # once each, not twice
    for name, text in BOOK.prompts.items():
        assert (tmp_path / "node-2" / f"{name}.wav").read_text() == f"ko|230|{text}"
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        f"{BOOK.stamp(name)}.wav" for name in BOOK.prompts
    )  # nothing half-written left behind


def test_a_changed_text_is_synthesised_again_not_taken_from_the_cache(
    tmp_path: Path, synthesised: list[str]
) -> None:
    cache = tmp_path / "cache"
    write_prompts(tmp_path / "old", BOOK, cache)
    changed = replace(BOOK, prompts={**BOOK.prompts, "greeting": "새 인사말입니다"})
    synthesised.clear()

    assert write_prompts(tmp_path / "old", changed, cache) == ["greeting"]
    assert write_prompts(tmp_path / "new", changed, cache) == ["greeting", "unknown"]
    assert synthesised == ["새 인사말입니다"]  # the new text once; "unknown" from the cache
    for sounds in (tmp_path / "old", tmp_path / "new"):
        assert (sounds / "greeting.wav").read_text() == "ko|230|새 인사말입니다"
    # The old text is still cached under its own hash, and served for a book that has it.
    synthesised.clear()
    write_prompts(tmp_path / "back", BOOK, cache)
    assert synthesised == []
    assert (tmp_path / "back" / "greeting.wav").read_text() == "ko|230|안전번호입니다"


@pytest.mark.parametrize("changed", [{"voice": "en"}, {"speed": 180}])
def test_another_voice_or_speed_is_a_miss(
    tmp_path: Path, synthesised: list[str], changed: dict[str, object]
) -> None:
    cache = tmp_path / "cache"
    write_prompts(tmp_path / "a", BOOK, cache)
    synthesised.clear()
    other = replace(BOOK, **changed)  # type: ignore[arg-type]
    write_prompts(tmp_path / "b", other, cache)
    assert sorted(synthesised) == sorted(BOOK.prompts.values())
    wav = (tmp_path / "b" / "greeting.wav").read_text()
    assert wav == f"{other.voice}|{other.speed}|{BOOK.prompts['greeting']}"


def test_without_a_cache_every_configuration_synthesises(
    tmp_path: Path, synthesised: list[str]
) -> None:
    write_prompts(tmp_path / "a", BOOK)
    write_prompts(tmp_path / "b", BOOK)
    assert len(synthesised) == 2 * len(BOOK.prompts)
    assert write_prompts(tmp_path / "a", BOOK) == []  # the directory's own stamps still hold
