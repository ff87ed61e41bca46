"""One test per rule family of blocking.rules."""

import random

import numpy as np
import pytest

from blocking.normalize import normalize_batch
from blocking.rules import RuleSet
from blocking.urls import mask_phone, phone_kind, url_kind


@pytest.fixture(scope="module")
def rules():
    return RuleSet()


def fired(rules, text):
    return {h.rule for h in rules.scan(normalize_batch([text])).for_text(0)}


def reasons(rules, text):
    return [h.reason() for h in rules.scan(normalize_batch([text])).for_text(0)]


def test_ad_marker(rules):
    assert "ad_marker" in fired(rules, "(광고) 주말 특가")
    assert "광고 표기 (광고)" in reasons(rules, "[광고] 주말 특가")


def test_free_opt_out_line(rules):
    assert "opt_out_080" in fired(rules, "무료수신거부 080-123-4567")
    assert "opt_out_080" in fired(rules, "무료거부 0801234567")


@pytest.mark.parametrize(
    "host",
    [
        "bit.ly",
        "han.gl",
        "me2.do",
        "vo.la",
        "url.kr",
        "t.ly",
        "tinyurl.com",
        "goo.gl",
        "is.gd",
        "buly.kr",
    ],
)
def test_url_shorteners(rules, host):
    assert "url_shortener" in fired(rules, f"확인 {host}/abc")
    assert f"URL shortener {host}" in reasons(rules, f"확인 https://{host}/abc")


def test_ip_url_and_apk(rules):
    assert "url_ip" in fired(rules, "http://1.234.56.78/x 확인")
    assert "url_apk" in fired(rules, "설치 http://kr-post.com/app.apk")


def test_map_links_are_their_own_kind(rules):
    for link in ("https://naver.me/abc", "https://map.kakao.com/?q=1", "https://kko.to/x"):
        assert fired(rules, f"여기 {link}") >= {"url_map"}


def test_email_is_not_a_link(rules):
    assert not any(r.startswith("url") for r in fired(rules, "메일 a@b.com 으로"))


def test_phone_kinds():
    assert phone_kind("010-1234-5678") == "phone_mobile"
    assert phone_kind("070-1234-5678") == "phone_internet"
    assert phone_kind("080-123-4567") == "phone_080"
    assert phone_kind("09061701461") == "phone_premium"
    assert url_kind("bit.ly/x") == "url_shortener"


def test_phone_numbers_are_masked_in_reasons(rules):
    assert mask_phone("010-1234-5678") == "010****5678"
    assert "mobile number in body 010****5678" in reasons(rules, "연락 010-1234-5678")


def test_bank_account_is_not_a_phone(rules):
    assert not any(r.startswith("phone") for r in fired(rules, "국민은행 123-45-6789"))


def test_messenger_ids(rules):
    assert "messenger_id" in fired(rules, "카톡 ID: vip777")
    assert "messenger_id" in fired(rules, "텔레 @kingmoney")
    assert "url_messenger" in fired(rules, "open.kakao.com/o/abc")
    assert "messenger" in fired(rules, "오픈채팅 들어오세요")


@pytest.mark.parametrize(
    ("text", "family", "word"),
    [
        ("카 지 노 첫충", "gambling", "카지노"),
        ("토토 먹튀 없는 곳", "gambling", "먹튀"),
        ("무직자 대출 당일입금", "loan", "무직자"),
        ("출장안마 24시", "adult", "출장안마"),
        ("리딩방 급등주 종목 추천", "stock", "리딩방"),
        ("비트코인 에어드랍", "crypto", "비트코인"),
        ("과태료 고지서 확인", "authority", "과태료"),
        ("택배 주소지 불명", "courier", "택배"),
        ("엄마 나 폰 고장났어", "family", "폰고장"),
        ("문화상품권 사서 보내줘", "family", "문화상품권"),
        ("차 좀 빼주세요", "car", "빼주"),
        ("You have WON a prize", "en_prize", "won"),
        ("your car is blocking my garage", "en_car", "car"),
    ],
)
def test_vocabulary_families(rules, text, family, word):
    hits = rules.scan(normalize_batch([text])).for_text(0)
    assert (family, word) in {(h.rule, h.fragment) for h in hits}


def test_gambling_reason_text(rules):
    assert "gambling vocabulary: 카지노" in reasons(rules, "카.지.노")


def test_money_and_short_codes(rules):
    assert "money" in fired(rules, "수리비 50만원")
    assert "short_code" in fired(rules, "txt WIN to 87121")


def test_flags_match_hits(rules):
    found = rules.scan(normalize_batch(["(광고) bit.ly/x", "hello"]))
    assert found.flags.shape == (2, len(rules.names))
    assert found.flags[0].sum() >= 2
    assert found.flags[1].sum() == 0


