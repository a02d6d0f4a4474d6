"""`secret import` of whole-vault exports (issue 16): a district's Bitwarden organisation export,
a KeePassXC database, a teacher's Chrome export and a LastPass export each escrow the social
accounts' credentials byte-exact with their TOTP under `--matched-only`, list every other entry
with the reason, and refuse everything without it (all or nothing, as before). No value ever
reaches the output."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp

from tests.e2e.conftest import Cli
from tests.e2e.test_escrow_cli import IG, setup_district
from tests.vault import export_writers as w
from tests.vault.export_writers import Row

# A line break in the password, kept byte-exact (in a CSV its row then spans two lines: the entries
# after it are named by the line they start on).
IG_PW = 'Ig-Cañary\\pw"q,€中\nsecond line'
X_PW = 'X-Canary\\\\two,"quoted"-ü'
OTHER_PW = "Sis-Canary-Pw-0042!"
SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
IG_TOTP = f"otpauth://totp/Instagram:nnhs_athletics?secret={SEED}&issuer=Instagram&algorithm=SHA512&digits=8"
SECRETS = (IG_PW, X_PW, OTHER_PW, SEED, "Ig-Ca", "X-Canary")

SOCIAL = [
    Row("NNHS Athletics Instagram", "https://www.instagram.com/nnhs_athletics/", "nnhs_ath", IG_PW, IG_TOTP),
    Row("NNHS on X", "https://mobile.twitter.com/nnhs?lang=en", "nnhs", X_PW),
]
UNRELATED = [Row("PowerSchool SIS", "https://sis.d203.org/admin", "it-admin", OTHER_PW)]


def shown(cli: Cli, account: str, *extra: str) -> dict[str, Any]:
    out = cli.ok("secret", "show", account, "--reason", "check import", "--json", *extra).output
    item: dict[str, Any] = json.loads(out)["items"][0]
    return item


def assert_escrowed(cli: Cli, *, ig_totp: bool = True) -> None:
    ig = shown(cli, IG)
    assert ig["password"] == IG_PW
    if ig_totp:
        at = datetime.now(UTC)
        code = cli.ok("secret", "totp", IG, "--reason", "check").output.split()[0]
        assert code in {
            pyotp.TOTP(SEED, digits=8, digest=hashlib.sha512).at(at, counter_offset=d) for d in (-1, 0, 1)
        }
    assert shown(cli, "x:nnhs")["password"] == X_PW


def assert_silent(*texts: str) -> None:
    joined = "\n".join(texts)
    for secret in SECRETS:
        assert secret not in joined


def write(cli: Cli, name: str, data: bytes) -> Path:
    path = cli.tmp / name
    path.write_bytes(data)
    return path


def import_both_ways(cli: Cli, path: Path, *extra: str) -> str:
    """All or nothing refuses; --matched-only imports. Returns the --matched-only output."""
    refused = cli("secret", "import", str(path), *extra)
    assert refused.exit_code == 1 and "nothing was imported" in refused.stderr
    assert "--matched-only" in refused.stderr
    assert_silent(refused.output, refused.stderr)
    nothing = cli("secret", "show", IG, "--reason", "refused?")
    assert nothing.exit_code == 1 and "no credential is escrowed" in nothing.stderr
    done = cli("secret", "import", str(path), "--matched-only", *extra)
    assert done.exit_code == 0, done.output
    assert_silent(done.output, done.stderr)
    assert "Imported credentials for 2 account(s)" in done.output
    return done.output


def test_bitwarden_organisation_export(cli: Cli) -> None:
    setup_district(cli, secret=False)
    doc: dict[str, Any] = w.bitwarden_doc([*SOCIAL, *UNRELATED])
    items: list[dict[str, Any]] = doc["items"]  # type: ignore[assignment]
    steam = dict(items[2], name="Steam (club)", id="s")
    steam["login"] = dict(steam["login"], totp="steam://ABCDEFGH", password="Sis-Canary-2")
    passkey = dict(items[2], name="Google Workspace", id="g")
    passkey["login"] = {"username": "it", "password": None, "uris": [], "fido2Credentials": [{"rpId": "x"}]}
    trashed = dict(items[0], name="Old IG", id="t", deletedDate="2025-06-01T00:00:00Z")
    items += [steam, passkey, trashed, {"type": 3, "name": "District P-card", "card": {}}]
    items[0]["passwordHistory"] = [{"lastUsedDate": "2025-01-01T00:00:00Z", "password": "old-Ig-Canary"}]
    path = write(cli, "org.json", json.dumps(doc).encode())
    out = import_both_ways(cli, path)
    assert "Format: Bitwarden JSON" in out
    assert "not imported: PowerSchool SIS (item 3): no account matches its URL, username or title" in out
    assert "not imported: Steam (club) (item 4): totp: not an otpauth:// URI (unreadable)" in out
    assert "not imported: Google Workspace (item 5): passkey only" in out
    assert "not imported: Old IG (item 6): in the trash (deleted)" in out
    assert "not imported: District P-card (item 7): not a login item" in out
    assert "history: NNHS Athletics Instagram (item 1) has 1 older password(s)" in out
    # Dated history, nothing escrowed yet: the older password is version 1, the entry version 2.
    assert "history stored first, as version 1; stored as version 2" in out
    assert "old-Ig-Canary" not in out
    assert shown(cli, IG, "--version", "1")["password"] == "old-Ig-Canary"
    assert_escrowed(cli)


def test_keepassxc_database_with_password_file(cli: Cli) -> None:
    setup_district(cli, secret=False)
    data = w.kdbx(
        [*SOCIAL, *UNRELATED],
        cli.tmp / "made.kdbx",
        "db-pass",
        recycled=[Row("Old IG", SOCIAL[0].url, "nnhs_ath", "Old-Canary")],
    )
    path = write(cli, "district.kdbx", data)
    missing = cli("secret", "import", str(path), "--matched-only")
    assert missing.exit_code == 2 and "--password-file" in missing.stderr
    pw = cli.file("db.pass", "db-pass\n")
    os.chmod(pw, 0o600)
    out = import_both_ways(cli, path, "--password-file", str(pw))
    assert "Format: KeePass database (.kdbx)" in out
    assert "not imported: Old IG (entry 4): in the Recycle Bin (deleted)" in out
    assert_escrowed(cli)


def test_teachers_chrome_export(cli: Cli) -> None:
    setup_district(cli, secret=False)
    path = write(cli, "Chrome Passwords.csv", w.chrome([*SOCIAL, *UNRELATED]))
    out = import_both_ways(cli, path)
    assert "Format: Chrome/Edge CSV" in out and "not imported: PowerSchool SIS (line 5)" in out
    assert_escrowed(cli, ig_totp=False)


def test_lastpass_export(cli: Cli) -> None:
    setup_district(cli, secret=False)
    data = w.lastpass([*SOCIAL, *UNRELATED]) + b"http://sn,,,,wifi note,Wifi,Notes,0\r\n"
    path = write(cli, "lastpass_export.csv", data)
    out = import_both_ways(cli, path)
    assert "Format: LastPass CSV" in out and "not imported: Wifi (line 6): a secure note, not a login" in out
    ig = shown(cli, IG)
    assert ig["password"] == IG_PW and ig["totp_seed"] == SEED  # LastPass keeps the bare seed
    assert shown(cli, "x:nnhs")["password"] == X_PW


def test_matched_only_with_nothing_matched_imports_nothing(cli: Cli) -> None:
    setup_district(cli, secret=False)
    path = write(cli, "other.csv", w.chrome(UNRELATED))
    result = cli("secret", "import", str(path), "--matched-only")
    assert result.exit_code == 1 and "nothing was imported" in result.stderr
    assert not list((cli.tmp / "backups").glob("*before-credential-import*"))


def test_matched_only_json_lists_what_was_left_out(cli: Cli) -> None:
    setup_district(cli, secret=False)
    path = write(cli, "export.csv", w.apple_csv([*SOCIAL, *UNRELATED]))
    body = json.loads(cli.ok("secret", "import", str(path), "--matched-only", "--json").output)
    assert body["format"] == "Apple Passwords CSV" and body["imported"] is True
    assert body["not_imported"] == [
        "PowerSchool SIS (line 5): no account matches its URL, username or title (no social account)"
    ]
    assert {i["account_id"] for i in body["items"]} == {
        i["account_id"] for i in body["items"] if i["written"]
    }
    assert_silent(json.dumps(body))
    assert_escrowed(cli)
