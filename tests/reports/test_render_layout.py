"""What the fast paths of the formats must keep (issue 17): the workbook's layout (bold, frozen,
filterable header, wrapped cells, widths, the summary row's height, text never a formula), and the
HTML and terminal renderings equal to the plain way of producing them on hostile text."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.formats.xlsx import workbook
from reports.model import Column, Figure, Report, Section

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

HOSTILE = [
    "",
    " ",
    "plain",
    '=HYPERLINK("http://evil","x")',
    "+1",
    "-2",
    "@SUM(A1)",
    "tab\there",
    "bell\x07 esc\x1b[31m red",
    "rtl \u202egpj.exe",
    "line\nbreak",
    "cr\r\nlf",
    "lone\rcr",
    "<script>alert(1)</script> & \"quotes\" 'single'",
    "x" * 70,
    "word " * 20,
    "trailing space ",
    "  leading",
    "non-break\xa0space",
    "sep\u2028line",
    "12",
    "ÆØÅ ünïcødé 漢字",
]


def _report(rows: list[dict[str, object]]) -> Report:
    cols = (
        Column("a", "Alpha"),
        Column("b", "B"),
        Column("url", "Profile", link=True),
        Column("n", "Number"),
    )
    return Report(
        kind="test",
        title="Test report",
        generated_at=NOW,
        district="District =1+1",
        policy="p1",
        scope={"run": "r1", "empty": ""},
        summary="S" * 200,
        figures=(Figure("f", "Figure", 3), Figure("g", "Text figure", "=x")),
        sections=(
            Section("one", "One: [bad]/name*?", cols, tuple(rows), notes=("a note",), description="desc"),
            Section("two", "Empty", cols, (), empty="Nothing here."),
        ),
    )


def _rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i, text in enumerate(HOSTILE):
        rows.append({"a": text, "b": [text, "second"], "url": "https://x.com/a", "n": i})
    rows.append({"a": None, "b": True, "url": "javascript:alert(1)", "n": None})
    rows.append({"a": False, "b": [], "url": None})
    return rows


def test_workbook_layout() -> None:
    from openpyxl import load_workbook

    report = _report(_rows())
    wb = load_workbook(io.BytesIO(workbook(report)))
    assert wb.sheetnames == ["Summary", "One   bad  name", "Empty"]
    assert wb.properties.creator == "auditor"
    assert wb.properties.created == NOW.replace(tzinfo=None)
    summary = wb["Summary"]
    assert summary["A1"].value == "District =1+1" and summary["A1"].data_type == "s"
    assert summary["A1"].font.b and summary["A1"].font.sz == 12
    assert summary["A2"].font.b and summary["A2"].font.sz == 16
    labels = [summary.cell(row=r, column=1).value for r in range(1, summary.max_row + 1)]
    row = labels.index("Summary") + 1
    assert summary.cell(row=row, column=2).alignment.wrap_text
    assert summary.row_dimensions[row].height == 45
    assert summary.column_dimensions["A"].width == 28 and summary.column_dimensions["B"].width == 100
    figures = {summary.cell(row=r, column=1).value: summary.cell(row=r, column=2) for r in range(1, 40)}
    assert figures["Figure"].value == 3 and figures["Figure"].data_type == "n"
    assert figures["Text figure"].value == "=x" and figures["Text figure"].data_type == "s"
    assert figures["One   bad  name"].value == "24 row(s). desc"
    sheet = wb["One   bad  name"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:D25"
    assert [c.value for c in sheet[1]] == ["Alpha", "B", "Profile", "Number"]
    assert all(c.font.b for c in sheet[1])
    assert sheet.column_dimensions["A"].width == 62 and sheet.column_dimensions["D"].width == 8
    for r in range(2, sheet.max_row + 1):
        for c in sheet[r]:
            assert c.data_type != "f", c.coordinate
            assert c.alignment.wrap_text and c.alignment.vertical == "top", c.coordinate
    values = [sheet.cell(row=r, column=1).value for r in range(2, sheet.max_row + 1)]
    assert '=HYPERLINK("http://evil","x")' in values
    assert all("\x1b" not in str(v) and "\u202e" not in str(v) for v in values)
    assert sheet.cell(row=2 + len(HOSTILE), column=2).value == "yes"
    assert sheet.cell(row=3 + len(HOSTILE), column=1).value == "no"
    empty = wb["Empty"]
    assert empty.freeze_panes == "A2" and empty.auto_filter.ref is None
    assert empty["A2"].value == "Nothing here."


def test_workbook_cells_are_the_report_cells() -> None:
    """Every cell of a section sheet read back as the report holds it: an int a number, any other
    value its text with controls replaced (an empty text an empty cell), always of string type."""
    from openpyxl import load_workbook

    from auditor.model.safetext import strip_controls
    from reports.model import text_of

    report = _report(_rows())
    sheet = load_workbook(io.BytesIO(workbook(report)))["One   bad  name"]
    section = report.sections[0]
    for r, row in enumerate(section.rows, start=2):
        for c, value in enumerate(section.row_values(row), start=1):
            cell = sheet.cell(row=r, column=c)
            if isinstance(value, int) and not isinstance(value, bool):
                assert (cell.value, cell.data_type) == (value, "n"), cell.coordinate
            else:
                text = strip_controls(text_of(value), " ")
                assert cell.value == (text or None), cell.coordinate
                assert cell.data_type == "s" or not text, cell.coordinate


def test_workbook_is_the_same_bytes_for_the_same_report() -> None:
    import zipfile
    from xml.dom.minidom import parseString

    from openpyxl import load_workbook

    report = _report(_rows())
    data = workbook(report)
    assert workbook(report) == data
    props = load_workbook(io.BytesIO(data)).properties
    assert props.created == props.modified == NOW.replace(tzinfo=None)
    assert props.title == "Test report: District =1+1"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            parseString(zf.read(info))  # noqa: S318 (our own output): every part is well-formed XML


def test_workbook_text_xml_cannot_hold() -> None:
    """What XML refuses besides controls (a lone surrogate, U+FFFE, U+FFFF) becomes a space, and a
    text longer than a cell holds is cut at 32,767 characters, as openpyxl cut it."""
    from openpyxl import load_workbook

    texts = ["a\ud800b", "a\ufffeb", "a\uffffb", "x" * 40_000, "<&>", "smile \U0001f600"]
    rows: list[dict[str, object]] = [{"a": t} for t in texts]
    sheet = load_workbook(io.BytesIO(workbook(_report(rows))))["One   bad  name"]
    assert [sheet.cell(row=r, column=1).value for r in range(2, 2 + len(texts))] == [
        "a b", "a b", "a b", "x" * 32_767, "<&>", "smile \U0001f600",
    ]  # fmt: skip


WRAP_CASES = [
    *HOSTILE,
    "a-very-long-hyphenated-word-that-goes-on-and-on-past-the-width-of-a-cell",
    "exactly forty-eight characters long, to the end!"[:48],
    "forty-nine characters long, one past the edge!!!!"[:49],
    "   ",
    "\n\nblank lines\n\n\nkept out\n",
    "word " * 9 + "end ",
    "x" * 48 + " ",
    "  x" + " " * 60,
    "ünï " * 30,
]


@pytest.mark.parametrize("text", WRAP_CASES)
def test_table_cells_wrap_as_tabulate_wraps_them(text: str) -> None:
    from tabulate import tabulate

    from reports.formats.table import MAX_CELL, _clean, _wrapped

    cell = _clean(text)
    expected = tabulate(
        [[cell]], headers=["H"], tablefmt="simple", disable_numparse=True, maxcolwidths=MAX_CELL
    )
    assert tabulate([[_wrapped(cell)]], headers=["H"], tablefmt="simple", disable_numparse=True) == expected


@pytest.mark.parametrize(
    "text", [*WRAP_CASES, "well-known hyphen-ated words " * 4, "x" * 30 + " " + "y" * 60]
)
def test_table_lines_wrap_as_textwrap_wraps_them(text: str) -> None:
    from reports.formats.table import _WRAP, _clean, _wrap_line

    for line in _clean(text).splitlines():
        assert _wrap_line(line) == _WRAP.wrap(line)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "-", "--", " ", "x" * 30, "é", "1", ".", "'", "漢", "\xa0"])).map(
        "".join
    )
)
def test_table_wrap_matches_textwrap_on_any_words(words: str) -> None:
    from reports.formats.table import _WRAP, _wrap_line

    assert _wrap_line(words) == _WRAP.wrap(words)


TABLE_CELLS = [
    *HOSTILE,
    "",
    "   ",
    "漢字漢字",
    "line one\nline two that is longer\n",
    "\nleading newline",
    "a\n\nb",
    "soft\xadhyphen",
    "next\x85line",
    "\xa0nbsp\xa0",
    "3.14",
    "True",
    "x" * 60,
]


@pytest.mark.parametrize("multiline", [False, True])
def test_simple_table_is_tabulates(multiline: bool) -> None:
    from tabulate import tabulate

    from reports.formats.table import simple_table

    cells = [c for c in TABLE_CELLS if multiline or ("\n" not in c and "\r" not in c)]
    rows = [
        [cells[i % len(cells)], cells[(i * 7 + 3) % len(cells)], cells[(i * 5 + 1) % len(cells)]]
        for i in range(60)
    ]
    headers = ["A heading", "B", "A heading longer than its cells are"]
    expected = tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
    assert simple_table(rows, headers) == expected
    assert simple_table([["", "", ""]], headers) == tabulate(
        [["", "", ""]], headers=headers, tablefmt="simple", disable_numparse=True
    )


@pytest.mark.parametrize("value", [*HOSTILE, None, True, False, 0, 7, ["a<b", "c\x1bd"], ("x", "y")])
def test_html_escape_fast_path_is_the_plain_escape(value: object) -> None:
    from html import escape

    from auditor.model.safetext import strip_controls
    from reports.formats.html import esc
    from reports.model import text_of

    assert esc(value) == escape(strip_controls(text_of(value), " "), quote=True)  # type: ignore[arg-type]


def test_html_cells_and_links() -> None:
    from reports.formats.html import document

    page = document(_report(_rows())).decode()
    assert '<td class="c-a">=HYPERLINK(&quot;http://evil&quot;,&quot;x&quot;)</td>' in page
    assert (
        '<td class="c-a">&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; &#x27;single&#x27;</td>'
        in page
    )
    assert (
        '<td class="c-url"><a href="https://x.com/a" rel="noopener noreferrer nofollow">https://x.com/a</a></td>'
        in page
    )
    assert '<td class="c-url">javascript:alert(1)</td>' in page
    assert '<td class="c-n num">3</td>' in page and '<td class="c-n"></td>' in page
    assert '<td class="c-b">yes</td>' in page and '<td class="c-a">no</td>' in page
    assert "\x1b" not in page and "\u202e" not in page and "<script>" not in page
