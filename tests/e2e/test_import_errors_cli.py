"""Issue 13, "Errors all at once", through the CLI as users run it: a bad file lists every bad cell
of every line, with line and column, and the registry is left exactly as it was."""

from __future__ import annotations

import json

from tests.e2e.conftest import Cli

PEOPLE = (
    "name,email,kind,role\n"
    "Priya Raman,praman@d203.org,employee,Athletic Director\n"
    "Marcus Lee,mlee@d203.org,employee,Principal\n"
)


def _people(cli: Cli) -> list[dict[str, object]]:
    items: list[dict[str, object]] = json.loads(cli.ok("person", "list", "--json").output)["items"]
    return items


def test_a_file_with_many_bad_cells_lists_them_all_and_imports_nothing(cli: Cli) -> None:
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    before = _people(cli)
    bad = cli.file(
        "bad.csv",
        "name,email,kind,role,training_completed_on,adult\n"
        "Priya Raman,praman@d203.org,employee,Coach,2026-09-01,yes\n"  # fine: would update the role
        "Ann,not-an-email,teacher,,yesterday,perhaps\n"  # line 3: four bad cells
        "New Person,new@d203.org,employee,,2026-09-01,yes\n"  # fine: would be created
        ",mlee@d203.org,volunteer,,13/45/2026,\n",  # line 5: two bad cells
    )
    for args in ((), ("--json",), ("--dry-run",)):
        result = cli("person", "import", str(bad), *args)
        assert result.exit_code == 1, result.output
        errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
        assert [e.split(": ", 3)[2] for e in errors] == [
            "line 3, column email",
            "line 3, column kind",
            "line 3, column training_completed_on",
            "line 3, column adult",
            "line 5, column name",
            "line 5, column training_completed_on",
        ]
        assert "hint: 6 problems on 2 lines; nothing was imported." in result.output
    assert _people(cli) == before


def test_the_problem_list_stops_at_100_and_counts_the_rest(cli: Cli) -> None:
    cli.init()
    rows = "".join(f"P{i},bad{i},teacher\n" for i in range(80))
    result = cli("person", "import", str(cli.file("bad.csv", "name,email,kind\n" + rows)))
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 101 and errors[-1] == "error: ... and 60 more problems"
    assert "hint: 160 problems on 80 lines; nothing was imported." in result.output
    assert _people(cli) == []


def test_a_semicolon_file_imports_and_its_problems_say_how_it_was_read(cli: Cli) -> None:
    cli.init()
    semicolons = cli.file("eu.csv", 'name;email;role\r\n"Raman, Priya";praman@d203.org;Coach, North\r\n')
    done = cli.ok("person", "import", str(semicolons))
    assert f"note: {semicolons} was read as semicolon-separated" in done.stderr
    [person] = _people(cli)
    assert (person["name"], person["role"]) == ("Raman, Priya", "Coach, North")
    bad = cli("person", "import", str(cli.file("eu-bad.csv", "name;email\r\nAnn;ann\r\n")))
    assert bad.exit_code == 1
    assert "line 2, column email: 'ann' is not an email address" in bad.output
    assert "The file was read as semicolon-separated." in bad.output


def test_a_windows_1252_file_is_refused_with_its_line_and_the_fix(cli: Cli) -> None:
    cli.init()
    latin = cli.tmp / "latin.csv"
    latin.write_bytes("name,email\r\nJosé Núñez,jose@d203.org\r\n".encode("cp1252"))
    result = cli("person", "import", str(latin))
    assert result.exit_code == 1
    assert "line 2: not UTF-8 text (byte 0xE9, which is 'é' in Windows-1252" in result.output
    assert "'CSV UTF-8 (Comma delimited)'" in result.output
    assert _people(cli) == []
    unicode_text = cli.tmp / "unicode.txt"
    unicode_text.write_bytes("name\temail\r\nJosé Núñez\tjose@d203.org\r\n".encode("utf-16"))
    cli.ok("person", "import", str(unicode_text))
    assert [p["name"] for p in _people(cli)] == ["José Núñez"]
