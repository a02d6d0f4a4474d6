"""Issue 11, terminal injection: hostile text in every field a person or a platform controls, and
every command that shows it. Nothing printed may carry a raw escape (ESC, CSI as C1), a bare CR, a
backspace, NUL, DEL or a bidi control; the text stays readable, with the odd characters shown as
visible escapes (`\\x1b`, `\\u202e`), and JSON still parses to the exact value.

The hostile text enters through every path that still accepts it: a loopback Bluesky that answers
with it (display name, bio, website and the handle it returns), `--notes` / `--display-name` on the
command line, and records stored before names and handles were validated (written through the
library, as an older version or a roster sync would have). Names and handles with control
characters are refused where they enter now: see the tests at the end.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import Result

from auditor.model.types import Secret
from reports.formats import FORMATS
from reports.kinds import KINDS
from tests.e2e.conftest import PASSPHRASE, Cli

# Window title (OSC), clear screen and colour (CSI, also as the C1 byte), CR overwriting the line,
# backspace, NUL, DEL, and the bidi family (RLO, LRI, RLM, ALM, PDF).
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\rFAKE\x08\x00\x7f\u202egpj.exe\u2066\u200f\u061c\u202c\x9b31m"
# What must never reach a terminal: C0 controls but newline and tab (CR only as part of CRLF), DEL,
# C1, the bidi controls, the line and paragraph separators.
RAW = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]|\r(?!\n)"
)

PEOPLE = (
    "name,email,kind,role,building,status\n"
    "Dana Whitfield,dw@d203.org,employee,Director,district-office,active\n"
    "Priya Raman,pr@d203.org,employee,Athletic Director,nnhs,active\n"
)
ACCOUNTS = (
    "platform,handle,display_name,building,purpose,owner_email\n"
    "bluesky,nchsband.bsky.social,NCHS Band,nnhs,activity,pr@d203.org\n"
    "x,naperville203,Naperville 203,district-office,district,dw@d203.org\n"
    "instagram,nnhs_athletics,NNHS Athletics,nnhs,athletics,pr@d203.org\n"
)


def inert(result: Result) -> str:
    """Everything the command printed (stdout and stderr, as bytes decode), asserted free of raw
    control and bidi characters; returned for further checks."""
    text = result.stdout_bytes.decode("utf-8", "replace") + result.stderr_bytes.decode("utf-8", "replace")
    found = RAW.search(text)
    assert found is None, f"raw {found.group()!r} in output of a command:\n{text[:2000]!r}"
    return text


@pytest.fixture
def bluesky(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from connectors.fakes.platforms import FakeBluesky
    from connectors.fakes.server import FakeAccount

    hostile = FakeAccount(
        "nchsband.bsky.social",
        name="NCHS Band " + HOSTILE,
        bio="Official " + HOSTILE,
        website="https://nchsband.example/" + HOSTILE,
        extra={"handle": "nchsband.bsky.social" + HOSTILE},
    )
    with FakeBluesky([hostile]) as server:
        monkeypatch.setenv("AUDITOR_BLUESKY_BASE_URL", server.url)
        yield server


def plant_stored(cli: Cli) -> None:
    """Hostile names, roles, handles and notes as records stored before validation would hold them."""
    from vault.backends.sqlite import SQLiteBackend
    from vault.registry import Registry
    from vault.stores.inventory import Inventory

    reg = Registry.open(SQLiteBackend(str(cli.registry)))
    reg.unlock("it-admin", Secret(PASSPHRASE))
    try:
        inv = Inventory(reg)
        dana = inv.person_by_email("dw@d203.org")
        assert dana is not None
        inv.save_person(dataclasses.replace(dana, name="Dana " + HOSTILE, role="Director " + HOSTILE))
        insta = next(a for a in inv.accounts() if a.handle == "nnhs_athletics")
        inv.save_account(
            dataclasses.replace(insta, handle="nnhs_athletics" + HOSTILE, building="nnhs" + HOSTILE)
        )
    finally:
        reg.close()


def test_no_command_prints_a_raw_control_or_bidi_character(cli: Cli, bluesky: object, tmp_path: Path) -> None:
    cli.init()
    cli.ok("policy", "init", "--preset", "naperville-203")
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS)))
    # Free text the command line accepts as it is.
    inert(cli.ok("person", "edit", "pr@d203.org", "--notes", "note " + HOSTILE, "--role", "AD " + HOSTILE))
    inert(
        cli.ok(
            "account",
            "edit",
            "x:naperville203",
            "--display-name",
            "D203 " + HOSTILE,
            "--notes",
            "n " + HOSTILE,
        )
    )
    plant_stored(cli)

    # What a platform says.
    for fmt in ("table", "json"):
        shown = inert(cli.ok("profile", "fetch", "bluesky", "nchsband.bsky.social", "--format", fmt))
        assert "pwned" in shown and "gpj.exe" in shown
    table = inert(cli.ok("profile", "fetch", "bluesky", "nchsband.bsky.social"))
    assert "\\x1b]0;pwned\\x07" in table and "\\u202e" in table  # visible, not silently dropped
    data = json.loads(
        cli.ok("profile", "fetch", "bluesky", "nchsband.bsky.social", "--format", "json").stdout
    )
    assert data["display_name"] == "NCHS Band " + HOSTILE  # JSON keeps the exact value

    # The inventory, in every format, and single records.
    for noun in ("person", "account"):
        for fmt in ("table", "csv", "json"):
            inert(cli.ok(noun, "list", "--format", fmt))
    people = json.loads(cli.ok("person", "list", "--format", "json").stdout)["items"]
    assert {p["name"] for p in people} == {"Dana " + HOSTILE, "Priya Raman"}
    for fmt in ("table", "csv", "json"):
        shown = inert(cli.ok("person", "show", "dw@d203.org", "--format", fmt))
        assert "Dana" in shown and "pwned" in shown
        inert(cli.ok("person", "show", "pr@d203.org", "--format", fmt))
        inert(cli.ok("account", "show", "x:naperville203", "--format", fmt))
        inert(cli.ok("account", "show", "instagram:nnhs_athletics" + HOSTILE, "--format", fmt))
    csv_out = inert(cli.ok("account", "list", "--format", "csv"))
    assert "nnhs_athletics\\x1b]0;pwned" in csv_out
    assert csv_out.endswith("\r\n") and "\\r\r\n" not in csv_out  # CRLF line ends stay line ends

    # An audit whose findings quote the hostile names, then the findings and reports.
    inert(cli("audit", "--offline"))
    listed = inert(cli.ok("finding", "list", "--all"))
    assert "pwned" in listed
    ids = [f["id"] for f in json.loads(cli.ok("finding", "list", "--all", "--json").stdout)["items"]]
    assert ids
    for fid in ids:
        inert(cli.ok("finding", "show", fid))
        inert(cli.ok("finding", "show", fid, "--json"))
    for kind in KINDS:
        for fmt in (name for name, f in FORMATS.items() if not f.binary):  # what may go to a terminal
            inert(cli.ok("report", kind, "--format", fmt))
    report = inert(cli.ok("report", "inventory", "--format", "csv"))
    assert "nnhs_athletics\\x1b]0;pwned" in report

    # Error messages that quote what was typed or stored.
    for args in (
        ("account", "show", "x:" + HOSTILE),
        ("account", "show", HOSTILE),
        ("person", "show", HOSTILE),
        ("person", "edit", "dw@d203.org", "--email", HOSTILE),
        ("finding", "show", HOSTILE),
    ):
        result = cli(*args)
        assert result.exit_code != 0
        assert "error:" in inert(result)
    bad_policy = cli.file("policy.toml", '"' + "\\u001b]0;pwned\\u0007" + '" = 1\n')
    result = cli("policy", "check", str(bad_policy))
    assert result.exit_code == 1 and "pwned" in inert(result)


def test_names_and_handles_with_control_characters_are_refused_where_they_enter(cli: Cli) -> None:
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS)))
    before = (cli.ok("person", "list", "--json").stdout, cli.ok("account", "list", "--json").stdout)

    for args, option in (
        (("person", "add", "--name", "Eve\x00Null", "--email", "eve@d203.org"), "--name"),
        (("person", "add", "--name", "Eve \x1b[2J", "--email", "eve@d203.org"), "--name"),
        (("person", "add", "--name", "Eve\u202eevE", "--email", "eve@d203.org"), "--name"),
        (("person", "add", "--name", "Eve", "--email", "eve\x00@d203.org"), "--email"),
        (("person", "edit", "dw@d203.org", "--name", "Dana\rWhitfield"), "--name"),
        (("account", "add", "x", "evil\x00handle"), "HANDLE"),
        (("account", "add", "x", "lincoln\u202ehs"), "HANDLE"),
        (("account", "add", "x", "lincoln\u200bhs"), "HANDLE"),
        (("account", "edit", "x:naperville203", "--handle", "naperville\x08203"), "--handle"),
    ):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        out = inert(result)
        assert f"error: {option}: " in out and ("cannot contain" in out or "not an email" in out), out
    assert "\\x00 (NUL)" in inert(cli("account", "add", "x", "evil\x00handle"))
    assert "\\u202e (RIGHT-TO-LEFT OVERRIDE)" in inert(cli("account", "add", "x", "lincoln\u202ehs"))
    assert (cli.ok("person", "list", "--json").stdout, cli.ok("account", "list", "--json").stdout) == before


def test_an_import_names_every_line_with_a_control_character_and_imports_nothing(cli: Cli) -> None:
    cli.init()
    people = cli.file(
        "people.csv",
        "name,email\n"
        "Ann Lee,ann@d203.org\n"
        "Bob\x00Ray,bob@d203.org\n"
        "Cal Diaz,cal@d203.org\n"
        "Dee \x1b]0;pwned\x07,dee@d203.org\n"
        "Eve Park,eve\u202e@d203.org\n",
    )
    result = cli("person", "import", str(people))
    assert result.exit_code == 1
    out = inert(result)
    errors = [line for line in out.splitlines() if line.startswith("error: ")]
    assert [re.search(r"line (\d+), column (\w+)", e).groups() for e in errors] == [  # type: ignore[union-attr]
        ("3", "name"),
        ("5", "name"),
        ("6", "email"),
    ]
    assert "hint: 3 bad lines; nothing was imported." in out
    assert json.loads(cli.ok("person", "list", "--json").stdout)["items"] == []

    cli.ok("person", "import", str(cli.file("ok.csv", PEOPLE)))
    accounts = cli.file(
        "accounts.csv",
        "platform,handle,owner_email\n"
        "x,good_one,dw@d203.org\n"
        "x,bad\x00one,dw@d203.org\n"
        "instagram,lincoln\u202ehs,dw@d203.org\n"
        "x,fine_too,dw@d203.org\n",
    )
    result = cli("account", "import", str(accounts))
    assert result.exit_code == 1
    out = inert(result)
    assert "line 3, column handle: 'bad\\x00one' contains \\x00 (NUL)" in out
    assert "line 4, column handle: 'lincoln\\u202ehs' contains \\u202e (RIGHT-TO-LEFT OVERRIDE)" in out
    assert json.loads(cli.ok("account", "list", "--json").stdout)["items"] == []
