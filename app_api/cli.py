"""The ``safenum`` command: JSON on stdout, one line on stderr and exit 2 when refused."""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
from typing import Annotated, Any, NoReturn

import redis
import typer
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

from app_api import cli_serve, datadir, logs
from app_api.cli_asterisk import app as asterisk_app
from app_api.cli_bridge import app as bridges_app
from app_api.cli_bridge import bridge as bridge_command
from app_api.cli_cluster import app as cluster_app
from app_api.cli_cluster import edge as edge_command
from app_api.cli_filter import filter_app
from app_api.cli_kamailio import app as kamailio_app
from app_api.cli_keys import app as keys_app
from app_api.cli_operators import app as operators_app
from app_api.settings import Settings
from app_api.wiring import Core
from numbering.errors import DomainError
from numbering.types import OwnerPhone, Plate, SafeNumber
from numbering.views import TelephonyStatus
from proxy.bridge.hints import RedisHint

# pretty_exceptions off: Typer's rich tracebacks print local variables, which may hold
# a real phone number.
app = typer.Typer(
    no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
numbers_app = typer.Typer(no_args_is_help=True, help="Safe numbers and pools.")
pool_app = typer.Typer(no_args_is_help=True, help="Number pools (ranges).")
owners_app = typer.Typer(no_args_is_help=True, help="Owners and their personal data.")
app.add_typer(db_app, name="db")
app.add_typer(numbers_app, name="numbers")
numbers_app.add_typer(pool_app, name="pool")
app.add_typer(owners_app, name="owners")

OPERATOR = "cli"
log = logging.getLogger("safenum.cli")


def _emit(payload: Any) -> None:
    if hasattr(payload, "to_json"):
        payload = payload.to_json()
    elif isinstance(payload, list):
        payload = [p.to_json() if hasattr(p, "to_json") else p for p in payload]
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")


PENDING_EXIT = 3
"""Exit status when the database change is done but some Asterisk node has not yet
dropped its copies (they go as soon as its bridge runs)."""


def _core() -> Core:
    """The CLI's unit of work; its changes reach the bridges through the outbox, and a
    Redis hint (best effort) wakes them at once."""
    settings = Settings()
    datadir.secure(settings)
    core = Core.build(settings)
    hint = RedisHint(settings.redis_url)
    core.outbox_hints.append(hint)
    # Close on the way out: SQLite then removes its WAL, and nothing is left open.
    atexit.register(hint.close)
    atexit.register(core.close)
    return core


def _telephony(core: Core) -> TelephonyStatus:
    return core.await_bridges(core.settings.destruction_wait_seconds)


def _exit_if_pending(status: TelephonyStatus, what: str) -> None:
    if status.pending:
        sys.stderr.write(
            f"safenum: pending: {what} still in Asterisk on {', '.join(status.pending)}; "
            "removed as soon as that bridge runs\n"
        )
        raise SystemExit(PENDING_EXIT)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default head)."""
    from app_api.migrate import current, upgrade

    core = _core()
    upgrade(core.engine, revision)
    _emit({"revision": current(core.engine)})


@pool_app.command("add")
def pool_add(
    prefix: Annotated[str, typer.Argument(help="0502 to 0509")],
    range_from: Annotated[str, typer.Option("--from", help="first 8-digit subscriber number")],
    range_to: Annotated[str, typer.Option("--to", help="last 8-digit subscriber number")],
) -> None:
    """Add a range of numbers to the pool; it is never materialised row by row."""
    with _core().numbers(OPERATOR) as svc:
        _emit(svc.add_pool(prefix, range_from, range_to))


@pool_app.command("list")
def pool_list() -> None:
    with _core().numbers(OPERATOR) as svc:
        _emit([{**p.to_json(), "fill": round(p.fill, 6)} for p in svc.list_pools()])


@numbers_app.command("issue")
def numbers_issue(
    owner_phone: Annotated[str, typer.Option(help="the driver's mobile, e.g. 010-1234-5678")],
    plate: Annotated[str, typer.Option(help="vehicle plate, e.g. 12가3456")],
    prefix: Annotated[str | None, typer.Option(help="pick the pool, e.g. 0504")] = None,
) -> None:
    """Issue a random free safe number for a vehicle."""
    phone, parsed_plate = OwnerPhone.parse(owner_phone), Plate.parse(plate)
    with _core().numbers(OPERATOR) as svc:
        _emit(svc.issue(phone, parsed_plate, prefix))


def _lifecycle(verb: str) -> Any:
    def command(number: Annotated[str, typer.Argument(help="e.g. 0504-1234-5678")]) -> None:
        parsed = SafeNumber.parse(number)
        core = _core()
        with core.numbers(OPERATOR) as svc:
            view = getattr(svc, verb)(parsed)
        _emit(view)
        if verb == "release":
            _exit_if_pending(_telephony(core), "the released number's route and last caller")

    command.__doc__ = f"{verb.capitalize()} a safe number."
    return command


for _verb in ("show", "pause", "resume", "renew", "release"):
    numbers_app.command(_verb)(_lifecycle(_verb))


@numbers_app.command("sweep")
def numbers_sweep() -> None:
    """Release expired numbers and free those whose quarantine is over (run from cron)."""
    with _core().numbers("sweep") as svc:
        _emit(svc.sweep())


@owners_app.command("delete")
def owners_delete(
    phone: Annotated[str, typer.Option(help="the owner's mobile number")],
) -> None:
    """Destroy an owner's personal data (crypto-shredding) and print the receipt.

    The receipt says the telephony copies are removed only once every registered
    Asterisk node's bridge has applied the deletion; until then it says which nodes
    are pending and the command exits 3."""
    parsed = OwnerPhone.parse(phone, field="phone")
    core = _core()
    with core.numbers(OPERATOR) as svc:
        receipt = svc.delete_owner(parsed)
    status = _telephony(core)
    _emit(receipt.with_telephony(status))
    _exit_if_pending(status, "the owner's routes and last callers")


app.command("serve")(cli_serve.serve)
app.command("bridge")(bridge_command)
app.add_typer(bridges_app, name="bridges")


@app.command("demo")
def demo() -> None:
    """Against the stack `make run` started: issue a number, call it and text it
    (SIPp as the phones), and show what each side saw. Development servers only."""
    from app_api.demo.run import DemoFailed, run
    from app_api.demo.sipp import SippMissing

    try:
        run(Settings())
    except (DemoFailed, SippMissing) as exc:  # already worded for a person
        _fail(str(exc))


app.add_typer(filter_app, name="filter")
app.command("edge")(edge_command)
app.add_typer(cluster_app, name="cluster")
app.add_typer(kamailio_app, name="kamailio")
app.add_typer(asterisk_app, name="asterisk")
app.add_typer(operators_app, name="operators")
app.add_typer(keys_app, name="keys")


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"safenum: error: {' '.join(message.split())}\n")
    raise SystemExit(2)


def main(argv: list[str] | None = None) -> None:
    # Before settings are read (a bad one must still fail in one line): WARNING unless
    # SAFENUM_LOG_LEVEL names a level; ``serve`` applies the validated setting again.
    wanted = os.environ.get("SAFENUM_LOG_LEVEL", "").strip().upper()
    logs.configure(wanted if wanted in logs.LEVELS else "WARNING")
    datadir.private_umask()
    try:
        app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        _fail("aborted")
    except typer.TyperException as exc:  # usage errors: one line, not a usage banner
        fmt = getattr(exc, "format_message", None)
        message = fmt() if fmt else str(exc)
        if not message:  # no sub-command given: the help was printed
            raise SystemExit(2) from None
        _fail(message)
    except DomainError as exc:
        where = f"{exc.field}: " if exc.field else ""
        _fail(f"{where}{exc.message}")
    except ValidationError as exc:
        err = exc.errors()[0]
        _fail(f"SAFENUM_{str(err['loc'][0]).upper()}: {err['msg']}")
    except Exception as exc:  # every other failure: one line, exit 2 (traceback at DEBUG)
        log.debug("command failed", exc_info=True)
        _fail(failure_line(exc))


def failure_line(exc: Exception) -> str:
    """What went wrong, in one line naming what to fix, without echoing a URL or secret."""
    if isinstance(exc, (sa_exc.ArgumentError, sa_exc.NoSuchModuleError)):
        return (
            "SAFENUM_DATABASE_URL: not a usable SQLAlchemy URL, e.g. "
            "postgresql+psycopg://user:pw@host/db or sqlite:////path/safenum.db"
        )
    if isinstance(exc, sa_exc.DBAPIError):
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
        return f"database: {type(exc.orig).__name__}: {reason}"
    # Alembic is imported only by the commands that migrate (half a second every other
    # command would pay at start-up), so only then can its error be what went wrong.
    alembic_errors = sys.modules.get("alembic.util.exc")
    if alembic_errors is not None and isinstance(exc, alembic_errors.CommandError):
        return f"revision: {exc}"
    if isinstance(exc, redis.RedisError):
        return f"redis (SAFENUM_REDIS_URL): {type(exc).__name__}: {exc}"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or type(exc).__name__}: {exc.filename}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {logs.mask_phones(str(exc))}"
