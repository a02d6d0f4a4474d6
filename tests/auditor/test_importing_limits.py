"""Issue 11: imports read hostile files within bounded memory and name every problem.

The XLSX files are built by hand (tests/auditor/xlsx_craft.py) so that they can lie: a `<dimension>`
smaller than the data (openpyxl's read-only mode trusted it and silently dropped the rows below), a
dimension the size of the whole grid, a sheet that inflates to gigabytes (declared honestly, or
hidden behind a zip directory that understates it), an entity-expansion DOCTYPE. Memory is measured
with tracemalloc around the parse; the bounds are generous (a few times what the reader needs),
while the failures they guard against cost hundreds of megabytes to gigabytes.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import auditor.services.imports as importing
from auditor.model.errors import InputError
from auditor.services.imports import BadLinesError, parse_accounts, parse_people
from tests.auditor import xlsx_craft as craft

MB = 1024 * 1024


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Peak bytes allocated by Python inside the block (in the list it yields, once it exits)."""
    out: list[int] = []
    tracemalloc.start()
    try:
        yield out
    finally:
        out.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


def people_rows(n: int) -> list[list[str]]:
    return [["name", "email"]] + [[f"Person {i}", f"p{i}@d203.org"] for i in range(n)]


def people_book(
    tmp_path: Path, rows: list[list[str]], dimension: str | None = None, name: str = "p.xlsx"
) -> Path:
    shared: list[str] = []
    return craft.workbook(tmp_path / name, craft.sheet_xml(rows, dimension, shared), shared)


def refused(parse: Callable[[], Any]) -> InputError:
    with pytest.raises(InputError) as info:
        parse()
    return info.value


# -- <dimension> is ignored -------------------------------------------------------------------------


@pytest.mark.parametrize("dimension", ["A1:B2", "C3:D4", "A1"])
def test_a_dimension_smaller_than_the_data_loses_no_row(tmp_path: Path, dimension: str) -> None:
    book = people_book(tmp_path, people_rows(50), dimension)
    people = parse_people(book)
    assert [p.email for p in people] == [f"p{i}@d203.org" for i in range(50)]
    assert people[-1].name == "Person 49"


def test_a_dimension_as_large_as_the_grid_costs_nothing(tmp_path: Path) -> None:
    book = people_book(tmp_path, people_rows(3), "A1:XFD1048576")
    with peak_memory() as peak:
        people = parse_people(book)
    assert len(people) == 3
    assert peak[0] < 10 * MB


def test_a_long_sheet_is_read_in_flat_memory(tmp_path: Path) -> None:
    """300,000 rows with nothing in them (formatting only), then one person: the reader keeps no
    element it has finished with (openpyxl kept one per row, ~100 bytes each, before reading a cell)."""
    rows = "".join(f'<row r="{r}" spans="1:2"/>' for r in range(2, 300_002))
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{craft.MAIN}"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>email</t></is></c></row>'
        f"{rows}"
        '<row r="300002"><c r="A300002" t="inlineStr"><is><t>Last Person</t></is></c>'
        '<c r="B300002" t="inlineStr"><is><t>last@d203.org</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    book = craft.workbook(tmp_path / "long.xlsx", sheet)
    with peak_memory() as peak:
        people = parse_people(book)
    assert [(p.name, p.email) for p in people] == [("Last Person", "last@d203.org")]
    assert peak[0] < 8 * MB


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        # openpyxl would yield two billion empty rows to get there
        ('<row r="2000000000"><c t="inlineStr"><is><t>x</t></is></c></row>',
         "the first sheet has a row numbered 2,000,000,000, past Excel's last row (1,048,576)"),
        ('<row r="3"/><row r="2"/>', "row 2 of the first sheet comes after row 3: rows out of order"),
        ('<row r="2"><c r="C2"/><c r="B2"/></row>',
         "row 2 of the first sheet has cell B2 after column C: cells out of order"),
        ('<row r="2"><c r="A3"/></row>', "cell reference 'A3' in row 2 of the first sheet is not valid"),
    ],
)  # fmt: skip
def test_rows_and_cells_out_of_order_or_range_are_refused(tmp_path: Path, rows: str, message: str) -> None:
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{craft.MAIN}"><sheetData>'
        f'<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>{rows}</sheetData></worksheet>'
    )
    book = craft.workbook(tmp_path / "odd.xlsx", sheet)
    err = refused(lambda: parse_people(book))
    assert err.message == f"{book}: {message}"


# -- zip bombs and hostile XML -----------------------------------------------------------------------


