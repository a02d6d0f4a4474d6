"""`auditor --help` starts fast because command groups load lazily; the lazy table stays true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from auditor.cli import app
from auditor.cli.lazy import COMMANDS, load, make_default_short_help

AUDITOR = [str(Path(sys.executable).with_name("auditor"))]  # the installed entry point users run


def _best_of(argv: list[str], runs: int = 5) -> float:
    """The least CPU time (user + system) the child took in `runs` runs: the work it does, which
    other processes on the machine hardly change (its wall time under the test suite's own load
    once came to 0.37 s where it is 0.18 s alone)."""
    env = {**os.environ, "NO_COLOR": "1"}
    best = float("inf")
    for _ in range(runs):
        child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        assert child.returncode == 0, f"{argv} exited {child.returncode}"
        best = min(best, usage.ru_utime + usage.ru_stime)
    return best


def test_help_starts_within_a_small_multiple_of_bare_python() -> None:
    """Best of five in CPU time, beside `python -c pass` so a slower machine does not fail it: with
    every command module imported it was 6-7x; lazily it is about 2x (0.09 s on an idle machine)."""
    bare = _best_of([sys.executable, "-c", "pass"])
    helped = _best_of([*AUDITOR, "--help"])
    assert helped < max(5 * bare, bare + 0.25), f"--help took {helped:.3f} s of CPU, bare python {bare:.3f} s"


def test_help_imports_no_command_module() -> None:
    code = (
        "import sys\nfrom auditor.cli import main\nsys.argv=['auditor','--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy=[m for m in sys.modules if m.startswith(('vault','connectors','reports','auditor.services',"
        "'auditor.engine','cryptography','requests','openpyxl','numpy'))]\n"
        "print('LOADED', ','.join(sorted(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("LOADED"), out.splitlines()[-1]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_lazy_entry_lists_the_commands_own_help(name: str) -> None:
    command = load(COMMANDS[name].target, name)
    for limit in (30, 45, 80, 400):
        assert make_default_short_help(COMMANDS[name].help, limit) == command.get_short_help_str(limit)


def test_every_command_group_is_in_the_table_and_runs_its_help() -> None:
    root = typer.main.get_command(app)
    ctx = root.make_context("auditor", [], resilient_parsing=True)
    assert root.list_commands(ctx) == list(COMMANDS)
    for name in COMMANDS:
        result = subprocess.run(
            [*AUDITOR, name, "--help"],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert f"Usage: auditor {name}" in " ".join(result.stdout.split())
        assert "--install-completion" not in result.stdout  # the root alone offers completion
