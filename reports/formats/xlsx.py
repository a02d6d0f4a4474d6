"""XLSX (openpyxl): a Summary sheet, then one sheet per section with a bold, frozen, filterable header.

openpyxl stores any string starting with "=" as a formula, which Excel would evaluate on opening (a
profile bio of `=HYPERLINK("http://evil",...)`). Every string cell is therefore forced to the string
type (`data_type = "s"`), so Excel shows the text and never runs it. Control characters, which XML
cannot hold, are replaced. The file's timestamps are the report's, so the same report gives the
same workbook contents. The workbook is openpyxl's write-only one (rows streamed, each cell's style
shared rather than looked up per cell: issue 17, 10,000 accounts), so a sheet's widths, frozen
header and filter are decided before its rows are written.
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


class _Sheet:
    """A write-only sheet filled row by row: cells as `Cell`s with a style shared by reference
    (one `StyleArray` per style, not a style lookup per cell), strings always of string type."""

    def __init__(self, ws: Any, styles: dict[str, Any]) -> None:
        self.ws = ws
        self.styles = styles

    def cell(self, value: object, style: str = "") -> Any:
        from openpyxl.cell import Cell

        cell = Cell(self.ws, row=1, column=1, style_array=self.styles.get(style))
        if isinstance(value, int) and not isinstance(value, bool):
            cell.value = value
        else:
            cell.value = strip_controls(text_of(value), " ")  # type: ignore[arg-type]
            cell.data_type = "s"  # never a formula, whatever the text starts with
        return cell

    def row(self, *cells: Any) -> None:
        self.ws.append(list(cells))


def _styles(ws: Any) -> dict[str, Any]:
    """The StyleArray of each cell style the workbook uses, made once through openpyxl's own style
    descriptors on a cell of `ws` that is never written."""
    from openpyxl.cell import Cell
    from openpyxl.styles import Alignment, Font

    wanted = {
        "bold": {"font": Font(bold=True)},
        "district": {"font": Font(bold=True, size=12)},
        "title": {"font": Font(bold=True, size=16)},
        "wrap": {"alignment": Alignment(wrap_text=True, vertical="top")},
    }
    out: dict[str, Any] = {}
    for name, attrs in wanted.items():
        cell = Cell(ws)
        for attr, value in attrs.items():
            setattr(cell, attr, value)
        out[name] = cell._style
    return out


def workbook(report: Report) -> bytes:
    """The whole workbook, saved. Written with openpyxl's write-only workbook (rows streamed in
    order), so every sheet's column widths, frozen header and filter are set before its rows."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    created = report.generated_at.replace(tzinfo=None)
    wb.properties.created = created
    wb.properties.modified = created
    wb.properties.creator = "auditor"
    wb.properties.title = f"{report.title}: {report.district}"
    taken: set[str] = set()
    summary_ws = wb.create_sheet(_sheet_title("Summary", taken))
    styles = _styles(summary_ws)
    titles = [_sheet_title(section.title, taken) for section in report.sections]
    summary_ws.column_dimensions["A"].width = 28
    summary_ws.column_dimensions["B"].width = 100
    ws = _Sheet(summary_ws, styles)
    ws.row(ws.cell(report.district, "district"))
    ws.row(ws.cell(report.title, "title"))
    ws.row()
    lines: list[tuple[str, object]] = [
        ("Generated", report.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        ("Policy", report.policy),
    ]
    lines += [(k.replace("_", " ").capitalize(), v) for k, v in report.scope.items() if v]
    for label, value in lines:
        ws.row(ws.cell(label, "bold"), ws.cell(value))
    ws.row()
    summary_ws.row_dimensions[5 + len(lines)].height = 15 * max(2, len(report.summary) // 90 + 1)
    ws.row(ws.cell("Summary", "bold"), ws.cell(report.summary, "wrap"))
    ws.row()
    ws.row(ws.cell("Key figure", "bold"), ws.cell("Value", "bold"))
    for f in report.figures:
        ws.row(ws.cell(f.label), ws.cell(f.value))
    ws.row()
    ws.row(ws.cell("Sheets", "bold"))
    for section, title in zip(report.sections, titles, strict=True):
        ws.row(ws.cell(title), ws.cell(f"{len(section.rows)} row(s). {section.description}".strip()))

    for section, title in zip(report.sections, titles, strict=True):
        sheet = wb.create_sheet(title)
        keys = [c.key for c in section.columns]
        rows = [[row.get(k) for k in keys] for row in section.rows]
        widths = [len(c.heading) for c in section.columns]
        for values in rows:
            for i, value in enumerate(values):
                if value is not None:
                    widths[i] = max(widths[i], min(60, len(text_of(value))))
        for col, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(col)].width = max(8, width + 2)
        sheet.freeze_panes = "A2"
        if section.rows:
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(section.columns))}{len(section.rows) + 1}"
        out = _Sheet(sheet, styles)
        out.row(*(out.cell(c.heading, "bold") for c in section.columns))
        for values in rows:
            out.row(*(out.cell(v, "wrap") for v in values))
        if not section.rows:
            out.row(out.cell(section.empty))
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
