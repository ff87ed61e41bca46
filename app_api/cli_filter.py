"""``safenum filter``: judge JSON Lines texts from stdin, one verdict line per input line.

Input lines are ``{"text": "...", "sender": "..."}`` (sender optional). Output keeps
the input order; a malformed line yields ``{"error": "line N: <why>"}`` in its place,
and the command exits 2 at the end if any line was bad. Lines are judged in batches so
the filter's vectorised path amortises its per-call cost, and verdicts are written by
:mod:`blocking.jsonlines` (byte-identical to ``json.dumps`` of ``Verdict.to_json()``).
"""

from __future__ import annotations

import json
import json.scanner
import sys
from collections.abc import Iterable
from itertools import islice
from typing import IO, Any, cast

from blocking.filter import Message, MessageFilter
from blocking.jsonlines import verdict_line

BATCH = 2048


# The C scanner behind json.loads (typeshed types its argument as a duck-typed context).
_scan_value = json.scanner.make_scanner(cast(Any, json.JSONDecoder()))
_JSON_SPACE = " \t\n\r"


def _parse(number: int, line: str) -> Message | str:
    """A message, or the error text for this line."""
    data: object = None
    if line[:1] == "{":
        # json.loads without its Python wrapper: the C scanner reads the object and the
        # rest must be JSON whitespace. Anything unusual takes the json.loads path
        # below, which also words the error message.
        try:
            data, end = _scan_value(line, 0)
        except (StopIteration, ValueError):
            data = None
        else:
            if line[end:].strip(_JSON_SPACE):
                data = None
    if data is None:
        return _parse_slowly(number, line)
    return _message(number, data)


def _parse_slowly(number: int, line: str) -> Message | str:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"line {number}: invalid JSON ({exc.msg})"
    return _message(number, data)


def _message(number: int, data: object) -> Message | str:
    if not isinstance(data, dict):
        return f"line {number}: expected an object"
    text, sender = data.get("text"), data.get("sender")
    if not isinstance(text, str):
        return f"line {number}: 'text' must be a string"
    if sender is not None and not isinstance(sender, str):
        return f"line {number}: 'sender' must be a string"
    return Message(text, sender)


def run(lines: Iterable[str], out: IO[str], message_filter: MessageFilter) -> int:
    """Judge every line; returns the number of malformed lines."""
    bad = 0
    pending = iter(lines)
    first = 1
    while batch := list(islice(pending, BATCH)):
        parsed = [_parse(n, line) for n, line in enumerate(batch, start=first)]
        first += len(batch)
        messages = [p for p in parsed if isinstance(p, Message)]
        verdicts = map(verdict_line, message_filter.outcomes(messages))
        if len(messages) == len(parsed):
            rows = list(verdicts)
        else:
            bad += len(parsed) - len(messages)
            rows = [next(verdicts) if isinstance(p, Message) else _error_line(p) for p in parsed]
        out.write("\n".join(rows) + "\n")
    return bad


def _error_line(error: str) -> str:
    return json.dumps({"error": error}, ensure_ascii=False)


def filter_command() -> None:
    """Entry point for ``safenum filter``."""
    bad = run(sys.stdin, sys.stdout, MessageFilter.default())
    sys.stdout.flush()
    if bad:
        raise SystemExit(2)
