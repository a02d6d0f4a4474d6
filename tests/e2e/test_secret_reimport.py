"""Re-importing a password-manager export never demotes a credential (issue 13): an export equal to
the escrow is "unchanged", an older one is left alone (after `secret generate`, the generated
password stays), used recovery codes stay used, a different value needs --replace (without it
nothing is imported and the entry is named), and a dry run says the same without writing."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.conftest import Cli
from tests.e2e.test_escrow_cli import IG, SEED, setup_district

IG_PW = "Reimport-Ig-Pw-5501!"
X_PW = "Reimport-X-Pw-6602!"
NEW_X_PW = "Reimport-X-Rotated-7703!"
CODES = ("rc-aaaa-1111", "rc-bbbb-2222")
SECRETS = (IG_PW, X_PW, NEW_X_PW, SEED, *CODES)
LAST_YEAR = "2025-03-01T09:30:00.000Z"


def bitwarden(*, x_password: str = X_PW, revised: str = LAST_YEAR) -> dict[str, Any]:
    return {
        "encrypted": False,
        "items": [
            {
                "type": 1,
                "name": "NNHS Athletics Instagram",
                "revisionDate": revised,
                "login": {
                    "uris": [{"uri": "https://instagram.com/nnhs_athletics"}],
                    "username": "nnhs_ath",
                    "password": IG_PW,
                    "totp": f"otpauth://totp/Instagram:nnhs_athletics?secret={SEED}&issuer=Instagram",
                },
                "fields": [{"name": "Recovery codes", "value": ", ".join(CODES)}],
            },
            {
                "type": 1,
                "name": "NNHS on X",
                "revisionDate": revised,
                "login": {
                    "uris": [{"uri": "https://x.com/nnhs"}],
                    "username": "nnhs",
                    "password": x_password,
                },
            },
        ],
    }


def write_export(cli: Cli, name: str, doc: dict[str, Any]) -> str:
    return str(cli.file(name, json.dumps(doc)))


def shown(cli: Cli, account: str) -> dict[str, Any]:
    """The escrowed credential through the project's reveal path (logged with a reason)."""
    out = cli.ok("secret", "show", account, "--reason", "checking the re-import", "--json").output
    item: dict[str, Any] = json.loads(out)["items"][0]
    return item


def versions(cli: Cli, account: str) -> list[int]:
    return [v["version"] for v in json.loads(cli.ok("secret", "history", account, "--json").output)["items"]]


def backups(cli: Cli) -> int:
    return len(list((cli.tmp / "backups").glob("*before-credential-import*")))


def imported(cli: Cli, *args: str, expect: int = 0) -> dict[str, Any]:
    """`secret import ... --json`: the envelope, with no secret anywhere in the output."""
    result = cli("secret", "import", *args, "--json")
    assert result.exit_code == expect, result.output
    for secret in SECRETS:
        assert secret not in result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    assert doc["schema"] == "auditor/credential-import"
    return doc


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {i["account"]: i["status"] for i in doc["items"]}


IG_LABEL = "Instagram account @nnhs_athletics"
X_LABEL = "X account @nnhs"


def rotate(cli: Cli, ref: str, *args: str) -> None:
    """`secret generate`, then its rotation step confirmed: the generated password is current."""
    cli.ok("secret", "generate", ref, *args)
    task = json.loads(cli.ok("task", "list", "--json").output)["items"][0]["id"]
    cli.ok("task", "confirm", task, "password")


def test_reimporting_the_same_export_is_unchanged_and_writes_nothing(cli: Cli) -> None:
    setup_district(cli, secret=False)
    export = write_export(cli, "bitwarden.json", bitwarden())
    first = imported(cli, export)
    assert statuses(first) == {IG_LABEL: "new", X_LABEL: "new"} and first["imported"] is True
    assert backups(cli) == 1 and versions(cli, IG) == [1]

    again = cli.ok("secret", "import", export)
    assert "unchanged: NNHS Athletics Instagram (item 1) -> Instagram account @nnhs_athletics: same as" in (
        again.output
    )
    assert "unchanged: NNHS on X (item 2) -> X account @nnhs" in again.output
    assert "Nothing to import" in again.output and all(s not in again.output for s in SECRETS)
    doc = imported(cli, export)
    assert statuses(doc) == {IG_LABEL: "unchanged", X_LABEL: "unchanged"}
    assert doc["imported"] is False and doc["backup"] is None
    assert all(i["written"] is False and i["version"] is None for i in doc["items"])
    assert versions(cli, IG) == [1] and versions(cli, "x:nnhs") == [1]
    assert backups(cli) == 1  # an import that writes nothing takes no backup