@pytest.mark.parametrize(
    "text",
    ["Ｃａｓｉｎｏ ｂｏｎｕｓ", "c a s i n o free bet", "payday loan approved", "free spins now"],
)
def test_english_vice_words(rules, text):
    assert "en_vice" in fired(rules, text)


@pytest.mark.parametrize(
    "text",
    ["호텔 레스토랑 앞", "텔레비전 배달", "엄마나 아빠나 오시면", "I bet you know"],
)
def test_innocent_look_alikes_are_not_hard_evidence(rules, text):
    assert not fired(rules, text) & {"messenger", "family", "en_vice", "messenger_id"}


def test_messenger_handles_still_found(rules):
    assert "messenger_id" in fired(rules, "텔레 @kingmoney")
    assert "messenger" in fired(rules, "텔레그램 문의")


def test_won_after_an_amount_is_money_not_a_prize(rules):
    assert ("money", "300,000 won") in {
        (h.rule, h.fragment) for h in rules.scan(normalize_batch(["cost 300,000 won"])).for_text(0)
    }
    assert "en_prize" not in fired(rules, "cost 300,000 won")
    assert "en_prize" in fired(rules, "you won a prize")


def test_hangul_hash_collision_falls_back_to_the_plain_scan(rules):
    texts = normalize_batch(["카지노 첫충 무료거부 0801234567", "차 좀 빼주세요 주차", "대출"])
    expected = rules.scan(texts)
    broken = RuleSet()
    broken._hangul._word_codes += 1  # every word now "mismatches" its hash
    found = broken.scan(texts)
    assert [found.distinct(i) for i in range(3)] == [expected.distinct(i) for i in range(3)]
    assert (found.flags == expected.flags).all()


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("양심은 팔지 않습니다sg876.com첫30%", "sg876.com"),
        ("안전접속 URL avd643.com부담없이 접속!", "avd643.com"),
        ("KH7A.COM코.드>G7", "kh7a.com"),
    ],
)
def test_a_domain_glued_to_the_korean_word_after_it_is_a_link(rules, text, host):
    assert ("url_other", host) in {
        (h.rule, h.fragment) for h in rules.scan(normalize_batch([text])).for_text(0)
    }


def test_a_top_level_domain_inside_a_latin_word_is_no_link(rules):
    assert not any(r.startswith("url") for r in fired(rules, "abc.comic 보셨어요 good.do2 하자"))


def test_no_accident_boast_is_not_car_context(rules):
    # "N년 무사고" sells gambling sites; a car text's 사고 (accident) still counts.
    assert "car" not in fired(rules, "6년무사고 안전메이저 신규50% 배구농구.com")
    assert "car" in fired(rules, "접촉 사고 났어요 연락주세요")


def _gated_and_full(text):
    """The marks and links the rules try (gated by numpy) and ``finditer``'s."""
    import numpy as np

    from blocking.rules import (
        _BRACKET_OR_CURRENCY,
        _LINK_OR_HANDLE,
        _mark_and_link_starts,
        _matches_from,
    )

    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    marks, links = _mark_and_link_starts(np.minimum(codes, 0xFFFF))
    return [
        [(m.start(), m.group()) for m in _matches_from(pattern, text, at)]
        for pattern, at in ((_BRACKET_OR_CURRENCY, marks), (_LINK_OR_HANDLE, links))
    ], [
        [(m.start(), m.group()) for m in pattern.finditer(text)]
        for pattern in (_BRACKET_OR_CURRENCY, _LINK_OR_HANDLE)
    ]


def test_marks_and_links_are_tried_wherever_finditer_finds_them():
    # Every alternative of both patterns, at the very start and end, next to the batch
    # separator, overlapping candidates, and a digit above the BMP after a bracket.
    text = (
        "(광고)x[ 국외 발신 ]【해외발신】(국제발신)<광 고>{ 12,000 $5 £ 7 €1.5 (\U0001d7cf) "
        "\x00a.com.kr b.xyz. c.do/ x.comx @abc_d e@abcd ::// http://t.ly 카톡 id: ab12 "
        "카카오톡아이디:@qq1 카카오 텔레 텔레그램 @zz9z 라인 lineid 위챗 wx_123 라 카 위 텔 .k"
        "\x00.com"
    )
    gated, full = _gated_and_full(text)
    assert gated == full
    assert len(full[0]) >= 8
    assert len(full[1]) >= 15
    # The same over random strings of the characters either pattern starts with.
    import random

    rng = random.Random(5)
    alphabet = "([<{【£$€.@:/카톡텔레라인위챗광고국외제해발신 1a\x00\u3000\U0001d7cf"
    for _ in range(2000):
        sample = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        gated, full = _gated_and_full(sample)
        assert gated == full, sample


