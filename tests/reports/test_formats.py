"""Reports of the sample district in every text format against golden files, and what a reader of
each format relies on: CSV that Excel opens as text, JSON with its schema, XLSX read back. Every
format of the registry renders every kind (reports/formats/__init__.py `FORMATS`).

Regenerate the golden files after an intended change with `AUDITOR_UPDATE_GOLDEN=1 pytest
tests/reports` and review the diff.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import reports
from auditor.cli import app
from auditor.services.notify.attachments import AttachSpec, parse_attach
from auditor.services.reporting import build_report
from reports.formats import FORMATS, Format, format_for_path, format_named
from reports.kinds import KINDS
from tests.reports.conftest import NOW, District
from tests.reports.hostile import payloads, plant

GOLDEN = Path(__file__).parent / "golden"
# Read at import: tests/conftest.py clears every AUDITOR_* variable before each test runs.
UPDATE = os.environ.get("AUDITOR_UPDATE_GOLDEN") == "1"
GOLDEN_KINDS = tuple(KINDS)  # a new kind needs its golden files (AUDITOR_UPDATE_GOLDEN=1)


def test_every_kind_and_format_has_an_implementation() -> None:
    for name, kind in KINDS.items():
        assert kind.name == name and kind.pack_note
        assert callable(kind.build)
    for name, fmt in FORMATS.items():
        assert isinstance(fmt, Format) and fmt.name == name
        assert callable(fmt.render)


def test_to_format_is_exhaustive(district: District) -> None:
    """Every registered format renders every kind, is what its file extension means, and is accepted
    wherever a format is named (`auditor report --format`, `--attach KIND:FORMAT`)."""
    reg = district.open()
    try:
        built = {kind: build_report(kind, reg, now=NOW) for kind in KINDS}
    finally:
        reg.close()
    help_text = " ".join(CliRunner().invoke(app, ["report", "findings", "--help"]).output.split())
    extensions = [fmt.extension for fmt in FORMATS.values()]
    assert len(set(extensions)) == len(extensions)
    for name, fmt in FORMATS.items():
        maintype, slash, subtype = fmt.media_type.partition("/")
        assert maintype and slash and subtype, fmt.media_type
        assert format_for_path(Path(f"report.{fmt.extension.upper()}")) is fmt
        assert name in help_text
        assert parse_attach([f"findings:{name}"]) == (AttachSpec("findings", name),)
        assert format_named(name) is fmt  # what `reports.render(report, name)` renders with
        for kind, report in built.items():
            data = fmt.render(report)
            assert isinstance(data, bytes) and data, (name, kind)


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_golden(district: District, fmt: str) -> None:
    reg = district.open()
    try:
        rendered = {kind: reports.render(build_report(kind, reg, now=NOW), fmt) for kind in GOLDEN_KINDS}
    finally:
        reg.close()
    ext = FORMATS[fmt].extension
    for kind, data in rendered.items():
        path = GOLDEN / f"{kind}.{ext}"
        if UPDATE:
            path.write_bytes(data)
        assert path.exists(), f"{path} missing: run with AUDITOR_UPDATE_GOLDEN=1"
        assert data == path.read_bytes(), f"{kind} {fmt} differs from {path.name}"


def test_the_findings_report_says_what_a_compliance_officer_needs(district: District) -> None:
    reg = district.open()
    try:
        report = build_report("findings", reg, now=NOW)
        older = build_report("findings", reg, run="previous", now=NOW)
    finally:
        reg.close()
    assert report.summary.startswith(
        "As of audit run run-20260601-3 (2026-06-01 02:00 UTC): 5 open findings (3 high and 2 medium)"
    )
    rows = {(r["check"], r["account"]): r for r in report.section("findings").rows}
    waived = rows[("platform.not_approved", "Bluesky account nchsband.bsky.social")]
    assert (waived["state"], waived["waiver_reason"], waived["waived_until"]) == (
        "waived",
        "Band boosters move to Instagram in the autumn",
        "2026-09-01",
    )
    missing = rows[("escrow.missing", "Bluesky account nchsband.bsky.social")]
    assert missing["clauses"] == ["N203-SECURITY"]
    assert "auditor secret set bluesky:nchsband.bsky.social" in missing["remediation"]
    trend = report.section("trend").rows
    assert [(r["run"], r["open"]) for r in trend] == [
        ("run-20260501-1", 7),
        ("run-20260515-2", 6),
        ("run-20260601-3", 5),
    ]
    # The run before: the personal login address was still open, and it was new then.
    older_rows = {r["check"]: r for r in older.section("findings").rows}
    assert older_rows["login.non_district_email"]["state"] == "resolved"
    assert older.scope["run"] == "run-20260515-2"


def test_csv_opens_in_excel_as_text(district: District) -> None:
    with_payloads = payloads("http://127.0.0.1:9")
    plant(district, "http://127.0.0.1:9")
    reg = district.open()
    try:
        data = reports.render(build_report("inventory", reg), "csv")
        activity = reports.render(build_report("activity", reg), "csv")
    finally:
        reg.close()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the accents right
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [
        "section", "figure", "value", "platform", "handle", "display_name", "profile_url", "building",
        "purpose", "status", "owner", "co_managers", "student_managers", "approved_on", "approved_by",
        "renewal_due", "escrow", "escrow_note", "last_audit",
    ]  # fmt: skip
    names = {r["handle"]: r["display_name"] for r in rows if r["section"] == "accounts"}
    assert names["naperville203"] == "'" + with_payloads["formula"]
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    reasons = [r["reason"] for r in csv.DictReader(io.StringIO(activity.decode("utf-8-sig"))) if r["reason"]]
    assert any(r.startswith("'-2+3+cmd|") for r in reasons)


def test_json_is_the_documented_envelope(district: District) -> None:
    reg = district.open()
    try:
        data = json.loads(reports.render(build_report("escrow", reg, now=NOW), "json"))
    finally:
        reg.close()
    assert list(data) == [
        "schema", "version", "kind", "title", "generated_at", "district", "policy", "scope", "summary",
        "sections", "charts",
    ]  # fmt: skip
    assert (data["schema"], data["version"]) == ("auditor/report/escrow", 1)
    assert list(data["sections"]) == ["missing", "stale", "tasks", "coverage"]
    assert data["summary"]["figures"]["overdue_tasks"] == 1
    assert data["sections"]["tasks"]["rows"][0]["overdue"] == "47 days overdue"


def test_xlsx_reads_back_with_formula_like_text_as_strings(district: District, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    p = plant(district, "http://127.0.0.1:9")
    reg = district.open()
    try:
        path = reports.write_report(build_report("inventory", reg), "xlsx", tmp_path / "inv.xlsx")
        findings = reports.write_report(build_report("findings", reg), "xlsx", tmp_path / "f.xlsx")
    finally:
        reg.close()
    assert path.stat().st_mode & 0o777 == 0o600
    wb = load_workbook(path)
    assert wb.sheetnames == ["Summary", "Accounts"]
    ws = wb["Accounts"]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["Platform", "Handle", "Name", "Profile"]
    assert ws.freeze_panes == "A2"
    cells = {ws.cell(row=r, column=2).value: ws.cell(row=r, column=3) for r in range(2, ws.max_row + 1)}
    bio = cells["naperville203"]
    assert bio.value == p["formula"] and bio.data_type == "s"  # text, never a formula
    assert "\x1b" not in str(cells["nnhs_athletics"].value)
    summary = wb["Summary"]
    assert summary["A1"].value == "Naperville Community Unit School District 203"
    labels = {summary.cell(row=r, column=1).value: summary.cell(row=r, column=2).value for r in range(1, 40)}
    assert labels["Summary"].startswith("Naperville Community Unit School District 203 has 4 active accounts")
    assert labels["Escrow missing"] == 1
    # Every cell of every sheet: nothing is stored as a formula.
    for sheet in load_workbook(findings):
        for row in sheet.iter_rows():
            assert all(c.data_type != "f" for c in row), sheet.title
    assert load_workbook(findings).sheetnames[:3] == ["Summary", "Findings", "Open findings by severity"]


def test_table_has_no_terminal_escapes_and_binary_formats_need_a_file(district: District) -> None:
    plant(district, "http://127.0.0.1:9")
    reg = district.open()
    try:
        report = build_report("inventory", reg)
    finally:
        reg.close()
    text = reports.render(report, "table").decode()
    assert "\x1b" not in text and "\x07" not in text
    assert "]0;pwned" in text  # the text is kept, only the control characters go
    assert "\x1b[1m" in reports.render(report, "table", color=True).decode()
    assert {"xlsx"} == {name for name, fmt in FORMATS.items() if fmt.binary}


def test_html_cells_repeated_past_the_column_memo_render_as_the_first() -> None:
    """The HTML writer remembers a column's first 2,048 distinct texts: a hostile value or a
    javascript: link repeated in thousands of rows, before and after the memo is full, is
    escaped and de-linked in every row exactly as in the first."""
    from html.parser import HTMLParser

    from reports.formats.html import section_html
    from reports.model import Column, Section

    hostile = ["<script>alert(1)</script>", "javascript:alert(1)", "https://ok.example/a?b=1&c=2", "high", ""]
    filler = [f"value {i} <b>" for i in range(3000)]  # fills the memo before the hostile values come again
    rows = [{"v": v, "u": v, "severity": v} for v in hostile + filler + hostile]
    cols = (Column("v", "Value"), Column("u", "URL", link=True), Column("severity", "Severity"))
    page = section_html(Section(id="t", title="T", columns=cols, rows=tuple(rows)))

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "tr":
                self.rows.append("")
            elif self.rows:
                self.rows[-1] += f"<{tag} {sorted(attrs)}>"

        def handle_data(self, data: str) -> None:
            if self.rows:
                self.rows[-1] += data.strip()

    parsed = Cells()
    parsed.feed(page)
    body = parsed.rows[1:]  # the header row first
    assert len(body) == len(rows)
    assert body[: len(hostile)] == body[-len(hostile) :]
    assert "<script" not in page and 'href="javascript' not in page
    assert (
        body[2].count("<a ") == 1 and body[1].count("<a ") == 0
    )  # the https URL is a link, javascript: is not
    assert "badge" in body[3]  # severity tone kept from the memo
