"""A staff list exported from any HR system, read through a column mapping.

HR exports (Frontline, Skyward, Workday, a spreadsheet) all differ, so the district writes a mapping
once: our field -> their column header, their status words -> ours ("Terminated" -> departed, "LOA"
-> on_leave), their kinds, their date formats. The mapping is plain data (`CsvMapping.from_dict`
takes what a TOML table holds). Reading is all-or-nothing: the first bad row raises `RosterFileError`
naming the line and the column, and no entry is returned, because a half-read staff list would make
everyone after the bad row look departed. Rows of one person that differ only in the building (an
export with one row per school) are folded into one entry listing every building.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from auditor.model.errors import ConnectorError
from auditor.model.types import PersonKind, PersonStatus, RosterEntry, fold
from connectors.roster._csv import Row, decode, read_rows
from connectors.roster.base import RosterFileError, RosterSource, clean_email, full_name

FIELDS = (
    "source_id", "email", "name", "given_name", "family_name", "kind", "role", "building", "status",
    "employee_id", "adult", "birth_date", "grade", "role_began_on", "left_on",
)  # fmt: skip
_DATE_FIELDS = ("birth_date", "role_began_on", "left_on")

# Words every mapping understands without configuration; the mapping's own values take precedence.
_STATUS_WORDS = {
    "active": PersonStatus.ACTIVE,
    "on_leave": PersonStatus.ON_LEAVE,
    "on leave": PersonStatus.ON_LEAVE,
    "leave": PersonStatus.ON_LEAVE,
    "departed": PersonStatus.DEPARTED,
    "inactive": PersonStatus.DEPARTED,
    "terminated": PersonStatus.DEPARTED,
}
_TRUE_WORDS = ("true", "yes", "y", "1", "adult")
_FALSE_WORDS = ("false", "no", "n", "0", "minor")


def _words(values: Mapping[str, Any], parse: Callable[[str], Any], what: str) -> dict[str, Any]:
    out = {}
    for theirs, ours in values.items():
        try:
            out[str(theirs).strip().lower()] = parse(str(ours))
        except ValueError as exc:
            raise ConnectorError(f"roster mapping: {what} value {theirs!r} maps to {exc}") from None
    return out


@dataclass(frozen=True)
class CsvMapping:
    """How to read one HR export. `columns` maps our field names (FIELDS) to the file's headers."""

    columns: Mapping[str, str]
    status_values: Mapping[str, PersonStatus] = field(default_factory=dict)
    kind_values: Mapping[str, PersonKind] = field(default_factory=dict)
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    default_kind: PersonKind = PersonKind.EMPLOYEE
    full_snapshot: bool = True  # the export lists everyone: absence from it means departure
    delimiter: str = ","
    encoding: str = "utf-8-sig"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.columns) - set(FIELDS))
        if unknown:
            raise ConnectorError(
                f"roster mapping: unknown field(s) {', '.join(unknown)}", f"fields are: {', '.join(FIELDS)}"
            )
        if "email" not in self.columns and "employee_id" not in self.columns:
            raise ConnectorError(
                "roster mapping: map at least one of email and employee_id",
                "people are matched by email, then employee id",
            )
        if len(self.delimiter) != 1:
            raise ConnectorError("roster mapping: the delimiter must be one character")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CsvMapping:
        """From a TOML-shaped table: `columns`, `status_values`, `kind_values`, `date_formats`, ..."""
        known = {"columns", "status_values", "kind_values", "date_formats", "default_kind",
                 "full_snapshot", "delimiter", "encoding"}  # fmt: skip
        extra = sorted(set(data) - known)
        if extra:
            raise ConnectorError(f"roster mapping: unknown key(s) {', '.join(extra)}")
        columns = data.get("columns")
        if not isinstance(columns, Mapping) or not columns:
            raise ConnectorError("roster mapping: `columns` must map our fields to the file's headers")
        formats = data.get("date_formats", ("%Y-%m-%d",))
        if isinstance(formats, str):
            formats = (formats,)
        return cls(
            columns={str(k): str(v) for k, v in columns.items()},
            status_values=_words(data.get("status_values") or {}, PersonStatus.parse, "status"),
            kind_values=_words(data.get("kind_values") or {}, PersonKind.parse, "kind"),
            date_formats=tuple(str(f) for f in formats),
            default_kind=PersonKind.parse(str(data.get("default_kind") or "employee")),
            full_snapshot=bool(data.get("full_snapshot", True)),
            delimiter=str(data.get("delimiter", ",")),
            encoding=str(data.get("encoding", "utf-8-sig")),
        )