def test_an_older_export_after_generate_is_left_alone(cli: Cli) -> None:
    setup_district(cli, secret=False)
    export = write_export(cli, "bitwarden.json", bitwarden())
    cli.ok("secret", "import", export)
    rotate(cli, IG, "--length", "32")
    generated = shown(cli, IG)["password"]
    assert generated != IG_PW and versions(cli, IG) == [1, 2]

    result = cli.ok("secret", "import", export)
    assert (
        "older: NNHS Athletics Instagram (item 1) -> Instagram account @nnhs_athletics: older than the "
        "escrowed version, left alone (its password is what version 1 held)"
    ) in result.output
    assert generated not in result.output and all(s not in result.output for s in SECRETS)
    doc = imported(cli, export, "--replace")  # --replace never rotates an account back
    assert statuses(doc) == {IG_LABEL: "older", X_LABEL: "unchanged"}
    [ig] = [i for i in doc["items"] if i["account"] == IG_LABEL]
    assert ig["fields"] == ["password"] and ig["compared_with_version"] == 2 and not ig["written"]
    assert shown(cli, IG)["password"] == generated and versions(cli, IG) == [1, 2]


def test_an_export_last_changed_before_the_escrowed_version_is_left_alone(cli: Cli) -> None:
    setup_district(cli, secret=False)
    cli.ok("secret", "import", write_export(cli, "first.json", bitwarden()))
    # A value never escrowed, in an entry the export last changed before version 1 was stored.
    stale = write_export(cli, "stale.json", bitwarden(x_password=NEW_X_PW, revised="2024-01-01T00:00:00Z"))
    result = cli.ok("secret", "import", stale, "--replace")
    assert "older: NNHS on X (item 2) -> X account @nnhs: older than the escrowed version, left alone" in (
        result.output
    )
    assert "the export last changed it on 2024-01-01, before version 1" in result.output
    assert shown(cli, "x:nnhs")["password"] == X_PW and versions(cli, "x:nnhs") == [1]


def test_used_recovery_codes_stay_used(cli: Cli) -> None:
    setup_district(cli, secret=False)
    doc = bitwarden()
    del doc["items"][0]["login"]["totp"]  # the first export has no TOTP key
    cli.ok("secret", "import", write_export(cli, "no-totp.json", doc))
    cli.ok("secret", "use-code", IG, "--stdin", input=CODES[0] + "\n")
    assert versions(cli, IG) == [1, 2]

    # The same export again: unchanged; the code stays used.
    again = imported(cli, str(cli.tmp / "no-totp.json"))
    assert statuses(again)[IG_LABEL] == "unchanged" and versions(cli, IG) == [1, 2]
    codes = {c["code"]: c["used"] for c in shown(cli, IG)["recovery_codes"]}
    assert codes == {CODES[0]: True, CODES[1]: False}

    # An export that adds the TOTP key is stored (no --replace needed) and keeps the code used.
    now = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    added = imported(cli, write_export(cli, "with-totp.json", bitwarden(revised=now)))
    [ig] = [i for i in added["items"] if i["account"] == IG_LABEL]
    assert (ig["status"], ig["fields"], ig["version"]) == ("adds", ["totp"], 3)
    after = shown(cli, IG)
    assert after["totp_seed"] == SEED and after["password"] == IG_PW
    assert {c["code"]: c["used"] for c in after["recovery_codes"]} == codes

    # A different password with --replace: a new version, and the used code is still used.
    rotated = bitwarden(revised=now)
    rotated["items"][0]["login"]["password"] = NEW_X_PW
    replaced = imported(cli, write_export(cli, "rotated.json", rotated), "--replace")
    assert statuses(replaced)[IG_LABEL] == "replaces"
    assert {c["code"]: c["used"] for c in shown(cli, IG)["recovery_codes"]} == codes
    history = json.loads(cli.ok("secret", "history", IG, "--json").output)["items"]
    assert [(h["version"], h["action"], h["recovery_codes_unused"]) for h in history] == [
        (1, "import", 2),
        (2, "code-used", 1),
        (3, "import", 1),
        (4, "import", 1),
    ]


def test_a_different_value_needs_replace(cli: Cli) -> None:
    setup_district(cli, secret=False)
    cli.ok("secret", "import", write_export(cli, "first.json", bitwarden()))
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    newer = write_export(cli, "newer.json", bitwarden(x_password=NEW_X_PW, revised=tomorrow))

    refused = cli("secret", "import", newer)
    assert refused.exit_code == 1, refused.output
    assert (
        "different: NNHS on X (item 2) -> X account @nnhs: its password differs from the escrowed "
        "version 1; not imported without --replace"
    ) in refused.stdout
    assert "unchanged: NNHS Athletics Instagram (item 1)" in refused.stdout
    assert "nothing was imported: 1 entry would replace" in refused.stderr
    assert "NNHS on X (item 2) -> X account @nnhs" in refused.stderr and "--replace" in refused.stderr
    assert all(s not in refused.output for s in SECRETS)
    doc = imported(cli, newer, expect=1)
    assert doc["refused"] is True and statuses(doc)[X_LABEL] == "different"
    assert shown(cli, "x:nnhs")["password"] == X_PW and versions(cli, "x:nnhs") == [1]

    done = cli.ok("secret", "import", newer, "--replace")
    assert (
        "replaces: NNHS on X (item 2) -> X account @nnhs: replaces the current credential, version 1 "
        "(its password differs from the escrowed version 1; --replace); stored as version 2"
    ) in done.output
    assert "Imported credentials for 1 account(s)" in done.output
    assert shown(cli, "x:nnhs")["password"] == NEW_X_PW and versions(cli, "x:nnhs") == [1, 2]
    assert versions(cli, IG) == [1]  # the unchanged entry wrote nothing


