"""CSV: one file per report that opens cleanly in Excel and LibreOffice.

UTF-8 with a byte-order mark (Excel then reads accents correctly), CRLF line ends, and a fixed
header per kind: `section`, then every column of every section in order of first appearance (a
section's columns are fixed by its kind, whatever the data). Each row says which section it belongs
to and leaves the other sections' columns empty, so one filter on `section` gives each table; the
key figures come first as `section=summary` rows (`figure`, `value`). Cells a spreadsheet would run
as a formula (starting with = + - @, tab or carriage return) are prefixed with ' (OWASP "CSV
injection"), and control and bidi characters are shown as visible escapes such as `\\x1b`, so the
file is also inert when printed to a terminal (`auditor.model.safetext.csv_safe`, shared with every CSV the
CLI writes).
"""

from __future__ import annotations

import csv
import io

from auditor.model.safetext import csv_safe
from reports.formats.base import Format
from reports.model import Report, text_of

BOM = "\ufeff"


def header(report: Report) -> list[str]:
    keys: list[str] = ["section", "figure", "value"]
    for s in report.sections:
        keys += [c.key for c in s.columns if c.key not in keys]
    return keys


class Csv(Format):
    name = "csv"
    extension = "csv"
    media_type = "text/csv"

    def render(self, report: Report) -> bytes:
        keys = header(report)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(keys)

        def emit(values: dict[str, object]) -> None:
            writer.writerow([csv_safe(text_of(values.get(k))) for k in keys])  # type: ignore[arg-type]

        for f in report.figures:
            emit({"section": "summary", "figure": f.key, "value": f.value})
        for s in report.sections:
            for row in s.rows:
                emit({"section": s.id, **row})
        return (BOM + buf.getvalue()).encode("utf-8")
