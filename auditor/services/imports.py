"""Importing people and accounts from CSV or XLSX files, all or nothing.

The file is read and every row validated before anything is written. Every problem is named at
once: every bad cell of every bad line, with its line and column, up to MAX_PROBLEMS and then a count
(`BadLinesError.problems`), and nothing of the file is imported. A CSV file is UTF-8 (with or
without BOM) or UTF-16 with its BOM (Excel's "Unicode Text"); bytes that are neither are refused with
the line and a hint (Windows-1252 is named when it fits), never decoded into wrong characters. Its
delimiter is the one of comma, semicolon and tab that splits the header into the most known
columns (`read_note` says which, when it is not a comma).
Re-importing the same file changes nothing: rows match existing records on email (people) and on
platform + handle (accounts). Columns are matched by header name, in any order; unknown columns are
an error (a typo in a header should not silently drop data), and so is a value under no header. The
headers are documented in docs/import.md.

Input is bounded before it is trusted: the file's size, the number of rows, columns and characters
per cell (`MAX_*` below, each refused with a clear error). XLSX is read by a small streaming reader
of our own (`_Xlsx`), not by openpyxl's loader: openpyxl's read-only mode parses each sheet's
`<dimension>` at load time (scanning, and keeping in memory, the whole sheet when it has none) and
trusts it when iterating, so a sheet claiming `A1:B2` silently lost every row below 2 and a 48 KB
file took 450 MB. The reader checks each part's uncompressed size in the zip directory before
reading it (a zip bomb is refused before one byte is inflated), refuses XML with a DOCTYPE (entity
expansion), detaches every element once read (memory stays flat however long the sheet is), and
ignores `<dimension>` altogether. Cell values follow openpyxl's rules (shared and inline strings,
numbers, booleans, errors, dates by number format, the 1904 epoch).
"""

from __future__ import annotations

import codecs
import csv
import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any, Generic, TypeVar
from xml.etree import ElementTree as ET  # DOCTYPEs (entity expansion) are refused: _Xlsx._feed

from auditor.model.errors import InputError
from auditor.model.types import (
    Account,
    AccountStatus,
    Approval,
    Person,
    PersonKind,
    PersonStatus,
    Platform,
    Purpose,
    check_address_chars,
    check_handle,
    check_person_name,
    normalise_handle,
)
from auditor.model.urls import handle_from_text, looks_like_url

# Limits. Each is far above a real district's file (a 100,000-row people sheet is about 5 MB as
# XLSX and 40 MB of sheet XML) and each is refused with an error that names it.
MAX_FILE_BYTES = 64 * 1024 * 1024  # the file as given (CSV or XLSX)
MAX_ROWS = 100_000  # data rows, the header aside
MAX_COLUMNS = 256  # the rightmost column that may hold a value
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
MAX_SHEET_XML_BYTES = 128 * 1024 * 1024  # the first sheet's XML, uncompressed
MAX_SHARED_STRINGS_BYTES = 32 * 1024 * 1024  # xl/sharedStrings.xml, uncompressed (kept in memory)
MAX_PART_BYTES = 8 * 1024 * 1024  # workbook.xml, styles.xml and relationship parts, uncompressed
MAX_ZIP_ENTRIES = 10_000  # files inside the XLSX zip
MAX_CELLS = 4_000_000  # cell elements in the sheet, empty ones included
MAX_PROBLEMS = 100  # problems listed for a bad file; the rest are counted ("... and N more problems")

