"""Korean texts whose cp949 bytes were read as GBK or Big5 (blocking.mojibake)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from blocking.mojibake import repair, repair_batch
from blocking.normalize import normalize_batch
from blocking.pipeline import analyse
from blocking.rules import RULE_NAMES, RuleSet


def _misread(text: str, encoding: str) -> str:
    return text.encode("cp949").decode(encoding, errors="replace").replace("\ufffd", "?")


@pytest.mark.parametrize("encoding", ["gbk", "big5"])
def test_korean_read_as_chinese_is_read_back(encoding: str) -> None:
    korean = "[국제발신] 카지노 첫충 30% 지급 vip77.com"
    garbled = _misread(korean, encoding)
    assert "카지노" not in garbled
    assert repair(garbled) == korean


def test_a_pair_the_wrong_table_lacks_stays_a_question_mark() -> None:
    # As exported: "[국제발신]" read as GBK, two of its syllables lost.
    assert repair("[?力?脚]雀?府? 款康雀?府? 免集45父老") == "[?제?신]회?리? 운영회?리? 출섞45만일"


@pytest.mark.parametrize(
    "text",
    [
        "你好，你的车挡住我的车了，请挪一下车，谢谢",  # Chinese: please move your car
        "您好,我是楼上的邻居,您的车停在消防通道上了,麻烦您尽快移车",
        "車を移動してください。駐車場の前です",  # Japanese
        "無事故 30年 운전했습니다 차 빼드릴게요",  # Korean with a few Hanja
        "本人 確認",  # too few ideographs to judge
    ],
)
def test_chinese_japanese_and_korean_with_hanja_stay_as_written(text: str) -> None:
    assert repair(text) == text


def test_a_batch_without_ideographs_is_returned_as_is() -> None:
    texts = ["차 좀 빼주세요", "move your car please"]
    assert repair_batch(texts) is texts
    # Ideographs that stay as written (Chinese, Hanja): nothing to join again either.
    texts = ["你好，你的车挡住我的车了，请挪一下车，谢谢", "無事故 30年 운전했습니다", "本人 確認"]
    assert repair_batch(texts) is texts
    garbled = [*texts, _misread("(광고) 카지노 첫충 지급", "big5")]
    assert repair_batch(garbled) is not garbled
    assert repair_batch(garbled)[:3] == texts


def test_the_filter_reads_the_repaired_words() -> None:
    garbled = _misread("(광고) 카지노 첫충 지급", "big5")
    flags = analyse([garbled], RuleSet(), 18).rules.flags[0]
    assert flags[RULE_NAMES.index("ad_marker")] == 1
    assert flags[RULE_NAMES.index("gambling")] == 1
    assert normalize_batch([garbled]) != normalize_batch([repair(garbled)])


def test_a_batch_repairs_exactly_the_texts_holding_ideographs() -> None:
    # Garbled texts first, last, between empty texts and next to texts that keep their
    # Hanja: the batch must give each text what repair() gives it alone, so a text
    # found by its offset in the joined batch is never its neighbour.
    garbled = [_misread("[국제발신] 카지노 첫충", "gbk"), _misread("(광고) 대출", "big5")]
    texts = [
        garbled[0],
        "",
        garbled[1],
        "",
        "無事故 30年 운전했습니다",
        "차 좀 빼주세요",
        "本人 確認",
        garbled[1],
        "你好，你的车挡住我的车了",
        "a\x00b",
        garbled[0],
    ]
    expected = [repair(t) for t in texts]
    assert texts[0] not in expected
    assert texts[2] not in expected
    assert repair_batch(texts) == expected
    assert repair_batch(texts, "\x00".join(texts)) == expected
    assert repair_batch(texts, "|".join(texts)) == expected
    joined = "\x00".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    assert repair_batch(texts, joined, codes) == expected


def test_ideographs_found_in_code_points_pick_the_texts_the_regex_picks() -> None:
    # Random texts of ideographs at the range's edges, Hangul, astral characters and lone
    # surrogates (one code point each, so offsets agree): with and without the codes,
    # each text is repaired or kept alike, and texts without an ideograph stay as they are.
    garbled = _misread("카지노 대출 광고", "gbk")
    alphabet = [*"\u4dff\u4e00\u9fff\ua000가a 😀", "\ud83d", garbled]
    rng = random.Random(4)
    changed = 0
    for _ in range(300):
        texts = ["".join(rng.choices(alphabet, k=rng.randint(0, 6))) for _ in range(10)]
        joined = "\x00".join(texts)
        codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        expected = repair_batch(texts, joined)
        assert repair_batch(texts, joined, codes) == expected
        changed += expected is not texts
    assert changed > 50
