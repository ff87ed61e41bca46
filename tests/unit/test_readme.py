"""The README's quick start, as written: every command it names exists and runs.

``make X`` needs a target X that ``make -n`` can plan; ``.venv/bin/safenum ...`` needs
the sub-command (``a|b`` alternatives each), and every ``--option`` on the line must
be one that sub-command's ``--help`` lists. The installed console script must run.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app_api.cli import app

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def quick_start_commands() -> list[str]:
    text = README.read_text()
    section = text[
        text.index("## Quick start") : text.index("\n## ", text.index("## Quick start") + 1)
    ]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL):
        for line in block.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command:
                commands.append(command)
    return commands


def _expand(command: str) -> list[list[str]]:
    """``numbers show|pause 0504`` -> one argv per alternative."""
    words = shlex.split(command)
    out: list[list[str]] = [[]]
    for word in words:
        if "|" in word and not word.startswith("-"):
            out = [[*argv, alt] for argv in out for alt in word.split("|")]
        else:
            out = [[*argv, word] for argv in out]
    return out


def test_the_quick_start_names_commands() -> None:
    commands = quick_start_commands()
    assert any(c.startswith("make run") for c in commands)
    assert any(c.startswith("make demo") for c in commands)
    assert any("operators create" in c for c in commands)


@pytest.mark.parametrize("command", [c for c in quick_start_commands() if c.startswith("make ")])
def test_make_targets_exist(command: str) -> None:
    target = shlex.split(command)[1]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), target
    plan = subprocess.run(
        ["make", "-n", "-C", str(ROOT), target],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert plan.returncode == 0, plan.stderr


@pytest.mark.parametrize(
    "argv",
    [
        argv
        for c in quick_start_commands()
        if c.startswith(".venv/bin/safenum ")
        for argv in _expand(c)
    ],
    ids=" ".join,
)
def test_safenum_commands_exist_with_their_options(argv: list[str]) -> None:
    words = argv[1:]
    path = []
    for word in words:  # the sub-command path ends at the first argument or option
        if word.startswith("-") or not re.fullmatch(r"[a-z][a-z-]*", word):
            break
        path.append(word)
    result = CliRunner().invoke(app, [*path, "--help"], prog_name="safenum")
    assert result.exit_code == 0, result.output
    assert path
    assert f"safenum {' '.join(path)}" in " ".join(result.output.split())
    for option in (w.split("=", 1)[0] for w in words if w.startswith("--")):
        assert option in result.output, f"{option} is not an option of safenum {' '.join(path)}"


def test_the_installed_console_script_runs() -> None:
    script = Path(sys.executable).parent / "safenum"
    assert script.exists(), "pip install -e . did not install the safenum script"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "demo" in done.stdout
    assert "operators" in done.stdout