def _bomb(tmp_path: Path, declared: int | None) -> Path:
    """A sheet of 3.5 GB of `<row/>`, about 5 MB compressed; the zip directory states its true size
    or `declared`."""
    base = people_book(tmp_path, people_rows(2), name="base.xlsx")
    head = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{craft.MAIN}"><sheetData>'.encode()
    stream, size = craft.deflated_repeat(head, b"<row/>" * 1_000_000, 580, b"</sheetData></worksheet>")
    assert size > 3 * 1024**3
    path = tmp_path / ("bomb.xlsx" if declared is None else "liar.xlsx")
    return craft.zip_with_raw_member(path, base, "xl/worksheets/sheet1.xml", stream, declared or size)


def test_a_sheet_that_inflates_to_gigabytes_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path, None)
    assert bomb.stat().st_size < 8 * MB
    with peak_memory() as peak:
        err = refused(lambda: parse_people(bomb))
    assert err.message == (
        f"{bomb}: the workbook's first sheet (xl/worksheets/sheet1.xml) is 3,480,000,150 bytes "
        "uncompressed; an import reads at most 134,217,728"
    )
    assert "CSV" in err.hint
    assert peak[0] < 5 * MB


def test_a_zip_directory_that_understates_the_sheet_is_refused_as_damaged(tmp_path: Path) -> None:
    liar = _bomb(tmp_path, 100_000)
    with peak_memory() as peak:
        err = refused(lambda: parse_people(liar))
    assert err.message.startswith(f"{liar}: the workbook's first sheet is damaged")
    assert "save it again" in err.hint
    assert peak[0] < 10 * MB


def test_an_entity_expansion_doctype_is_refused(tmp_path: Path) -> None:
    entities = '<!ENTITY a0 "aaaaaaaaaa">' + "".join(
        f'<!ENTITY a{i} "' + f"&a{i - 1};" * 10 + '">' for i in range(1, 10)
    )
    strings = (
        f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE sst [{entities}]>'
        f'<sst xmlns="{craft.MAIN}"><si><t>&a9;</t></si></sst>'
    )
    sheet = craft.sheet_xml([["name"]], shared=[])  # refers to shared string 0
    book = craft.workbook(tmp_path / "laughs.xlsx", sheet, **{"xl/sharedStrings.xml": strings})
    with peak_memory() as peak:
        err = refused(lambda: parse_people(book))
    assert err.message == f"{book}: the workbook's shared strings declares a DOCTYPE, which XLSX never does"
    assert peak[0] < 5 * MB


def test_too_many_files_in_the_zip_and_a_file_that_is_no_zip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = people_book(tmp_path, people_rows(2))
    monkeypatch.setattr(importing, "MAX_ZIP_ENTRIES", 5)
    err = refused(lambda: parse_people(book))
    assert err.message == f"{book}: the workbook holds 7 files; an XLSX import may hold at most 5"
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"name,email\nAnn,ann@d203.org\n")
    assert refused(lambda: parse_people(fake)).message == f"{fake}: not a readable XLSX workbook (BadZipFile)"


# -- limits on rows, columns, cells and file size ------------------------------------------------------


def test_more_rows_than_the_limit_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "MAX_ROWS", 5)
    book = people_book(tmp_path, people_rows(6))
    csv_file = tmp_path / "p.csv"
    csv_file.write_text("\n".join(",".join(r) for r in people_rows(6)) + "\n")
    for path in (book, csv_file):
        err = refused(lambda path=path: parse_people(path))  # type: ignore[misc]
        assert err.message == f"{path}: line 7: more than 5 rows; an import file may have at most 5"
        assert err.hint == "Split it into several files."
    assert len(parse_people(people_book(tmp_path, people_rows(5), name="five.xlsx"))) == 5


def test_a_value_beyond_the_last_column_read_is_refused(tmp_path: Path) -> None:
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{craft.MAIN}"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>Ann</t></is></c>'
        '<c r="XFD2" t="inlineStr"><is><t>far away</t></is></c></row></sheetData></worksheet>'
    )
    book = craft.workbook(tmp_path / "wide.xlsx", sheet)
    err = refused(lambda: parse_people(book))
    assert err.message == (
        f"{book}: line 2: a value in column XFD; an import reads at most 256 columns (up to IV)"
    )


def test_a_cell_longer_than_excel_allows_names_its_line_and_column(tmp_path: Path) -> None:
    long = "x" * 40_000
    book = people_book(tmp_path, [["name", "notes", "kind"], ["Ann", long, "student"]])
    csv_file = tmp_path / "p.csv"
    csv_file.write_text(f"name,notes,kind\nAnn,{long},student\n")
    for path in (book, csv_file):
        err = refused(lambda path=path: parse_people(path))  # type: ignore[misc]
        assert (
            err.message == f"{path}: line 2, column notes: 40,000 characters; a cell may have at most 32,767"
        )


def test_a_file_larger_than_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    for name in ("huge.csv", "huge.xlsx"):
        huge = tmp_path / name
        with huge.open("wb") as fh:
            fh.truncate(2 * 1024**3)  # sparse
        with peak_memory() as peak:
            err = refused(lambda huge=huge: parse_people(huge))  # type: ignore[misc]
        assert (
            err.message
            == f"{huge}: the file is 2,147,483,648 bytes; an import file may have at most 67,108,864"
        )
        assert peak[0] < 1 * MB


