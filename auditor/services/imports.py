"""Importing people and accounts from CSV or XLSX files, all or nothing.

The file is read and every row validated before anything is written. Every bad line is named, with
the column of its first bad cell (`BadLinesError.problems`), and nothing of the file is imported.
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
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
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


_TRUE = {"yes", "y", "true", "1", "x", "on"}
_FALSE = {"no", "n", "false", "0", "off"}


class BadLinesError(InputError):
    """Lines of an import file are bad. `message`, `line` and `column` are the first problem's;
    `problems` names every bad line (the first bad cell of each), in file order."""

    def __init__(self, problems: Sequence[InputError]) -> None:
        first = problems[0]
        if len(problems) == 1:
            hint = first.hint
        else:
            hints = list(dict.fromkeys(p.hint for p in problems if p.hint))
            hint = " ".join([f"{len(problems)} bad lines; nothing was imported.", *hints])
        super().__init__(first.message, hint, line=first.line, column=first.column)
        self.problems = [p.message for p in problems]


@dataclass(frozen=True)
class Row:
    line: int
    values: Mapping[str, str]

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()


def _column_letter(n: int) -> str:
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def read_rows(path: Path, columns: Mapping[str, str], required: Sequence[str]) -> list[Row]:
    """Rows of a CSV (UTF-8, with or without BOM) or XLSX file, checked against `columns`.

    Raises `BadLinesError` naming every line whose cells do not fit the header."""
    rows, problems = _read_table(path, columns, required)
    if problems:
        raise BadLinesError(problems)
    return rows


def _read_table(
    path: Path, columns: Mapping[str, str], required: Sequence[str]
) -> tuple[list[Row], list[InputError]]:
    """The rows, and a problem for each line whose cells do not fit the header. A problem with the
    file as a whole (size, encoding, header, too many rows) is raised at once."""
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
    rows: list[Row] = []
    problems: list[InputError] = []
    try:
        for line, cells in body:
            if not any((c or "").strip() for c in cells):
                continue
            if len(rows) + len(problems) >= MAX_ROWS:
                raise InputError(
                    f"{path}: line {line}: more than {MAX_ROWS:,} rows; an import file may have at most "
                    f"{MAX_ROWS:,}",
                    "Split it into several files.",
                    line=line,
                )
            problem = _cells_problem(path, line, header, cells)
            if problem is not None:
                problems.append(problem)
                continue
            values = {h: _unneutralise(cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h}
            rows.append(Row(line, values))
    finally:
        body.close()  # type: ignore[attr-defined]  # a generator: closes the file
    return rows, problems


def _cells_problem(path: Path, line: int, header: Sequence[str], cells: Sequence[str]) -> InputError | None:
    """Why a row's cells do not fit the header (a value beyond the last column, under a column
    without a header, or longer than a cell may be), or None."""
    for i, value in enumerate(cells):
        if not (value or "").strip():
            continue
        name = header[i] if i < len(header) else ""
        if i >= len(header):
            return InputError(
                f"{path}: line {line}: {len(cells)} cells but only {len(header)} columns "
                f"(a value in column {_column_letter(i + 1)}, which has no header)",
                line=line,
            )
        if not name:
            return InputError(
                f"{path}: line {line}: a value in column {_column_letter(i + 1)}, which has no header",
                "Give the column a header from docs/import.md, or empty it.",
                line=line,
            )
        if len(value) > MAX_CELL_CHARS:
            return InputError(
                f"{path}: line {line}, column {name}: {len(value):,} characters; a cell may have at "
                f"most {MAX_CELL_CHARS:,}",
                line=line,
                column=name,
            )
    return None


def _header_hint(columns: Mapping[str, str]) -> str:
    return "Columns: " + ", ".join(columns) + " (see docs/import.md)."


def _unneutralise(value: str) -> str:
    # Our own CSV export prefixes formula-like cells with an apostrophe; take it off on the way in.
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r":
        return value[1:]
    return value


def _utf8_problem_line(path: Path) -> int | None:
    """The line of the first byte that is not UTF-8, or None; read in chunks (memory stays flat)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            pending = len(decoder.getstate()[0])  # an unfinished character from the last chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return line + chunk[: max(0, exc.start - pending)].count(b"\n")
            line += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return line
    return None


def _read_csv(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    bad = _utf8_problem_line(path)
    if bad is not None:
        raise InputError(
            f"{path}: line {bad}: not UTF-8 text", "Save the file as 'CSV UTF-8' from Excel.", line=bad
        )
    fh = path.open(encoding="utf-8-sig", newline="")
    reader = csv.reader(fh, strict=True)
    try:
        header = next(reader)
    except StopIteration as exc:
        fh.close()
        raise InputError(f"{path}: the file is empty") from exc
    except csv.Error as exc:
        fh.close()
        raise InputError(f"{path}: line 1: {exc}", line=1) from exc

    def body() -> Iterator[tuple[int, list[str]]]:
        with fh:
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise InputError(f"{path}: line {reader.line_num}: {exc}", line=reader.line_num) from exc
                yield reader.line_num, cells

    return header, body()


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


def _field(path: Path, row: Row, column: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(row.get(column))
    except ValueError as exc:
        raise InputError(
            f"{path}: line {row.line}, column {column}: {exc}", line=row.line, column=column
        ) from exc


def _each_row(rows: Sequence[Row], problems: list[InputError], parse: Callable[[Row], Any]) -> list[Any]:
    """`parse` applied to every row; a row whose parse raises InputError adds it to `problems` (its
    first bad cell) and the next row is parsed, so one run names every bad line. Raises
    BadLinesError, in line order, when there were any."""
    out = []
    for row in rows:
        try:
            out.append(parse(row))
        except InputError as exc:
            problems.append(exc)
    if problems:
        raise BadLinesError(sorted(problems, key=lambda p: p.line or 0))
    return out


# --------------------------------------------------------------------------------------------------
# People


def parse_people(path: Path) -> list[Person]:
    return read_people(path).items


def read_people(path: Path, *, clear_empty: bool = False) -> Parsed[Person]:
    rows, problems = _read_table(path, PERSON_COLUMNS, required=("name",))
    seen: dict[str, int] = {}

    def person(row: Row) -> Person:
        name = _field(path, row, "name", check_person_name)
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
        return Person(
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

    people = _each_row(rows, problems, person)
    return Parsed(people, [given_fields(r, PERSON_FIELDS, clear_empty=clear_empty) for r in rows])


# --------------------------------------------------------------------------------------------------
# Accounts


def parse_accounts(path: Path, people_by_email: Mapping[str, Person]) -> list[Account]:
    return read_accounts(path, people_by_email).items


def read_accounts(
    path: Path, people_by_email: Mapping[str, Person], *, clear_empty: bool = False
) -> Parsed[Account]:
    rows, problems = _read_table(path, ACCOUNT_COLUMNS, required=("platform", "handle"))
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

    def account(row: Row) -> Account:
        platform = _field(path, row, "platform", Platform.parse)
        handle = _field(path, row, "handle", check_handle)
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
        built = Account(
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
        if len(owner) > 1:
            raise InputError(
                f"{path}: line {row.line}, column owner_email: one owner per account",
                line=row.line,
                column="owner_email",
            )
        return built

    accounts = _each_row(rows, problems, account)
    return Parsed(accounts, [given_fields(r, ACCOUNT_FIELDS, clear_empty=clear_empty) for r in rows])


def template(columns: Mapping[str, str]) -> str:
    return ",".join(columns) + "\r\n"
