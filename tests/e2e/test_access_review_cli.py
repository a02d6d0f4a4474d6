"""`auditor report access` through the real CLI: a small district with three administrators (the
first, one whose email is a person who then leaves, one made 100 days ago and never used), a
compliance officer's auditor identity and a break-glass set; one credential revealed with a reason.
The compliance officer prints the review in JSON and HTML (and CSV and XLSX render); the evidence
pack holds it; no secret appears anywhere.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.test_escrow_cli import CODE, IG, PASSWORD, SEED, add_identity, setup_district

X = "X account @nnhs"
INSTAGRAM = "Instagram account @nnhs_athletics"
SECRETS = (PASSWORD, SEED, CODE)


def _no_secret(data: bytes | str, what: str) -> None:
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    for secret in SECRETS:
        assert secret not in text, what


@pytest.fixture
def district(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    setup_district(cli)  # Marcus Lee owns both accounts; the Instagram password is escrowed
    cli.ok("policy", "init", "--preset", "naperville-203")
    monkeypatch.setenv("AUDITOR_IDENTITY", "it-admin")  # the one unlocking unless --identity says
    passes = {"mlee": add_identity(cli, "mlee", email="MLee@d203.org")}
    with monkeypatch.context() as mp:  # made 100 days ago, and never used since
        made = datetime.now(UTC) - timedelta(days=100)
        mp.setattr("vault.registry.utcnow", lambda: made)
        passes["dcho"] = add_identity(cli, "dcho", email="dcho@d203.org")
    passes["compliance"] = add_identity(cli, "compliance", role="auditor")
    cli.ok("breakglass", "setup", "--shares", "3", "--threshold", "2")
    shown = cli.ok(
        "--identity", "mlee", "secret", "show", IG, "--reason", "season opener", passfile=passes["mlee"]
    )
    assert PASSWORD in shown.output
    cli.ok("person", "edit", "mlee@d203.org", "--status", "departed")
    return passes


def test_the_compliance_officer_reads_who_can_reveal_what(
    cli: Cli, district: dict[str, Path], tmp_path: Path
) -> None:
    officer = ("--identity", "compliance")
    out = cli.ok(*officer, "report", "access", "--format", "json", passfile=district["compliance"]).stdout
    _no_secret(out, "json")
    report = json.loads(out)
    assert report["schema"] == "auditor/report/access"
    figures = report["summary"]["figures"]
    assert {
        k: figures[k] for k in ("identities", "can_reveal", "departed", "unused", "no_other_recoverer")
    } == {
        "identities": 4,
        "can_reveal": 3,
        "departed": 1,
        "unused": 1,
        "no_other_recoverer": 0,
    }
    assert figures["breakglass"].startswith("set ")
    sections = report["sections"]
    ig = {r["who"]: r for r in sections["grants"]["rows"] if r["account"] == INSTAGRAM}
    bg_name = next(w for w in ig if w.startswith("break-glass set "))
    assert sorted(ig) == sorted(["dcho", "it-admin", "mlee", bg_name])  # never the auditor identity
    today = datetime.now(UTC).date().isoformat()
    assert ig["mlee"]["last_revealed"].startswith(today) and ig["mlee"]["flags"] == ["departed"]
    assert ig["mlee"]["through"] == "every scope" and ig["mlee"]["granted_by"] == "it-admin"
    assert ig["mlee"]["person"] == "Marcus Lee (departed)"  # matched whatever the email's capitals
    assert ig["dcho"]["last_revealed"] == "never" and ig["dcho"]["flags"] == ["unused"]
    assert ig["it-admin"]["last_revealed"] == "never" and ig["it-admin"]["flags"] == []
    assert ig[bg_name]["granted_by"] == "it-admin" and ig[bg_name]["role"] == "break-glass (2 of 3 shares)"
    x = {r["who"]: r for r in sections["grants"]["rows"] if r["account"] == X}
    assert x["mlee"]["last_revealed"] == "never"  # the reveal was of the Instagram account only
    idents = {r["identity"]: r for r in sections["identities"]["rows"]}
    assert idents["mlee"]["last_action"] == "reveal"
    assert "who left the district" in idents["mlee"]["why"]
    assert idents["dcho"]["why"].startswith("dcho was never used since it was created on ")
    assert ": 100 days, more than the policy's 90 days." in idents["dcho"]["why"]
    assert idents["compliance"]["reveals_through"] == "none (inventory key only)"
    accounts = {r["account"]: r for r in sections["accounts"]["rows"]}
    # Marcus owned both and left: it-admin and dcho can recover them (break-glass does not count).
    assert accounts[INSTAGRAM]["recoverable_by"] == ["dcho", "it-admin"]
    assert (accounts[INSTAGRAM]["escrow"], accounts[X]["escrow"]) == ("escrowed", "missing")

    page = tmp_path / "access.html"
    shown = cli.ok(*officer, "report", "access", "--output", str(page), passfile=district["compliance"])
    assert shown.stdout.strip() == str(page) and page.stat().st_mode & 0o777 == 0o600
    html = page.read_text()
    _no_secret(html, "html")
    assert html.startswith("<!DOCTYPE html>") and "<title>" in html and "Access review" in html
    assert '<span class="badge bad">departed</span>' in html
    assert '<span class="badge warn">unused</span>' in html
    assert "season opener" not in html  # reasons are the activity report's; this one names no reason
    assert "<script" not in html

    sheet = tmp_path / "access.xlsx"
    cli.ok(*officer, "report", "access", "--output", str(sheet), passfile=district["compliance"])
    from openpyxl import load_workbook

    wb = load_workbook(sheet)
    assert wb.sheetnames == [
        "Summary",
        "Who can reveal each account",
        "Grants, account by account",
        "Identities",
    ]
    with zipfile.ZipFile(sheet) as zf:
        _no_secret(b"".join(zf.read(n) for n in zf.namelist()), "xlsx")
    table = cli.ok(*officer, "report", "access", "--format", "csv", passfile=district["compliance"]).stdout
    _no_secret(table, "csv")
    rows = list(csv.DictReader(io.StringIO(table.lstrip("\ufeff"))))
    assert {r["section"] for r in rows} == {"summary", "accounts", "grants", "identities"}
    assert any(r["section"] == "grants" and r["who"] == "mlee" and r["flags"] == "departed" for r in rows)


def test_the_evidence_pack_holds_the_access_review(
    cli: Cli, district: dict[str, Path], tmp_path: Path
) -> None:
    pack = tmp_path / "evidence.zip"
    cli.ok(
        "--identity",
        "compliance",
        "report",
        "evidence",
        "--output",
        str(pack),
        passfile=district["compliance"],
    )
    with zipfile.ZipFile(pack) as zf:
        names = {n.split("/", 1)[1]: n for n in zf.namelist()}
        assert {"access.html", "access.csv", "access.json"} <= set(names)
        review = json.loads(zf.read(names["access.json"]))
        readme = zf.read(names["README.txt"]).decode()
        listed = zf.read(names["MANIFEST.sha256"]).decode()
        for name in names.values():
            _no_secret(zf.read(name), name)
    assert review["summary"]["figures"]["departed"] == 1
    assert "access.*" in readme and "who can reveal each account's credentials" in readme
    assert "  access.json\n" in listed
    assert cli.ok("report", "verify", str(pack)).exit_code == 0
