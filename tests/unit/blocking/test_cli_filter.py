"""safenum filter: JSON Lines in, one verdict or error per line out, in order."""

import gc
import io
import json

import pytest

from app_api.cli_filter import _parse, _parse_slowly, filter_command, run
from blocking.filter import MessageFilter
from blocking.jsonlines import dumps_verdict
from tests.unit.blocking.hard_cases import INNOCENT, OBFUSCATED

TRICKY = [
    "",
    'quote " and backslash \\ and tab \t and newline \n inside',
    "control \x01\x1f and \u2028 line separator and \ud83d\ude97 emoji",
    '(광고) 특가 무료거부 080-123-4567 "quoted" bit.ly/x?a=1&b=2',
]


@pytest.fixture(scope="module")
def mf():
    return MessageFilter.default()


def test_order_errors_and_count(mf):
    lines = [
        json.dumps({"text": "차 좀 빼주세요 010-1234-5678"}),
        "not json",
        json.dumps({"text": "(광고) 특가 무료거부 080-123-4567", "sender": "x"}),
        json.dumps({"text": 5}),
        json.dumps(["text"]),
        json.dumps({"text": "hi", "sender": 7}),
    ]
    out = io.StringIO()
    bad = run(lines, out, mf)
    rows = [json.loads(r) for r in out.getvalue().splitlines()]
    assert bad == 4
    assert len(rows) == 6
    assert rows[0]["verdict"] == "deliver"
    assert rows[1] == {"error": "line 2: invalid JSON (Expecting value)"}
    assert rows[2]["verdict"] == "block"
    assert rows[2]["category"] == "ad"
    assert rows[3]["error"].startswith("line 4:")
    assert rows[4]["error"] == "line 5: expected an object"
    assert rows[5]["error"] == "line 6: 'sender' must be a string"


def test_command_exits_2_on_bad_lines(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO('{"text": "ok"}\n{bad\n'))
    with pytest.raises(SystemExit) as exc:
        filter_command()
    assert exc.value.code == 2
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_command_exits_0_when_all_good(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO('{"text": "차 좀 빼주세요"}\n'))
    filter_command()
    assert json.loads(capsys.readouterr().out)["verdict"] == "deliver"


def test_fast_output_is_byte_identical_to_judge_and_json_dumps(mf):
    """The CLI renders verdicts itself; it must write exactly what the plain path does."""
    texts = [*INNOCENT, *OBFUSCATED, *TRICKY]
    lines = [json.dumps({"text": t}, ensure_ascii=False) for t in texts]
    lines += [json.dumps({"text": t}) for t in TRICKY]  # \u escapes on the way in
    out = io.StringIO()
    assert run(lines, out, mf) == 0
    expected = [dumps_verdict(mf.judge(json.loads(line)["text"])) for line in lines]
    assert out.getvalue() == "\n".join(expected) + "\n"


@pytest.mark.parametrize(
    "line",
    [
        '{"text": "a"}',
        '  {"text": "a"}  \r\n',
        '{"text": "a"} x',
        '{"text": "a"}{"text": "b"}',
        '\ufeff{"text": "a"}',
        '{"text": NaN}',
        '{"text": "a", "text": 5}',
        '{"text": "\\ud800"}',
        '{"text": "a"',
        "[1]",
        "",
    ],
)
def test_fast_parse_agrees_with_json_loads(line):
    assert _parse(3, line) == _parse_slowly(3, line)


def test_command_uses_the_retrained_model_when_there_is_one(monkeypatch, capsys, tmp_path):
    from dataclasses import replace

    from blocking.model import DEFAULT_PATH, LinearModel
    from blocking.rules import RULE_NAMES

    monkeypatch.setenv("SAFENUM_DATA_DIR", str(tmp_path))
    shipped = LinearModel.load(DEFAULT_PATH, RULE_NAMES)
    monkeypatch.setattr("sys.stdin", io.StringIO('{"text": "차 좀 빼주세요"}\n'))
    filter_command()
    assert json.loads(capsys.readouterr().out)["model"] == shipped.version

    version = replace(shipped, threshold=0.99).save(tmp_path / "filter-model.npz", "retrained")
    monkeypatch.setattr("sys.stdin", io.StringIO('{"text": "차 좀 빼주세요"}\n'))
    filter_command()
    assert json.loads(capsys.readouterr().out)["model"] == version != shipped.version


class _RecordingFilter:
    """Judges like the real filter and notes whether the cyclic GC was on meanwhile."""

    def __init__(self, real):
        self.version = real.version
        self._real = real
        self.gc_was_on: list[bool] = []

    def outcomes_of_texts(self, texts):
        self.gc_was_on.append(gc.isenabled())
        return self._real.outcomes_of_texts(texts)


def test_cyclic_gc_is_paused_per_batch_and_restored(mf, monkeypatch):
    monkeypatch.setattr("app_api.cli_filter.BATCH", 2)
    recording = _RecordingFilter(mf)
    lines = [json.dumps({"text": t}) for t in ["차 좀 빼주세요", "(광고) 특가", "hi"]]
    assert gc.isenabled()
    out = io.StringIO()
    run(lines, out, recording)
    assert recording.gc_was_on == [False, False]
    assert gc.isenabled()
    assert out.getvalue() == "".join(
        dumps_verdict(v) + "\n" for v in mf.judge_many(["차 좀 빼주세요", "(광고) 특가", "hi"])
    )
    gc.disable()  # a caller that runs without it keeps it off
    try:
        run(lines, io.StringIO(), recording)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_verdict_lines_match_verdict_line_on_random_outcomes():
    """The batch renderer writes what verdict_line writes, score forms included."""
    import random

    import numpy as np

    from blocking.filter import Outcome
    from blocking.jsonlines import verdict_line, verdict_lines
    from blocking.reasons import reason
    from blocking.types import Category, Decision

    rng = random.Random(8)
    scores = [0.0, 1.0, 0.5, 0.99995, 0.00004, 0.12345, -0.25, 1.5, 2.0, 0.7, -0.0, 0.00005]
    scores += [float(np.float32(k / 10_000 + 0.00005)) for k in range(0, 10_000, 7)]
    reasons = [reason(t) for t in ["car context: 주차", 'a "quote"', "tab\t\\", "\u2028"]]
    outcomes = [
        Outcome(
            rng.choice(list(Decision)),
            rng.choice(list(Category)),
            rng.choice(scores) if rng.random() < 0.3 else rng.random(),
            rng.sample(reasons, rng.randrange(len(reasons) + 1)),
        )
        for _ in range(2000)
    ]
    lines = verdict_lines(outcomes, "m-2025.1")
    assert lines == [verdict_line(o, "m-2025.1") for o in outcomes]
    assert verdict_lines([], "m") == []
    assert any('"score": 1.0,' in ln for ln in lines)  # the ".0" appended
    assert any('"score": 1.5,' in ln for ln in lines)  # out of [0, 1]: repr(round())
    assert any('"reasons": []' in ln for ln in lines)
