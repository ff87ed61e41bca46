"""The filter end to end on the shipped model: hard cases, policy and batch behaviour."""

from datetime import UTC, datetime, timedelta

import pytest

from blocking.filter import Message, MessageFilter
from blocking.sender import InMemorySenderHistory, SenderStats
from blocking.types import Category, Decision
from tests.unit.blocking.hard_cases import INNOCENT, OBFUSCATED


@pytest.fixture(scope="module")
def mf():
    return MessageFilter.default()


def test_hard_case_lists_are_big_enough():
    assert len(INNOCENT) >= 60
    assert len(OBFUSCATED) >= 60


def test_every_innocent_car_text_is_delivered(mf):
    verdicts = mf.judge_many(INNOCENT)
    lost = [(t, v.score, v.reasons) for t, v in zip(INNOCENT, verdicts, strict=True) if v.blocked]
    assert lost == []


def test_innocent_texts_stay_well_below_the_threshold(mf):
    """A safety margin, so a retrain or a small rule change cannot silently tip one."""
    worst = max(v.score for v in mf.judge_many(INNOCENT))
    assert worst <= mf.threshold - 0.1


def test_obfuscated_spam_is_blocked(mf):
    verdicts = mf.judge_many(OBFUSCATED)
    missed = [t for t, v in zip(OBFUSCATED, verdicts, strict=True) if not v.blocked]
    assert len(missed) <= len(OBFUSCATED) // 20, missed


@pytest.mark.parametrize(
    "text",
    [
        "Ｃａｓｉｎｏ ｂｏｎｕｓ ｆｒｅｅ ｓｐｉｎｓ tinyurl.com/slots",
        "c a s i n o free bet bonus han.gl/bet",
        "ㅋr지노 말고 카 지 노 신규 꽁머니 url.kr/x1",
        "대ㅡ출 가능 급전 필요하신 분 카톡 money24",
    ],
)
def test_english_and_disguised_vice_hits_the_rule_floor(mf, text):
    assert mf.judge(text).category is Category.SPAM


def test_family_opener_alone_is_not_a_scam(mf):
    assert not mf.judge("엄마나 아빠나 오시면 차 좀 빼달라고 전해주세요 010-2345-6789").blocked
    assert mf.judge("엄마 나 폰 고장났어 문화상품권 사서 핀번호 보내줘").category is Category.SCAM


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("(광고) 주말 특가 70% 할인 무료거부 080-123-4567", Category.AD),
        ("[CJ대한통운] 주소지 불명 반송 예정 확인 http://cj-track.xyz/a", Category.SMISHING),
        ("엄마 나 폰 고장나서 그래 문화상품권 사서 핀번호 보내줘", Category.SCAM),
        ("카지노 첫충 30% 텔레 @vip777", Category.SPAM),
    ],
)
def test_categories(mf, text, category):
    verdict = mf.judge(text)
    assert verdict.verdict is Decision.BLOCK
    assert verdict.category is category
    assert verdict.reasons


def test_delivered_text_is_ham_with_score_in_range(mf):
    verdict = mf.judge("차 좀 빼주세요")
    assert verdict.verdict is Decision.DELIVER
    assert verdict.category is Category.HAM
    assert 0.0 <= verdict.score < mf.threshold


def test_blocked_reasons_name_the_evidence(mf):
    verdict = mf.judge("(광고) 카.지.노 첫충 bit.ly/abc 무료거부 080-123-4567")
    assert "광고 표기 (광고)" in verdict.reasons
    assert "URL shortener bit.ly" in verdict.reasons
    assert "gambling vocabulary: 카지노" in verdict.reasons


def test_sender_burst_blocks_as_spam(mf):
    stats = SenderStats("01099998888", 40, timedelta(minutes=10))
    verdict = mf.judge("안녕하세요", sender="01099998888", stats=stats)
    assert verdict.blocked
    assert verdict.category is Category.SPAM
    assert "sender texted 40 safe numbers in 10 minutes" in verdict.reasons


def test_quiet_sender_changes_nothing(mf):
    stats = SenderStats("01099998888", 1, timedelta(minutes=10))
    assert not mf.judge("차 좀 빼주세요", stats=stats).blocked


def test_batch_equals_one_by_one(mf):
    texts = [*INNOCENT, *OBFUSCATED, "", "a\x00b"]
    assert mf.judge_many(texts) == [mf.judge(t) for t in texts]
    assert mf.judge_many([]) == []
    assert mf.judge_many([Message("차 좀 빼주세요", "x")])[0].verdict is Decision.DELIVER


def test_in_memory_history_counts_distinct_recipients_in_window():
    history = InMemorySenderHistory(window=timedelta(minutes=10))
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(5):
        stats = history.record("s", f"0504000000{i}", t0 + timedelta(minutes=i))
    assert stats.distinct_recipients == 5
    stats = history.record("s", "05040000000", t0 + timedelta(minutes=30))
    assert stats.distinct_recipients == 1
    assert stats.describe() == "sender texted 1 safe numbers in 10 minutes"


def test_verdict_json_shape(mf):
    data = mf.judge("차 좀 빼주세요").to_json()
    assert set(data) == {"verdict", "category", "score", "reasons", "model"}
    assert data["model"] == mf.version
    assert data["verdict"] == "deliver"


NEIGHBOURS = [
    ("please send", "12345"),
    ("reply", "12345 stop"),
    ("call me at", "12345 ok"),
    ("text", "99999"),
]


@pytest.mark.parametrize(("before", "text"), NEIGHBOURS)
def test_a_verdict_never_depends_on_the_previous_text_in_the_batch(
    mf: MessageFilter, before: str, text: str
) -> None:
    """Rules look back only within their own text: a cue word ending the previous text
    must not make the next one a premium short code."""
    assert mf.judge_many([before, text])[1] == mf.judge(text)
    assert mf.judge_many([text, before])[0] == mf.judge(text)
