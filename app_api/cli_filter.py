"""``safenum filter``: judge JSON Lines texts from stdin, one verdict line per input line;
``safenum filter retrain``: retrain the model from operators' reviews.

Input lines are ``{"text": "...", "sender": "..."}`` (sender optional). Output keeps
the input order; a malformed line yields ``{"error": "line N: <why>"}`` in its place,
and the command exits 2 at the end if any line was bad. Lines are judged in batches so
the filter's vectorised path amortises its per-call cost, and verdicts are written by
:mod:`blocking.jsonlines` (byte-identical to ``json.dumps`` of ``Verdict.to_json()``).
"""

from __future__ import annotations

import ctypes
import gc
import json
import json.scanner
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import IO, TYPE_CHECKING, Any, NamedTuple, cast

import typer

from app_api.settings import Settings

if TYPE_CHECKING:
    # numpy and the model load with the command that judges, not with every CLI start.
    from blocking.filter import MessageFilter

BATCH = 2048

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, glibc's <malloc.h>


class Malformed(NamedTuple):
    """A line that cannot be judged: its output line is ``{"error": error}``."""

    error: str


# The C scanner behind json.loads (typeshed types its argument as a duck-typed context).
_scan_value = json.scanner.make_scanner(cast(Any, json.JSONDecoder()))
_JSON_SPACE = " \t\n\r"


def _parse(number: int, line: str) -> str | Malformed:
    """The text to judge, or why this line cannot be judged."""
    if line[:1] == "{":
        # json.loads without its Python wrapper: the C scanner reads the object and the
        # rest must be JSON whitespace. Anything unusual takes the json.loads path
        # below, which also words the error message.
        try:
            data, end = _scan_value(line, 0)
        except (StopIteration, ValueError):
            pass
        else:
            if not line[end:].strip(_JSON_SPACE):
                if type(data) is dict:  # the usual line, checked inline
                    text, sender = data.get("text"), data.get("sender")
                    if type(text) is str and (sender is None or type(sender) is str):
                        return text
                return _text(number, data)
    return _parse_slowly(number, line)


def _parse_slowly(number: int, line: str) -> str | Malformed:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return Malformed(f"line {number}: invalid JSON ({exc.msg})")
    return _text(number, data)


def _text(number: int, data: object) -> str | Malformed:
    """The text of a parsed line; the sender is checked, and not needed without the
    sender's history (the CLI has none)."""
    if not isinstance(data, dict):
        return Malformed(f"line {number}: expected an object")
    text, sender = data.get("text"), data.get("sender")
    if not isinstance(text, str):
        return Malformed(f"line {number}: 'text' must be a string")
    if sender is not None and not isinstance(sender, str):
        return Malformed(f"line {number}: 'sender' must be a string")
    return text


def run(lines: Iterable[str], out: IO[str], message_filter: MessageFilter) -> int:
    """Judge every line; returns the number of malformed lines."""
    from blocking.jsonlines import verdict_lines

    bad = 0
    pending = iter(lines)
    first = 1
    while batch := list(islice(pending, BATCH)):
        with _no_cycle_collection():
            parsed = [_parse(n, line) for n, line in enumerate(batch, start=first)]
            first += len(batch)
            texts = [p for p in parsed if type(p) is str]
            outcomes = message_filter.outcomes_of_texts(texts)
            rows = verdict_lines(outcomes, message_filter.version)
            if len(texts) != len(parsed):
                verdicts = iter(rows)
                bad += len(parsed) - len(texts)
                rows = [
                    _error_line(p.error) if type(p) is Malformed else next(verdicts) for p in parsed
                ]
            rows.append("")  # the newline after the last line, without copying the batch again
            out.write("\n".join(rows))
    return bad


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while one batch is judged.

    A batch allocates a few hundred thousand small lists and tuples (the rule hits and
    reasons of every text) that live until its verdicts are written: the collector
    walked them again and again (some 10 % of the filter's time) and freed nothing, as
    they go by reference count when the batch is done. It runs as before between
    batches, so anything cyclic is still collected.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _error_line(error: str) -> str:
    return json.dumps({"error": error}, ensure_ascii=False)


def keep_batch_memory() -> None:
    """Have glibc keep freed memory for the next batch instead of returning it at once.

    A batch allocates a few dozen numpy arrays of 0.5 to 10 MB. By default glibc maps
    blocks that large afresh and gives them back to the kernel when they are freed, so
    every batch faults the same pages in again, zero-filled: 10 to 15 % of the filter's
    time on our machines. With these thresholds the heap keeps them for reuse (peak
    memory stays the same). Process-wide, so only the ``safenum filter`` process (and
    its benchmark) calls it; a no-op where the C library has no ``mallopt``.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # the largest glibc accepts
    mallopt(_M_TRIM_THRESHOLD, 512 << 20)


def filter_command() -> None:
    """Entry point for ``safenum filter``: the retrained model when there is one
    (``SAFENUM_FILTER_MODEL_FILE``), else the shipped one."""
    from blocking.holder import load_active

    keep_batch_memory()
    bad = run(sys.stdin, sys.stdout, load_active(Settings().filter_model_path))
    sys.stdout.flush()
    if bad:
        raise SystemExit(2)


filter_app = typer.Typer(
    help="Judge JSON Lines texts from stdin (no subcommand), or retrain the model.",
    add_completion=False,
    pretty_exceptions_enable=False,
)


@filter_app.callback(invoke_without_command=True)
def filter_main(ctx: typer.Context) -> None:
    """Judge JSON Lines from stdin: {"text": ..., "sender": ...} -> one verdict per line."""
    if ctx.invoked_subcommand is None:
        filter_command()


@filter_app.command("retrain")
def retrain_command() -> None:
    """Build a candidate model from the shipped corpus and the operators' reviewed
    examples; it replaces the model in use only if no worse on the fixed held-out split
    (``safenum serve`` picks it up without a restart). Prints the outcome as JSON."""
    from app_api.wiring import Core
    from blocking import review_examples
    from blocking.retrain import retrain

    settings = Settings()
    core = Core.build(settings)
    now = core.clock()
    with core.sessions.begin() as session:
        review_examples.purge(session, now, settings)
        reviewed = review_examples.examples(session)
    result = retrain(reviewed, settings.filter_model_path, now)
    sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
