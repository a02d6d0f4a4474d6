"""CSV and XLSX parsing: a bad cell names its line and column; nothing half-parsed escapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.model.errors import InputError
from auditor.model.types import Person, PersonKind, Platform
from auditor.services.imports import ACCOUNT_COLUMNS, PERSON_COLUMNS, parse_accounts, parse_people

PEOPLE_HEADER = "name,email,kind,role,building,status,training_completed_on\n"


def _write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_people_parse_with_bom_and_any_column_order(tmp_path: Path) -> None:
    f = tmp_path / "people.csv"
    f.write_bytes("\ufeffEmail,Name,Kind\nA@D203.org,Ann Lee,employee\n,Sam Student,student\n".encode())
    people = parse_people(f)
    assert [(p.name, p.email, p.kind) for p in people] == [
        ("Ann Lee", "a@d203.org", PersonKind.EMPLOYEE),
        ("Sam Student", "", PersonKind.STUDENT),
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "Ann,ann@d203.org,employee,,,active,2026-13-01",
            "line 3, column training_completed_on: '2026-13-01' is not a date",
        ),
        ("Ann,ann@d203.org,teacher,,,active,", "line 3, column kind: 'teacher' is not one of"),
        (
            "Ann,not-an-email,employee,,,active,",
            "line 3, column email: 'not-an-email' is not an email address",
        ),
        ("Ann,,employee,,,active,", "line 3, column email: employees need their district email"),
        (",ann@d203.org,employee,,,active,", "line 3, column name: a name is required"),
        (
            "Ann,bob@d203.org,employee,,,active,",
            "line 3, column email: bob@d203.org already appears on line 2",
        ),
        ("Ann,ann@d203.org,employee,,,retired,", "line 3, column status: 'retired' is not one of"),
    ],
)
def test_bad_person_rows_name_line_and_column(tmp_path: Path, row: str, message: str) -> None:
    f = _write(tmp_path, PEOPLE_HEADER + "Bob,bob@d203.org,employee,,,active,\n" + row + "\n")
    with pytest.raises(InputError) as info:
        parse_people(f)
    assert message in info.value.message
    assert info.value.line == 3


def test_unknown_and_missing_columns_are_errors_on_line_1(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="line 1: unknown column 'emial'") as info:
        parse_people(_write(tmp_path, "name,emial\nA,a@b.org\n"))
    assert "docs/import.md" in info.value.hint
    with pytest.raises(InputError, match="line 1: required column 'handle' is missing"):
        parse_accounts(_write(tmp_path, "platform\nx\n", "a.csv"), {})


def test_broken_quoting_names_the_line(tmp_path: Path) -> None:
    f = _write(tmp_path, 'name,email\n"Ann,ann@d203.org\nBob,bob@d203.org\n')
    with pytest.raises(InputError, match=r"line \d"):
        parse_people(f)


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "latin1.csv"
    f.write_bytes("name,email\nAnn,ann@d203.org\nJos\xe9,jose@d203.org\n".encode("latin-1"))
    with pytest.raises(InputError, match="line 3: not UTF-8") as info:
        parse_people(f)
    assert "CSV UTF-8" in info.value.hint


def test_account_owner_must_exist_and_names_the_cell(tmp_path: Path) -> None:
    people = {"ann@d203.org": Person(id="p_1", name="Ann", email="ann@d203.org")}
    f = _write(
        tmp_path,
        "platform,handle,owner_email,co_manager_emails\n"
        "x,lincolnhs,ann@d203.org,\n"
        "instagram,lincoln_ath,ann@d203.org,ghost@d203.org; ann@d203.org\n",
    )
    with pytest.raises(InputError) as info:
        parse_accounts(f, people)
    assert info.value.message.endswith(
        "line 3, column co_manager_emails: ghost@d203.org is not in the registry"
    )
    assert "person import" in info.value.hint


def test_accounts_parse_every_documented_column(tmp_path: Path) -> None:
    people = {
        e: Person(id=f"p_{i}", name=e, email=e) for i, e in enumerate(["a@d.org", "b@d.org", "s@d.org"])
    }
    header = ",".join(ACCOUNT_COLUMNS)
    row = (
        "Twitter,@LincolnHS,Lincoln HS,https://x.com/lincolnhs,123,Lincoln,athletics,a@d.org,b@d.org,s@d.org,"
        "ath@d.org,yes,no,b@d.org,2026-01-01,2026-01-05,Principal,2027-01-05,REF-1,active,'=notes,a;b"
    )
    acc = parse_accounts(_write(tmp_path, header + "\n" + row + "\n"), people)[0]
    assert acc.platform is Platform.X and acc.handle == "@LincolnHS"
    assert acc.owner_id == "p_0" and acc.co_manager_ids == ("p_1",) and acc.student_manager_ids == ("p_2",)
    assert acc.two_factor is True and acc.public_comments is False
    assert acc.approval.renewal_due.isoformat() == "2027-01-05"  # type: ignore[union-attr]
    assert acc.notes == "=notes"  # our own export's neutralising apostrophe is taken off
    assert acc.tags == ("a", "b")


def test_duplicate_account_in_one_file(tmp_path: Path) -> None:
    f = _write(tmp_path, "platform,handle\nx,LincolnHS\nx,@lincolnhs\n")
    with pytest.raises(InputError, match="line 3, column handle: x:@lincolnhs already appears on line 2"):
        parse_accounts(f, {})


def test_xlsx_import(tmp_path: Path) -> None:
    from datetime import date

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["name", "email", "training_completed_on", "employee_id"])
    ws.append(["Ann Lee", "ann@d203.org", date(2026, 9, 1), 1001])
    ws.append(["Bob Ray", "bob@d203.org", "not a date", 1002])
    path = tmp_path / "people.xlsx"
    wb.save(path)
    with pytest.raises(InputError, match="line 3, column training_completed_on"):
        parse_people(path)
    ws.delete_rows(3)
    wb.save(path)
    people = parse_people(path)
    assert people[0].training_completed_on == date(2026, 9, 1) and people[0].employee_id == "1001"


def test_documented_columns_match_the_docs() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "import.md").read_text()
    for column in [*PERSON_COLUMNS, *ACCOUNT_COLUMNS]:
        assert f"`{column}`" in doc, column
