"""Issue 18, recovery under pressure: `recover` shows who owned the account, what is escrowed and
the rotation task, and a credential only one asked-for field at a time, on the screen or on the
clipboard (a fake backend; and a machine with none), each logged first with the reason."""

from __future__ import annotations

import json

import pyotp
import pytest

from auditor.cli import clipboard
from tests.e2e.conftest import Cli
from tests.e2e.test_escrow_cli import CODE, IG, PASSWORD, SEED, add_identity, setup_district


class FakeClipboard:
    def __init__(self) -> None:
        self.text = "what the user had copied"
        self.history: list[str] = []

    def copy(self, text: str) -> None:
        self.text = text
        self.history.append(text)

    def paste(self) -> str:
        return self.text


@pytest.fixture
def board(monkeypatch: pytest.MonkeyPatch) -> FakeClipboard:
    fake = FakeClipboard()
    clipboard.use(fake)
    waits: list[float] = []
    monkeypatch.setattr(clipboard.time, "sleep", waits.append)
    fake.waits = waits  # type: ignore[attr-defined]
    yield fake
    clipboard.use(None)


def _offboarded(cli: Cli) -> None:
    setup_district(cli)
    add_identity(cli, "mlee", email="mlee@d203.org")
    cli.ok("--identity", "it-admin", "offboard", "mlee@d203.org", "--to", "dcho@d203.org", "--yes")


def _recover_events(cli: Cli) -> list[dict]:
    events = json.loads(cli.ok("log", "show", "--json").output)["items"]
    return [e for e in events if e["action"] == "recover"]


def test_recover_prints_nothing_secret_unless_a_field_is_asked_for(cli: Cli) -> None:
    _offboarded(cli)
    out = cli.ok("recover", IG, "--reason", "coach left mid-season").output
    assert "Owner: Dana Cho <dcho@d203.org> (active)" in out
    assert "Escrowed: version 1" in out and "password, TOTP key, 2 of 2 recovery codes unused" in out
    assert "--field password --copy" in out and "--field recovery-code --copy" in out
    assert "[ ] password: change the password" in out and "[ ] sessions: sign out" in out
    for value in (PASSWORD, SEED, CODE, pyotp.TOTP(SEED).now()):
        assert value not in out
    assert [e["details"]["field"] for e in _recover_events(cli)] == [""]

    out = cli.ok("recover", IG, "--reason", "signing in", "--field", "password").output
    assert f"password: {PASSWORD}" in out and SEED not in out and CODE not in out
    out = cli.ok("recover", IG, "--reason", "signing in", "--field", "totp").output
    code = out.split("current TOTP code: ")[1].split()[0]
    assert pyotp.TOTP(SEED).verify(code, valid_window=1) and PASSWORD not in out and SEED not in out
    out = cli.ok("recover", IG, "--reason", "signing in", "--field", "recovery-code").output
    assert f"unused recovery code: {CODE}" in out and "secret use-code" in out and PASSWORD not in out
    assert cli.ok("recover", IG, "--reason", "x", "--field", "login").output.startswith(
        "login name: nnhs_ath"
    )
    bad = cli("recover", IG, "--reason", "x", "--field", "seed")
    assert bad.exit_code == 2 and "password, login, totp, recovery-code" in bad.stderr
    assert [e["details"]["field"] for e in _recover_events(cli)] == [
        "",
        "password",
        "totp",
        "recovery-code",
        "login",
    ]


def test_copy_puts_one_field_on_the_clipboard_and_clears_it(cli: Cli, board: FakeClipboard) -> None:
    _offboarded(cli)
    cli.ok("policy", "init", "--preset", "naperville-203")
    out = cli.ok("recover", IG, "--reason", "signing in", "--field", "password", "--copy").output
    assert PASSWORD not in out and "cleared in 20 seconds" in out and "Clipboard cleared." in out
    assert board.history == [PASSWORD, ""] and board.text == ""
    assert board.waits == [20]  # type: ignore[attr-defined]

    # Someone copied something else while it waited: left alone.
    def other_copy(seconds: float) -> None:
        board.text = "the user's own text"

    clipboard.time.sleep = other_copy  # type: ignore[assignment]
    out = cli.ok("recover", IG, "--reason", "signing in", "--field", "password", "--copy").output
    assert "left as it is" in out and board.text == "the user's own text"


def test_copy_without_a_clipboard_is_a_clear_error_and_reveals_nothing(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _offboarded(cli)
    clipboard.use(None)
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # no xclip, xsel, wl-copy or klipper to find
    result = cli("recover", IG, "--reason", "on the server", "--field", "password", "--copy")
    assert result.exit_code == 2 and "no clipboard" in result.stderr
    assert PASSWORD not in result.output
    assert _recover_events(cli) == []  # refused before anything was read or logged
    assert cli("recover", IG, "--reason", "x", "--copy").exit_code == 2  # --copy needs --field