def test_latin_words_are_found_wherever_the_vocabulary_regex_matches_at_a_word_start(rules):
    # The numpy gates (first letter, first three, fourth) against the vocabulary regex
    # tried at every word start: random texts of listed words, their pieces, digits,
    # separators and non-ASCII letters.
    import random

    import numpy as np

    from blocking.normalize import SEP
    from blocking.rules import _AMOUNT_BEFORE, _LATIN_WORDS, _starts

    rng = random.Random(11)
    words = sorted(_LATIN_WORDS)
    pieces = [*words, *(w[:3] for w in words), *(w[1:] for w in words), "1", "x", "é", "한"]
    seps = [" ", "", "-", ".", "_", "9", "\U0001f600"]
    texts = [
        "".join(rng.choice(pieces) + rng.choice(seps) for _ in range(rng.randint(0, 6)))
        for _ in range(3000)
    ]
    joined = SEP.join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    found = [[] for _ in texts]
    rules._scan_latin(joined, codes, _starts(texts), found, rules.classes(codes))

    expected = [[] for _ in texts]
    owner, taken_until = 0, -1
    for at, ch in enumerate(joined):
        if ch == SEP:
            owner += 1
            continue
        before = joined[at - 1] if at else " "
        if at < taken_until or (before.isascii() and before.isalnum()):
            continue
        m = rules._latin.match(joined, at)
        if m:
            taken_until = m.end()
            word = m.group()
            if word == "won" and _AMOUNT_BEFORE.search(joined, max(at - 2, 0), at):
                continue
            expected[owner].append((_LATIN_WORDS[word], word))
    assert found == expected
    assert sum(map(len, expected)) > 1500


def _digit_runs_by_edges(joined, codes, kind):
    """Runs of digits from the edges of a whole-batch in-run mask (the reference)."""
    from blocking.rules import _DIGIT, _SEPARATOR

    digit = kind == _DIGIT
    for at in np.flatnonzero(codes > 0xFFFF).tolist():
        digit[at] = joined[at].isdecimal()
    in_run = digit.copy()
    in_run[1:-1] |= (kind[1:-1] == _SEPARATOR) & (digit[:-2] & digit[2:])
    edge = np.diff(in_run.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    begin, end = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
    separators = np.flatnonzero(in_run & ~digit)
    counted = end - begin - (np.searchsorted(separators, end) - np.searchsorted(separators, begin))
    return begin.tolist(), end.tolist(), counted.tolist()


def test_digit_runs_are_read_from_the_digits_positions_as_from_the_whole_batch():
    from blocking.rules import _DIGIT_OR_SEPARATOR, _digit_runs

    rng = random.Random(21)
    alphabet = [*"0123456789-., )a 가\x00", "𝟎", "😀", "٣"]
    runs = 0
    for _ in range(4000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 25)))
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        kind = np.take(_DIGIT_OR_SEPARATOR, np.minimum(codes, 0xFFFF))
        got = [a.tolist() for a in _digit_runs(text, codes, kind)]
        assert got == list(_digit_runs_by_edges(text, codes, kind)), text
        runs += len(got[0])
    assert runs > 10_000


def test_reasons_format_new_fragments_as_reason_of_did(monkeypatch):
    """RuleHits.reasons() looks hits up in a cache that formats a miss itself; every
    reason must equal one formatted afresh, with a tiny cache emptied again and again."""
    import blocking.rules as rules_module
    from blocking.reasons import reason
    from blocking.rules import _IS_HAM, RULE_NAMES, Hit, RuleHits

    monkeypatch.setattr(rules_module, "CACHE_SIZE", 7)
    rng = random.Random(3)
    pool = ["주차", "bit.ly/x", "010-1234-5678", "300,000원", '"q"', "\\", "카지노", "a.kr"]
    names = list(RULE_NAMES)
    cleared = 0
    for _ in range(200):
        hits = [
            [(rng.choice(names), rng.choice(pool) + str(rng.randrange(9))) for _ in range(k)]
            for k in (rng.choice([0, 1, 2, 3, 6]) for _ in range(5))
        ]
        flags = np.zeros((len(hits), len(names)), dtype=np.float32)
        for crowded in (None, [len(h) > 2 for h in hits]):
            before = len(rules_module._HIT_REASONS)
            found = RuleHits(flags, hits, crowded).reasons()
            cleared += len(rules_module._HIT_REASONS) < before
            expected = [
                [reason(Hit(r, f).reason(), _IS_HAM[r]) for r, f in pairs]
                for pairs in RuleHits(flags, hits).reported()
            ]
            assert found == expected
            assert len(rules_module._HIT_REASONS) <= 7
    assert cleared > 10  # the cache was emptied mid-batch many times


