"""One test per disguise that blocking.normalize undoes."""

import random
import re

import numpy as np
import pytest

from blocking.normalize import (
    _PHONEISH,
    MASKS,
    SEP,
    _fix_phones_and_repeats,
    _fix_phones_and_repeats_with_codes,
    _fold_jamo,
    _phone_digits,
    compact,
    ends_in_blanks,
    lookup,
    normalize,
    normalize_batch,
    normalize_joined,
    normalize_joined_with_codes,
    splice_codes,
    unmask_words,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("대 출 가 능", "대출가능"),
        ("카.지.노", "카지노"),
        ("바/카/라", "바카라"),
        ("대~출", "대출"),
        ("c a s i n o", "casino"),
    ],
)
def test_separators_between_letters_are_removed(raw, expected):
    assert normalize(raw) == expected


def test_two_real_words_stay_apart():
    assert normalize("차 좀 빼주세요") == "차 좀 빼주세요"


def test_compact_joins_spaced_hangul_for_vocabulary():
    assert compact(normalize("대 출 해 드 림")) == "대출해드림"
    assert compact("대 출") == "대출"


def test_fullwidth_is_folded():
    assert normalize("ｂｉｔ．ｌｙ／ＡＢＣ") == "bit.ly/abc"


@pytest.mark.parametrize(("raw", "expected"), [("саsinо", "casino"), ("bοnus", "bonus")])
def test_cyrillic_and_greek_lookalikes_in_latin_words(raw, expected):
    assert normalize(raw) == expected


def test_pure_cyrillic_words_are_kept():
    assert normalize("Привет машина") == "привет машина"


def test_digit_lookalikes_in_phone_numbers():
    assert normalize("O1O-l234-5678") == "010-1234-5678"


def test_letters_outside_numbers_are_kept():
    assert normalize("hello 010-1234-5678") == "hello 010-1234-5678"


@pytest.mark.parametrize("zw", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_zero_width_characters_are_removed(zw):
    assert normalize(f"대{zw}출") == "대출"


def test_circled_letters_and_numbers():
    assert normalize("①②③ ⓐⓑ") == "123 ab"
    assert normalize("㉠") == "ㄱ"


def test_compatibility_jamo_are_recomposed():
    assert normalize("ㄷㅐㅊㅜㄹ") == "대출"
    assert normalize("ㅋㅏㅈㅣㄴㅗ") == "카지노"


def test_lone_jamo_stay_readable():
    assert normalize("ㅋㅋ") == "ㅋㅋ"


def test_repeated_symbols_are_shortened():
    assert normalize("급해요!!!!!!") == "급해요!!"
    assert normalize("ㅋㅋㅋㅋㅋㅋ") == "ㅋㅋ"


def test_digits_are_not_collapsed():
    assert normalize("010-0000-1111") == "010-0000-1111"


def test_obfuscated_dots_in_links():
    assert normalize("naver[.]com") == "naver.com"
    assert normalize("bit . ly/x") == "bit.ly/x"


def test_blanks_are_squeezed():
    assert normalize("a  b\t c \n d") == "a b c\nd"


def test_batch_keeps_boundaries_and_order():
    assert normalize_batch(["a\x00b", "", "대 출"]) == ["ab", "", "대 출"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("ㅋr지노", "카지노"), ("대ㅡ출 가능", "대출 가능"), ("대ㅣ출", "대출")],
)
def test_latin_r_and_filler_strokes_in_hangul(raw, expected):
    assert normalize_batch([raw]) == [expected]


def test_emoticon_strokes_are_kept():
    assert normalize_batch(["ㅡㅡ 대출 ㅡㅡ", "진짜ㅡㅡ"]) == ["ㅡㅡ 대출 ㅡㅡ", "진짜ㅡㅡ"]


