"""Export -> import changes nothing (issue 13, "Round trip"): `person list --format csv` and `account
list --format csv` write exactly the import header (UTF-8 with a BOM), so export, edit in Excel,
import is the normal way to bulk-edit.

The README's own `auditor account list --format csv > accounts.csv` wrote `owner`, not
`owner_email`, and 13 columns fewer; with the headers renamed, re-importing it wiped 11 accounts'
fields. Here the export is taken through the CLI and imported back through the CLI, and a
hypothesis property does the same for any registry it generates.
"""

from __future__ import annotations

import csv
import io
import json
import string
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.model.types import (
    Account,
    AccountStatus,
    Approval,
    Person,
    PersonKind,
    PersonStatus,
    Platform,
    Purpose,
    Secret,
)
from auditor.services.imports import (
    ACCOUNT_COLUMNS,
    PERSON_COLUMNS,
    account_export_row,
    export_csv,
    person_export_row,
    read_accounts,
    read_people,
)
from auditor.services.inventory import import_accounts, import_people
from tests.e2e.conftest import Cli
from vault.backends.sqlite import SQLiteBackend
from vault.registry import Registry
from vault.stores.inventory import Inventory

PEOPLE = (
    "name,email,kind,adult,birth_date,grade,role,building,status,employee_id,training_completed_on,"
    "procedure_signed_on,aup_signed_on,notes\n"
    "Priya Raman,praman@d203.org,employee,yes,,,Athletic Director,North,active,E-1001,2026-08-20,"
    '2026-08-21,2026-08-22,"coach, ""PR"""\n'
    "Marcus Lee,mlee@d203.org,employee,,,,Principal,North,on_leave,E-1002,2026-08-01,,,=HYPERLINK(1)\n"
    "Ava Brooks,,student,no,2011-03-14,09,Yearbook editor,North,active,,,,,no email: matched by name\n"
    "Ben Ito,bito@students.d203.org,student,no,2010-01-02,10,Club lead,North,active,,,,,''=quoted\n"
)
ACCOUNTS = (
    "platform,handle,display_name,profile_url,platform_id,building,purpose,owner_email,co_manager_emails,"
    "student_manager_emails,login_email,two_factor,public_comments,comment_monitor_emails,"
    "approval_requested_on,approved_on,approved_by,renewal_due,approval_reference,status,notes,tags\n"
    "instagram,nnhs_athletics,NNHS Athletics,https://www.instagram.com/nnhs_athletics/,1789,North,athletics,"
    "mlee@d203.org,praman@d203.org,bito@students.d203.org,athletics@d203.org,yes,no,praman@d203.org,"
    '2026-01-02,2026-01-10,Principal Lee,2027-01-10,REQ-7,active,"line one\nline two",sports; fall\n'
    "x,@nnhs,NNHS,,,North,school,praman@d203.org,,,,no,,,,,,,,suspended,-5 followers,\n"
)


def _header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_exports_write_the_import_header_with_a_bom_and_import_back_unchanged(cli: Cli) -> None:
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS)))
    people_before = cli.ok("person", "list", "--json").output
    accounts_before = cli.ok("account", "list", "--json").output

    # stdout as written (click's `output` turns CRLF into LF)
    people_csv = cli.ok("person", "list", "--format", "csv").stdout_bytes.decode("utf-8")
    accounts_csv = cli.ok("account", "list", "--format", "csv").stdout_bytes.decode("utf-8")
    for text, columns in ((people_csv, PERSON_COLUMNS), (accounts_csv, ACCOUNT_COLUMNS)):
        assert text.startswith("\ufeff") and "\r\n" in text
        assert _header(text) == list(columns)
    # People by email, lists with "; ", a formula-looking cell guarded (and unguarded on import)
    assert "mlee@d203.org,praman@d203.org,bito@students.d203.org" in accounts_csv
    assert "sports; fall" in accounts_csv and "'-5 followers" in accounts_csv
    assert "'=HYPERLINK(1)" in people_csv
    assert "''=quoted" in people_csv  # a value that looks guarded is guarded once more

    exported_people = cli.tmp / "people-export.csv"
    exported_people.write_text(people_csv, encoding="utf-8", newline="")
    exported_accounts = cli.tmp / "accounts-export.csv"
    exported_accounts.write_text(accounts_csv, encoding="utf-8", newline="")
    for noun, path in (("person", exported_people), ("account", exported_accounts)):
        dry = json.loads(cli.ok(noun, "import", str(path), "--dry-run", "--json").output)
        assert (dry["created"], dry["updated"], dry["changes"]) == (0, 0, [])
        done = json.loads(cli.ok(noun, "import", str(path), "--json").output)
        assert (done["created"], done["updated"], done["backup"]) == (0, 0, None)
    assert cli.ok("person", "list", "--json").output == people_before
    assert cli.ok("account", "list", "--json").output == accounts_before


def test_an_edited_export_changes_exactly_the_edited_cells(cli: Cli) -> None:
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS)))
    exported = cli.ok("account", "list", "--format", "csv").stdout_bytes.decode("utf-8")
    edited = cli.tmp / "edited.csv"
    edited.write_text(exported.replace("2027-01-10", "2027-06-30"), encoding="utf-8", newline="")
    dry = cli.ok("account", "import", str(edited), "--dry-run").output
    assert "Would import accounts: 0 new, 1 updated, 1 unchanged." in dry
    assert "approval.renewal_due: 2027-01-10 -> 2027-06-30" in dry
    assert dry.count(" -> ") == 1  # nothing else would change
    cli.ok("account", "import", str(edited))
    history = json.loads(cli.ok("account", "history", "instagram:nnhs_athletics", "--json").output)["items"]
    assert [(h["source"], h["field"], h["old"], h["new"]) for h in history if h["action"] == "updated"] == [
        ("import:edited.csv", "approval.renewal_due", "2027-01-10", "2027-06-30")
    ]


