"""Issue 13, "Errors all at once": a bad import file names every problem at once.

Every bad cell of every line, with its line and column, up to MAX_PROBLEMS (then a count); trailing
empty cells never matter; the delimiter (comma, semicolon, tab) is found from the header; UTF-16
files (Excel's "Unicode Text") are read, and a Windows-1252 file is refused with the line and the
hint it needs, never decoded into wrong characters. Every file is real bytes in tmp_path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import auditor.services.imports as importing
from auditor.model.errors import InputError
from auditor.model.types import Person, PersonKind, Platform
from auditor.services.imports import (
    ACCOUNT_COLUMNS,
    PERSON_COLUMNS,
    BadLinesError,
    parse_accounts,
    parse_people,
    read_note,
    read_people,
    read_rows,
)
from tests.auditor import xlsx_craft as craft

PEOPLE = {e: Person(id=f"p_{i}", name=e, email=e) for i, e in enumerate(["ann@d203.org", "bob@d203.org"])}


def _csv(tmp_path: Path, data: str | bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _book(tmp_path: Path, rows: list[list[str]], name: str = "f.xlsx") -> Path:
    shared: list[str] = []
    return craft.workbook(tmp_path / name, craft.sheet_xml(rows, shared=shared), shared)


def _bad(parse: Callable[[], Any]) -> BadLinesError:
    with pytest.raises(BadLinesError) as info:
        parse()
    return info.value


def _refused(parse: Callable[[], Any]) -> InputError:
    with pytest.raises(InputError) as info:
        parse()
    return info.value


def _where(err: BadLinesError) -> list[str]:
    """Each problem's "line N, column C" (or "line N"), without the path and the reason."""
    return [p.split(": ", 2)[1] for p in err.problems]


# -- every bad cell of every line ---------------------------------------------------------------------


def test_every_bad_cell_of_every_line_is_named_in_file_order(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "email,name,kind,training_completed_on,adult\n"
        "ann@d203.org,Ann,employee,2026-09-01,yes\n"
        "not-an-email,Bob,teacher,yesterday,perhaps\n"  # line 3: four bad cells
        "cal@d203.org,Cal,employee,2026-09-01,yes\n"
        "dee@d203.org,,student,13/45/2026,\n",  # line 5: name and date
    )
    err = _bad(lambda: parse_people(path))
    assert _where(err) == [
        "line 3, column email",
        "line 3, column kind",
        "line 3, column training_completed_on",
        "line 3, column adult",
        "line 5, column name",
        "line 5, column training_completed_on",
    ]
    assert err.problems[0] == f"{path}: line 3, column email: 'not-an-email' is not an email address"
    assert err.message == err.problems[0] and err.line == 3 and err.column == "email"
    assert (err.total, err.lines) == (6, 2)
    assert err.hint == "6 problems on 2 lines; nothing was imported."


def test_a_line_with_a_value_beyond_the_header_still_has_its_cells_checked(tmp_path: Path) -> None:
    long = "x" * 40_000
    path = _csv(
        tmp_path,
        f"name,email,notes,,kind\nAnn,ann@d203.org,{long},stray,teacher,extra,,more\n",
    )
    err = _bad(lambda: parse_people(path))
    assert err.problems == [
        f"{path}: line 2, column notes: 40,000 characters; a cell may have at most 32,767",
        f"{path}: line 2: a value in column D, which has no header",
        f"{path}: line 2, column kind: 'teacher' is not one of: employee, student, volunteer, community",
        f"{path}: line 2: 8 cells but only 5 columns (values in columns F and H, which have no header)",
    ]