def test_spaced_latin_is_joined_on_the_hot_path():
    assert normalize_batch(["c a s i n o free bet", "a b c", "x-y"]) == [
        "casino free bet",
        "a b c",
        "x-y",
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("이벤트 ga-lu.컴 텔레", "이벤트 ga-lu.com 텔레"),
        ("도메인 tj-825 쩜 컴", "도메인 tj-825.com"),
        ("가입바랍니다 rama4444컴", "가입바랍니다 rama4444.com"),
    ],
)
def test_com_spelled_in_hangul_after_a_domain(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize("text", ["lg컴퓨터 샀어요", "hp 컴 고쳤어", "오늘.컴퓨터 켜"])
def test_words_starting_with_com_in_hangul_are_kept(text):
    assert normalize(text) == text


# The hot path finds mask runs, stand-ins for dots, repeats and blanks with numpy; these
# pin what it must give (the readings of the regex passes it replaced).


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("t?el?egram", "telegram"),
        ("b■■■et365", "bet365"),
        ("a**b**c", "abc"),
        ("2*5*", "25*"),  # only between two Latin letters or digits
        ("*ab*", "*ab*"),
        ("what?", "what?"),
        ("ok? yes", "ok? yes"),
        ("abc ㆍcom", "abc.com"),
        ("abc 닷 com", "abc.com"),
        ("abc닷컴", "abc.com"),
        ("x닷케이알", "x.kr"),
        ("가닷컴", "가닷컴"),  # a stand-in needs a Latin letter or digit before it
        ("abc ㆍc*om", "abc.com"),  # unmasked first, then the stand-in is read
        ("te★le ㆍ kr", "tele.kr"),
    ],
)
def test_masks_and_stand_ins_for_dots(raw, expected):
    assert unmask_words(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ㅋㅋㅋ  ㅋ!!!", "ㅋㅋ ㅋ!!"),
        ("a\t\tb", "a b"),
        ("a\vb", "a b"),
        ("\tx y", " x y"),
        ("a  \n  b", "a\nb"),
        ("a \n\n b", "a\n\nb"),
        ("hi\r\n there", "hi\nthere"),
        ("O1O-l234-5678  !!!", "010-1234-5678 !!"),
        ("010-llll-5678", "010-llll-5678"),  # no digit touches a look-alike: left alone
    ],
)
def test_repeats_blanks_and_phone_lookalikes(raw, expected):
    assert normalize_joined(raw) == expected


def test_no_fix_reaches_across_texts_of_a_batch():
    texts = ["ab*", "*cd", "x\t", "\ty", "ㅋㅋ", "ㅋ", "abc ", "ㆍcom", "!!", "!"]
    assert normalize_joined(SEP.join(texts)).split(SEP) == [
        "ab*", "*cd", "x ", " y", "ㅋㅋ", "ㅋ", "abc ", "ᆞcom", "!!", "!",
    ]  # fmt: skip


_MASK_RUN = re.compile("(?<=[a-z0-9])[" + re.escape(MASKS) + "]+(?=[a-z0-9])")
_STAND_IN = re.compile(
    r"(?:[。｡ㆍᆞ·•‧∙]|닷) ?(?=(?:com|net|org|kr|ly|gl|do|la|me|to|io|co|xyz|top|site|shop"
    r"|info|biz|cc|gd|us|link|app|vip|bet|win|club|live|pro|fun|cyou|sbs|cfd|icu|buzz"
    r"|online|store|kim|game|games)(?![a-z]))|닷(?:컴|넷|케이알)"
    r"|[.쩜] ?컴(?![가-힣])|(?<=[a-z0-9])컴(?![가-힣])"
)
_TLDS = {"닷컴": ".com", "닷넷": ".net", "닷케이알": ".kr"}
_REPEATS = re.compile(r"([!?.,~^*=+\-_♡♥★☆ㅋㅎㅠㅜ])\1{2,}")


def _unmask_by_regex(text):
    """What unmask_words did with two batch-wide regex passes (the reference)."""
    text = _MASK_RUN.sub("", text)
    pieces, done = [], 0
    for m in _STAND_IN.finditer(text):
        lead = m.start()
        if lead > done and text[lead - 1] == " ":
            lead -= 1
        if lead > done and re.match("[a-z0-9]", text[lead - 1]):
            found = m.group()
            pieces += (text[done:lead], ".com" if found[-1] == "컴" else _TLDS.get(found, "."))
            done = m.end()
    return "".join(pieces) + text[done:]