class MappedCsvSource(RosterSource):
    """An HR export read through a `CsvMapping`."""

    kind = "csv"

    def __init__(
        self,
        path: str | Path,
        mapping: CsvMapping,
        *,
        name: str = "",
        today: date | None = None,
        clock: Callable[[], date] = date.today,
    ) -> None:
        super().__init__(name or f"csv:{Path(path).name}")
        self.path = Path(path)
        self.mapping = mapping
        self._today = today
        self._clock = clock
        self.full_snapshot = mapping.full_snapshot

    def fetch(self) -> list[RosterEntry]:
        today = self._today or self._clock()
        file = self.path.name
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise RosterFileError(file, f"cannot be read ({exc.strerror})") from None
        _, rows = read_rows(
            file,
            decode(file, data, self.mapping.encoding),
            required=tuple(self.mapping.columns.values()),
            delimiter=self.mapping.delimiter,
        )
        entries: list[RosterEntry] = []
        seen: dict[str, tuple[int, int]] = {}  # email: / id: key -> (line, index in entries)
        for row in rows:  # any error propagates: nothing is returned (all-or-nothing)
            entry = _RowReader(file, row, self.mapping).entry(today)
            keys = [
                k
                for k in (f"email:{entry.email}" if entry.email else "", f"id:{entry.employee_id}")
                if k and k != "id:"
            ]
            matched = next((k for k in keys if k in seen), None)
            if matched is not None:
                line, index = seen[matched]
                entries[index] = self._fold(file, row.line, line, entries[index], entry, matched)
                continue
            for key in keys:
                seen[key] = (row.line, len(entries))
            entries.append(entry)
        return entries

    def _fold(
        self, file: str, line: int, first_line: int, first: RosterEntry, again: RosterEntry, key: str
    ) -> RosterEntry:
        """A second row for the same person (Clever- and PowerSchool-style exports list staff once
        per school): folded into the first when only the building differs; otherwise an error
        naming what differs, since the file then says two things about one person."""
        same = {f: getattr(first, f) == getattr(again, f) for f in _FOLD_COMPARED}
        if all(same.values()):
            buildings = first.buildings or ((first.building,) if first.building else ())
            if again.building and fold(again.building) not in {fold(b) for b in buildings}:
                buildings = (*buildings, again.building)
            return dataclasses.replace(first, building=first.building or again.building, buildings=buildings)
        differs = next(f for f, ok in same.items() if not ok)
        key_column = self.mapping.columns["email" if key.startswith("email:") else "employee_id"]
        if differs in ("email", "employee_id"):  # the same id with another email, or the reverse
            message, column = f"{key.partition(':')[2]!r} also appears on line {first_line}", key_column
        else:
            message = (
                f"{key.partition(':')[2]!r} also appears on line {first_line} "
                f"with a different {differs.replace('_', ' ')}"
            )
            column = self.mapping.columns.get(differs, key_column)
        raise RosterFileError(
            file,
            message,
            line=line,
            column=column,
            hint="rows for one person may differ only in the building (one row per school)",
        )


# What two rows of one person must agree on to be folded into one entry (all but the building).
_FOLD_COMPARED = ("email", "employee_id", "name", "kind", "role", "status", "adult", "birth_date", "left_on")


class _RowReader:
    def __init__(self, file: str, row: Row, mapping: CsvMapping) -> None:
        self.file, self.row, self.mapping = file, row, mapping

    def error(self, field_name: str, message: str, hint: str = "") -> RosterFileError:
        return RosterFileError(
            self.file, message, line=self.row.line, column=self.mapping.columns[field_name], hint=hint
        )

    def text(self, field_name: str) -> str:
        column = self.mapping.columns.get(field_name)
        return self.row.get(column) if column else ""

    def date_of(self, field_name: str) -> date | None:
        value = self.text(field_name)
        if not value:
            return None
        for fmt in self.mapping.date_formats:
            try:
                return datetime.strptime(value, fmt).date()
            except ValueError:
                continue
        raise self.error(
            field_name,
            f"{value!r} is not a date in the format {' or '.join(self.mapping.date_formats)}",
            hint="set date_formats in the mapping",
        )

    def status(self) -> PersonStatus:
        if "status" not in self.mapping.columns:
            return PersonStatus.ACTIVE
        value = self.text("status")
        key = value.lower()
        if key in self.mapping.status_values:
            return self.mapping.status_values[key]
        if key in _STATUS_WORDS:
            return _STATUS_WORDS[key]
        known = sorted({*self.mapping.status_values, *_STATUS_WORDS})
        raise self.error(
            "status",
            f"{value!r} is not a known status" if value else "is empty",
            hint=f"add it to status_values in the mapping (known: {', '.join(repr(k) for k in known)})",
        )

    def kind(self) -> PersonKind:
        value = self.text("kind")
        if not value:
            return self.mapping.default_kind
        if value.lower() in self.mapping.kind_values:
            return self.mapping.kind_values[value.lower()]
        try:
            return PersonKind.parse(value)
        except ValueError:
            raise self.error("kind", f"{value!r} is not a known kind", hint="add it to kind_values") from None

    def adult(self) -> bool | None:
        value = self.text("adult").lower()
        if not value:
            return None
        if value in _TRUE_WORDS:
            return True
        if value in _FALSE_WORDS:
            return False
        raise self.error("adult", f"{self.text('adult')!r} is not yes or no")

    def entry(self, today: date) -> RosterEntry:
        email = clean_email(self.text("email"))
        if email and ("@" not in email or " " in email):
            raise self.error("email", f"{email!r} is not an email address")
        employee_id = self.text("employee_id")
        if not email and not employee_id:
            field_name = "email" if "email" in self.mapping.columns else "employee_id"
            raise self.error(field_name, "is empty: each row needs an email or an employee id")
        status = self.status()
        left_on = self.date_of("left_on")
        if left_on is not None and left_on <= today and status is PersonStatus.ACTIVE:
            status = PersonStatus.DEPARTED  # a leaving date that has passed outranks a stale status
        name = self.text("name") or full_name(self.text("given_name"), self.text("family_name"))
        return RosterEntry(
            source_id=self.text("source_id") or employee_id or email,
            email=email,
            name=name,
            kind=self.kind(),
            role=self.text("role"),
            building=self.text("building"),
            status=status,
            employee_id=employee_id,
            adult=self.adult(),
            birth_date=self.date_of("birth_date"),
            grade=self.text("grade"),
            role_began_on=self.date_of("role_began_on"),
            left_on=left_on,
        )