def test_account_lines_name_every_bad_cell(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "platform,handle,owner_email,co_manager_emails,two_factor,profile_url,renewal_due\n"
        "myspace,lincolnhs,ghost@d203.org,bob@d203.org; eve@d203.org; fay@d203.org,maybe,ftp://x,soon\n"
        "x,lincolnhs,ann@d203.org,,yes,https://x.com/lincolnhs,2027-01-01\n"
        "x,@LincolnHS,ann@d203.org,,,,\n",  # a duplicate of line 3
    )
    err = _bad(lambda: parse_accounts(path, PEOPLE))
    reasons = [p.split(": ", 2)[2] for p in err.problems]
    assert _where(err) == [
        "line 2, column platform",
        "line 2, column owner_email",
        "line 2, column co_manager_emails",
        "line 2, column two_factor",
        "line 2, column profile_url",
        "line 2, column renewal_due",
        "line 4, column handle",
    ]
    assert reasons[1:] == [
        "ghost@d203.org is not in the registry",
        "eve@d203.org, fay@d203.org are not in the registry",
        "'maybe' is not yes or no",
        "'ftp://x' is not an http(s) link",
        "'soon' is not a date (use YYYY-MM-DD)",
        "x:@LincolnHS already appears on line 3",
    ]
    assert "Import people first" in err.hint


def test_problems_are_capped_at_100_then_counted(tmp_path: Path) -> None:
    header = "name,email,kind,adult\n"
    path = _csv(tmp_path, header + "".join(f"P{i},bad{i},teacher,perhaps\n" for i in range(60)))
    err = _bad(lambda: parse_people(path))
    assert (err.total, err.lines) == (180, 60)
    assert len(err.problems) == importing.MAX_PROBLEMS + 1
    assert err.problems[-1] == "... and 80 more problems"
    assert err.problems[-2].startswith(f"{path}: line 35, column email: ")  # line 2 + 99 // 3
    assert err.hint == "180 problems on 60 lines; nothing was imported."


def test_one_more_problem_is_singular(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "MAX_PROBLEMS", 2)
    path = _csv(tmp_path, "name,kind\nAnn,teacher\nBob,teacher\nCal,teacher\n")
    err = _bad(lambda: parse_people(path))
    assert err.problems[2:] == ["... and 1 more problem"]
    assert err.hint == "3 bad lines; nothing was imported."


def test_read_rows_names_every_line_of_cells_that_do_not_fit(tmp_path: Path) -> None:
    path = _csv(tmp_path, "name,,kind\nAnn,x,employee,y\nBob,,employee\nCal,z,employee\n")
    err = _bad(lambda: read_rows(path, PERSON_COLUMNS, ("name",)))
    assert _where(err) == ["line 2", "line 2", "line 4"]


def test_an_xlsx_file_names_every_bad_cell_too(tmp_path: Path) -> None:
    book = _book(
        tmp_path,
        [
            ["name", "email", "kind"],
            ["Ann", "ann", "teacher"],
            ["Bob", "bob@d203.org", "employee"],
            ["", "x@", ""],
        ],
    )
    err = _bad(lambda: parse_people(book))
    assert _where(err) == [
        "line 2, column email",
        "line 2, column kind",
        "line 4, column name",
        "line 4, column email",
    ]


# -- empty cells never matter ------------------------------------------------------------------------


def test_trailing_empty_cells_and_short_rows_are_fine_in_csv(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "name,email,kind,role\n"
        "Ann,ann@d203.org,employee,Principal,,,\n"  # long, the extra cells empty
        "Bob,bob@d203.org,employee,Coach,  , \t\n"  # long, the extra cells blank
        "Cal,cal@d203.org\n"  # short
        ",,,,,,\n",  # all empty: skipped
    )
    people = parse_people(path)
    assert [(p.name, p.kind, p.role) for p in people] == [
        ("Ann", PersonKind.EMPLOYEE, "Principal"),
        ("Bob", PersonKind.EMPLOYEE, "Coach"),
        ("Cal", PersonKind.EMPLOYEE, ""),
    ]