def _squeeze_by_regex(text):
    """Repeats shortened and blanks squeezed text by text, with regexes (the reference)."""
    out = []
    for part in text.split(SEP):
        part = re.sub(r"[\t\r\f\v]", " ", _REPEATS.sub(r"\1\1", part))
        part = re.sub("  +", " ", part).replace(" \n", "\n").replace("\n ", "\n")
        out.append(part)
    return SEP.join(out)


_ALPHABET = [*"abcz09 .-_?*■#^★♥ㅋ!~\t\n\r\v", *"。ㆍ·•닷컴넷가쩜퓨", "com", " kr", SEP, "  "]


@pytest.mark.parametrize("seed", range(4))
def test_numpy_passes_read_like_the_regexes_they_replace(seed):
    rng = random.Random(seed)
    for _ in range(3000):
        text = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 30)))
        assert unmask_words(text) == _unmask_by_regex(text), text
        if not re.search("[0-9][oil|]|[oil|][0-9]", text):  # phone look-alikes aside
            assert _fix_phones_and_repeats(text) == _squeeze_by_regex(text), text


def _fold_jamo_reference(codes):
    """The jamo steps of _fold_letters as they were, scanning the whole batch again
    after reading each r (the reference for the sparse _fold_jamo_with_latin_r)."""
    codes = np.append(codes, np.uint32(0))
    jamo = np.flatnonzero((codes[:-1] - np.uint32(0x1100)) < 0x100)
    leads = jamo[(codes[jamo] - np.uint32(0x1100)) <= 0x12]
    if (codes[leads + 1] == ord("r")).any():
        codes = codes[:-1].copy()
        offset = codes - np.uint32(0x1100)
        with_r = np.flatnonzero((offset[:-1] <= 0x12) & (codes[1:] == ord("r")))
        codes[with_r] = 0xAC00 + offset[with_r] * 588
        return _fold_jamo_reference(np.delete(codes, with_r + 1))
    return _fold_jamo(codes[:-1], jamo) if len(jamo) else codes[:-1]


_JAMO_ALPHABET = [*"ᄀᄁᄂᄃ하ᅵᅳᆨᆯᇂ", *"rRa가나대추힣ㅡㅣ 0", SEP, "ᄏr", "ᄏᄏr"]


@pytest.mark.parametrize("seed", range(3))
def test_jamo_before_a_latin_r_fold_as_a_whole_scan_folds_them(seed):
    rng = random.Random(seed)
    read = 0
    for _ in range(3000):
        text = "".join(rng.choice(_JAMO_ALPHABET) for _ in range(rng.randint(0, 25)))
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        jamo = np.flatnonzero((codes - np.uint32(0x1100)) < 0x100)
        got = _fold_jamo(codes, jamo) if len(jamo) else codes
        assert got.tolist() == _fold_jamo_reference(codes).tolist(), text
        read += "ᄏr" in text
    assert read > 1000  # the r path was taken


def test_raw_codes_given_or_not_normalise_alike():
    rng = random.Random(8)
    alphabet = [*_ALPHABET, *"ＡＢａ？＊ⓝ①ΣσΑаеᄏrㅋㅠ😀\u200b\ud83d", "T?el?egram"]
    for _ in range(300):
        texts = ["".join(rng.choices(alphabet, k=rng.randint(0, 20))) for _ in range(8)]
        joined = SEP.join(t.replace(SEP, "") for t in texts)
        codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        assert normalize_joined(joined, codes) == normalize_joined(joined), joined


def test_code_points_handed_along_are_those_of_the_text():
    # Every step that keeps the code points it was given must only do so when it left
    # the text alone: the pipeline hashes n-grams and scans rules from them.
    rng = random.Random(9)
    alphabet = [*_ALPHABET, *"ＡａΑаᄏrㅋ😀\u200b\u3000", "T?el?egram", "bit[.]ly", "O1O-l234"]
    for _ in range(1500):
        joined = SEP.join("".join(rng.choices(alphabet, k=rng.randint(0, 12))) for _ in range(4))
        text, codes = normalize_joined_with_codes(joined)
        assert text == normalize_joined(joined)
        assert codes.tolist() == [ord(c) for c in text], joined


