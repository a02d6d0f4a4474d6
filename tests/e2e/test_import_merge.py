"""Re-importing never blanks data (issue 13, "Merge, never blank"): an import changes only the
columns the file has, an empty cell changes nothing unless --clear-empty says so."""

from __future__ import annotations

import json

from tests.e2e.conftest import Cli

FULL_PEOPLE = (
    "name,email,kind,role,building,status,employee_id,training_completed_on,procedure_signed_on,aup_signed_on,notes\n"
    "Priya Raman,praman@d203.org,employee,Athletic Director,North,active,E-1001,2026-08-20,2026-08-21,2026-08-22,coach\n"
    "Marcus Lee,mlee@d203.org,employee,Principal,North,active,E-1002,2026-08-01,2026-08-02,2026-08-03,\n"
)
ACCOUNTS = (
    "platform,handle,owner_email,co_manager_emails,purpose,building,login_email,two_factor,approved_on,approved_by,renewal_due,tags\n"
    "instagram,nnhs_athletics,mlee@d203.org,praman@d203.org,athletics,North,athletics@d203.org,yes,2026-01-10,Principal Lee,2027-01-10,sports\n"
)


def _person(cli: Cli, email: str) -> dict[str, object]:
    item: dict[str, object] = json.loads(cli.ok("person", "show", email, "--json").output)["item"]
    return item


def _account(cli: Cli, ref: str) -> dict[str, object]:
    item: dict[str, object] = json.loads(cli.ok("account", "show", ref, "--json").output)["item"]
    return item


def _setup(cli: Cli) -> None:
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", FULL_PEOPLE)))
    cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS)))


KEPT = (
    "building",
    "employee_id",
    "training_completed_on",
    "procedure_signed_on",
    "aup_signed_on",
    "notes",
    "kind",
)


def test_a_file_with_fewer_columns_changes_only_those_columns(cli: Cli) -> None:
    _setup(cli)
    before = _person(cli, "praman@d203.org")
    short = cli.file("short.csv", "name,email,role\nPriya Raman,praman@d203.org,Activities Director\n")
    dry = cli.ok("person", "import", str(short), "--dry-run", "--json").output
    assert json.loads(dry)["updated"] == 1
    cli.ok("person", "import", str(short))
    after = _person(cli, "praman@d203.org")
    assert after["role"] == "Activities Director"
    assert {k: after[k] for k in KEPT} == {k: before[k] for k in KEPT}
    # the same short file again: nothing to change
    assert json.loads(cli.ok("person", "import", str(short), "--json").output)["unchanged"] == 1


def test_empty_cells_change_nothing_unless_clear_empty(cli: Cli) -> None:
    _setup(cli)
    blanks = cli.file("blanks.csv", "name,email,building,employee_id,notes\nPriya Raman,praman@d203.org,,,\n")
    result = json.loads(cli.ok("person", "import", str(blanks), "--json").output)
    assert result["unchanged"] == 1 and result["updated"] == 0
    assert _person(cli, "praman@d203.org")["employee_id"] == "E-1001"
    cli.ok("person", "import", str(blanks), "--clear-empty")
    cleared = _person(cli, "praman@d203.org")
    assert (cleared["building"], cleared["employee_id"], cleared["notes"]) == ("", "", "")
    assert cleared["training_completed_on"] == "2026-08-20"  # not a column of the file: kept


def test_an_account_file_with_a_few_columns_keeps_owner_managers_and_approval(cli: Cli) -> None:
    _setup(cli)
    ref = "instagram:nnhs_athletics"
    before = _account(cli, ref)
    notes = cli.file("notes.csv", "platform,handle,notes\ninstagram,nnhs_athletics,moved to the new coach\n")
    cli.ok("account", "import", str(notes))
    after = _account(cli, ref)
    assert after["notes"] == "moved to the new coach"
    for key in (
        "owner",
        "co_managers",
        "purpose",
        "building",
        "login_email",
        "two_factor",
        "approved_on",
        "approved_by",
        "renewal_due",
        "tags",
    ):
        assert after[key] == before[key], key
    # One approval column given: the other approval fields stay.
    renew = cli.file("renew.csv", "platform,handle,renewal_due\ninstagram,nnhs_athletics,2027-06-30\n")
    cli.ok("account", "import", str(renew))
    renewed = _account(cli, ref)
    assert renewed["renewal_due"] == "2027-06-30"
    assert renewed["approved_by"] == before["approved_by"] == "Principal Lee"
    assert renewed["approved_on"] == before["approved_on"] == "2026-01-10"


