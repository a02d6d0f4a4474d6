"""Importing people and accounts from CSV or XLSX files, all or nothing.

The file is read and every row validated before anything is written. The first bad cell stops the
import with an error naming its line and column; nothing of the file is imported. Re-importing the
same file changes nothing: rows match existing records on email (people) and on platform + handle
(accounts). Columns are matched by header name, in any order; unknown columns are an error (a typo
in a header should not silently drop data). The headers are documented in docs/import.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.models import (
    Account,
    AccountStatus,
    Approval,
    Person,
    PersonKind,
    PersonStatus,
    Platform,
    Purpose,
    normalise_handle,
)

PERSON_COLUMNS: dict[str, str] = {
    "name": "Full name (required)",
    "email": "District email; the key for re-imports (required for employees)",
    "kind": "employee | student | volunteer | community (default employee)",
    "adult": "yes | no (optional when birth_date is given)",
    "birth_date": "YYYY-MM-DD (students: used for the under-13 check)",
    "grade": "Grade level, e.g. 07 or KG (students)",
    "role": "Job title or role, e.g. Principal, Athletic Director",
    "building": "Building or department",
    "status": "active | on_leave | departed (default active)",
    "employee_id": "HR employee number",
    "training_completed_on": "YYYY-MM-DD of the last social-media training",
    "procedure_signed_on": "YYYY-MM-DD the signed procedure was filed with HR",
    "aup_signed_on": "YYYY-MM-DD the signed acceptable-use policy was filed",
    "notes": "Free text",
}

ACCOUNT_COLUMNS: dict[str, str] = {
    "platform": "x | facebook | instagram | youtube | mastodon | bluesky | tiktok | threads | linkedin | snapchat | other",
    "handle": "Handle as on the platform (required); Mastodon as user@instance",
    "display_name": "Name shown on the profile",
    "profile_url": "https:// link to the profile",
    "platform_id": "The platform's stable id, when known",
    "building": "Building or department",
    "purpose": "district | school | athletics | activity | classroom | department | event | other",
    "owner_email": "Email of the responsible employee (must be in the registry)",
    "co_manager_emails": "Emails of co-managers, separated by ; or ,",
    "student_manager_emails": "Emails of student managers, separated by ; or ,",
    "login_email": "Email the account is registered with",
    "two_factor": "yes | no",
    "public_comments": "yes | no",
    "comment_monitor_emails": "Emails of who monitors public comments",
    "approval_requested_on": "YYYY-MM-DD",
    "approved_on": "YYYY-MM-DD",
    "approved_by": "Name or role of the approving administrator",
    "renewal_due": "YYYY-MM-DD",
    "approval_reference": "Form or ticket reference",
    "status": "active | suspended | retired (default active)",
    "notes": "Free text",
    "tags": "Labels separated by ; or ,",
}

_TRUE = {"yes", "y", "true", "1", "x", "on"}
_FALSE = {"no", "n", "false", "0", "off"}


@dataclass(frozen=True)
class Row:
    line: int
    values: Mapping[str, str]

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()


def read_rows(path: Path, columns: Mapping[str, str], required: Sequence[str]) -> list[Row]:
    """Rows of a CSV (UTF-8, with or without BOM) or XLSX file, checked against `columns`."""
    if not path.exists():
        raise InputError(f"{path} does not exist")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        header, body = _read_xlsx(path)
    else:
        header, body = _read_csv(path)
    header = [h.strip().lower().replace(" ", "_") for h in header]
    if not any(header):
        raise InputError(f"{path}: line 1: the header row is empty", _header_hint(columns))
    unknown = [h for h in header if h and h not in columns]
    if unknown:
        raise InputError(
            f"{path}: line 1: unknown column {unknown[0]!r}", _header_hint(columns), line=1, column=unknown[0]
        )
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            f"{path}: line 1: required column {missing[0]!r} is missing",
            _header_hint(columns),
            line=1,
            column=missing[0],
        )
    dupes = {h for h in header if h and header.count(h) > 1}
    if dupes:
        raise InputError(f"{path}: line 1: column {sorted(dupes)[0]!r} appears twice", line=1)
    rows = []
    for line, cells in body:
        if not any((c or "").strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise InputError(
                f"{path}: line {line}: {len(cells)} cells but only {len(header)} columns", line=line
            )
        values = {h: _unneutralise(cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h}
        rows.append(Row(line, values))
    return rows


def _header_hint(columns: Mapping[str, str]) -> str:
    return "Columns: " + ", ".join(columns) + " (see docs/import.md)."


def _unneutralise(value: str) -> str:
    # Our own CSV export prefixes formula-like cells with an apostrophe; take it off on the way in.
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r":
        return value[1:]
    return value


def _read_csv(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}: line {line}: not UTF-8 text", "Save the file as 'CSV UTF-8' from Excel.", line=line
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration as exc:
        raise InputError(f"{path}: the file is empty") from exc
    except csv.Error as exc:
        raise InputError(f"{path}: line 1: {exc}", line=1) from exc

    def body() -> Iterator[tuple[int, list[str]]]:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InputError(f"{path}: line {reader.line_num}: {exc}", line=reader.line_num) from exc
            yield reader.line_num, cells

    return header, body()


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise InputError(f"{path}: not a readable XLSX workbook ({type(exc).__name__})") from exc
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    try:
        header = [_xlsx_cell(v) for v in next(rows)]
    except StopIteration as exc:
        raise InputError(f"{path}: the first sheet is empty") from exc

    def body() -> Iterator[tuple[int, list[str]]]:
        for n, values in enumerate(rows, start=2):
            yield n, [_xlsx_cell(v) for v in values]

    return header, body()


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()[:10]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------------------------------
# Field parsers: each raises ValueError with a message; the caller adds line and column.


def parse_bool(text: str) -> bool | None:
    low = text.strip().lower()
    if not low:
        return None
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"{text!r} is not yes or no")


def parse_day(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    for fmt in ("%m/%d/%Y", "%m/%d/%y"):
        try:
            from datetime import datetime

            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD)")


def split_list(text: str) -> list[str]:
    return [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]


def check_email(text: str) -> str:
    text = text.strip()
    if text and ("@" not in text or text.startswith("@") or text.endswith("@") or " " in text):
        raise ValueError(f"{text!r} is not an email address")
    return text.lower()


def _field(path: Path, row: Row, column: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(row.get(column))
    except ValueError as exc:
        raise InputError(
            f"{path}: line {row.line}, column {column}: {exc}", line=row.line, column=column
        ) from exc


# --------------------------------------------------------------------------------------------------
# People


def parse_people(path: Path) -> list[Person]:
    rows = read_rows(path, PERSON_COLUMNS, required=("name",))
    people: list[Person] = []
    seen: dict[str, int] = {}
    for row in rows:
        name = row.get("name")
        if not name:
            raise InputError(
                f"{path}: line {row.line}, column name: a name is required", line=row.line, column="name"
            )
        email = _field(path, row, "email", check_email)
        kind = _field(path, row, "kind", lambda t: PersonKind.parse(t or "employee"))
        if kind is PersonKind.EMPLOYEE and not email:
            raise InputError(
                f"{path}: line {row.line}, column email: employees need their district email",
                line=row.line,
                column="email",
            )
        if email:
            if email in seen:
                raise InputError(
                    f"{path}: line {row.line}, column email: {email} already appears on line {seen[email]}",
                    line=row.line,
                    column="email",
                )
            seen[email] = row.line
        people.append(
            Person(
                id="",
                name=name,
                email=email,
                kind=kind,
                adult=_field(path, row, "adult", parse_bool),
                birth_date=_field(path, row, "birth_date", parse_day),
                grade=row.get("grade"),
                role=row.get("role"),
                building=row.get("building"),
                status=_field(path, row, "status", lambda t: PersonStatus.parse(t or "active")),
                employee_id=row.get("employee_id"),
                training_completed_on=_field(path, row, "training_completed_on", parse_day),
                procedure_signed_on=_field(path, row, "procedure_signed_on", parse_day),
                aup_signed_on=_field(path, row, "aup_signed_on", parse_day),
                notes=row.get("notes"),
            )
        )
    return people


# --------------------------------------------------------------------------------------------------
# Accounts


def parse_accounts(path: Path, people_by_email: Mapping[str, Person]) -> list[Account]:
    rows = read_rows(path, ACCOUNT_COLUMNS, required=("platform", "handle"))
    accounts: list[Account] = []
    seen: dict[tuple[str, str], int] = {}

    def person_ids(row: Row, column: str) -> tuple[str, ...]:
        ids = []
        for email in split_list(row.get(column)):
            email = email.lower()
            person = people_by_email.get(email)
            if person is None:
                raise InputError(
                    f"{path}: line {row.line}, column {column}: {email} is not in the registry",
                    "Import people first (`auditor person import FILE`).",
                    line=row.line,
                    column=column,
                )
            ids.append(person.id)
        return tuple(ids)

    for row in rows:
        platform = _field(path, row, "platform", Platform.parse)
        handle = row.get("handle")
        if not handle:
            raise InputError(
                f"{path}: line {row.line}, column handle: a handle is required",
                line=row.line,
                column="handle",
            )
        key = (platform.value, normalise_handle(handle))
        if key in seen:
            raise InputError(
                f"{path}: line {row.line}, column handle: {platform.value}:{handle} already appears on line {seen[key]}",
                line=row.line,
                column="handle",
            )
        seen[key] = row.line
        owner = person_ids(row, "owner_email")
        url = row.get("profile_url")
        if url and not url.lower().startswith(("https://", "http://")):
            raise InputError(
                f"{path}: line {row.line}, column profile_url: {url!r} is not an http(s) link",
                line=row.line,
                column="profile_url",
            )
        accounts.append(
            Account(
                id="",
                platform=platform,
                handle=handle,
                profile_url=url,
                platform_id=row.get("platform_id"),
                display_name=row.get("display_name"),
                building=row.get("building"),
                purpose=_field(path, row, "purpose", lambda t: Purpose.parse(t or "school")),
                owner_id=owner[0] if owner else "",
                co_manager_ids=person_ids(row, "co_manager_emails"),
                student_manager_ids=person_ids(row, "student_manager_emails"),
                login_email=_field(path, row, "login_email", check_email),
                two_factor=_field(path, row, "two_factor", parse_bool),
                public_comments=_field(path, row, "public_comments", parse_bool),
                comment_monitor_ids=person_ids(row, "comment_monitor_emails"),
                approval=Approval(
                    requested_on=_field(path, row, "approval_requested_on", parse_day),
                    approved_on=_field(path, row, "approved_on", parse_day),
                    approved_by=row.get("approved_by"),
                    renewal_due=_field(path, row, "renewal_due", parse_day),
                    reference=row.get("approval_reference"),
                ),
                status=_field(path, row, "status", lambda t: AccountStatus.parse(t or "active")),
                notes=row.get("notes"),
                tags=tuple(split_list(row.get("tags"))),
            )
        )
        if len(owner) > 1:
            raise InputError(
                f"{path}: line {row.line}, column owner_email: one owner per account",
                line=row.line,
                column="owner_email",
            )
    return accounts


def template(columns: Mapping[str, str]) -> str:
    return ",".join(columns) + "\r\n"
