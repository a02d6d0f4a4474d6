"""XLSX (openpyxl): a Summary sheet, then one sheet per section with a bold, frozen, filterable header.

openpyxl stores any string starting with "=" as a formula, which Excel would evaluate on opening (a
profile bio of `=HYPERLINK("http://evil",...)`). Every string cell is therefore forced to the string
type (`data_type = "s"`), so Excel shows the text and never runs it. Control characters, which XML
cannot hold, are replaced. The file's timestamps are the report's, so the same report gives the
same workbook contents.
"""

from __future__ import annotations

import io
import re
from typing import Any

from auditor.model.safetext import strip_controls
from reports.formats.base import Format
from reports.model import Report, text_of

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(title: str, taken: set[str]) -> str:
    base = _SHEET_BAD.sub(" ", title).strip()[:31] or "Sheet"
    name, n = base, 2
    while name.casefold() in taken:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(name.casefold())
    return name


def _put(ws: Any, row: int, col: int, value: object) -> Any:
    cell = ws.cell(row=row, column=col)
    if isinstance(value, int) and not isinstance(value, bool):
        cell.value = value
    else:
        cell.value = strip_controls(text_of(value), " ")  # type: ignore[arg-type]
        cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def workbook(report: Report) -> bytes:
    """The whole workbook, saved."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    wb = Workbook()
    created = report.generated_at.replace(tzinfo=None)
    wb.properties.created = created
    wb.properties.modified = created
    wb.properties.creator = "auditor"
    wb.properties.title = f"{report.title}: {report.district}"
    taken: set[str] = set()
    ws = wb.active
    ws.title = _sheet_title("Summary", taken)
    _put(ws, 1, 1, report.district).font = Font(bold=True, size=12)
    _put(ws, 2, 1, report.title).font = Font(bold=True, size=16)
    lines: list[tuple[str, object]] = [
        ("Generated", report.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        ("Policy", report.policy),
    ]
    lines += [(k.replace("_", " ").capitalize(), v) for k, v in report.scope.items() if v]
    row = 4
    for label, value in lines:
        _put(ws, row, 1, label).font = bold
        _put(ws, row, 2, value)
        row += 1
    row += 1
    _put(ws, row, 1, "Summary").font = bold
    summary = _put(ws, row, 2, report.summary)
    summary.alignment = wrap
    ws.row_dimensions[row].height = 15 * max(2, len(report.summary) // 90 + 1)
    row += 2
    _put(ws, row, 1, "Key figure").font = bold
    _put(ws, row, 2, "Value").font = bold
    for f in report.figures:
        row += 1
        _put(ws, row, 1, f.label)
        _put(ws, row, 2, f.value)
    row += 2
    _put(ws, row, 1, "Sheets").font = bold
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 100

    for section in report.sections:
        sheet = wb.create_sheet(_sheet_title(section.title, taken))
        row += 1
        _put(ws, row, 1, sheet.title)
        _put(ws, row, 2, f"{len(section.rows)} row(s). {section.description}".strip())
        for col, column in enumerate(section.columns, start=1):
            _put(sheet, 1, col, column.heading).font = bold
        widths = [len(c.heading) for c in section.columns]
        for r, values in enumerate((section.row_values(x) for x in section.rows), start=2):
            for col, value in enumerate(values, start=1):
                cell = _put(sheet, r, col, value)
                cell.alignment = wrap
                widths[col - 1] = max(widths[col - 1], min(60, len(text_of(value))))
        for col, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(col)].width = max(8, width + 2)
        sheet.freeze_panes = "A2"
        if section.rows:
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(section.columns))}{len(section.rows) + 1}"
        else:
            _put(sheet, 2, 1, section.empty)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


class Xlsx(Format):
    name = "xlsx"
    extension = "xlsx"
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    binary = True

    def render(self, report: Report) -> bytes:
        return workbook(report)