PERSON_COLUMNS: dict[str, str] = {
    "name": "Full name (required)",
    "email": "District email; the key for re-imports (required for employees)",
    "kind": "employee | student | volunteer | community (default employee)",
    "adult": "yes | no (optional when birth_date is given)",
    "birth_date": "YYYY-MM-DD (students: used for the under-13 check)",
    "grade": "Grade level, e.g. 07 or KG (students)",
    "role": "Job title or role, e.g. Principal, Athletic Director",
    "building": "Building or department; several separated by ; (the first is the primary one)",
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

T = TypeVar("T")

# The record field each column sets ("approval.x": a field of the account's approval). An import
# changes only the fields whose column the file has and whose cell is not empty ("merge, never
# blank"); `clear_empty` makes an empty cell clear its field instead.
PERSON_FIELDS: dict[str, str] = {column: column for column in PERSON_COLUMNS}
ACCOUNT_FIELDS: dict[str, str] = {
    **{column: column for column in ACCOUNT_COLUMNS},
    "owner_email": "owner_id",
    "co_manager_emails": "co_manager_ids",
    "student_manager_emails": "student_manager_ids",
    "comment_monitor_emails": "comment_monitor_ids",
    "approval_requested_on": "approval.requested_on",
    "approved_on": "approval.approved_on",
    "approved_by": "approval.approved_by",
    "renewal_due": "approval.renewal_due",
    "approval_reference": "approval.reference",
}


def given_fields(row: Row, fields: Mapping[str, str], *, clear_empty: bool = False) -> frozenset[str]:
    """The record fields a row sets: its columns with a value (with `clear_empty`, every column)."""
    return frozenset(fields[c] for c, v in row.values.items() if c in fields and (clear_empty or v.strip()))


@dataclass(frozen=True)
class Parsed(Generic[T]):
    """An import file's records, with the fields each row actually gives (for merging)."""

    items: list[T]
    given: list[frozenset[str]]
    lines: list[int] = field(default_factory=list)  # each item's line in the file


_TRUE = {"yes", "y", "true", "1", "x", "on"}
_FALSE = {"no", "n", "false", "0", "off"}


class BadLinesError(InputError):
    """Lines of an import file are bad. `message`, `line` and `column` are the first problem's;
    `problems` names every problem (every bad cell of every bad line) in file order: at most
    MAX_PROBLEMS of them, then one "... and N more problems". `total` counts them all and `lines`
    the lines they are on; `note` says how the file was read when that was not the usual
    (`read_note`), as the hint does."""

    def __init__(
        self,
        problems: Sequence[InputError],
        *,
        total: int | None = None,
        lines: int | None = None,
        note: str = "",
    ) -> None:
        first = problems[0]
        self.total = len(problems) if total is None else total
        self.lines = len({p.line for p in problems}) if lines is None else lines
        self.note = note
        if self.total == 1:
            hints = [first.hint]
        else:
            if self.total == self.lines:
                summary = f"{self.lines:,} bad lines"
            else:
                summary = f"{self.total:,} problems on {_plural(self.lines, 'line')}"
            hints = [f"{summary}; nothing was imported.", *dict.fromkeys(p.hint for p in problems if p.hint)]
        if note:
            hints.append(f"The file was read as {note}.")
        super().__init__(first.message, " ".join(h for h in hints if h), line=first.line, column=first.column)
        self.problems = [p.message for p in problems[:MAX_PROBLEMS]]
        if self.total > len(self.problems):
            self.problems.append(f"... and {_plural(self.total - len(self.problems), 'more problem')}")


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


class _Problems:
    """A file's problems, added line by line in file order: the first MAX_PROBLEMS are kept, the
    rest only counted, so memory stays bounded however bad the file is."""

    def __init__(self) -> None:
        self.kept: list[InputError] = []
        self.total = self.lines = 0

    def add_line(self, problems: Sequence[InputError]) -> None:
        if not problems:
            return
        self.lines += 1
        self.total += len(problems)
        room = MAX_PROBLEMS - len(self.kept)
        if room > 0:
            self.kept.extend(problems[:room])

    def raise_any(self, note: str) -> None:
        if self.total:
            raise BadLinesError(self.kept, total=self.total, lines=self.lines, note=note)


@dataclass(frozen=True)
class Row:
    """A data line: its values by column name, and what is wrong with its cells as read (a value
    under no header, a cell too long); the columns named there are not parsed again."""

    line: int
    values: Mapping[str, str]
    problems: tuple[InputError, ...] = field(default=(), compare=False)

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()


@dataclass(frozen=True)
class _Table:
    rows: list[Row]
    note: str  # how the file was read, when not the usual (see read_note); "" otherwise
    order: Mapping[str, int]  # each column's position in the header


class _CellsProblem(InputError):
    """A problem of a row's cells as read, with the position (from 0) of its first cell."""

    def __init__(self, message: str, hint: str = "", *, line: int, column: str = "", position: int) -> None:
        super().__init__(message, hint, line=line, column=column)
        self.position = position


def _column_letter(n: int) -> str:
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _column_name(header_cell: str) -> str:
    return header_cell.strip().lower().replace(" ", "_")


def read_rows(path: Path, columns: Mapping[str, str], required: Sequence[str]) -> list[Row]:
    """Rows of a CSV (UTF-8 or UTF-16; comma, semicolon or tab) or XLSX file, checked against
    `columns`. Raises `BadLinesError` naming every problem of every line whose cells do not fit the
    header."""
    table = _read_table(path, columns, required)
    problems = _Problems()
    for row in table.rows:
        problems.add_line(row.problems)
    problems.raise_any(table.note)
    return table.rows


def read_note(path: Path, columns: Mapping[str, str]) -> str:
    """How an import file is read when it is not comma-separated UTF-8: "semicolon-separated",
    "UTF-16, tab-separated"...; "" for the usual CSV and for XLSX. For the CLI to say so on a
    successful import (a problem says it in its hint). Reads the first bytes and the header line
    only; a file that cannot be read gives "" (its import reports why)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return ""
    try:
        encoding = _csv_encoding(path)
        with path.open(encoding=encoding.text, newline="") as fh:
            delimiter, _ = _sniff_delimiter(_header_line(fh), columns)
    except (OSError, UnicodeError):
        return ""
    return _note(encoding, delimiter)


def read_export(
    path: Path, fields: Mapping[str, Sequence[str]], required: Sequence[str], chosen: Mapping[str, str]
) -> tuple[list[Row], dict[str, str]]:
    """The rows of another tool's export (a learning platform's completions, an e-signature
    report), whose other columns are ignored, and the column found for each field: the one named
    in `chosen` (field -> header, `--column FIELD=HEADER`), else the first of the field's aliases
    in the header. A required field with no column is an error naming what was looked for and
    what the header has; bad cells are `BadLinesError` as for our own files."""
    wanted = {_column_name(c) for c in chosen.values()} | {
        _column_name(a) for al in fields.values() for a in al
    }
    table = _read_table(path, {c: c for c in sorted(wanted)}, (), allow_unknown=True)
    found: dict[str, str] = {}
    for name, aliases in fields.items():
        if name in chosen:
            column = _column_name(chosen[name])
            if column not in table.order:
                raise InputError(
                    f"{path}: line 1: --column {name}={chosen[name]!r}: the file has no such column",
                    "Its columns are: " + ", ".join(table.order) + ".",
                    line=1,
                    column=column,
                )
            found[name] = column
            continue
        column = next((c for c in (_column_name(a) for a in aliases) if c in table.order), "")
        if column:
            found[name] = column
        elif name in required:
            raise InputError(
                f"{path}: line 1: no column for {name} (looked for: {', '.join(aliases)})",
                f"Its columns are: {', '.join(table.order)}. Name the one to use with "
                f"--column {name}=HEADER.",
                line=1,
                column=name,
            )
    problems = _Problems()
    for row in table.rows:
        problems.add_line(row.problems)
    problems.raise_any(table.note)
    return table.rows, found


def _read_table(
    path: Path, columns: Mapping[str, str], required: Sequence[str], *, allow_unknown: bool = False
) -> _Table:
    """Every data line as a Row, each with the problems of its cells as read (`Row.problems`). A
    problem with the file as a whole (size, encoding, delimiter, header, too many rows) is raised
    at once."""
    if not path.exists():
        raise InputError(f"{path} does not exist")
    if not path.is_file():
        raise InputError(f"{path} is not a file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputError(
            f"{path}: the file is {size:,} bytes; an import file may have at most {MAX_FILE_BYTES:,}",
            f"Split it into several files of at most {MAX_ROWS:,} rows.",
        )
    note = ""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        header, body = _read_xlsx(path)
    else:
        header, body, note = _read_csv(path, columns)
    try:
        header = [_column_name(h) for h in header]
        _check_header(path, header, columns, required, note, allow_unknown)
        rows: list[Row] = []
        for line, cells in body:
            if not any((c or "").strip() for c in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise InputError(
                    f"{path}: line {line}: more than {MAX_ROWS:,} rows; an import file may have at most "
                    f"{MAX_ROWS:,}",
                    "Split it into several files.",
                    line=line,
                )
            values = {h: _unneutralise(cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h}
            rows.append(Row(line, values, tuple(_cells_problems(path, line, header, cells))))
    finally:
        body.close()  # type: ignore[attr-defined]  # a generator: closes the file
    return _Table(rows, note, {h: i for i, h in enumerate(header) if h})


def _check_header(
    path: Path,
    header: Sequence[str],
    columns: Mapping[str, str],
    required: Sequence[str],
    note: str,
    allow_unknown: bool = False,
) -> None:
    hint = _header_hint(columns) + (f" The file was read as {note}." if note else "")
    if not any(header):
        raise InputError(f"{path}: line 1: the header row is empty", hint)
    unknown = [] if allow_unknown else [h for h in header if h and h not in columns]
    if unknown:
        raise InputError(f"{path}: line 1: unknown column {unknown[0]!r}", hint, line=1, column=unknown[0])
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            f"{path}: line 1: required column {missing[0]!r} is missing", hint, line=1, column=missing[0]
        )
    dupes = {h for h in header if h and header.count(h) > 1}
    if dupes:
        raise InputError(f"{path}: line 1: column {sorted(dupes)[0]!r} appears twice", line=1)


def _cells_problems(path: Path, line: int, header: Sequence[str], cells: Sequence[str]) -> list[InputError]:
    """Everything wrong with a row's cells as read, in column order: the values under columns
    without a header (one problem naming them all), each cell longer than a cell may be, and the
    values beyond the last column (one problem naming them all). Empty cells never matter: a short
    row, or one with empty cells past the header, is fine."""
    headerless: list[int] = []
    beyond: list[int] = []
    problems: list[InputError] = []
    for i, value in enumerate(cells):
        if not (value or "").strip():
            continue
        if i >= len(header):
            beyond.append(i)
        elif not header[i]:
            headerless.append(i)
        elif len(value) > MAX_CELL_CHARS:
            problems.append(
                _CellsProblem(
                    f"{path}: line {line}, column {header[i]}: {len(value):,} characters; a cell may "
                    f"have at most {MAX_CELL_CHARS:,}",
                    line=line,
                    column=header[i],
                    position=i,
                )
            )
    if headerless:
        problems.insert(
            0,
            _CellsProblem(
                f"{path}: line {line}: {_values_in(headerless)}, which "
                f"{'has' if len(headerless) == 1 else 'have'} no header",
                "Give the column a header from docs/import.md, or empty it.",
                line=line,
                position=headerless[0],
            ),
        )
    if beyond:
        problems.append(
            _CellsProblem(
                f"{path}: line {line}: {beyond[-1] + 1} cells but only {len(header)} columns "
                f"({_values_in(beyond)}, which {'has' if len(beyond) == 1 else 'have'} no header)",
                line=line,
                position=beyond[0],
            )
        )
    return problems


def _values_in(indexes: Sequence[int]) -> str:
    """ "a value in column F" / "values in columns F, G and K" (the first few, then a count)."""
    letters = [_column_letter(i + 1) for i in indexes[:5]]
    if len(indexes) == 1:
        return f"a value in column {letters[0]}"
    if len(indexes) > len(letters):
        return f"values in columns {', '.join(letters)} and {len(indexes) - len(letters):,} more"
    return f"values in columns {', '.join(letters[:-1])} and {letters[-1]}"


def _header_hint(columns: Mapping[str, str]) -> str:
    return "Columns: " + ", ".join(columns) + " (see docs/import.md)."


def _unneutralise(value: str) -> str:
    # Our own CSV export prefixes formula-like cells with an apostrophe; take it off on the way in.
    # A value that already read as guarded ("'=") was given one more ("''="): apostrophes, then a
    # formula character, lose one apostrophe.
    rest = value.lstrip("'")
    if len(rest) < len(value) and rest[:1] and rest[0] in "=+-@\t\r":
        return value[1:]
    return value


# --------------------------------------------------------------------------------------------------
# CSV: the encoding from the byte-order mark, checked in full before a cell is read; the delimiter
# from the header line.

_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
_SNIFF_CHARS = 1 << 20  # of the header line, for choosing the delimiter


@dataclass(frozen=True)
class _Encoding:
    text: str  # for open(): skips the BOM, again after seek(0)
    codec: str  # for checking the bytes after the BOM
    bom: int  # its length in bytes
    name: str  # as the user knows it; "" for UTF-8


def _csv_encoding(path: Path) -> _Encoding:
    """UTF-16 when the file starts with its byte-order mark (Excel's "Unicode Text" save), else
    UTF-8 (its BOM, as "CSV UTF-8" writes it, is skipped). Nothing else is guessed."""
    with path.open("rb") as fh:
        head = fh.read(2)
    if head == codecs.BOM_UTF16_LE:
        return _Encoding("utf-16", "utf-16-le", 2, "UTF-16")
    if head == codecs.BOM_UTF16_BE:
        return _Encoding("utf-16", "utf-16-be", 2, "UTF-16")
    return _Encoding("utf-8-sig", "utf-8", 0, "")


def _note(encoding: _Encoding, delimiter: str) -> str:
    separated = f"{_DELIMITERS[delimiter]}-separated" if delimiter != "," else ""
    return ", ".join(part for part in (encoding.name, separated) if part)


def _undecodable(path: Path, encoding: _Encoding) -> InputError | None:
    """Why the file is not text in its encoding, naming the line of the first bad byte, or None.
    Read in chunks: memory stays flat."""
    decoder = codecs.getincrementaldecoder(encoding.codec)()
    line = 1
    with path.open("rb") as fh:
        fh.seek(encoding.bom)
        while chunk := fh.read(1 << 20):
            data = decoder.getstate()[0] + chunk  # with an unfinished character from the last chunk
            try:
                line += decoder.decode(chunk).count("\n")
            except UnicodeDecodeError as exc:
                line += data[: exc.start].decode(encoding.codec, errors="ignore").count("\n")
                return _not_text(path, encoding, line, data[exc.start : exc.end])
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            return _not_text(path, encoding, line, exc.object[exc.start : exc.end])
    return None


def _not_text(path: Path, encoding: _Encoding, line: int, bad: bytes) -> InputError:
    shown = " ".join(f"0x{b:02X}" for b in bad[:4])
    if encoding.name:
        return InputError(
            f"{path}: line {line}: not valid {encoding.name} text (bytes {shown})",
            "Open it in Excel and save it as 'CSV UTF-8 (Comma delimited)', then import that file.",
            line=line,
        )
    try:
        legacy = bad.decode("cp1252")
    except UnicodeDecodeError:
        legacy = ""
    if legacy.isprintable() and legacy.strip():
        return InputError(
            f"{path}: line {line}: not UTF-8 text (byte {shown}, which is {legacy!r} in Windows-1252: the "
            "file looks like Windows-1252 or Latin-1 text)",
            "Excel's 'CSV (Comma delimited)' saves accented letters such as é in Windows-1252: save the "
            "file as 'CSV UTF-8 (Comma delimited)' instead and import that.",
            line=line,
        )
    return InputError(
        f"{path}: line {line}: not UTF-8 text (byte {shown})",
        "Save the file as 'CSV UTF-8 (Comma delimited)' from Excel and import that.",
        line=line,
    )


def _sniff_delimiter(header_line: str, columns: Mapping[str, str]) -> tuple[str, int]:
    """The delimiter among comma, semicolon and tab that splits the header line into the most
    known column names (comma on a tie, and when none gives one), and how many it gives."""
    best, best_known = ",", 0
    for delimiter in _DELIMITERS:
        try:
            cells = next(csv.reader([header_line], delimiter=delimiter), [])
        except csv.Error:
            continue  # e.g. a quoted header cell running past the sample: not this one
        known = len({_column_name(c) for c in cells} & columns.keys())
        if known > best_known:
            best, best_known = delimiter, known
    return best, best_known


def _header_line(fh: IO[str]) -> str:
    """The header line (at most _SNIFF_CHARS of it); the file is left at its start."""
    line = fh.readline(_SNIFF_CHARS)
    fh.seek(0)
    return line


def _read_csv(
    path: Path, columns: Mapping[str, str]
) -> tuple[list[str], Iterator[tuple[int, list[str]]], str]:
    """The header, the (line, cells) after it, and how the file is read (see read_note)."""
    encoding = _csv_encoding(path)
    problem = _undecodable(path, encoding)
    if problem is not None:
        raise problem
    fh = path.open(encoding=encoding.text, newline="")
    try:
        first = _header_line(fh)
        if "\x00" in first:
            raise InputError(
                f"{path}: line 1: the header holds NUL characters: the file is not UTF-8 text (it looks "
                "like UTF-16 without its byte-order mark)",
                "Open it in Excel and save it as 'CSV UTF-8 (Comma delimited)', then import that file.",
                line=1,
            )
        delimiter, known = _sniff_delimiter(first, columns)
        names = (
            [n for n in (_column_name(c) for c in next(csv.reader([first]), [])) if n] if not known else []
        )
        if names:
            raise InputError(
                f"{path}: line 1: unknown column {names[0]!r}; no delimiter tried (comma, semicolon, tab) "
                "splits the header into known columns",
                _header_hint(columns),
                line=1,
                column=names[0],
            )
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(f"{path}: the file is empty") from None
        except csv.Error as exc:
            raise InputError(f"{path}: line 1: {exc}", line=1) from exc
    except BaseException:
        fh.close()
        raise
    return header, _CsvLines(path, fh, reader), _note(encoding, delimiter)


class _CsvLines:
    """(line, cells) of a CSV file after its header; `close` closes the file, read or not."""

    def __init__(self, path: Path, fh: IO[str], reader: Any) -> None:
        self.path, self.fh, self.reader = path, fh, reader

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> tuple[int, list[str]]:
        try:
            cells: list[str] = next(self.reader)
        except StopIteration:
            self.close()
            raise
        except csv.Error as exc:
            line = self.reader.line_num
            raise InputError(f"{self.path}: line {line}: {exc}", line=line) from exc
        return self.reader.line_num, cells

    def close(self) -> None:
        self.fh.close()


# --------------------------------------------------------------------------------------------------
# XLSX: a bounded, streaming reader of the first sheet.

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")
_EXCEL_ROWS, _EXCEL_COLUMNS = 1_048_576, 16_384
_FEED = 64 * 1024


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    book = _Xlsx(path)
    rows = book.rows()
    try:
        first_line, header = next(rows)
    except StopIteration:
        book.close()
        raise InputError(f"{path}: the first sheet is empty") from None
    if first_line != 1:
        book.close()
        raise InputError(f"{path}: line 1: the header row is empty", line=1)

    def body() -> Iterator[tuple[int, list[str]]]:
        try:
            yield from rows
        finally:
            book.close()

    return header, body()


class _Xlsx:
    """The first sheet of an XLSX workbook, row by row, within the limits above."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._check_entry_count()
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise self._unreadable(f"not a readable XLSX workbook ({type(exc).__name__})") from None
        self.names = set(self.zip.namelist())
        try:
            self._load()
        except BaseException:
            self.zip.close()
            raise

    def close(self) -> None:
        self.zip.close()

    # -- errors --------------------------------------------------------------------------------

    def _unreadable(self, why: str) -> InputError:
        return InputError(
            f"{self.path}: {why}",
            "Open it in Excel or LibreOffice and save it again as .xlsx, or export the sheet as CSV UTF-8.",
        )

    # -- the zip directory ------------------------------------------------------------------------

    def _check_entry_count(self) -> None:
        """Refuse a zip directory with more than MAX_ZIP_ENTRIES files before `zipfile` reads it
        (each entry costs memory)."""
        with self.path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            tail_size = min(size, 22 + 65_535)
            fh.seek(size - tail_size)
            tail = fh.read(tail_size)
            at = tail.rfind(b"PK\x05\x06")
            if at < 0 or len(tail) - at < 22:
                return  # not a zip: zipfile says so
            count = int.from_bytes(tail[at + 10 : at + 12], "little")
            if count == 0xFFFF and at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
                fh.seek(int.from_bytes(tail[at - 12 : at - 4], "little"))
                record = fh.read(56)
                if record[:4] == b"PK\x06\x06":
                    count = int.from_bytes(record[32:40], "little")
        if count > MAX_ZIP_ENTRIES:
            raise self._unreadable(
                f"the workbook holds {count:,} files; an XLSX import may hold at most {MAX_ZIP_ENTRIES:,}"
            )

    def _open(self, name: str, limit: int, what: str) -> IO[bytes]:
        """A zip part, refused when its uncompressed size is over `limit`. `zipfile` never inflates
        more than the size the directory states, so checking it bounds what is read."""
        try:
            info = self.zip.getinfo(name)
        except KeyError:
            raise self._unreadable(f"the workbook has no {what} ({name})") from None
        if info.file_size > limit:
            raise InputError(
                f"{self.path}: the workbook's {what} ({name}) is {info.file_size:,} bytes uncompressed; "
                f"an import reads at most {limit:,}",
                "A district's sheet is far smaller: check that this is the right file, or export the "
                f"sheet as CSV UTF-8 (at most {MAX_ROWS:,} rows).",
            )
        try:
            return self.zip.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError) as exc:
            raise self._unreadable(f"the workbook's {what} cannot be read ({type(exc).__name__})") from None

    def _feed(self, name: str, limit: int, what: str, target: Any) -> Iterator[None]:
        """Parse a zip part in chunks into `target` (an ElementTree parser target: start, end and
        data are called per element, and no tree is built, so memory stays flat), yielding after
        each chunk. A DOCTYPE is refused as soon as it starts, before any entity is declared (XLSX
        never has one; it is how entity-expansion bombs start): every target's `doctype` raises
        `_Doctype`. So is more data than the zip directory states."""
        # Untrusted XML: the DOCTYPE hook above refuses entity declarations, the caps bound the rest.
        parser = ET.XMLParser(target=target)  # noqa: S314
        read = 0
        try:
            with self._open(name, limit, what) as fh:
                while True:
                    try:
                        chunk = fh.read(_FEED)
                    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
                        raise self._unreadable(f"the workbook's {what} is damaged ({exc})") from None
                    if not chunk:
                        break
                    read += len(chunk)
                    if read > limit:
                        raise self._unreadable(f"the workbook's {what} is larger than its zip directory says")
                    parser.feed(chunk)
                    yield
                parser.close()
                yield
        except _Doctype:
            raise self._unreadable(
                f"the workbook's {what} declares a DOCTYPE, which XLSX never does"
            ) from None
        except ET.ParseError as exc:
            raise self._unreadable(f"the workbook's {what} is not well-formed XML ({exc})") from None

    def _small_part(self, name: str, what: str) -> ET.Element:
        """A small part (relationships, workbook, styles: at most MAX_PART_BYTES) as a tree."""
        builder = _TreeBuilder()
        for _ in self._feed(name, MAX_PART_BYTES, what, builder):
            pass
        return builder.close()

    # -- the workbook ---------------------------------------------------------------------------

    def _rels(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (type, target part name) for `part` (e.g. xl/workbook.xml)."""
        folder, base = posixpath.split(part)
        name = posixpath.join(folder, "_rels", base + ".rels")
        if name not in self.names:
            return {}
        out: dict[str, tuple[str, str]] = {}
        for rel in self._small_part(name, "relationships").iter():
            if _local(rel.tag) != "Relationship" or rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target", "")
            full = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            out[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(full))
        return out

    def _load(self) -> None:
        office = [t for kind, t in self._rels("").values() if kind.endswith("/officeDocument")]
        workbook = office[0] if office else "xl/workbook.xml"
        book = self._small_part(workbook, "workbook")
        rels = self._rels(workbook)
        sheet_rid = ""
        self.date1904 = False
        for elem in book.iter():
            tag = _local(elem.tag)
            if tag == "workbookPr":
                self.date1904 = elem.get("date1904", "").lower() in ("1", "true")
            elif tag == "sheet" and not sheet_rid:
                sheet_rid = elem.get(f"{{{_REL_NS}}}id", "")
        if sheet_rid not in rels:
            raise self._unreadable("the workbook has no sheet")
        self.sheet = rels[sheet_rid][1]
        by_type = {kind.rpartition("/")[2]: target for kind, target in rels.values()}
        self.date_styles, self.timedelta_styles = self._styles(by_type.get("styles"))
        self.shared = self._shared_strings(by_type.get("sharedStrings"))

    def _styles(self, part: str | None) -> tuple[set[int], set[int]]:
        """Cell style indices whose number format is a date, and those that are a duration
        (openpyxl's rules, so values read as they did through openpyxl)."""
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

        if part is None or part not in self.names:
            return set(), set()
        root = self._small_part(part, "styles")
        custom: dict[int, str] = {}
        dates: set[int] = set()
        durations: set[int] = set()
        for elem in root.iter():
            if _local(elem.tag) == "numFmt":
                try:
                    custom[int(elem.get("numFmtId", ""))] = elem.get("formatCode", "")
                except ValueError:
                    continue
        for section in root:
            if _local(section.tag) != "cellXfs":
                continue
            for index, xf in enumerate(x for x in section if _local(x.tag) == "xf"):
                try:
                    fmt_id = int(xf.get("numFmtId", "0"))
                except ValueError:
                    continue
                code = custom.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id, "")
                if code and is_date_format(code):
                    dates.add(index)
                if code and is_timedelta_format(code):
                    durations.add(index)
        return dates, durations

    def _shared_strings(self, part: str | None) -> list[str]:
        if part is None or part not in self.names:
            return []
        target = _SharedStrings()
        for _ in self._feed(part, MAX_SHARED_STRINGS_BYTES, "shared strings", target):
            pass
        return target.strings

    # -- the sheet ------------------------------------------------------------------------------

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(Excel row number, cell texts from column A) for every row holding a value, in order.
        `<dimension>` is never read: every row the sheet holds is returned."""
        target = _SheetRows(self)
        for _ in self._feed(self.sheet, MAX_SHEET_XML_BYTES, "first sheet", target):
            if target.done:
                yield from target.done
                target.done = []

    def _column(self, ref: str, previous: int, row: int) -> int:
        if not ref:
            column = previous + 1
        else:
            m = _CELL_REF.match(ref)
            if m is None or int(m.group(2)) != row:
                raise self._unreadable(f"cell reference {ref!r} in row {row} of the first sheet is not valid")
            column = 0
            for ch in m.group(1):
                column = column * 26 + ord(ch) - 64
        if column > _EXCEL_COLUMNS:
            raise self._unreadable(
                f"row {row:,} of the first sheet has a cell past column XFD, Excel's last ({ref or column})"
            )
        if column <= previous:
            raise self._unreadable(
                f"row {row:,} of the first sheet has cell {ref or _column_letter(column)} after column "
                f"{_column_letter(previous)}: cells out of order"
            )
        return column

    def _cell_text(self, kind: str, style: int, value: str | None, inline: str, row: int, column: int) -> str:
        """The cell as text, as openpyxl (data_only) would give it to `_xlsx_cell`."""
        if kind == "inlineStr":
            return inline
        if value is None or value == "":
            return ""
        if kind == "s":
            try:
                return self.shared[int(value)]
            except (ValueError, IndexError):
                raise self._unreadable(
                    f"cell {_column_letter(column)}{row} refers to shared string {value!r}, which does not exist"
                ) from None
        if kind in ("str", "e"):
            return value
        if kind == "b":
            return str(value.strip() not in ("0", "", "false"))
        if kind == "d":
            return value[:10] if re.match(r"^\d{4}-\d{2}-\d{2}", value) else value
        try:
            number: int | float = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return value
        if style in self.date_styles:
            from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

            try:
                when = from_excel(
                    number,
                    CALENDAR_MAC_1904 if self.date1904 else CALENDAR_WINDOWS_1900,
                    timedelta=style in self.timedelta_styles,
                )
            except (OverflowError, ValueError, TypeError):
                return value
            return _xlsx_cell(when)
        return _xlsx_cell(number)


class _Doctype(Exception):
    """A DOCTYPE in an XLSX part: refused (see _Xlsx._feed)."""


class _TreeBuilder(ET.TreeBuilder):
    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _Doctype


class _Tags:
    """Local names of namespaced tags, computed once per distinct tag string; refuses a DOCTYPE."""

    def __init__(self) -> None:
        self.cache: dict[str, str] = {}

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _Doctype

    def local(self, tag: str) -> str:
        name = self.cache.get(tag)
        if name is None:
            name = self.cache[tag] = _local(tag)
        return name


class _SharedStrings(_Tags):
    """Parser target for xl/sharedStrings.xml: each <si> is the text of its <t> runs, phonetic
    guides (<rPh>) left out, as Excel shows it."""

    def __init__(self) -> None:
        super().__init__()
        self.strings: list[str] = []
        self.parts: list[str] = []
        self.text: list[str] | None = None
        self.phonetic = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        name = self.local(tag)
        if name == "t" and not self.phonetic:
            self.text = self.parts
        elif name == "rPh":
            self.phonetic += 1

    def data(self, text: str) -> None:
        if self.text is not None:
            self.text.append(text)

    def end(self, tag: str) -> None:
        name = self.local(tag)
        if name == "t":
            self.text = None
        elif name == "rPh":
            self.phonetic -= 1
        elif name == "si":
            self.strings.append("".join(self.parts))
            self.parts = []

    def close(self) -> None:
        return None


class _SheetRows(_Tags):
    """Parser target for a worksheet: collects each row holding a value into `done`, as
    (row number, cell texts from column A). Only the current row and cell are kept."""

    def __init__(self, book: _Xlsx) -> None:
        super().__init__()
        self.book = book
        self.done: list[tuple[int, list[str]]] = []
        self.row = self.column = self.cells_seen = 0
        self.cells: dict[int, str] = {}
        self.kind, self.style, self.ref = "n", 0, ""
        self.value: list[str] | None = None
        self.inline: list[str] | None = None
        self.text: list[str] | None = None
        self.in_inline = self.phonetic = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        name = self.local(tag)
        if name == "c":
            self.ref = attrib.get("r", "")
            self.kind = attrib.get("t") or "n"
            style = attrib.get("s") or "0"
            self.style = int(style) if style.isdigit() else 0
            self.value = self.inline = None
        elif name == "v":
            self.value = []
            self.text = self.value
        elif name == "t":
            if self.in_inline and not self.phonetic:
                if self.inline is None:
                    self.inline = []
                self.text = self.inline
        elif name == "row":
            r = attrib.get("r")
            number = int(r) if r and r.isdigit() else self.row + 1
            if number > _EXCEL_ROWS:
                raise self.book._unreadable(
                    f"the first sheet has a row numbered {number:,}, past Excel's last row ({_EXCEL_ROWS:,})"
                )
            if number <= self.row:
                raise self.book._unreadable(
                    f"row {number:,} of the first sheet comes after row {self.row:,}: rows out of order"
                )
            self.row, self.column, self.cells = number, 0, {}
        elif name == "is":
            self.in_inline += 1
        elif name == "rPh":
            self.phonetic += 1

    def data(self, text: str) -> None:
        if self.text is not None:
            self.text.append(text)

    def end(self, tag: str) -> None:
        name = self.local(tag)
        if name in ("v", "t"):
            self.text = None
        elif name == "c":
            self._cell()
        elif name == "row":
            if self.cells:
                cells = self.cells
                self.done.append((self.row, [cells.get(i, "") for i in range(1, max(cells) + 1)]))
            self.cells = {}
        elif name == "is":
            self.in_inline -= 1
        elif name == "rPh":
            self.phonetic -= 1

    def _cell(self) -> None:
        book = self.book
        self.cells_seen += 1
        if self.cells_seen > MAX_CELLS:
            raise InputError(
                f"{book.path}: the first sheet has more than {MAX_CELLS:,} cells; an import reads at most "
                "that many",
                f"Export only the columns of docs/import.md, at most {MAX_ROWS:,} rows.",
            )
        self.column = book._column(self.ref, self.column, self.row)
        value = None if self.value is None else "".join(self.value)
        inline = "" if self.inline is None else "".join(self.inline)
        text = book._cell_text(self.kind, self.style, value, inline, self.row, self.column)
        if not text:
            return
        if self.column > MAX_COLUMNS:
            raise InputError(
                f"{book.path}: line {self.row}: a value in column {_column_letter(self.column)}; an import "
                f"reads at most {MAX_COLUMNS} columns (up to {_column_letter(MAX_COLUMNS)})",
                "Delete the columns that are not in docs/import.md.",
                line=self.row,
            )
        self.cells[self.column] = text

    def close(self) -> None:
        return None


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    if isinstance(value, time | timedelta):
        return str(value)
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
    return check_address_chars(text).lower()


def check_link(text: str) -> str:
    text = text.strip()
    if text and not text.lower().startswith(("https://", "http://")):
        raise ValueError(f"{text!r} is not an http(s) link")
    return text


class _Cells:
    """One row's cells as a parse reads them. A bad cell is noted, with its line and column, and
    reads as None, so the parse goes on to the next cell and one run names every bad cell. A
    column whose cell was already bad as read (`Row.problems`) is not parsed again."""

    def __init__(self, path: Path, row: Row, order: Mapping[str, int]) -> None:
        self.path, self.row, self.line, self.order = path, row, row.line, order
        self.problems: list[InputError] = list(row.problems)
        self.bad = {p.column for p in row.problems if p.column}

    def text(self, column: str) -> str:
        return "" if column in self.bad else self.row.get(column)

    def parse(self, column: str, parse: Callable[[str], Any]) -> Any:
        """`parse` of the cell, or None when the cell is bad (noted)."""
        if column in self.bad:
            return None
        try:
            return parse(self.row.get(column))
        except ValueError as exc:
            self.fail(column, str(exc))
            return None

    def fail(self, column: str, why: str, hint: str = "") -> None:
        self.problems.append(
            InputError(
                f"{self.path}: line {self.line}, column {column}: {why}", hint, line=self.line, column=column
            )
        )
        self.bad.add(column)

    def in_file_order(self) -> list[InputError]:
        """The problems in the order of their cells in the line, left to right."""

        def position(p: InputError) -> int:
            return p.position if isinstance(p, _CellsProblem) else self.order.get(p.column, -1)

        return sorted(self.problems, key=position)


def _each_row(path: Path, table: _Table, parse: Callable[[_Cells], T | None]) -> list[T]:
    """`parse` applied to every row. It notes each bad cell in its `_Cells` (and returns None when
    there is one), so one run names every bad cell of every line. Raises BadLinesError, in file
    order, when there were any."""
    out: list[T] = []
    problems = _Problems()
    for row in table.rows:
        cells = _Cells(path, row, table.order)
        try:
            item = parse(cells)
        except InputError as exc:  # a check that raises rather than noting: still one more problem
            cells.problems.append(exc)
            item = None
        if cells.problems:
            problems.add_line(cells.in_file_order())
        elif item is not None:
            out.append(item)
    problems.raise_any(table.note)
    return out


# --------------------------------------------------------------------------------------------------
# People


def parse_people(path: Path) -> list[Person]:
    return read_people(path).items


def read_people(path: Path, *, clear_empty: bool = False) -> Parsed[Person]:
    table = _read_table(path, PERSON_COLUMNS, required=("name",))
    rows = table.rows
    seen: dict[str, int] = {}

    def person(cells: _Cells) -> Person | None:
        name = cells.parse("name", check_person_name)
        if name == "":
            cells.fail("name", "a name is required")
        email = cells.parse("email", check_email)
        kind = cells.parse("kind", lambda t: PersonKind.parse(t or "employee"))
        if kind is PersonKind.EMPLOYEE and email == "":
            cells.fail("email", "employees need their district email")
        if email:
            if email in seen:
                cells.fail("email", f"{email} already appears on line {seen[email]}")
            else:
                seen[email] = cells.line
        adult = cells.parse("adult", parse_bool)
        birth_date = cells.parse("birth_date", parse_day)
        status = cells.parse("status", lambda t: PersonStatus.parse(t or "active"))
        training = cells.parse("training_completed_on", parse_day)
        procedure = cells.parse("procedure_signed_on", parse_day)
        aup = cells.parse("aup_signed_on", parse_day)
        if cells.problems:
            return None
        building, buildings = person_buildings(cells.text("building"))
        return Person(
            id="",
            name=name,
            email=email,
            kind=kind,
            adult=adult,
            birth_date=birth_date,
            grade=cells.text("grade"),
            role=cells.text("role"),
            building=building,
            buildings=buildings,
            status=status,
            employee_id=cells.text("employee_id"),
            training_completed_on=training,
            procedure_signed_on=procedure,
            aup_signed_on=aup,
            notes=cells.text("notes"),
        )

    people = _each_row(path, table, person)
    given = [given_fields(r, PERSON_FIELDS, clear_empty=clear_empty) for r in rows]
    return Parsed(
        people,
        # The building column sets both: the primary building and the list of them.
        [g | {"buildings"} if "building" in g else g for g in given],
        [r.line for r in rows],
    )


def person_buildings(text: str) -> tuple[str, tuple[str, ...]]:
    """(building, buildings) from a building cell: "North; Central" is both, North the primary. Only
    ";" separates (a building's name may hold a comma); one building keeps `buildings` empty."""
    return Person.building_fields(text.split(";"))


# --------------------------------------------------------------------------------------------------
# Accounts


def parse_accounts(path: Path, people_by_email: Mapping[str, Person]) -> list[Account]:
    return read_accounts(path, people_by_email).items


def read_accounts(
    path: Path, people_by_email: Mapping[str, Person], *, clear_empty: bool = False
) -> Parsed[Account]:
    table = _read_table(path, ACCOUNT_COLUMNS, required=("platform", "handle"))
    rows = table.rows
    seen: dict[tuple[str, str], int] = {}

    def person_ids(cells: _Cells, column: str) -> tuple[str, ...]:
        ids, unknown = [], []
        for email in split_list(cells.text(column)):
            person = people_by_email.get(email.lower())
            if person is None:
                unknown.append(email.lower())
            else:
                ids.append(person.id)
        if unknown:
            cells.fail(
                column,
                f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in the registry",
                "Import people first (`auditor person import FILE`).",
            )
        return tuple(ids)

    def account(cells: _Cells) -> Account | None:
        platform = cells.parse("platform", Platform.parse)
        handle = cells.parse("handle", check_handle)
        if handle == "":
            cells.fail("handle", "a handle is required")
        pasted_url, url_id = "", ""
        if handle and looks_like_url(handle):  # a profile URL in the handle column: its handle
            try:
                url_platform, named, url_id = handle_from_text(platform, handle)
            except ValueError as exc:
                cells.fail("handle", str(exc))
                handle = None
            else:
                pasted_url, handle, platform = handle, named, platform or url_platform
        if platform is not None and handle:
            key = (platform.value, normalise_handle(handle))
            if key in seen:
                cells.fail("handle", f"{platform.value}:{handle} already appears on line {seen[key]}")
            else:
                seen[key] = cells.line
        owner = person_ids(cells, "owner_email")
        if len(owner) > 1:
            cells.fail("owner_email", "one owner per account")
        url = cells.parse("profile_url", check_link)
        purpose = cells.parse("purpose", lambda t: Purpose.parse(t or "school"))
        co_managers = person_ids(cells, "co_manager_emails")
        student_managers = person_ids(cells, "student_manager_emails")
        login_email = cells.parse("login_email", check_email)
        two_factor = cells.parse("two_factor", parse_bool)
        public_comments = cells.parse("public_comments", parse_bool)
        monitors = person_ids(cells, "comment_monitor_emails")
        requested_on = cells.parse("approval_requested_on", parse_day)
        approved_on = cells.parse("approved_on", parse_day)
        renewal_due = cells.parse("renewal_due", parse_day)
        status = cells.parse("status", lambda t: AccountStatus.parse(t or "active"))
        if cells.problems:
            return None
        return Account(
            id="",
            platform=platform,
            handle=handle,
            profile_url=url or pasted_url,
            platform_id=cells.text("platform_id") or url_id,
            display_name=cells.text("display_name"),
            building=cells.text("building"),
            purpose=purpose,
            owner_id=owner[0] if owner else "",
            co_manager_ids=co_managers,
            student_manager_ids=student_managers,
            login_email=login_email,
            two_factor=two_factor,
            public_comments=public_comments,
            comment_monitor_ids=monitors,
            approval=Approval(
                requested_on=requested_on,
                approved_on=approved_on,
                approved_by=cells.text("approved_by"),
                renewal_due=renewal_due,
                reference=cells.text("approval_reference"),
            ),
            status=status,
            notes=cells.text("notes"),
            tags=tuple(split_list(cells.text("tags"))),
        )

    accounts = _each_row(path, table, account)
    return Parsed(
        accounts,
        [given_fields(r, ACCOUNT_FIELDS, clear_empty=clear_empty) for r in rows],
        [r.line for r in rows],
    )


def template(columns: Mapping[str, str]) -> str:
    return ",".join(columns) + "\r\n"


# --------------------------------------------------------------------------------------------------
# Export: the import header, so `person list --format csv` / `account list --format csv` -> edit in
# Excel -> import is the normal way to bulk-edit (issue 13, "Round trip").


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(getattr(value, "value", value))


def person_export_row(person: Person) -> dict[str, str]:
    """A person as a row of PERSON_COLUMNS, each cell as the import reads it back (several
    buildings as "North; Central", the primary first)."""
    row = {column: _cell(getattr(person, column)) for column in PERSON_COLUMNS}
    row["building"] = _cell(person.all_buildings)
    return row


def account_export_row(account: Account, emails: Mapping[str, str]) -> dict[str, str]:
    """An account as a row of ACCOUNT_COLUMNS; people by email (`emails`: person id -> email)."""
    row: dict[str, str] = {}
    for column, name in ACCOUNT_FIELDS.items():
        if name.startswith("approval."):
            value: Any = getattr(account.approval, name.split(".", 1)[1])
        else:
            value = getattr(account, name)
        if name == "owner_id":
            value = emails.get(value, value) if value else ""
        elif name.endswith("_ids"):
            value = [emails.get(pid, pid) for pid in value]
        row[column] = _cell(value)
    return row


def export_csv(rows: Sequence[Mapping[str, str]], columns: Sequence[str]) -> str:
    """CSV text in UTF-8 with a BOM (as the reports write it: Excel then reads it as UTF-8), CRLF line
    ends, every cell inert and never a formula (auditor.model.safetext.csv_safe; the import takes the
    guard's apostrophe off again, `_unneutralise`)."""
    from auditor.model.safetext import csv_safe

    def cell(value: str) -> str:
        # A value that already reads as a guarded cell ("'=x") gets a guard of its own, or the
        # import would take its apostrophe for ours.
        text = csv_safe(value)
        return "'" + text if text == value and _unneutralise(text) != text else text

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c, "")) for c in columns])
    return "\ufeff" + buf.getvalue()
