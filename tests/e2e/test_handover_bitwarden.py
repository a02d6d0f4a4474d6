"""Issue 18: the handover export a successor's password manager imports. `secret export --as
bitwarden` writes Bitwarden's password-protected JSON (logged first, 0600, nothing in clear); our
importer, which opens the real exports, reads it back into another district's registry."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.e2e.conftest import Cli
from tests.e2e.test_escrow_cli import ACCOUNTS, CODE, IG, PASSWORD, PEOPLE, SEED, setup_district


def test_a_bitwarden_handover_imports_back_whole(cli: Cli, tmp_path: Path) -> None:
    setup_district(cli)
    passfile = cli.file("handover.pass", "handover password 2026")
    os.chmod(passfile, 0o600)
    out = tmp_path / "handover.json"
    args = ["secret", "export", "-o", str(out), "--as", "bitwarden", "--reason", "handover to the new AD"]
    result = cli.ok(*args, "--export-passphrase-file", str(passfile))
    assert "(bitwarden-password-protected)" in result.output
    assert out.stat().st_mode & 0o777 == 0o600
    raw = out.read_bytes()
    for value in (PASSWORD, SEED, CODE, "nnhs_ath"):
        assert value.encode() not in raw
    doc = json.loads(raw)
    assert doc["encrypted"] is True and doc["passwordProtected"] is True and doc["kdfType"] == 0
    events = json.loads(cli.ok("log", "show", "--json").output)["items"]
    assert [e["details"]["format"] for e in events if e["action"] == "export"] == [
        "bitwarden-password-protected"
    ]

    # A successor's registry, the same accounts: everything comes back.
    (tmp_path / "successor").mkdir()
    other = Cli(tmp_path / "successor")
    other.init()
    other.ok("person", "import", str(other.file("people.csv", PEOPLE)))
    other.ok("account", "import", str(other.file("accounts.csv", ACCOUNTS)))
    imported = other.ok("secret", "import", str(out), "--password-file", str(passfile), "--matched-only")
    assert "Bitwarden JSON (password-protected)" in imported.output
    shown = json.loads(other.ok("secret", "show", IG, "--reason", "check", "--json").output)["items"][0]
    assert shown["password"] == PASSWORD and shown["totp_seed"] == SEED and shown["login"] == "nnhs_ath"
    assert CODE in json.dumps(shown)

    # Refused: an age recipient with the Bitwarden format; plain text without confirmation.
    bad = cli(
        "secret",
        "export",
        "-o",
        str(tmp_path / "x.json"),
        "--as",
        "bitwarden",
        "--recipient",
        "age1x",
        "--reason",
        "r",
    )
    assert bad.exit_code == 2 and "not an age recipient" in bad.stderr
    plain = cli(
        "secret",
        "export",
        "-o",
        str(tmp_path / "p.json"),
        "--as",
        "bitwarden",
        "--plaintext",
        "--reason",
        "r",
    )
    assert plain.exit_code == 2 and not (tmp_path / "p.json").exists()
