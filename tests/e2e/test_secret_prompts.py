"""Issue 18, entering secrets: `secret set` asks for the password twice, checks each field as it is
typed and asks again on a mistake (the message never repeats the value), so nothing typed before
is lost; `--generate` makes a password to the platform's rules."""

from __future__ import annotations

import json

import pytest

from auditor.cli import secret as secret_cli
from tests.e2e.conftest import Cli
from tests.e2e.test_escrow_cli import IG, setup_district

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture(autouse=True)
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secret_cli, "_has_terminal", lambda: True)


def _shown(cli: Cli, ref: str = IG) -> dict:
    return json.loads(cli.ok("secret", "show", ref, "--reason", "check", "--json").output)["items"][0]


def test_a_bad_field_is_asked_again_and_nothing_typed_is_lost(cli: Cli) -> None:
    setup_district(cli, secret=False)
    typed = [
        "coach_login",  # login
        "Typed-Pw-1!",  # password
        "Typo-Pw-1!",  # confirmation differs: asked again
        "Typed-Pw-1!",
        "Typed-Pw-1!",
        "not a seed 1890",  # TOTP: refused at once, asked again
        SEED,
        "code-aaaa-1111, code-bbbb-2222",
        "not-an-email",  # refused, asked again
        "recovery@d203.org",
        "",  # phone: blank keeps
    ]
    result = cli("secret", "set", IG, input="\n".join(typed) + "\n")
    assert result.exit_code == 0, result.output
    assert "not a seed 1890" not in result.output and "Typo-Pw-1!" not in result.output
    assert result.output.count("try again") == 2
    shown = _shown(cli)
    assert shown["login"] == "coach_login" and shown["password"] == "Typed-Pw-1!"
    assert shown["totp_seed"] == SEED and shown["recovery_email"] == "recovery@d203.org"


def test_generate_meets_the_platform_rules(cli: Cli) -> None:
    setup_district(cli, secret=False)
    cli.ok(
        "account",
        "add",
        "tiktok",
        "nnhs_tt",
        "--owner",
        "mlee@d203.org",
        "--building",
        "North",
        "--purpose",
        "school",
    )
    out = cli.ok("secret", "generate", "tiktok:nnhs_tt").output
    assert "Generated a new 20-character password" in out  # TikTok takes 8 to 20 characters
    refused = cli("secret", "generate", "tiktok:nnhs_tt", "--length", "24")
    assert refused.exit_code == 2 and "at most 20 characters" in refused.stderr
    cli.ok("secret", "set", IG, "--generate", input="ig_login\n\n\n\n\n")
    shown = _shown(cli)
    assert shown["login"] == "ig_login" and len(shown["password"]) == 24
