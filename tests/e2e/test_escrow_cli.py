"""An administrator's escrow workflows through the CLI: store, reveal (logged), recover, offboard,
re-key, break-glass, export and import; and what happens when the log cannot be written."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli

PEOPLE = (
    "name,email,kind,role,building,status\n"
    "Priya Raman,praman@d203.org,employee,Athletic Director,North,active\n"
    "Marcus Lee,mlee@d203.org,employee,Principal,North,active\n"
    "Dana Cho,dcho@d203.org,employee,Comms,District,active\n"
)
ACCOUNTS = (
    "platform,handle,owner_email,co_manager_emails,purpose,building,profile_url\n"
    "instagram,nnhs_athletics,mlee@d203.org,praman@d203.org,athletics,North,https://www.instagram.com/nnhs_athletics/\n"
    "x,nnhs,mlee@d203.org,,school,North,https://x.com/nnhs\n"
)
IG = "instagram:nnhs_athletics"
PASSWORD = "Canary-Pw-7731!xq"
SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
CODE = "canary-code-4455"
SECRET_INPUT = f"login=nnhs_ath\npassword={PASSWORD}\ntotp={SEED}\nrecovery_codes={CODE}, other-code-9911\n"
OTHER_PASS = "second admin passphrase"


def setup_district(cli: Cli, *, secret: bool = True) -> None:
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS)))
    if secret:
        cli.ok("secret", "set", IG, "--stdin", input=SECRET_INPUT)


def add_identity(cli: Cli, name: str, *, email: str = "", role: str = "admin") -> Path:
    path = cli.file(f"{name}.pass", OTHER_PASS)
    os.chmod(path, 0o600)
    args = ["identity", "add", name, "--role", role, "--new-passphrase-file", str(path)]
    cli.ok(*args, *(["--email", email] if email else []))
    return path


def cards(output: str) -> list[str]:
    """The share words printed by `breakglass setup`, one string per card."""
    out = []
    for block in output.split("-" * 72)[1:-1]:
        words = dict((int(n), w) for n, w in re.findall(r"(\d+)\. ([a-z]+)", block))
        out.append(" ".join(words[i] for i in sorted(words)))
    return out


def test_set_show_history_round_trip(cli: Cli) -> None:
    setup_district(cli)
    out = cli.ok("secret", "show", IG, "--reason", "season opener").output
    assert f"password:       {PASSWORD}" in out and f"totp seed:      {SEED}" in out and CODE in out
    cli.ok(
        "secret",
        "set",
        IG,
        "--stdin",
        input='{"password": "Second-Pw-1!", "notes": "backup phone in office"}',
    )
    shown = json.loads(cli.ok("secret", "show", IG, "--reason", "check", "--json").output)["items"][0]
    assert shown["password"] == "Second-Pw-1!" and shown["totp_seed"] == SEED  # merged onto version 1
    history = cli.ok("secret", "history", IG, "--json").output
    assert PASSWORD not in history and "Second-Pw-1!" not in history
    items = json.loads(history)["items"]
    assert [(i["version"], i["set_by"], i["fields"]) for i in items] == [
        (1, "it-admin", ["login", "password", "totp", "recovery_codes"]),
        (2, "it-admin", ["password", "notes"]),
    ]
    out = cli.ok("secret", "totp", IG, "--reason", "sign-in").output
    assert re.fullmatch(r"\d{6}  \(valid for \d+ more seconds?\)\n", out)
    assert (
        "1 of 2 codes left" in cli.ok("secret", "use-code", IG, "--stdin", input=CODE.upper() + "\n").output
    )
    assert cli("secret", "use-code", IG, "--stdin", input=CODE + "\n").exit_code == 1
    log = json.loads(cli.ok("log", "show", "--account", IG, "--json").output)["items"]
    assert [(e["action"], e["reason"]) for e in log] == [
        ("set", ""),
        ("reveal", "season opener"),
        ("set", ""),
        ("reveal", "check"),
        ("totp", "sign-in"),
        ("code-used", ""),
    ]
    assert "OK: All 8 events verify" in cli.ok("log", "verify").output  # and the 2 imports' backups


def test_show_needs_a_reason(cli: Cli) -> None:
    setup_district(cli)
    assert cli("secret", "show", IG).exit_code == 2
    result = cli("secret", "show", IG, "--reason", "  ")
    assert result.exit_code == 2 and PASSWORD not in result.output


def test_reveal_refused_when_the_log_cannot_be_written(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    setup_district(cli)
    real_connect = sqlite3.connect

    def impatient(*args: object, **kwargs: object) -> sqlite3.Connection:
        kwargs["timeout"] = 0.2
        return real_connect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite3, "connect", impatient)
    holder = real_connect(cli.registry, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        for args in (
            ("secret", "show", IG, "--reason", "x"),
            ("secret", "totp", IG, "--reason", "x"),
            ("recover", IG, "--reason", "x"),
        ):
            result = cli(*args)
            assert result.exit_code == 1, result.output
            assert "the reveal log could not be written" in result.stderr
            assert PASSWORD not in result.output and SEED not in result.output
            assert not re.search(r"\b\d{6}\b", result.stdout)
    finally:
        holder.execute("ROLLBACK")
    actions = [e["action"] for e in json.loads(cli.ok("log", "show", "--json").output)["items"]]
    assert actions == ["backup", "backup", "set"]  # the imports' backups, the escrow: no reveal


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through a read-only mode")
def test_reveal_refused_on_a_read_only_registry(cli: Cli) -> None:
    setup_district(cli)
    os.chmod(cli.registry, 0o400)
    result = cli("secret", "show", IG, "--reason", "x")
    assert result.exit_code == 1 and PASSWORD not in result.output


def test_log_tampering_is_named_by_verify(cli: Cli) -> None:
    setup_district(cli)
    for n in range(4):
        cli.ok("secret", "show", IG, "--reason", f"ticket {n}")
    assert cli.ok("log", "verify").output == "OK: All 7 events verify (events 1 to 7).\n"
    conn = sqlite3.connect(cli.registry, isolation_level=None)
    conn.execute("DROP TRIGGER log_no_update")
    conn.execute("DROP TRIGGER log_no_delete")
    rows = dict(conn.execute("SELECT seq, blob FROM log").fetchall())
    conn.execute("UPDATE log SET seq = 100 WHERE seq = 2")
    conn.execute("UPDATE log SET seq = 2 WHERE seq = 3")
    conn.execute("UPDATE log SET seq = 3 WHERE seq = 100")
    result = cli("log", "verify")
    assert result.exit_code == 1
    assert result.output == "BROKEN: Event 3 appears before event 2: the log is out of order.\n"
    conn.execute("DELETE FROM log WHERE seq IN (2, 3)")
    result = cli("log", "verify", "--json")
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert body["problem"] == "gap" and body["first_bad_seq"] == 4
    assert body["message"] == "Events 2 to 3 are missing: the log jumps from event 1 to event 4."
    # Put the two rows back, then edit one: the edited event is named.
    conn.execute("INSERT INTO log(seq, blob) VALUES (2, ?), (3, ?)", (rows[2], rows[3]))
    assert cli.ok("log", "verify").output.startswith("OK: All 7 events verify")
    conn.execute("UPDATE log SET blob = ? WHERE seq = 4", (rows[4].replace(b'"ct": "', b'"ct": "AAAA'),))
    result = cli("log", "verify")
    assert result.exit_code == 1
    assert result.output.startswith("BROKEN: Event 4 cannot be trusted: it does not decrypt")


def test_identity_removal_opens_tasks_closed_by_a_new_version(cli: Cli) -> None:
    setup_district(cli)
    add_identity(cli, "bob")
    assert (
        cli("--identity", "it-admin", "identity", "remove", "bob").exit_code == 2
    )  # no terminal to confirm, no --yes
    out = cli.ok("--identity", "it-admin", "identity", "remove", "bob", "--yes").output
    assert "Removed identity bob. Backup taken first:" in out and "Opened 1 rotation task(s)" in out
    backups = list((cli.tmp / "backups").glob("*before-identity-remove*"))
    assert len(backups) == 1
    tasks = json.loads(cli.ok("task", "list", "--json").output)["items"]
    assert [(t["account"], t["status"], t["age_days"]) for t in tasks] == [
        ("Instagram account @nnhs_athletics", "open", 0)
    ]
    assert (
        cli("--identity", "bob", "--passphrase-file", str(cli.tmp / "bob.pass"), "log", "show").exit_code == 1
    )
    refused = cli("--identity", "it-admin", "identity", "remove", "it-admin", "--yes")
    assert refused.exit_code == 2 and "unlocked as" in refused.stderr
    out = cli.ok("secret", "generate", IG).output
    assert "Staged as pending" in out and PASSWORD not in out  # closed only by proof (issue 18)
    still = json.loads(cli.ok("task", "list", "--json").output)["items"]
    assert still[0]["status"] == "open" and still[0]["pending"] == ["password"]
    cli.ok("task", "confirm", still[0]["id"], "password")
    assert json.loads(cli.ok("task", "list", "--json").output)["items"][0]["confirmed"] == ["password"]


def test_offboard_end_to_end(cli: Cli) -> None:
    setup_district(cli)
    add_identity(cli, "mlee", email="mlee@d203.org")
    base = ("--identity", "it-admin")
    out = cli.ok(*base, "offboard", "mlee@d203.org", "--to", "dcho@d203.org", "--yes").output
    assert "Owns: 2" in out and "Identities to remove: mlee" in out
    assert "Instagram account @nnhs_athletics: owner is now Dana Cho" in out
    assert "X account @nnhs: owner is now Dana Cho" in out
    assert "Removed identity mlee" in out and "Marked Marcus Lee departed." in out
    assert "[ ] remove Marcus Lee from the Meta Business Suite people and the linked Facebook Page" in out
    assert "[ ] regenerate the recovery codes" in out and "re-enrol two-factor" in out
    assert "[ ] sign out every other session" in out
    people = {p["email"]: p for p in json.loads(cli.ok("person", "list", "--json").output)["items"]}
    assert people["mlee@d203.org"]["status"] == "departed"
    accounts = json.loads(cli.ok("account", "list", "--json").output)["items"]
    assert {a["owner"] for a in accounts} == {"dcho@d203.org"}
    assert all("mlee@d203.org" not in a["co_managers"] for a in accounts)
    # Both accounts the coach owned, escrowed or not: they knew the credentials of each.
    tasks = sorted(json.loads(cli.ok("task", "list", "--json").output)["items"], key=lambda t: t["account"])
    assert [t["account"] for t in tasks] == ["Instagram account @nnhs_athletics", "X account @nnhs"]
    assert tasks[0]["outstanding"] == ["password", "totp", "recovery-codes", "platform-admins", "sessions"]
    assert [i["name"] for i in json.loads(cli.ok("identity", "list", "--json").output)["items"]] == [
        "it-admin"
    ]
    actions = [e["action"] for e in json.loads(cli.ok("log", "show", "--json").output)["items"]]
    assert actions == ["backup", "backup", "set", "identity-add", "backup", "identity-remove", "offboard"]
    assert "OK:" in cli.ok("log", "verify").output

    out = cli.ok("recover", IG, "--reason", "owner left mid-season").output
    assert "Owner: Dana Cho <dcho@d203.org> (active)" in out and PASSWORD not in out
    assert f"Rotation task {tasks[0]['id']} (open)" in out and f"auditor task show {tasks[0]['id']}" in out
    out = cli.ok("recover", IG, "--reason", "owner left mid-season", "--field", "totp").output
    assert re.search(r"current TOTP code: \d{6} \(valid for \d+ more seconds\)", out)


def test_offboard_without_a_successor_changes_nothing(cli: Cli) -> None:
    setup_district(cli)
    result = cli("offboard", "mlee@d203.org", "--yes")
    assert result.exit_code == 2 and "no active co-manager to take over: X account @nnhs" in result.stderr
    people = {p["email"]: p for p in json.loads(cli.ok("person", "list", "--json").output)["items"]}
    assert people["mlee@d203.org"]["status"] == "active"


def test_breakglass_setup_recover_then_old_shares_fail(cli: Cli) -> None:
    setup_district(cli)
    setup = cli.ok("breakglass", "setup", "--shares", "3", "--threshold", "2").output
    shares = cards(setup)
    assert len(shares) == 3 and all(len(s.split()) == 33 for s in shares)
    assert cli("breakglass", "setup", "--shares", "3", "--threshold", "2").exit_code == 2  # exists
    phrase = cli.file("new.pass", "new administrator passphrase")
    os.chmod(phrase, 0o600)
    # A duplicate share is refused and asked again; then the second envelope completes the set.
    out = cli.ok(
        "breakglass",
        "recover",
        "--reason",
        "all admins away",
        "--operator",
        "R. Diaz",
        "--reveal",
        IG,
        "--add-admin",
        "rdiaz",
        "--new-passphrase-file",
        str(phrase),
        input=f"{shares[0]}\n{shares[0]}\n{shares[2]}\n",
    )
    assert "share 2 is the same share as share 1" in out.stderr
    assert PASSWORD in out.stdout and "Added administrator rdiaz." in out.stdout
    assert "Run `auditor breakglass setup` again" in out.stdout
    log = json.loads(
        cli.ok("--identity", "rdiaz", "--passphrase-file", str(phrase), "log", "show", "--json").output
    )
    assert [(e["identity"], e["action"], e["reason"]) for e in log["items"]][3:] == [
        ("it-admin", "breakglass-setup", ""),
        ("break-glass", "backup", ""),
        # One event: the set burned and both keys rotated in its transaction, before any reveal.
        ("break-glass", "break-glass", "all admins away"),
        ("break-glass", "reveal", "all admins away"),
        ("break-glass", "identity-add", "all admins away"),
    ]
    # The used shares open nothing: no set now, and stale after a new ceremony.
    gone = cli("breakglass", "recover", "--reason", "again", input=f"{shares[0]}\n{shares[1]}\n")
    assert gone.exit_code == 1 and "no break-glass set" in gone.stderr
    cli.ok("--identity", "it-admin", "breakglass", "setup", "--shares", "2", "--threshold", "2")
    stale = cli("breakglass", "recover", "--reason", "again", input=f"{shares[0]}\n{shares[1]}\n")
    assert stale.exit_code == 1 and "earlier ceremony" in stale.stderr
    assert PASSWORD not in stale.output


def test_export_encrypted_round_trip_and_plaintext_refusal(cli: Cli) -> None:
    from auditor.model.types import Secret
    from vault.escrow import exportfile

    setup_district(cli)
    passfile = cli.file("export.pass", "handover passphrase 2026")
    os.chmod(passfile, 0o600)
    out = cli.tmp / "handover.aex"
    result = cli.ok(
        "secret", "export", "-o", str(out), "--reason", "handover", "--export-passphrase-file", str(passfile)
    )
    assert "Exported 1 account(s)" in result.output and (os.stat(out).st_mode & 0o777) == 0o600
    data = out.read_bytes()
    assert PASSWORD.encode() not in data and SEED.encode() not in data
    doc = json.loads(exportfile.passphrase_decrypt(data, Secret("handover passphrase 2026")))
    assert doc["items"][0]["credential"]["password"] == PASSWORD
    assert (
        cli(
            "secret", "export", "-o", str(out), "--reason", "again", "--export-passphrase-file", str(passfile)
        ).exit_code
        == 2
    )

    identity, recipient = exportfile.age_keypair()
    aged = cli.tmp / "handover.age"
    cli.ok(
        "secret", "export", "-o", str(aged), "--reason", "handover", "--recipient", recipient, "--account", IG
    )
    assert json.loads(exportfile.age_decrypt(aged.read_bytes(), identity))["items"][0]["account"] == (
        "Instagram account @nnhs_athletics"
    )
    # Read back with `secret import`: a password stored since the export is newer, so the export's
    # (what version 1 held) is left alone: an import never demotes a credential (issue 13).
    key = cli.file("key.txt", identity.reveal_str())
    os.chmod(key, 0o600)
    cli.ok("secret", "set", IG, "--stdin", input="password=changed-in-between-1")
    back = cli.ok("secret", "import", str(aged), "--identity-file", str(key), "--replace").output
    assert "older than the escrowed version, left alone (its password is what version 1 held)" in back
    assert PASSWORD not in back
    assert "changed-in-between-1" in cli.ok("secret", "show", IG, "--reason", "kept").output

    plain = cli.tmp / "plain.json"
    refused = cli("secret", "export", "-o", str(plain), "--reason", "x", "--plaintext")
    assert refused.exit_code == 2 and "needs confirmation" in refused.stderr and not plain.exists()
    cli.ok(
        "secret", "export", "-o", str(plain), "--reason", "court order", "--plaintext", "--yes-i-understand"
    )
    assert "changed-in-between-1" in plain.read_text()  # the current password, in the clear
    exports = [
        e for e in json.loads(cli.ok("log", "show", "--json").output)["items"] if e["action"] == "export"
    ]
    assert [(e["reason"], e["details"]["format"]) for e in exports] == [
        ("handover", "auditor-export"),
        ("handover", "age"),
        ("court order", "plaintext"),
    ]


BITWARDEN = {
    "encrypted": False,
    "items": [
        {
            "type": 1,
            "name": "NNHS Athletics Instagram",
            "login": {
                "uris": [{"uri": "https://instagram.com/nnhs_athletics"}],
                "username": "nnhs_ath",
                "password": "Bw-Imported-1!",
                "totp": f"otpauth://totp/Instagram:nnhs_athletics?secret={SEED}&issuer=Instagram",
            },
            "fields": [{"name": "Recovery codes", "value": "rc-1111, rc-2222"}],
        },
        {
            "type": 1,
            "name": "NNHS on X",
            "login": {
                "uris": [{"uri": "https://twitter.com/NNHS"}],
                "username": "nnhs",
                "password": "Bw-X-2!",
            },
        },
    ],
}
KEEPASS = (
    '"Group","Title","Username","Password","URL","Notes","TOTP"\n'
    '"Root","NNHS X","nnhs","Kp-X-3!","https://x.com/nnhs","","otpauth://totp/X:nnhs?secret=' + SEED + '"\n'
    '"Root","Old Snapchat","oldsnap","Kp-Snap-4!","https://www.snapchat.com/add/oldsnap","",""\n'
)


def test_imports_bitwarden_json_and_keepassxc_csv(cli: Cli) -> None:
    setup_district(cli, secret=False)
    bw = cli.file("bitwarden.json", json.dumps(BITWARDEN))
    dry = cli.ok("secret", "import", str(bw), "--dry-run").output
    assert "2 matched, 0 ambiguous, 0 unmatched" in dry and "Dry run: nothing was imported." in dry
    assert "Bw-Imported-1!" not in dry
    assert "No open" in cli.ok("task", "list").output and cli.ok("secret", "import", str(bw))
    assert len(list((cli.tmp / "backups").glob("*before-credential-import*"))) == 1
    shown = json.loads(cli.ok("secret", "show", IG, "--reason", "check import", "--json").output)["items"][0]
    assert shown["password"] == "Bw-Imported-1!" and shown["totp_seed"] == SEED
    assert [c["code"] for c in shown["recovery_codes"]] == ["rc-1111", "rc-2222"]

    kp = cli.file("keepassxc.csv", KEEPASS)
    result = cli("secret", "import", str(kp))
    assert result.exit_code == 1 and "nothing was imported" in result.stderr
    assert "unmatched: Old Snapchat (line 3)" in result.stdout and "Kp-Snap-4!" not in result.output
    x = json.loads(cli.ok("secret", "show", "x:nnhs", "--reason", "unchanged?", "--json").output)["items"][0]
    assert x["password"] == "Bw-X-2!"  # nothing half-imported
    cli.file("keepassxc.csv", KEEPASS.splitlines(keepends=True)[0] + KEEPASS.splitlines(keepends=True)[1])
    # Its password differs from the escrowed one: replacing it needs --replace (issue 13).
    assert "not imported without --replace" in cli("secret", "import", str(kp)).stdout
    cli.ok("secret", "import", str(kp), "--replace")
    x = json.loads(cli.ok("secret", "show", "x:nnhs", "--reason", "after", "--json").output)["items"][0]
    assert x["password"] == "Kp-X-3!" and x["totp_seed"] == SEED
