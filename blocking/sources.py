"""Build the real-text part of the corpus from checkouts of public repositories.

    python -m blocking.sources --kisa DIR --nsmc DIR --chatbot DIR

``--kisa`` is a directory holding the KISA spam-report exports (``YYYY-MM-DD.xlsx``)
of ``realchs/sms-spam-detection`` (``WeeklyProgress/JaewonSeo/spam/spam_data``);
``--nsmc`` a checkout of ``e9t/nsmc``; ``--chatbot`` a checkout of
``songys/Chatbot_data``. Origins, licences and counts: ``blocking/data/README.md``.

The KISA rows have no stated licence: they are written only to the git-ignored
:data:`CACHE` (never to the repository), with every phone number rewritten first
(see :func:`strip_phones`); the sender columns are never read. The CC0 and MIT ham is
sampled into :data:`PUBLIC_HAM`, which is shipped.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import iterparse

from blocking.types import Category
from blocking.urls import PHONE_NUMBER

DATA = Path(__file__).parent / "data"
CACHE = DATA / "cache"
KISA_CACHE = CACHE / "kisa_2022.tsv.gz"
KISA_REPORTS = CACHE / "kisa_2022_reports.txt.gz"
"""Per kept row of :data:`KISA_CACHE`, line by line: ``MONTH:REPORTS`` of its campaign."""
PUBLIC_HAM = DATA / "ko_ham_public.tsv.gz"
NSMC_SAMPLE = 9000
CHATBOT_SAMPLE = 6000

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

KISA_LABELS: dict[str, Category] = {
    "비스팸": Category.HAM,
    "부동산": Category.AD,
    "대리운전": Category.AD,
    "통신가입": Category.AD,
    "의약품": Category.AD,
    "게임": Category.AD,
    "스미싱": Category.SMISHING,
}
"""KISA's 스팸유형 -> our class; anything else (도박, 불법대출, 성인, 주식, 기타, ...) is spam."""

_REPORT_NOISE = re.compile(r"^(?:SMS|MMS) 스팸신고|\n*(?:SMS|MMS)/(?:-|KISA 신고 메시지)\s*$")


def read_xlsx(path: Path) -> Iterator[dict[str, str]]:
    """Rows of the first sheet as ``{column letter: text}``, without any dependency."""
    with zipfile.ZipFile(path) as book:
        shared: list[str] = []
        with book.open("xl/sharedStrings.xml") as f:
            # A spreadsheet from a known repository, read offline by a developer; the
            # expat bundled with Python >= 3.11 limits entity expansion.
            for _event, el in iterparse(f):  # noqa: S314
                if el.tag == _NS + "si":
                    shared.append("".join(t.text or "" for t in el.iter(_NS + "t")))
                    el.clear()
        with book.open("xl/worksheets/sheet1.xml") as f:
            for _event, el in iterparse(f):  # noqa: S314
                if el.tag != _NS + "row":
                    continue
                row: dict[str, str] = {}
                for cell in el.iter(_NS + "c"):
                    column = "".join(ch for ch in cell.get("r", "") if ch.isalpha())
                    value = cell.find(_NS + "v")
                    if value is None:
                        row[column] = "".join(t.text or "" for t in cell.iter(_NS + "t"))
                    elif cell.get("t") == "s":
                        row[column] = shared[int(value.text or 0)]
                    else:
                        row[column] = value.text or ""
                yield row
                el.clear()


def strip_phones(text: str) -> str:
    """Rewrite every phone number: the kind prefix stays (010, 070, 080, 1588), every
    later digit is replaced by one drawn from a hash of the number, so the rules still
    see "a mobile number" but the original number is gone."""

    def rewrite(m: re.Match[str]) -> str:
        found = m.group()
        rng = random.Random(zlib.crc32(found.encode()))
        keep = 4 if found[0] == "1" else 3
        out, digits = [], 0
        for ch in found:
            if ch.isdigit():
                digits += 1
                out.append(ch if digits <= keep else str(rng.randrange(10)))
            else:
                out.append(ch)
        return "".join(out)

    return PHONE_NUMBER.sub(rewrite, text)


def clean_report(message: str) -> str:
    """The text as received: no reporting app's "SMS 스팸신고" head or "SMS/-" tail."""
    text = unicodedata.normalize("NFKC", message)
    return _REPORT_NOISE.sub("", text).strip()