def test_trailing_empty_cells_and_short_rows_are_fine_in_xlsx(tmp_path: Path) -> None:
    book = _book(
        tmp_path,
        [
            ["name", "email", "kind", "role", "", ""],
            ["Ann", "ann@d203.org", "employee", "Principal", "", " "],
            ["Bob", "bob@d203.org"],
            ["Cal", "cal@d203.org", "student", "", "", "", "", "  "],
        ],
    )
    people = parse_people(book)
    assert [(p.name, p.kind, p.role) for p in people] == [
        ("Ann", PersonKind.EMPLOYEE, "Principal"),
        ("Bob", PersonKind.EMPLOYEE, ""),
        ("Cal", PersonKind.STUDENT, ""),
    ]


# -- the delimiter ---------------------------------------------------------------------------------


def test_a_semicolon_file_from_european_excel_is_read(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "\ufeffname;email;kind;role\r\n"
        '"Lee, Ann";ann@d203.org;employee;Principal, North\r\n'
        "Bob Ray;bob@d203.org;student;\r\n",
    )
    people = parse_people(path)
    assert [(p.name, p.email, p.kind, p.role) for p in people] == [
        ("Lee, Ann", "ann@d203.org", PersonKind.EMPLOYEE, "Principal, North"),
        ("Bob Ray", "bob@d203.org", PersonKind.STUDENT, ""),
    ]
    assert read_note(path, PERSON_COLUMNS) == "semicolon-separated"


def test_a_tab_separated_account_file_is_read(tmp_path: Path) -> None:
    path = _csv(tmp_path, "platform\thandle\towner_email\nx\tlincolnhs\tann@d203.org\n", "a.txt")
    [account] = parse_accounts(path, PEOPLE)
    assert (account.platform, account.handle, account.owner_id) == (Platform.X, "lincolnhs", "p_0")
    assert read_note(path, ACCOUNT_COLUMNS) == "tab-separated"


def test_problems_in_a_semicolon_file_say_how_it_was_read(tmp_path: Path) -> None:
    path = _csv(tmp_path, "name;kind\nAnn;teacher\nBob;teacher\n")
    err = _bad(lambda: parse_people(path))
    assert _where(err) == ["line 2, column kind", "line 3, column kind"]
    assert err.hint == "2 bad lines; nothing was imported. The file was read as semicolon-separated."
    assert err.note == "semicolon-separated"
    typo = _refused(lambda: parse_people(_csv(tmp_path, "name;emial\nAnn;a@d203.org\n", "typo.csv")))
    assert typo.message.endswith("line 1: unknown column 'emial'")
    assert typo.hint.endswith("The file was read as semicolon-separated.")


def test_a_comma_file_is_read_as_before_and_says_nothing(tmp_path: Path) -> None:
    path = _csv(tmp_path, "name,email\nAnn; Bob,ann@d203.org\n")  # a semicolon in a cell is just text
    assert [p.name for p in parse_people(path)] == ["Ann; Bob"]
    assert read_note(path, PERSON_COLUMNS) == ""
    assert read_note(_book(tmp_path, [["name"], ["Ann"]]), PERSON_COLUMNS) == ""


def test_a_delimiter_that_cannot_be_found_names_those_tried(tmp_path: Path) -> None:
    path = _csv(tmp_path, "name|email\nAnn|ann@d203.org\n")
    err = _refused(lambda: parse_people(path))
    assert err.message == (
        f"{path}: line 1: unknown column 'name|email'; no delimiter tried (comma, semicolon, tab) "
        "splits the header into known columns"
    )
    assert err.line == 1 and "docs/import.md" in err.hint


# -- encodings -------------------------------------------------------------------------------------

UNICODE_TEXT = "name\temail\tkind\r\nJosé Núñez\tjose@d203.org\tstudent\r\nZoë\tzoe@d203.org\temployee\r\n"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_a_utf16_file_is_read_as_excel_unicode_text(tmp_path: Path, codec: str) -> None:
    data = UNICODE_TEXT.encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    path = _csv(tmp_path, data, "people.txt")
    assert [(p.name, p.email, p.kind) for p in parse_people(path)] == [
        ("José Núñez", "jose@d203.org", PersonKind.STUDENT),
        ("Zoë", "zoe@d203.org", PersonKind.EMPLOYEE),
    ]
    assert read_note(path, PERSON_COLUMNS) == "UTF-16, tab-separated"
    assert read_people(path).given[0] == frozenset({"name", "email", "kind"})


