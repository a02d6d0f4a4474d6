"""Reading CSV files by header name with exact line numbers, for the OneRoster and HR-export sources.

Roster files come from many exporters whose column order differs (the OneRoster 1.2 users.csv order
is not even settled, reference 8.2), so every file is parsed by header name. Each row carries the
line it starts on, so an error can say "users.csv, line 14, column 'email'" even when a quoted cell
spans several lines. A byte-order mark (Excel's UTF-8 export) is dropped; UTF-16 with its mark is
read as UTF-16, and a zip given where a CSV belongs is named as one, with what to do instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from connectors.roster.base import RosterFileError


@dataclass(frozen=True)
class Row:
    """One data row: the line it starts on and its cells by header name."""

    line: int
    cells: dict[str, str]

    def get(self, column: str) -> str:
        return self.cells.get(column, "").strip()


def decode(file: str, data: bytes, encoding: str = "utf-8-sig") -> str:
    """The file's text. UTF-16 with its byte-order mark (Excel's "Unicode Text", some SIS exports)
    is read as such whatever `encoding` says; a zip archive is refused with what to do instead."""
    if data[:4] == b"PK\x03\x04":
        raise RosterFileError(
            file,
            "is a zip archive, not a CSV file",
            hint="give a OneRoster .zip as the path of a oneroster-csv source (`auditor roster sync "
            "export.zip`); for an HR export, unzip it and point the source at the CSV inside",
        )
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") and encoding.casefold().replace("_", "-") in (
        "utf-8",
        "utf-8-sig",
        "utf8",
    ):
        encoding = "utf-16"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        # Count the lines before the bad byte so the user can find it.
        line = data[: exc.start].count(b"\n") + 1
        raise RosterFileError(
            file,
            f"is not valid {encoding.removesuffix('-sig')} text",
            line=line,
            hint="save the file as UTF-8 (Excel: 'CSV UTF-8'), or set the encoding in the mapping",
        ) from None


def read_rows(
    file: str, text: str, *, required: Sequence[str] = (), delimiter: str = ","
) -> tuple[list[str], Iterator[Row]]:
    """The header and an iterator over the rows; raises RosterFileError for a bad header or row."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise RosterFileError(file, "is empty: expected a header line", line=1) from None
    except csv.Error as exc:
        raise RosterFileError(file, f"cannot be read as CSV ({exc})", line=1) from None
    header = [h.strip() for h in header]
    # Trailing empty header cells (a spreadsheet's, or moodle's OneRoster 1.2 roles.csv) name no
    # column: rows may leave them out or leave them empty.
    while header and not header[-1]:
        header.pop()
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise RosterFileError(file, "appears twice in the header", line=1, column=name)
        seen.add(name)
    for name in required:
        if name not in seen:
            raise RosterFileError(
                file,
                "is missing from the header",
                line=1,
                column=name,
                hint=f"the header is: {','.join(header)}",
            )

    def rows() -> Iterator[Row]:
        start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise RosterFileError(file, f"cannot be read as CSV ({exc})", line=start) from None
            line, start = start, reader.line_num + 1
            if not cells or all(not c.strip() for c in cells):
                continue  # blank line
            if len(cells) > len(header) and not any(c.strip() for c in cells[len(header) :]):
                cells = cells[: len(header)]  # trailing empty cells: nothing beyond the header
            if len(cells) > len(header):
                raise RosterFileError(
                    file,
                    f"has {len(cells)} cells but the header names {len(header)}",
                    line=line,
                    column=f"#{len(header) + 1}",
                    hint="quote cells that contain the delimiter",
                )
            if len(cells) < len(header):
                raise RosterFileError(
                    file,
                    f"has {len(cells)} cells but the header names {len(header)}",
                    line=line,
                    column=header[len(cells)],
                )
            yield Row(line, dict(zip(header, cells, strict=True)))

    return header, rows()
