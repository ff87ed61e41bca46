"""``safenum operators create``: bootstrap the first operator account."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from app_api import datadir
from app_api.auth.operators import OperatorService
from app_api.settings import Settings
from app_api.wiring import Core

app = typer.Typer(no_args_is_help=True, help="Operator accounts of the console.")


@app.command("create")
def create(
    username: Annotated[str, typer.Option(help="login name, e.g. gangnam-admin")],
    role: Annotated[str, typer.Option(help="district_admin, partner_admin or auditor")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, envvar="SAFENUM_NEW_PASSWORD"
        ),
    ],
) -> None:
    """Create an operator (the password is prompted, or read from SAFENUM_NEW_PASSWORD)."""
    settings = Settings()
    datadir.secure(settings)
    core = Core.build(settings)
    try:
        with core.sessions.begin() as session:
            view = OperatorService(session, core.clock, "cli").create(username, password, role)
    finally:
        core.close()
    sys.stdout.write(json.dumps(view.to_json(), ensure_ascii=False) + "\n")
