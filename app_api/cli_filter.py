"""``safenum filter``: judge JSON Lines texts from stdin, one verdict line per input line.

Input lines are ``{"text": "...", "sender": "..."}`` (sender optional). Output keeps
the input order; a malformed line yields ``{"error": "line N: <why>"}`` in its place,
and the command exits 2 at the end if any line was bad. Lines are judged in batches so
the filter's vectorised path amortises its per-call cost.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import IO

from blocking.filter import Message, MessageFilter

BATCH = 2048


def _parse(number: int, line: str) -> Message | str:
    """A message, or the error text for this line."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"line {number}: invalid JSON ({exc.msg})"
    if not isinstance(data, dict):
        return f"line {number}: expected an object"
    text, sender = data.get("text"), data.get("sender")
    if not isinstance(text, str):
        return f"line {number}: 'text' must be a string"
    if sender is not None and not isinstance(sender, str):
        return f"line {number}: 'sender' must be a string"
    return Message(text, sender)


def _batches(lines: Iterable[str]) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        batch.append((number, line))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def run(lines: Iterable[str], out: IO[str], message_filter: MessageFilter) -> int:
    """Judge every line; returns the number of malformed lines."""
    bad = 0
    dumps = json.dumps
    for batch in _batches(lines):
        parsed = [_parse(n, line) for n, line in batch]
        verdicts = iter(message_filter.judge_many([p for p in parsed if isinstance(p, Message)]))
        rows = []
        for item in parsed:
            if isinstance(item, Message):
                rows.append(dumps(next(verdicts).to_json(), ensure_ascii=False))
            else:
                bad += 1
                rows.append(dumps({"error": item}, ensure_ascii=False))
        out.write("\n".join(rows) + "\n")
    return bad


def filter_command() -> None:
    """Entry point for ``safenum filter``."""
    bad = run(sys.stdin, sys.stdout, MessageFilter.default())
    sys.stdout.flush()
    if bad:
        raise SystemExit(2)
