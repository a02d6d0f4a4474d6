"""Values typed at the CLI's hidden prompts, on a real terminal (a pty), are stored exactly."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import subprocess
import sys
import termios
import time

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.test_escrow_cli import IG, setup_district

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")


def _controlling_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty, so /dev/tty (where
    getpass reads hidden input) is the pty and not whatever terminal ran the tests."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _run_on_pty(
    cli: Cli, args: list[str], answers: list[str], prompt: bytes = b"(blank: keep): ", timeout: float = 30.0
) -> tuple[int, str]:
    """Run the CLI with a terminal on stdin and answer each prompt once it shows; return (exit, output).

    One answer per prompt, sent once the prompt's final space shows: click prints the prompt, then
    getpass turns echo off, flushing anything typed before, and prints that space."""
    primary, secondary = pty.openpty()
    base = ["--registry", str(cli.registry), "--passphrase-file", str(cli.passfile)]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from auditor.cli import main; main()", *base, *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        close_fds=True,
        preexec_fn=_controlling_terminal,
    )
    os.close(secondary)
    output, answered = b"", 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(primary, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
                if answered < len(answers) and output.count(prompt) > answered:
                    os.write(primary, answers[answered].encode("utf-8") + b"\r")
                    answered += 1
            elif proc.poll() is not None:
                break
        try:
            code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the CLI did not finish; it printed:\n{output.decode('utf-8', 'replace')}"
            ) from None
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    return code, output.decode("utf-8", "replace")


def test_a_password_typed_at_the_prompt_keeps_its_spaces_and_non_ascii(cli: Cli) -> None:
    setup_district(cli, secret=False)
    password = "  Grüße, señor 密码 \t "
    # login, password and its confirmation, totp, recovery codes, recovery e-mail, recovery phone
    code, output = _run_on_pty(
        cli, ["secret", "set", IG], ["  nnhs_ath  ", password, password, "", "", "", ""]
    )
    assert code == 0, output
    assert "Stored version 1" in output
    assert password.strip() not in output  # hidden prompts do not echo
    shown = json.loads(cli.ok("secret", "show", IG, "--reason", "prompt check", "--json").output)["items"][0]
    assert shown["password"] == password
    assert shown["login"] == "nnhs_ath"  # visible fields are trimmed, as before


def test_blank_answers_keep_the_previous_values(cli: Cli) -> None:
    setup_district(cli)
    before = json.loads(cli.ok("secret", "show", IG, "--reason", "before", "--json").output)["items"][0]
    code, output = _run_on_pty(cli, ["secret", "set", IG], ["", " new pass ", " new pass ", "", "", "", ""])
    assert code == 0, output
    after = json.loads(cli.ok("secret", "show", IG, "--reason", "after", "--json").output)["items"][0]
    assert after["password"] == " new pass "
    assert after["login"] == before["login"]
    assert after["totp"] == before["totp"]