def test_sorted_contains_is_isin_for_sorted_values():
    """Binary search against np.isin, with queries below, between, equal to and above
    the values, and for empty arrays."""
    from blocking.rules import sorted_contains

    rng = np.random.default_rng(9)
    hits = 0
    for _ in range(300):
        values = np.unique(rng.integers(0, 200, rng.integers(0, 30))).astype(np.int64)
        queries = rng.integers(-5, 210, rng.integers(0, 60)).astype(np.int64)
        found = sorted_contains(values, queries)
        assert found.tolist() == np.isin(queries, values).tolist()
        hits += int(found.sum())
    assert hits > 500


def test_the_rules_one_class_look_up_answers_as_the_three_tables_it_replaced(rules):
    # Every BMP code point, against plain definitions: a decimal digit or one of the
    # separators a digit run may hold (low two bits), the first character of a mark or
    # link pattern, and for ASCII only: some listed Latin word begins with it, and it
    # is a letter or digit.
    from blocking.rules import (
        _ALNUM,
        _BEGINS_WORD,
        _DIGIT,
        _LATIN_WORDS,
        _LINK_FIRST,
        _SEPARATOR,
    )

    firsts = {w[0] for w in _LATIN_WORDS}
    table = rules._classes.tolist()
    assert len(table) == 0x10000
    for c, bits in enumerate(table):
        ch = chr(c)
        digit_or_separator = _DIGIT if ch.isdecimal() else _SEPARATOR if ch in "-., )" else 0
        assert bits & 3 == digit_or_separator, c
        assert bool(bits & _LINK_FIRST) == (ch in ".@:카텔라위([<{【£$€"), c
        assert bool(bits & _BEGINS_WORD) == (c < 128 and ch in firsts), c
        assert bool(bits & _ALNUM) == (c < 128 and ch.isalnum()), c


def test_mark_and_link_starts_from_the_class_look_up_are_those_from_the_codes(rules):
    import numpy as np

    from blocking.normalize import lookup
    from blocking.rules import _mark_and_link_starts

    rng = random.Random(8)
    alphabet = "([<{【£$€.@:/카톡텔레라인위챗광고국외제해발신 1a\x00\u3000\U0001d7cf"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        classes = lookup(rules._classes, codes)
        assert _mark_and_link_starts(codes, classes) == _mark_and_link_starts(codes), text


def test_the_compact_form_from_the_rules_class_look_up_is_compact_of_codes(rules):
    # Random texts over letters, digits, blanks, symbols, SEP and characters beyond the
    # BMP (the class table's last entry stands for those), against the plain table.
    from blocking.normalize import SEP, code_points, compact_of_codes

    rng = random.Random(9)
    alphabet = [*"aZ9٣가ㄱ -.,!_\u3000\ufffe\uffff", SEP, "\U0001d7cf", "😀", "\U00020000"]
    for _ in range(3000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 30)))
        codes = code_points(text)
        got = rules.compact_of(codes, rules.classes(codes))
        assert got.tolist() == compact_of_codes(codes).tolist(), text
        # (compact() keeps no character beyond the BMP, letters or not.)
        plain = [ord(c) for c in text if c == SEP or (c.isalnum() and ord(c) <= 0xFFFF)]
        assert got.tolist() == plain, text


def test_plain_money_units_end_where_the_unit_regex_ends():
    # Every position of random texts of unit letters, blanks and digits, as if a digit
    # run ended there: a plain unit's end must be the regex's, and the plain forms
    # (원, 억, % right after or one space on, 만원) must all be read without it.
    from blocking.rules import _MONEY_UNIT, _plain_unit_ends

    rng = random.Random(13)
    alphabet = [*"원억만%  \u3000\tpoundsuwk1,", "usd", "won", "만 원"]
    read = 0
    for _ in range(3000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 8)))
        codes = [ord(c) for c in text] + [0, 0]
        ends = np.arange(len(text) + 1)
        after = np.array([codes[e] for e in ends], dtype=np.uint32)
        then = np.array([codes[e + 1] for e in ends], dtype=np.uint32)
        money = np.array([rng.random() < 0.9 for _ in ends], dtype=np.bool_)
        got = _plain_unit_ends(ends, after, then, money).tolist()
        for e, unit_end, checked in zip(ends.tolist(), got, money.tolist(), strict=True):
            m = _MONEY_UNIT.match(text, e)
            if not checked:
                assert unit_end == 0
            elif unit_end:
                read += 1
                assert m is not None, (text, e)
                assert m.end() == unit_end, (text, e)
            else:
                plain = ("원", "억", "%", " 원", " 억", " %", "만원")
                assert not text.startswith(plain, e), (text, e)
    assert read > 2000