def test_new_records_still_take_the_defaults(cli: Cli) -> None:
    _setup(cli)
    cli.ok("person", "import", str(cli.file("new.csv", "name,email\nDana Cho,dcho@d203.org\n")))
    dana = _person(cli, "dcho@d203.org")
    assert (dana["kind"], dana["status"]) == ("employee", "active")


def test_an_import_that_changes_nothing_takes_no_backup(cli: Cli) -> None:
    """Issue 13: a nightly re-import of the same staff file filled the backups folder."""
    _setup(cli)
    backups = cli.registry.parent / "backups"
    taken = sorted(backups.iterdir())
    again = json.loads(cli.ok("person", "import", str(cli.tmp / "people.csv"), "--json").output)
    assert (again["unchanged"], again["backup"]) == (2, None)
    assert (
        json.loads(cli.ok("account", "import", str(cli.tmp / "accounts.csv"), "--json").output)["backup"]
        is None
    )
    assert sorted(backups.iterdir()) == taken
    changed = cli.file("role.csv", "name,email,role\nPriya Raman,praman@d203.org,Activities Director\n")
    assert json.loads(cli.ok("person", "import", str(changed), "--json").output)["backup"]
    assert len(list(backups.iterdir())) == len(taken) + 1


def test_a_dry_run_names_people_by_email_and_the_history_keeps_it(cli: Cli) -> None:
    """Issue 13: the dry run said only "1 updated"; now it says each field, old -> new."""
    _setup(cli)
    moved = cli.file(
        "owner.csv",
        "platform,handle,owner_email,co_manager_emails\ninstagram,nnhs_athletics,praman@d203.org,\n",
    )
    dry = cli.ok("account", "import", str(moved), "--dry-run").output
    assert "owner: mlee@d203.org -> praman@d203.org" in dry
    assert "co_managers" not in dry  # an empty cell changes nothing
    cli.ok("account", "import", str(moved))
    history = json.loads(cli.ok("account", "history", "instagram:nnhs_athletics", "--json").output)["items"]
    assert ("import:owner.csv", "owner", "mlee@d203.org", "praman@d203.org") in [
        (h["source"], h["field"], h["old"], h["new"]) for h in history
    ]


def test_an_old_file_never_moves_a_training_or_signature_date_back(cli: Cli) -> None:
    """Last term's staff file must not undo this term's training; `person edit` may, on purpose."""
    _setup(cli)
    cli.ok("person", "edit", "praman@d203.org", "--training", "2026-11-30")
    dry = cli.ok("person", "import", str(cli.file("people.csv", FULL_PEOPLE)), "--dry-run").output
    assert "Would import people: 0 new, 0 updated, 2 unchanged." in dry
    assert (
        "line 2: Priya Raman <praman@d203.org>: training_completed_on kept as 2026-11-30 (the file says "
        "2026-08-20; a later date is on record; `auditor person edit --training` sets an earlier one)" in dry
    )
    assert "--override-roster" not in dry
    cli.ok("person", "import", str(cli.tmp / "people.csv"))
    assert _person(cli, "praman@d203.org")["training_completed_on"] == "2026-11-30"
    later = cli.file(
        "later.csv", "name,email,training_completed_on\nPriya Raman,praman@d203.org,2026-12-01\n"
    )
    cli.ok("person", "import", str(later))
    assert _person(cli, "praman@d203.org")["training_completed_on"] == "2026-12-01"  # forward is fine
