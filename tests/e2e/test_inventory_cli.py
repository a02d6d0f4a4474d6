"""A new district IT administrator's first hour, through the CLI: create, add, import, list."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli

PEOPLE = (
    "name,email,kind,role,building,status,training_completed_on,birth_date,adult\n"
    "Marcus Lee,mlee@naperville203.org,employee,Principal,Naperville North,active,2026-08-22,,\n"
    "Priya Raman,praman@naperville203.org,employee,Athletic Director,Naperville North,active,2025-08-15,,\n"
    "Ava Brooks,ava@students.naperville203.org,student,Yearbook editor,Naperville Central,active,,2011-03-14,no\n"
)
ACCOUNTS = (
    "platform,handle,owner_email,co_manager_emails,student_manager_emails,purpose,building,approved_on,renewal_due,notes\n"
    "instagram,nnhs_athletics,praman@naperville203.org,mlee@naperville203.org,,athletics,Naperville North,2026-01-12,2026-12-10,\n"
    'x,nchs_yearbook,mlee@naperville203.org,,ava@students.naperville203.org,activity,Naperville Central,,,=HYPERLINK("http://evil")\n'
)


def _items(output: str) -> list[dict]:  # type: ignore[type-arg]
    data = json.loads(output)
    assert data["version"] == 1
    return data["items"]  # type: ignore[no-any-return]


def test_init_then_import_then_list_in_every_format(cli: Cli) -> None:
    cli.init()
    assert (os.stat(cli.registry).st_mode & 0o777) == 0o600
    out = cli.ok("person", "import", str(cli.file("people.csv", PEOPLE))).output
    assert "Imported people: 3 new, 0 updated, 0 unchanged." in out
    assert "Backup taken before the import:" in out
    out = cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS))).output
    assert "Imported accounts: 2 new, 0 updated, 0 unchanged." in out

    table = cli.ok("account", "list").output
    assert "nnhs_athletics" in table and "praman@naperville203.org" in table and "Renewal due" in table

    items = _items(cli.ok("account", "list", "--format", "json").output)
    assert [(i["platform"], i["handle"], i["owner"]) for i in items] == [
        ("instagram", "nnhs_athletics", "praman@naperville203.org"),
        ("x", "nchs_yearbook", "mlee@naperville203.org"),
    ]
    assert items[0]["co_managers"] == ["mlee@naperville203.org"]
    assert items[1]["student_managers"] == ["ava@students.naperville203.org"]

    # The import's own header, after a BOM (tests/e2e/test_round_trip.py imports it back)
    accounts_csv = cli.ok("account", "list", "--format", "csv").output
    assert accounts_csv.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(accounts_csv.lstrip("\ufeff"))))
    assert rows[0][:3] == ["platform", "handle", "display_name"]
    assert rows[1][rows[0].index("owner_email")] == "praman@naperville203.org"
    people_csv = cli.ok("person", "list", "--format", "csv").output.lstrip("\ufeff")
    people_rows = list(csv.DictReader(io.StringIO(people_csv)))
    assert [r["email"] for r in people_rows] == [
        "ava@students.naperville203.org",
        "mlee@naperville203.org",
        "praman@naperville203.org",
    ]
    assert (
        _items(cli.ok("person", "list", "--json", "--kind", "student").output)[0]["birth_date"]
        == "2011-03-14"
    )


def test_reimporting_the_same_file_changes_nothing(cli: Cli) -> None:
    cli.init()
    people = cli.file("people.csv", PEOPLE)
    cli.ok("person", "import", str(people))
    accounts = cli.file("accounts.csv", ACCOUNTS)
    cli.ok("account", "import", str(accounts))
    before = cli.ok("account", "list", "--json").output
    assert "0 new, 0 updated, 3 unchanged" in cli.ok("person", "import", str(people)).output
    assert "0 new, 0 updated, 2 unchanged" in cli.ok("account", "import", str(accounts)).output
    assert cli.ok("account", "list", "--json").output == before
    changed = cli.file("people2.csv", PEOPLE.replace("Principal", "Superintendent"))
    assert "0 new, 1 updated, 2 unchanged" in cli.ok("person", "import", str(changed)).output


def test_bad_row_imports_nothing_and_names_line_and_column(cli: Cli) -> None:
    cli.init()
    bad = cli.file("people.csv", PEOPLE + "Bad Row,bad@naperville203.org,employee,,,active,yesterday,,\n")
    result = cli("person", "import", str(bad))
    assert result.exit_code == 1
    assert "line 5, column training_completed_on: 'yesterday' is not a date" in result.output
    assert _items(cli.ok("person", "list", "--json").output) == []


def test_dry_run_reports_and_writes_nothing(cli: Cli) -> None:
    cli.init()
    out = cli.ok("person", "import", "--dry-run", str(cli.file("p.csv", PEOPLE))).output
    assert "Would import people: 3 new, 0 updated, 0 unchanged." in out
    assert "Backup" not in out
    assert _items(cli.ok("person", "list", "--json").output) == []


def test_add_show_edit_retire_remove(cli: Cli) -> None:
    cli.init()
    cli.ok("person", "add", "--name", "Dana Smith", "--email", "dsmith@d203.org", "--role", "Teacher")
    cli.ok("person", "add", "--name", "Lee Ward", "--email", "lward@d203.org")
    out = cli.ok(
        "account",
        "add",
        "instagram",
        "Lincoln_Ath",
        "--owner",
        "dsmith@d203.org",
        "--purpose",
        "athletics",
        "--approved",
        "2026-08-15",
        "--public-comments",
    ).output
    assert "Added Instagram account @Lincoln_Ath" in out
    shown = json.loads(cli.ok("account", "show", "instagram:@lincoln_ath", "--json").output)["item"]
    assert shown["owner"] == "dsmith@d203.org" and shown["approved_on"] == "2026-08-15"
    out = cli.ok(
        "account",
        "edit",
        "@lincoln_ath",
        "--co-manager",
        "lward@d203.org",
        "--renewal-due",
        "2027-08-15",
        "--monitor",
        "lward@d203.org",
    ).output
    assert "Updated Instagram account @Lincoln_Ath: approval, co_manager_ids, comment_monitor_ids" in out
    shown = json.loads(cli.ok("account", "show", "@lincoln_ath", "--json").output)["item"]
    assert shown["co_managers"] == ["lward@d203.org"] and shown["renewal_due"] == "2027-08-15"
    assert shown["approved_on"] == "2026-08-15"

    result = cli("person", "remove", "dsmith@d203.org", "--yes")
    assert result.exit_code == 1 and "still named on 1 account(s)" in result.output
    cli.ok("person", "edit", "dsmith@d203.org", "--status", "departed")
    person = json.loads(cli.ok("person", "show", "dsmith@d203.org", "--json").output)["item"]
    assert (
        person["status"] == "departed"
        and person["departed_on"]
        and person["accounts"] == ["instagram:Lincoln_Ath"]
    )

    cli.ok("account", "retire", "@lincoln_ath", "--reason", "Team merged")
    assert (
        _items(cli.ok("account", "list", "--status", "retired", "--json").output)[0]["handle"]
        == "Lincoln_Ath"
    )
    cli.ok("person", "add", "--name", "Temp Volunteer", "--kind", "volunteer")
    assert "Removed Temp Volunteer" in cli.ok("person", "remove", "Temp Volunteer", "--yes").output


def test_usage_errors_are_clear(cli: Cli) -> None:
    cli.init()
    result = cli("account", "add", "myspace", "x")
    assert result.exit_code == 2 and "error: platform: 'myspace' is not one of: x, facebook" in result.output
    result = cli("account", "show", "x:@nobody")
    assert result.exit_code == 1 and "error: no X account @nobody in the registry" in result.output
    result = cli("person", "edit", "nobody@d203.org", "--role", "x")
    assert result.exit_code == 1 and "no person 'nobody@d203.org'" in result.output
    result = cli("account", "add", "x", "h", "--approved", "last week")
    assert result.exit_code == 2 and "--approved: 'last week' is not a date" in result.output


def test_wrong_passphrase_and_missing_registry(cli: Cli, tmp_path: Path) -> None:
    result = cli("account", "list")
    assert (
        result.exit_code == 1 and "error: no registry at" in result.output and "auditor init" in result.output
    )
    cli.init()
    wrong = tmp_path / "wrong.pass"
    wrong.write_text("not the passphrase\n")
    os.chmod(wrong, 0o600)
    result = cli("account", "list", passfile=wrong)
    assert result.exit_code == 1 and "error: wrong passphrase" in result.output
    os.chmod(wrong, 0o644)
    result = cli("account", "list", passfile=wrong)
    assert result.exit_code == 1 and "readable by other users" in result.output
    assert "not the passphrase" not in result.output


def test_damaged_registry_is_reported_and_not_overwritten(cli: Cli) -> None:
    cli.registry.write_bytes(b"\x00garbage" * 512)
    before = cli.registry.read_bytes()
    for args in (["account", "list"], ["registry", "check"], ["init"]):
        result = cli(*args)
        assert result.exit_code == 1
    assert cli.registry.read_bytes() == before
    assert "is damaged" in cli("account", "list").output


def test_identities_and_auditor_role(cli: Cli, tmp_path: Path) -> None:
    cli.init()
    nightly = tmp_path / "nightly.pass"
    nightly.write_text("nightly job passphrase\n")
    os.chmod(nightly, 0o600)
    out = cli.ok(
        "identity", "add", "it-nightly", "--role", "auditor", "--new-passphrase-file", str(nightly)
    ).output
    assert "Added identity it-nightly (auditor)" in out
    rows = _items(cli.ok("--identity", "it-admin", "identity", "list", "--json").output)
    assert [(r["name"], r["role"]) for r in rows] == [
        ("it-admin", "district-admin"),
        ("it-nightly", "auditor"),
    ]
    # The auditor can read the inventory but cannot add identities.
    assert cli("--identity", "it-nightly", "account", "list", passfile=nightly).exit_code == 0
    result = cli(
        "--identity",
        "it-nightly",
        "identity",
        "add",
        "x",
        "--role",
        "admin",
        "--new-passphrase-file",
        str(nightly),
        passfile=nightly,
    )
    assert result.exit_code == 1 and "needs an admin identity" in result.output
    result = cli("account", "list")
    assert result.exit_code == 1 and "2 identities" in result.output and "--identity" in result.output


def test_identity_add_asks_for_the_role_and_never_defaults_to_administrator(cli: Cli, tmp_path: Path) -> None:
    """An administrator reads every credential in the district (issue 19): the role is said, not
    assumed."""
    cli.init()
    spare = tmp_path / "spare.pass"
    spare.write_text("a spare passphrase for the test\n")
    os.chmod(spare, 0o600)
    result = cli("identity", "add", "mlee", "--new-passphrase-file", str(spare))
    assert result.exit_code == 2 and "--role" in result.output
    rows = _items(cli.ok("identity", "list", "--json").output)
    assert [r["name"] for r in rows] == ["it-admin"]
    assert "Required" in cli.ok("identity", "add", "--help").output


def test_registry_check_backup_restore(cli: Cli, tmp_path: Path) -> None:
    cli.init()
    cli.ok("person", "import", str(cli.file("p.csv", PEOPLE)))
    out = cli.ok("registry", "check").output
    assert "person         3 record(s) decrypted and authenticated" in out and "Registry is healthy." in out
    backup = tmp_path / "backup.db"
    cli.ok("registry", "backup", "-o", str(backup))
    assert (os.stat(backup).st_mode & 0o777) == 0o600
    cli.ok("person", "add", "--name", "After Backup", "--email", "after@d203.org")
    out = cli.ok("registry", "restore", str(backup), "--yes").output
    assert "The previous registry was kept at" in out
    emails = [i["email"] for i in _items(cli.ok("person", "list", "--json").output)]
    assert "after@d203.org" not in emails and len(emails) == 3
    info = cli.ok("registry", "info").output
    assert "format version" in info


def test_registry_check_fails_on_a_tampered_record(cli: Cli) -> None:
    import sqlite3

    cli.init()
    cli.ok("person", "import", str(cli.file("p.csv", PEOPLE)))
    with sqlite3.connect(cli.registry) as db:
        rid = db.execute("SELECT id FROM records WHERE kind='person' LIMIT 1").fetchone()[0]
        db.execute("UPDATE records SET blob=substr(blob,1,40) || x'00' || substr(blob,42) WHERE id=?", (rid,))
    result = cli("registry", "check")
    assert result.exit_code == 1 and f"TAMPERED       person {rid}" in result.output
    listing = cli("person", "list", "--json")
    assert listing.exit_code == 1 and len(json.loads(listing.stdout)["items"]) == 2
    assert f"person record {rid} failed its integrity check" in listing.stderr


def _sub_names(cmd: object) -> list[str]:
    """A group's subcommands through click's own API: the root loads its groups lazily, so its
    `commands` dict is empty until each is asked for."""
    list_commands = getattr(cmd, "list_commands", None)
    return list(list_commands(None)) if list_commands is not None else []


def _all_commands() -> list[list[str]]:
    """Every command and group of the real app, walked from the root: a new command is covered
    the day it is registered."""
    import typer.main

    root = typer.main.get_command(__import__("auditor.cli", fromlist=["app"]).app)
    found: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        found.append(path)
        for name in sorted(_sub_names(cmd)):
            walk(cmd.get_command(None, name), [*path, name])  # type: ignore[attr-defined]

    walk(root, [])
    return found


COMMANDS = _all_commands()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_every_command_has_help(cli: Cli, command: list[str]) -> None:
    result = cli.runner.invoke(__import__("auditor.cli", fromlist=["app"]).app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    is_group = bool(_sub_names(_command_object(command)))
    if command and not is_group:
        assert "Example" in result.output, f"{command} --help has no example"


def _command_object(path: list[str]) -> object:
    import typer.main

    cmd: object = typer.main.get_command(__import__("auditor.cli", fromlist=["app"]).app)
    for name in path:
        cmd = cmd.get_command(None, name)  # type: ignore[attr-defined]
    return cmd


def test_identity_passwd_changes_only_that_identitys_passphrase(cli: Cli) -> None:
    cli.init()
    nightly = cli.file("nightly.pass", "nightly passphrase one\n")
    os.chmod(nightly, 0o600)
    cli.ok("identity", "add", "it-nightly", "--role", "auditor", "--new-passphrase-file", str(nightly))
    cli.ok("--identity", "it-admin", "person", "add", "--name", "Dana Whitfield", "--email", "dw@d203.org")
    new = cli.file("new.pass", "a brand new admin passphrase\n")
    os.chmod(new, 0o600)

    out = cli.ok("--identity", "it-admin", "identity", "passwd", "--new-passphrase-file", str(new)).output
    assert "Changed the passphrase of it-admin." in out
    assert "brand new" not in out

    old = cli("--identity", "it-admin", "person", "list")
    assert old.exit_code == 1 and "wrong passphrase" in old.output
    listed = cli.ok("--identity", "it-admin", "person", "list", "--format", "json", passfile=new).stdout
    assert [p["email"] for p in json.loads(listed)["items"]] == ["dw@d203.org"]
    # The other identity is untouched.
    cli.ok("--identity", "it-nightly", "person", "list", passfile=nightly)

    # A new passphrase that is too short is refused, and the current one keeps working.
    short = cli.file("short.pass", "short\n")
    os.chmod(short, 0o600)
    refused = cli(
        "--identity", "it-admin", "identity", "passwd", "--new-passphrase-file", str(short), passfile=new
    )
    assert refused.exit_code != 0 and "12" in refused.output
    cli.ok("--identity", "it-admin", "person", "list", passfile=new)


def test_terminal_output_carries_no_control_characters_from_stored_text(cli: Cli) -> None:
    """Names and bios come from rosters and platforms: an escape sequence in them must not reach
    the terminal (retitling the window, moving the cursor), while JSON keeps the value exactly.
    A name with one is refused at `person add`; one stored before that rule still shows escaped."""
    import dataclasses

    from auditor.model.types import Secret
    from tests.e2e.conftest import PASSPHRASE
    from vault.backends.sqlite import SQLiteBackend
    from vault.registry import Registry
    from vault.stores.inventory import Inventory

    cli.init()
    hostile = "Dana \x1b]0;pwned\x07Whitfield\x1b[2J"
    refused = cli("person", "add", "--name", hostile, "--email", "dw@d203.org")
    assert refused.exit_code == 2 and "\x1b" not in refused.output
    assert (
        "error: --name: 'Dana \\x1b]0;pwned\\x07Whitfield\\x1b[2J' contains \\x1b (escape)" in refused.output
    )
    cli.ok("person", "add", "--name", "Dana Whitfield", "--email", "dw@d203.org")
    reg = Registry.open(SQLiteBackend(str(cli.registry)))
    reg.unlock("it-admin", Secret(PASSPHRASE))
    try:
        inv = Inventory(reg)
        inv.save_person(dataclasses.replace(inv.resolve_person("dw@d203.org"), name=hostile))
    finally:
        reg.close()
    table = cli.ok("person", "list").stdout
    shown = cli.ok("person", "show", "dw@d203.org").stdout
    assert "\x1b" not in table + shown and "\x07" not in table + shown
    assert "Whitfield" in table and "Whitfield" in shown
    assert "Dana \\x1b]0;pwned\\x07Whitfield\\x1b[2J" in shown  # visible, not dropped
    assert json.loads(cli.ok("person", "list", "--format", "json").stdout)["items"][0]["name"] == hostile