def test_blanks_at_the_ends_of_texts_are_found_from_the_code_points():
    rng = random.Random(10)
    alphabet = ["a", "가", " ", "\n", "\t", "\u3000", "\u00a0", "\u200b", "😀", "\x85", SEP]
    for _ in range(5000):
        joined = "".join(rng.choices(alphabet, k=rng.randint(0, 10)))
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        expected = any(t != t.strip() for t in joined.split(SEP))
        assert ends_in_blanks(codes) == expected, repr(joined)


def test_lookup_reads_the_last_entry_for_every_code_point_past_the_table():
    """lookup (np.take clamping in its gather) against the clamp-then-take it replaces,
    for tables of 128, 65,536 and 65,537 entries and code points on both sides of
    their ends, up to the last of Unicode."""
    rng = np.random.default_rng(12)
    for size in (128, 0x10000, 0x10001):
        table = rng.integers(0, 250, size=size, dtype=np.uint8)
        for _ in range(50):
            codes = rng.choice(
                np.array([0, size - 2, size - 1, size, size + 1, 0x10FFFF], dtype=np.uint32),
                size=rng.integers(0, 40),
            )
            codes = np.concatenate((codes, rng.integers(0, 0x110000, 30, dtype=np.uint32)))
            expected = table[np.minimum(codes, size - 1)]
            assert lookup(table, codes).tolist() == expected.tolist()
            assert lookup(table, codes).dtype == table.dtype


def test_splice_codes_are_the_code_points_of_the_spliced_text():
    """splice_codes against encoding the rewritten text whole, for random texts and
    random ascending spans (empty ones, touching ones, at both ends) and parts of any
    length, beyond the BMP too."""
    rng = random.Random(13)
    alphabet = ["a", "가", " ", SEP, "😀", "ㅋ", "1"]
    for _ in range(3000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 12)))
        cuts = sorted(rng.choices(range(len(text) + 1), k=2 * rng.randint(0, 3)))
        spans = list(zip(cuts[::2], cuts[1::2], strict=True))
        parts = ["".join(rng.choices(alphabet, k=rng.randint(0, 4))) for _ in spans]
        expected, done = "", 0
        for (start, end), part in zip(spans, parts, strict=True):
            expected += text[done:start] + part
            done = end
        expected += text[done:]
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        got = splice_codes(codes, spans, parts)
        assert got.dtype == np.uint32
        assert got.tolist() == [ord(c) for c in expected], (text, spans, parts)


def test_phone_look_alikes_rewritten_in_some_texts_of_a_batch_keep_the_code_points():
    """_fix_phones_and_repeats hands on the code points of the text it returns, when
    some texts of the batch hold a phone number written with o, i or l and others
    only a digit next to one."""
    rng = random.Random(14)
    texts = ["O1O-l234-5678 call", "10 lines", "call 0l0-1234-5678!!!", "2o", "plain", "oil 1"]
    for _ in range(300):
        joined = SEP.join(rng.choices(texts, k=rng.randint(1, 6)))
        text, codes = _fix_phones_and_repeats_with_codes(joined.lower())
        assert codes.tolist() == [ord(c) for c in text], joined
        reference = SEP.join(_PHONEISH.sub(_phone_digits, t) for t in joined.lower().split(SEP))
        assert text == _squeeze_by_regex(reference), joined


def test_normalising_with_codes_if_at_hand_gives_the_text_and_codes_or_none():
    # The text is normalize_joined's; the code points, when given, are the text's; they
    # are None only when the last step (spaced Latin letters) rewrote the batch.
    from blocking.normalize import code_points, normalize_joined_with_codes_if_at_hand

    rng = random.Random(14)
    alphabet = [*"ab c.-_ 가ㅋ1o0 \u200b？*", "\x00", "c a s i n o", " l i n k "]
    nones = 0
    for _ in range(2000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 12)))
        joined, codes = normalize_joined_with_codes_if_at_hand(text)
        assert joined == normalize_joined(text), text
        if codes is None:
            nones += 1
        else:
            assert codes.tolist() == code_points(joined).tolist(), text
    assert 100 < nones < 2000
