"""Running the real CLI in-process (typer's CliRunner) against a registry in tmp_path."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from auditor.cli import app

PASSPHRASE = "district admin passphrase"


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.runner = CliRunner()
        self.tmp = tmp_path
        self.registry = tmp_path / "registry.db"
        self.passfile = tmp_path / "admin.pass"
        self.passfile.write_text(PASSPHRASE + "\n")
        os.chmod(self.passfile, 0o600)

    def __call__(self, *args: str, input: str | None = None, passfile: Path | None = None) -> Result:
        base = ["--registry", str(self.registry), "--passphrase-file", str(passfile or self.passfile)]
        return self.runner.invoke(app, [*base, *args], input=input, catch_exceptions=False)

    def ok(self, *args: str, **kw: object) -> Result:
        result = self(*args, **kw)  # type: ignore[arg-type]
        assert result.exit_code == 0, f"exit {result.exit_code}\n{result.output}"
        return result

    def init(self) -> None:
        self.ok("init", "--admin", "it-admin")

    def file(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


CliFactory = Callable[..., Result]
