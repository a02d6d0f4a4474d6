"""Long finding lists (issue 17): `audit` and `finding list` tables show the first --limit findings
with how many there are and how to get the rest; JSON and CSV, written row by row, give every one,
as the same text the whole-list renderer gave."""

from __future__ import annotations

import csv
import io
import json
import random

import pytest
from tabulate import tabulate

from auditor.cli.output import OutputFormat, json_envelope, render_rows, table_text, write_rows
from auditor.model.safetext import inert
from tests.e2e.conftest import Cli

ACCOUNTS = 30  # about three findings each offline: well over the table's 50


def district(cli: Cli) -> None:
    cli.init()
    people = "name,email,role,building\n" + "".join(
        f"Staff {i},staff{i}@d203.org,Teacher,school{i % 4}\n" for i in range(5)
    )
    accounts = "platform,handle,owner_email,purpose,building\n" + "".join(
        f"x,school{i:03d},staff{i % 5}@d203.org,school,school{i % 4}\n" for i in range(ACCOUNTS)
    )
    cli.ok("person", "import", str(cli.file("people.csv", people)))
    cli.ok("account", "import", str(cli.file("accounts.csv", accounts)))
    cli.ok("policy", "init", "--preset", "naperville-203")


def table_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("f") and "  " in line]


def test_the_audit_table_shows_the_first_50_and_says_how_to_get_the_rest(cli: Cli) -> None:
    district(cli)
    result = cli("audit", "--offline")
    assert result.exit_code == 3
    total = int(
        result.output.split(" findings; showing the first 50")[0].rsplit("\n", 1)[-1].replace(",", "")
    )
    assert total > 50
    assert len(table_lines(result.output)) == 50
    assert (
        f"{total:,} findings; showing the first 50: use --limit 0 for all of them, or --format json or csv"
        in (result.output)
    )

    listed = cli.ok("finding", "list", "--limit", "7")
    assert len(table_lines(listed.output)) == 7
    assert f"{total:,} findings; showing the first 7" in listed.output
    everything = cli.ok("finding", "list", "--limit", "0")
    assert len(table_lines(everything.output)) == total
    assert "showing the first" not in everything.output

    items = json.loads(cli.ok("finding", "list", "--format", "json").output)["items"]
    assert len(items) == total
    rows = list(csv.DictReader(io.StringIO(cli.ok("finding", "list", "--format", "csv").output)))
    assert [r["id"] for r in rows] == [i["id"] for i in items]
    assert table_lines(everything.output)[0].startswith(items[0]["id"])
    # The first seven are the whole list's first seven, in its order (the table picks them
    # without sorting everything).
    ids = [line.split()[0] for line in table_lines(everything.output)]
    assert [line.split()[0] for line in table_lines(listed.output)] == ids[:7]
    assert ids == [i["id"] for i in items]


def test_the_audit_s_json_carries_the_run_and_every_finding(cli: Cli) -> None:
    district(cli)
    result = cli("audit", "--offline", "--format", "json", "--limit", "3")
    body = json.loads(result.stdout)
    assert list(body) == ["schema", "version", "run", "items"]
    assert body["schema"] == "auditor/audit" and body["run"]["accounts_checked"] == ACCOUNTS
    assert len(body["items"]) == sum(body["run"]["active_by_severity"].values()) > 50


COLUMNS = [("id", "Id"), ("message", "Message")]


def rows(n: int) -> list[dict[str, object]]:
    return [
        {"id": f"f{i:04d}", "message": f"Message {i} \u202e\x1b[2J é", "evidence": {"n": i, "list": [1, "a"]}}
        for i in range(n)
    ]


def test_streamed_json_and_csv_are_the_text_the_whole_list_gave(capsys: pytest.CaptureFixture[str]) -> None:
    for n in (0, 1, 501, 1234):  # empty, one, across a batch boundary
        for fmt in (OutputFormat.JSON, OutputFormat.CSV):
            write_rows(iter(rows(n)), COLUMNS, fmt, schema="auditor/findings", total=n, limit=50)
            out = capsys.readouterr().out
            whole = (
                json_envelope("auditor/findings", rows(n))
                if fmt is OutputFormat.JSON
                else render_rows(rows(n), COLUMNS, fmt, schema="auditor/findings")
            )
            assert out == inert(whole).rstrip("\n") + "\n"
            assert "\x1b" not in out and "\u202e" not in out


def test_the_table_is_drawn_as_tabulate_draws_it() -> None:
    rnd = random.Random(17)
    pieces = ["a", "B", " ", "é", "中", "12.5", "-", "yes", "", "x y", "\n", "\t", "\u3000"]
    for _ in range(2000):
        ncol, nrow = rnd.randint(1, 5), rnd.randint(1, 6)
        heads = ["".join(rnd.choices(pieces[:10], k=rnd.randint(1, 3))) or "H" for _ in range(ncol)]
        body = [["".join(rnd.choices(pieces, k=rnd.randint(0, 6))) for _ in range(ncol)] for _ in range(nrow)]
        assert table_text(body, heads) == tabulate(
            body, headers=heads, tablefmt="simple", disable_numparse=True
        )