def kisa_rows(path: Path) -> Iterator[tuple[str, Category, str, str]]:
    """(text, label, received month, KISA's 스팸유형) of the text reports in one export;
    voice reports, empty texts and the sender columns (D, E) are skipped."""
    header: dict[str, str] | None = None
    for row in read_xlsx(path):
        if header is None:
            if row.get("A") == "seq":
                header = {v: k for k, v in row.items()}
            continue
        if row.get(header["신고유형"]) != "문자":
            continue
        text = clean_report(row.get(header["메시지"], ""))
        if len(text) < 5:
            continue
        kind = row.get(header["스팸유형"], "")
        label = KISA_LABELS.get(kind, Category.SPAM)
        month = row.get(header["수신시간"], "")[:7] or path.stem[:7]
        yield strip_phones(text), label, month, kind


def write_kisa(directory: Path) -> tuple[int, int]:
    """Write the deduplicated reports (earliest of each campaign kept, see
    :mod:`blocking.dedup`) to the cache, and beside it how often each kept campaign was
    reported per month (:data:`KISA_REPORTS`); returns (rows read, rows kept)."""
    from blocking.dedup import campaigns

    rows = [row for path in sorted(directory.glob("2022-*.xlsx")) for row in kisa_rows(path)]
    rows.sort(key=lambda row: row[2])  # by month, stable: the earliest report is kept
    first = campaigns([row[0] for row in rows])
    reports: dict[int, Counter[str]] = {}
    for i, j in enumerate(first):
        reports.setdefault(j, Counter())[rows[i][2]] += 1
    kept = sorted(reports)
    CACHE.mkdir(parents=True, exist_ok=True)
    with (
        gzip.open(KISA_CACHE, "wt", encoding="utf-8") as out,
        gzip.open(KISA_REPORTS, "wt", encoding="utf-8") as counts,
    ):
        for i in kept:
            text, label, month, kind = rows[i]
            out.write(f"{label.value}\t{month}\t{kind}\t{_one_line(text)}\n")
            counts.write(" ".join(f"{m}:{n}" for m, n in sorted(reports[i].items())) + "\n")
    return len(rows), len(kept)


def _one_line(text: str) -> str:
    return text.replace("\t", " ").replace("\r", "").replace("\n", "\\n")


def nsmc_reviews(checkout: Path) -> list[str]:
    out = []
    for path in sorted((checkout / "raw").glob("*.json")):
        for item in json.loads(path.read_text(encoding="utf-8")):
            review = " ".join(str(item.get("review", "")).split())
            if 8 <= len(review) <= 200:
                out.append(review)
    return out


def chatbot_lines(checkout: Path) -> list[str]:
    import csv

    with (checkout / "ChatbotData.csv").open(encoding="utf-8") as f:
        return [row["Q"].strip() for row in csv.DictReader(f) if len(row["Q"].strip()) >= 4]


def write_public_ham(nsmc: Path, chatbot: Path) -> tuple[int, int]:
    rng = random.Random(20261207)
    reviews = sorted(set(nsmc_reviews(nsmc)))
    questions = sorted(set(chatbot_lines(chatbot)))
    picked = [("nsmc", t) for t in rng.sample(reviews, NSMC_SAMPLE)]
    picked += [("chatbot", t) for t in rng.sample(questions, CHATBOT_SAMPLE)]
    body = "".join(f"{source}\t{text}\n" for source, text in picked)
    with gzip.GzipFile(PUBLIC_HAM, "wb", mtime=0) as out:  # same bytes on every run
        out.write(body.encode("utf-8"))
    return NSMC_SAMPLE, CHATBOT_SAMPLE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kisa", type=Path)
    parser.add_argument("--nsmc", type=Path)
    parser.add_argument("--chatbot", type=Path)
    args = parser.parse_args()
    if args.kisa:
        read, kept = write_kisa(args.kisa)
        print(f"{KISA_CACHE}: {read} text reports, {kept} after exact and near-duplicate removal")
    if args.nsmc and args.chatbot:
        print(f"{PUBLIC_HAM}: nsmc {NSMC_SAMPLE}, chatbot {CHATBOT_SAMPLE}")
        write_public_ham(args.nsmc, args.chatbot)


if __name__ == "__main__":
    main()