# --------------------------------------------------------------------------------------------------
# The property: for any registry, export then import changes nothing.

# Text as an import stores it (cells are trimmed on the way in).
_text = st.text(alphabet=string.ascii_letters + string.digits + " .,;'\"=+-@&/\n", max_size=20).map(str.strip)
_name = st.text(alphabet=string.ascii_letters + " '-", min_size=1, max_size=16).filter(lambda s: s.strip())
_day = st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)))
_word = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=8)
_building = st.sampled_from(["North", "Lincoln High", "Special Services, Annex", "north"])


@st.composite
def _people(draw: st.DrawFn) -> list[Person]:
    n = draw(st.integers(1, 6))
    out = []
    for i in range(n):
        kind = draw(st.sampled_from(PersonKind))
        email = f"u{i}@d203.org" if kind is PersonKind.EMPLOYEE or draw(st.booleans()) else ""
        # None, one or several buildings (a name may hold a comma: only ";" separates them).
        building, buildings = Person.building_fields(draw(st.lists(_building, max_size=3, unique=True)))
        out.append(
            Person(
                id="",
                name=draw(_name).strip() + f" {i}",
                email=email,
                kind=kind,
                adult=draw(st.one_of(st.none(), st.booleans())),
                birth_date=draw(_day),
                grade=draw(st.sampled_from(["", "KG", "07", "12"])),
                role=draw(_text).strip().replace("\n", " "),
                building=building,
                buildings=buildings,
                status=draw(st.sampled_from(PersonStatus)),
                employee_id=draw(st.sampled_from(["", f"E{i}"])),
                training_completed_on=draw(_day),
                procedure_signed_on=draw(_day),
                aup_signed_on=draw(_day),
                notes=draw(_text),
            )
        )
    return out


@st.composite
def _accounts(draw: st.DrawFn, emails: list[str]) -> list[Account]:
    out = []
    for i in range(draw(st.integers(0, 4))):
        pick = st.sampled_from(emails) if emails else st.nothing()
        out.append(
            Account(
                id="",
                platform=draw(st.sampled_from([Platform.INSTAGRAM, Platform.X, Platform.YOUTUBE])),
                handle=f"club_{i}_{draw(_word)}",
                display_name=draw(_text).strip().replace("\n", " "),
                building=draw(st.sampled_from(["", "North"])),
                purpose=draw(st.sampled_from(Purpose)),
                owner_id=draw(pick) if emails and draw(st.booleans()) else "",
                co_manager_ids=tuple(draw(st.lists(pick, max_size=2, unique=True))) if emails else (),
                two_factor=draw(st.one_of(st.none(), st.booleans())),
                public_comments=draw(st.one_of(st.none(), st.booleans())),
                approval=Approval(
                    requested_on=draw(_day),
                    approved_on=draw(_day),
                    approved_by=draw(_text).strip(),
                    renewal_due=draw(_day),
                    reference=draw(st.sampled_from(["", "REQ-1"])),
                ),
                status=draw(st.sampled_from(AccountStatus)),
                notes=draw(_text),
                tags=tuple(draw(st.lists(_word, max_size=3, unique=True))),
            )
        )
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_export_then_import_changes_nothing_for_any_registry(tmp_path: Path, data: st.DataObject) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))  # one per example: tmp_path is per test
    reg = Registry.create(
        SQLiteBackend(folder / "registry.db"), "admin", Secret("pass phrase 1"), kdf_profile="floor"
    )
    try:
        inv = Inventory(reg)
        people = data.draw(_people())
        import_people(inv, people, dry_run=False)
        ids = {p.email: p.id for p in inv.people() if p.email}
        accounts = data.draw(_accounts(list(ids.values())))
        import_accounts(inv, accounts, dry_run=False)
        before = (inv.people(), inv.accounts())

        emails = {pid: email for email, pid in ids.items()}
        people_file = folder / "people.csv"
        people_file.write_text(
            export_csv([person_export_row(p) for p in before[0]], list(PERSON_COLUMNS)), "utf-8", newline=""
        )
        accounts_file = folder / "accounts.csv"
        accounts_file.write_text(
            export_csv([account_export_row(a, emails) for a in before[1]], list(ACCOUNT_COLUMNS)),
            "utf-8",
            newline="",
        )
        parsed = read_people(people_file)
        result = import_people(inv, parsed.items, dry_run=False, given=parsed.given, source="people.csv")
        assert (result.created, result.updated, result.changes) == ([], [], [])
        by_email = {p.email: p for p in inv.people() if p.email}
        parsed_accounts = read_accounts(accounts_file, by_email)
        result = import_accounts(inv, parsed_accounts.items, dry_run=False, given=parsed_accounts.given)
        assert (result.created, result.updated, result.changes) == ([], [], [])
        assert (inv.people(), inv.accounts()) == before
    finally:
        reg.close()


def test_apostrophes_before_a_formula_character_survive_export_and_import(tmp_path: Path) -> None:
    """Found by the state test above: notes `'=` came back as `''=` (the export guards a value that
    looks guarded, and the import took the guard off only before a formula character)."""
    values = ["'=", "''=x", "'''+1", "=x", "-5", "'plain", "'", "''"]
    rows = [
        {"name": f"P {i}", "email": f"p{i}@d203.org", "kind": "employee", "notes": v}
        for i, v in enumerate(values)
    ]
    path = tmp_path / "people.csv"
    path.write_text(export_csv(rows, list(PERSON_COLUMNS)), "utf-8", newline="")
    assert [p.notes for p in read_people(path).items] == values