def test_a_keepassxc_csv_is_judged_by_its_last_modified_column(cli: Cli) -> None:
    setup_district(cli, secret=False)
    cli.ok("secret", "import", write_export(cli, "first.json", bitwarden()))
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL)
    writer.writerow(["Group", "Title", "Username", "Password", "URL", "Notes", "TOTP", "Last Modified"])
    writer.writerow(
        ["Root", "NNHS X", "nnhs", NEW_X_PW, "https://x.com/nnhs", "", "", "2025-01-02T10:00:00Z"]
    )
    old = str(cli.file("old.csv", buf.getvalue()))
    assert "older: NNHS X (line 2) -> X account @nnhs" in cli.ok("secret", "import", old, "--replace").output
    assert shown(cli, "x:nnhs")["password"] == X_PW


def test_dry_run_reports_each_entry_without_writing(cli: Cli) -> None:
    setup_district(cli, secret=False)
    cli.ok("secret", "import", write_export(cli, "first.json", bitwarden()))
    rotate(cli, IG)
    generated = shown(cli, IG)["password"]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    doc = bitwarden(x_password=NEW_X_PW, revised=tomorrow)
    doc["items"][0]["revisionDate"] = LAST_YEAR
    mixed = write_export(cli, "mixed.json", doc)
    before = backups(cli)

    dry = cli("secret", "import", mixed, "--dry-run")
    assert dry.exit_code == 1, dry.output  # the real import would be refused
    assert "older: NNHS Athletics Instagram (item 1)" in dry.stdout and "left alone" in dry.stdout
    assert "different: NNHS on X (item 2)" in dry.stdout and "needs --replace" not in dry.stdout
    assert "not imported without --replace" in dry.stdout
    dry_json = imported(cli, mixed, "--dry-run", expect=1)
    assert dry_json["dry_run"] is True and statuses(dry_json) == {IG_LABEL: "older", X_LABEL: "different"}

    ok = cli.ok("secret", "import", mixed, "--dry-run", "--replace")
    assert "replaces: NNHS on X (item 2)" in ok.output and "; would be stored" in ok.output
    assert "Dry run: nothing was imported." in ok.output
    as_json = imported(cli, mixed, "--dry-run", "--replace")
    [x] = [i for i in as_json["items"] if i["account"] == X_LABEL]
    assert (x["status"], x["writes"], x["written"], x["version"]) == ("replaces", True, False, None)

    assert backups(cli) == before
    assert versions(cli, IG) == [1, 2] and versions(cli, "x:nnhs") == [1]
    assert shown(cli, IG)["password"] == generated and shown(cli, "x:nnhs")["password"] == X_PW

    # Into a registry with nothing escrowed, a dry run says "new" and still stores nothing.
    (cli.tmp / "fresh").mkdir()
    fresh = Cli(cli.tmp / "fresh")
    setup_district(fresh, secret=False)
    first = imported(fresh, mixed, "--dry-run")
    assert statuses(first) == {IG_LABEL: "new", X_LABEL: "new"}
    assert all(i["writes"] and not i["written"] for i in first["items"])
    assert fresh("secret", "history", IG, "--json").exit_code == 1  # nothing escrowed


def test_a_plaintext_auditor_export_imports_back_as_ours_not_as_bitwarden(cli: Cli) -> None:
    """`secret export --plaintext` then `secret import` of that file: read as the auditor's own
    export (matched by account id), not as a Bitwarden JSON whose every item has no password."""
    setup_district(cli, secret=False)
    cli.ok("secret", "import", write_export(cli, "bitwarden.json", bitwarden()))
    out = cli.tmp / "handover.json"
    cli.ok("secret", "export", "-o", str(out), "--plaintext", "--yes-i-understand", "--reason", "handover")
    again = imported(cli, str(out))
    assert again["format"] == "auditor export (plaintext)"
    assert statuses(again) == {IG_LABEL: "unchanged", X_LABEL: "unchanged"}

    rotate(cli, IG, "--length", "32")  # the export is now older for Instagram
    generated = shown(cli, IG)["password"]
    later = imported(cli, str(out), "--replace")
    assert statuses(later) == {IG_LABEL: "older", X_LABEL: "unchanged"}
    assert shown(cli, IG)["password"] == generated and versions(cli, IG) == [1, 2]
