"""``safenum asterisk ...``: render the configs and supervise a local Asterisk.

Every command prints one JSON object on stdout; on failure it prints one line on
stderr and exits 2, so scripts and ``make`` can rely on both. Values come from
:class:`app_api.settings.Settings` (``SAFENUM_*``), nothing is read elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import NoReturn

import typer

from app_api.pbx_config import asterisk_config
from app_api.settings import Settings
from proxy.asterisk.config import ConfigError, write_config, write_prompts
from proxy.asterisk.process import AsteriskProcessError, AsteriskSupervisor
from proxy.asterisk.prompts import PromptError

app = typer.Typer(help="Render and supervise the Asterisk that bridges safe numbers.")


def _emit(payload: dict[str, object]) -> None:
    typer.echo(json.dumps(payload, sort_keys=True))


def _fail(exc: Exception) -> NoReturn:
    message = " ".join(str(exc).split())  # exactly one line
    typer.echo(f"safenum asterisk: {message}", err=True)
    raise typer.Exit(2)


def _run(action: Callable[[], dict[str, object]]) -> None:
    try:
        payload = action()
    except (ConfigError, PromptError, AsteriskProcessError, OSError, ValueError) as exc:
        _fail(exc)
    _emit(payload)


def _supervisor() -> AsteriskSupervisor:
    return AsteriskSupervisor(asterisk_config(Settings()))


@app.command()
def config() -> None:
    """Render the Asterisk configuration into DATA_DIR/asterisk."""

    def render() -> dict[str, object]:
        cfg = asterisk_config(Settings())
        files = write_config(cfg)
        made = write_prompts(cfg)
        return {
            "config_dir": str(cfg.config_dir),
            "files": [p.name for p in files],
            "prompts_generated": made,
        }

    _run(render)


@app.command()
def up(timeout: float = typer.Option(30.0, help="Seconds to wait for readiness.")) -> None:
    """Render the configuration and start Asterisk; return when PJSIP and AMI are up."""

    def start() -> dict[str, object]:
        supervisor = _supervisor()
        write_config(supervisor.config)
        write_prompts(supervisor.config)
        return supervisor.up(timeout=timeout).as_dict()

    _run(start)


@app.command()
def down(timeout: float = typer.Option(15.0, help="Seconds to wait for the stop.")) -> None:
    """Stop Asterisk cleanly (core stop now, then SIGTERM, then SIGKILL)."""
    _run(lambda: _supervisor().down(timeout=timeout).as_dict())


@app.command()
def status() -> None:
    """Report whether Asterisk runs, booted fully and answers on AMI."""
    _run(lambda: _supervisor().status().as_dict())