def test_a_utf16_file_with_bad_cells_names_lines_and_the_encoding(tmp_path: Path) -> None:
    path = _csv(tmp_path, "name\tkind\r\nAnn\tteacher\r\nBob\tboss\r\n".encode("utf-16"), "p.txt")
    err = _bad(lambda: parse_people(path))
    assert _where(err) == ["line 2, column kind", "line 3, column kind"]
    assert err.hint.endswith("The file was read as UTF-16, tab-separated.")


def test_broken_utf16_names_its_line(tmp_path: Path) -> None:
    good = "name\tkind\r\nAnn\tstudent\r\n".encode("utf-16")
    path = _csv(tmp_path, good + "Bo".encode("utf-16-le") + b"\x00\xd8" + "b\r\n".encode("utf-16-le"))
    err = _refused(lambda: parse_people(path))
    assert err.message.startswith(f"{path}: line 3: not valid UTF-16 text")
    assert err.line == 3 and "CSV UTF-8" in err.hint


def test_a_windows_1252_file_names_the_line_the_letter_and_the_fix(tmp_path: Path) -> None:
    path = _csv(tmp_path, "name,email\r\nAnn,ann@d203.org\r\nJosé,jose@d203.org\r\n".encode("cp1252"))
    err = _refused(lambda: parse_people(path))
    assert err.message == (
        f"{path}: line 3: not UTF-8 text (byte 0xE9, which is 'é' in Windows-1252: the file looks like "
        "Windows-1252 or Latin-1 text)"
    )
    assert err.line == 3
    assert "'CSV UTF-8 (Comma delimited)'" in err.hint and "'CSV (Comma delimited)'" in err.hint


def test_bytes_that_are_not_windows_1252_either_get_no_guess(tmp_path: Path) -> None:
    path = _csv(tmp_path, b"name\nAnn\nB\x81b\n")
    err = _refused(lambda: parse_people(path))
    assert err.message == f"{path}: line 3: not UTF-8 text (byte 0x81)"
    assert "CSV UTF-8" in err.hint


def test_the_bad_line_is_right_past_the_first_megabyte(tmp_path: Path) -> None:
    # 40,000 lines of 32 bytes: past the reader's 1 MiB chunk, with "é" (2 bytes) split across it.
    filler = "".join(f"P{i:08d}é,p{i:08d}@d203.org\n" for i in range(40_000))
    assert len(("name,email\n" + filler).encode()) > 1 << 20
    head = "name,email\n" + filler
    path = _csv(tmp_path, head.encode() + "Jos\xe9,jose@d203.org\n".encode("latin-1"))
    err = _refused(lambda: parse_people(path))
    assert err.message.startswith(f"{path}: line 40002: not UTF-8 text (byte 0xE9")
    # "é" starting at the chunk's last byte: its second byte is in the next chunk, and that is fine.
    before = (1 << 20) - 1 - len(b"name,kind\n")
    lines, rest = divmod(before, 100)
    straddle = b"name,kind\n" + (b"x" * 91 + b",student\n") * lines + b"y" * rest + "é,student\n".encode()
    assert straddle.index("é".encode()) == (1 << 20) - 1
    assert parse_people(_csv(tmp_path, straddle, "straddle.csv"))[-1].name == "y" * rest + "é"


def test_utf16_without_its_byte_order_mark_is_not_read_as_utf8(tmp_path: Path) -> None:
    path = _csv(tmp_path, "name,email\nAnn,ann@d203.org\n".encode("utf-16-le"))
    err = _refused(lambda: parse_people(path))
    assert err.message == (
        f"{path}: line 1: the header holds NUL characters: the file is not UTF-8 text (it looks like "
        "UTF-16 without its byte-order mark)"
    )