def test_a_value_under_a_column_without_a_header_is_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("name,,kind\nAnn,forgotten,student\nBob,,student\n")
    err = refused(lambda: parse_people(path))
    assert err.message == f"{path}: line 2: a value in column B, which has no header"


# -- every bad line is named ----------------------------------------------------------------------------


def test_every_bad_line_is_named_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "name,email,kind,training_completed_on\n"
        "Ann,ann@d203.org,employee,2026-09-01\n"
        "Bob,bob@d203.org,teacher,\n"  # line 3: kind
        "Cal,cal@d203.org,employee,yesterday\n"  # line 4: date
        "Dee,dee@d203.org,employee,2026-09-01\n"
        ",eve@d203.org,employee,\n"  # line 6: name
        "Fay,ann@d203.org,employee,\n"  # line 7: duplicate email
        "Gus,gus@d203.org,employee,2026-09-01,extra\n"  # line 8: a cell beyond the header
    )
    with pytest.raises(BadLinesError) as info:
        parse_people(path)
    err = info.value
    assert [p.split(": ", 1)[1].split(":")[0] for p in err.problems] == [
        "line 3, column kind",
        "line 4, column training_completed_on",
        "line 6, column name",
        "line 7, column email",
        "line 8",
    ]
    assert err.message == err.problems[0] and err.line == 3 and err.column == "kind"
    assert err.hint.startswith("5 bad lines; nothing was imported.")


def test_accounts_name_every_bad_line_with_its_hint(tmp_path: Path) -> None:
    from auditor.model.types import Person

    people = {"ann@d203.org": Person(id="p_1", name="Ann", email="ann@d203.org")}
    path = tmp_path / "a.csv"
    path.write_text(
        "platform,handle,owner_email\n"
        "x,lincolnhs,ann@d203.org\n"
        "x,lincoln\u200bhs,ann@d203.org\n"
        "myspace,lincolnhs,ann@d203.org\n"
        "instagram,lincolnhs,ghost@d203.org\n"
    )
    with pytest.raises(BadLinesError) as info:
        parse_accounts(path, people)
    assert [p.split(": ", 1)[1] for p in info.value.problems] == [
        "line 3, column handle: 'lincoln\\u200bhs' contains \\u200b (ZERO WIDTH SPACE); a handle cannot "
        "contain control, invisible or text-direction characters",
        "line 4, column platform: " + info.value.problems[1].split("column platform: ")[1],
        "line 5, column owner_email: ghost@d203.org is not in the registry",
    ]
    assert "Import people first" in info.value.hint


# -- values read as before --------------------------------------------------------------------------------


def test_shared_and_rich_strings_numbers_booleans_and_dates(tmp_path: Path) -> None:
    strings = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{craft.MAIN}">'
        "<si><t>name</t></si><si><t>birth_date</t></si><si><t>employee_id</t></si><si><t>adult</t></si>"
        "<si><t>kind</t></si><si><t>grade</t></si>"
        '<si><r><rPr><b/></rPr><t xml:space="preserve">Zoë </t></r><r><t>Ruiz</t></r>'
        "<rPh><t>ぞえ</t></rPh></si>"
        "<si><t>student</t></si></sst>"
    )
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{craft.MAIN}"><sheetData>'
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
        '<c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c><c r="F1" t="s"><v>5</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>6</v></c><c r="B2" s="1"><v>46266</v></c><c r="C2"><v>1001</v></c>'
        '<c r="D2" t="b"><v>0</v></c><c r="E2" t="s"><v>7</v></c><c r="F2"><f>3+4</f><v>7</v></c></row>'
        "</sheetData></worksheet>"
    )
    book = craft.workbook(tmp_path / "typed.xlsx", sheet, **{"xl/sharedStrings.xml": strings})
    (ann,) = parse_people(book)
    assert ann.name == "Zoë Ruiz"  # rich-text runs joined, the phonetic guide left out
    assert ann.birth_date == date(2026, 9, 1)  # serial 46266 under the built-in date format 14
    assert ann.employee_id == "1001" and ann.adult is False and ann.grade == "7"


def test_a_workbook_saved_by_openpyxl_in_the_1904_calendar(tmp_path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    wb = Workbook()
    wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    assert ws is not None
    ws.append(["name", "email", "training_completed_on", "employee_id"])
    ws.append(["Ann Lee", "ann@d203.org", date(2026, 9, 1), 1001.0])
    wb.save(tmp_path / "mac.xlsx")
    (ann,) = parse_people(tmp_path / "mac.xlsx")
    assert ann.training_completed_on == date(2026, 9, 1) and ann.employee_id == "1001"
