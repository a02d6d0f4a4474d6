"""Issue 16's last two promises, through the CLI and the real registry.

- A canary password with `\\`, `"`, `,`, a line break and non-ASCII characters, imported from
  every format, is escrowed byte-exact (revealed with `secret show --json`), shown unambiguously on
  a terminal (a JSON-quoted literal, never two lines), survives `secret export` and the re-import
  comparison, and break-glass shows it the same way.
- A Bitwarden export's dated password history becomes the older versions of an account with
  nothing escrowed yet (`secret history` lists them with the export's dates, `secret show
  --version 1` reveals one, logged); an account already escrowed keeps its past, and says so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Cli
from tests.e2e.test_escrow_cli import IG, cards, setup_district
from tests.vault import export_writers as w
from tests.vault.test_export_formats import ALL_FORMATS, CANARY, KDBX_PASSWORD, canary_row
from vault.escrow import exportfile
from vault.escrow.bundle import QUOTED_NOTE

EXPORT_PW = "bitwarden-export-pw"
PASSWORD_FILES = {"KeePass database (.kdbx)": KDBX_PASSWORD, "Bitwarden JSON (password-protected)": EXPORT_PW}
CANARY_LINES = CANARY.split("\n")
OLD_1, OLD_2 = "Old-Ig-Canary-2023\nsecond-line", "Old-Ig-Canary-2024"


def shown(cli: Cli, account: str, *extra: str) -> dict[str, Any]:
    out = cli.ok("secret", "show", account, "--reason", "check the canary", "--json", *extra).output
    item: dict[str, Any] = json.loads(out)["items"][0]
    return item


def secret_file(cli: Cli, name: str, text: str) -> Path:
    path = cli.file(name, text + "\n")
    os.chmod(path, 0o600)
    return path


def export_bytes(fmt: str, handle: str, cli: Cli) -> bytes:
    row = canary_row(url=f"https://www.instagram.com/{handle}/", username=handle)
    if fmt == "KeePass database (.kdbx)":
        return w.kdbx([row], cli.tmp / f"{handle}-made.kdbx", KDBX_PASSWORD)
    if fmt == "Bitwarden JSON (password-protected)":
        return w.bitwarden_password_protected([row], EXPORT_PW)
    return w.WRITERS[fmt]([row])


def assert_no_raw_canary_line(text: str) -> None:
    """No line of the output is a line of the password (it is never printed across lines)."""
    lines = text.splitlines()
    for part in CANARY_LINES:
        assert part not in lines


def test_every_format_escrows_a_password_with_a_line_break_byte_exact(cli: Cli) -> None:
    setup_district(cli, secret=False)
    handles = {fmt: f"canary_{n:02d}" for n, fmt in enumerate(ALL_FORMATS)}
    accounts = "platform,handle,owner_email,purpose,building,profile_url\n" + "".join(
        f"instagram,{h},mlee@d203.org,activity,North,https://www.instagram.com/{h}/\n"
        for h in handles.values()
    )
    cli.ok("account", "import", str(cli.file("canary-accounts.csv", accounts)))
    for fmt, handle in handles.items():
        path = cli.tmp / f"{handle}.export"
        path.write_bytes(export_bytes(fmt, handle, cli))
        extra = (
            ["--password-file", str(secret_file(cli, f"{handle}.pass", PASSWORD_FILES[fmt]))]
            if fmt in PASSWORD_FILES
            else []
        )
        done = cli.ok("secret", "import", str(path), "--matched-only", *extra)
        assert f"Format: {fmt}" in done.output and "new: " in done.output, done.output
        assert "Cañary" not in done.output
        # The escrowed value, through the real store and the logged reveal: the file's bytes.
        password = shown(cli, f"instagram:{handle}")["password"]
        assert password.encode("utf-8") == CANARY.encode("utf-8"), fmt
    # On a terminal: one line, as a JSON literal that reads back to the exact value, and a note.
    text = cli.ok("secret", "show", "instagram:canary_00", "--reason", "read it to the coach").output
    [line] = [ln for ln in text.splitlines() if ln.startswith("password:")]
    literal = line.removeprefix("password:").strip().removesuffix(QUOTED_NOTE).strip()
    assert json.loads(literal) == CANARY and line.endswith(QUOTED_NOTE)
    assert_no_raw_canary_line(text)


def test_export_reimport_and_break_glass_keep_the_line_break(cli: Cli) -> None:
    setup_district(cli, secret=False)
    cli.ok("secret", "set", IG, "--stdin", input=json.dumps({"login": "nnhs_ath", "password": CANARY}))
    assert shown(cli, IG)["password"] == CANARY
    # `secret export` (passphrase format): the file decrypts to the exact value.
    phrase = secret_file(cli, "export.pass", "handover passphrase 2026")
    out = cli.tmp / "handover.aex"
    cli.ok(
        "secret", "export", "-o", str(out), "--export-passphrase-file", str(phrase), "--reason", "handover"
    )
    from auditor.services.escrow import read_own_export
    from vault.unlock import read_passphrase_file

    plain = exportfile.passphrase_decrypt(out.read_bytes(), read_passphrase_file(phrase))
    [(_, bundle)] = read_own_export(plain)
    assert bundle.password is not None and bundle.password.reveal_str().encode() == CANARY.encode()
    # Re-importing it compares byte-exact: unchanged, nothing written.
    again = cli.ok("secret", "import", str(out), "--export-passphrase-file", str(phrase), "--json").output
    assert [i["status"] for i in json.loads(again)["items"]] == ["unchanged"]
    # The same password with CR LF instead of LF is a different password, not "unchanged".
    crlf = w.bitwarden_json([canary_row(url="https://www.instagram.com/nnhs_athletics/")])
    doc = json.loads(crlf)
    doc["items"][0]["login"]["password"] = CANARY.replace("\n", "\r\n")
    doc["items"][0]["revisionDate"] = "2099-01-01T00:00:00.000Z"
    path = cli.tmp / "crlf.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    different = cli("secret", "import", str(path), "--matched-only", "--json")
    assert [i["status"] for i in json.loads(different.stdout)["items"]] == ["different"]
    assert shown(cli, IG)["password"] == CANARY
    # Break-glass shows it as `secret show` does: one line, quoted.
    shares = cards(cli.ok("breakglass", "setup", "--shares", "2", "--threshold", "2").output)
    recovered = cli.ok(
        "breakglass", "recover", "--reason", "all admins away", "--reveal", IG, input="\n".join(shares) + "\n"
    ).stdout
    [line] = [ln for ln in recovered.splitlines() if ln.startswith("password:")]
    assert json.loads(line.removeprefix("password:").strip().removesuffix(QUOTED_NOTE).strip()) == CANARY
    assert_no_raw_canary_line(recovered)


def _bitwarden_with_history(history: list[dict[str, str]]) -> bytes:
    doc: dict[str, Any] = w.bitwarden_doc([canary_row(url="https://www.instagram.com/nnhs_athletics/")])
    doc["items"][0]["passwordHistory"] = history
    return json.dumps(doc).encode()


def test_dated_history_becomes_older_versions_only_where_nothing_is_escrowed(cli: Cli) -> None:
    setup_district(cli, secret=False)
    path = cli.tmp / "history.json"
    path.write_bytes(
        _bitwarden_with_history(
            [
                {"lastUsedDate": "2024-05-01T10:00:00.000Z", "password": OLD_2},
                {"lastUsedDate": "2023-09-01T10:00:00.000Z", "password": OLD_1},
            ]
        )
    )
    dry = cli.ok("secret", "import", str(path), "--dry-run").output
    assert "has 2 older password(s) in its history, 2 distinct and dated" in dry
    assert "2 dated older password(s) from the export's history would be stored first" in dry
    assert cli("secret", "history", IG).exit_code == 1  # the dry run wrote nothing
    done = cli.ok("secret", "import", str(path)).output
    assert "stored first, as versions 1-2; stored as version 3" in done
    assert "Old-Ig" not in done
    versions = json.loads(cli.ok("secret", "history", IG, "--json").output)["items"]
    assert [(v["version"], v["action"], v["dated"]) for v in versions] == [
        (1, "import-history", "2023-09-01T10:00:00+00:00"),
        (2, "import-history", "2024-05-01T10:00:00+00:00"),
        (3, "import", "2026-01-05T10:00:00+00:00"),
    ]
    table = cli.ok("secret", "history", IG).output
    assert "Export date" in table and "import-history" in table and "2023-09-01" in table
    assert shown(cli, IG, "--version", "1")["password"] == OLD_1
    assert shown(cli, IG)["password"] == CANARY
    log = json.loads(cli.ok("log", "show", "--json").output)["items"]
    assert [e["details"].get("version") for e in log if e["action"] == "reveal"][-2:] == [1, 3]
    # Another export with other history, for the now escrowed account: its past stays as it is.
    other = cli.tmp / "other.json"
    other.write_bytes(
        _bitwarden_with_history([{"lastUsedDate": "2022-01-01T00:00:00.000Z", "password": "Other-Old-Pw"}])
    )
    again = cli.ok("secret", "import", str(other)).output
    assert "its history (1 older password(s)) is not imported: versions are escrowed already" in again
    assert len(json.loads(cli.ok("secret", "history", IG, "--json").output)["items"]) == 3
