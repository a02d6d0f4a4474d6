"""Training and signatures from the tools that hold them (issue 20): a learning platform's
completion export and e-signature reports (DocuSign, Adobe Acrobat Sign), imported as exported,
clear the audit's training and agreement findings; bad lines name their line and column and import
nothing; a re-import, or an older export, changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Cli

PEOPLE = (
    "name,email,kind,role,building,status\n"
    "Mary Lee,mlee@d203.org,employee,Principal,Lincoln HS,active\n"
    "Joe Doe,jdoe@d203.org,employee,Coach,Lincoln HS,active\n"
)
ACCOUNTS = (
    "platform,handle,owner_email,co_manager_emails,purpose,building,profile_url\n"
    "x,lincolnhs,jdoe@d203.org,mlee@d203.org,athletics,Lincoln HS,https://x.com/lincolnhs\n"
)
# A learning platform's completion export: many columns we do not read, other courses, a learner
# who is not staff, a course in progress.
LMS = (
    "User ID,Full Name,User Email,Course Name,Completion Status,Completion Date,Score\n"
    "1001,Mary Lee,MLee@d203.org,Social Media for Staff 2026,Completed,09/14/2026 10:31:02 AM,100\n"
    "1002,Joe Doe,jdoe@d203.org,Social Media for Staff 2026,Completed,2026-09-20T14:02:11Z,95\n"
    "1002,Joe Doe,jdoe@d203.org,Bloodborne Pathogens,Completed,2026-09-21,100\n"
    "1003,Kid Student,kid@d203.org,Social Media for Staff 2026,Completed,2026-09-15,90\n"
    "1004,Joe Doe,jdoe@d203.org,Social Media for Staff 2026,In Progress,,40\n"
)
# DocuSign's envelope report: one envelope per document and signer; a voided one.
DOCUSIGN = (
    "Envelope ID,Subject,Status,Sender Name,Recipient Name,Recipient Email,Sent,Completed\n"
    "e1,Please DocuSign: Social Media Procedure 2026,Completed,HR,Mary Lee,mlee@d203.org,9/1/2026 8:00 AM,9/2/2026 | 09:15 AM\n"
    "e2,Please DocuSign: Acceptable Use Policy,Completed,HR,Mary Lee,mlee@d203.org,9/1/2026 8:00 AM,9/3/2026 | 10:00 AM\n"
    "e3,Please DocuSign: Acceptable Use Policy,Voided,HR,Joe Doe,jdoe@d203.org,9/1/2026 8:00 AM,\n"
)
# Adobe Acrobat Sign's agreement report, with the district's own document title.
ADOBE = (
    "Agreement Name,Agreement Status,Sender Email,Participant Email,Date Created,Date Completed\n"
    "Social Media Guidelines - Staff Acknowledgement,SIGNED,hr@d203.org,jdoe@d203.org,2026-09-01,2026-09-04\n"
    "Technology Use Agreement,SIGNED,hr@d203.org,jdoe@d203.org,2026-09-01,2026-09-05\n"
)


def _findings(cli: Cli) -> set[tuple[str, str]]:
    run = cli("audit", "--offline")
    assert run.exit_code in (0, 3), run.output
    items = json.loads(cli.ok("finding", "list", "--json").output)["items"]
    people = {p["id"]: p["email"] for p in json.loads(cli.ok("person", "list", "--json").output)["items"]}
    return {
        (i["check_id"], people.get(i["person_id"], ""))
        for i in items
        if i["check_id"] in ("training.lapsed", "agreement.missing")
    }


def _people(cli: Cli) -> dict[str, dict[str, object]]:
    return {p["email"]: p for p in json.loads(cli.ok("person", "list", "--json").output)["items"]}


def test_exports_as_they_are_clear_the_training_and_agreement_findings(cli: Cli) -> None:
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS)))
    cli.ok("policy", "init", "--preset", "moline-coal-valley")
    everyone = {"mlee@d203.org", "jdoe@d203.org"}
    assert _findings(cli) == {(c, e) for c in ("training.lapsed", "agreement.missing") for e in everyone}

    lms = cli.file("completions.csv", LMS)
    dry = cli.ok("person", "import-training", str(lms), "--course", "social media", "--dry-run").output
    assert "Would set 2 date(s) for 2 people" in dry
    assert _people(cli)["mlee@d203.org"]["training_completed_on"] is None  # a dry run writes nothing
    out = cli.ok("person", "import-training", str(lms), "--course", "social media").output
    assert "line 4: course 'Bloodborne Pathogens' is not 'social media'" in out
    assert "line 5: kid@d203.org is nobody in the registry" in out
    assert "line 6: status 'In Progress' is not a completion" in out
    people = _people(cli)
    assert people["mlee@d203.org"]["training_completed_on"] == "2026-09-14"
    assert people["jdoe@d203.org"]["training_completed_on"] == "2026-09-20"
    again = cli.ok("person", "import-training", str(lms), "--course", "social media").output
    assert "Set 0 date(s) for 0 people; 2 already on record" in again and "Backup" not in again

    cli.ok("person", "import-agreements", str(cli.file("envelopes.csv", DOCUSIGN)))
    out = cli.ok(
        "person", "import-agreements", str(cli.file("adobe.csv", ADOBE)), "--preset", "adobe-sign",
        "--document", "aup=Technology Use",
    ).output  # fmt: skip
    assert "Set 2 date(s) for 1 person" in out
    people = _people(cli)
    assert (people["mlee@d203.org"]["procedure_signed_on"], people["mlee@d203.org"]["aup_signed_on"]) == (
        "2026-09-02",
        "2026-09-03",
    )
    assert (people["jdoe@d203.org"]["procedure_signed_on"], people["jdoe@d203.org"]["aup_signed_on"]) == (
        "2026-09-04",
        "2026-09-05",
    )
    assert _findings(cli) == set()
    history = cli.ok("person", "history", "mlee@d203.org").output
    assert "import:completions.csv" in history and "import:envelopes.csv" in history


def test_an_older_export_never_moves_a_date_back(cli: Cli) -> None:
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    cli.ok("person", "edit", "mlee@d203.org", "--training", "2026-10-01")
    out = cli.ok(
        "person", "import-training", str(cli.file("old.csv", LMS)), "--course", "social media"
    ).output
    assert "1 already on record" in out
    assert _people(cli)["mlee@d203.org"]["training_completed_on"] == "2026-10-01"


def test_a_bad_line_names_line_and_column_and_imports_nothing(cli: Cli) -> None:
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    bad = LMS.replace("09/14/2026 10:31:02 AM", "14/09/2026").replace(
        "jdoe@d203.org,Bloodborne", "jdoe.d203.org,Bloodborne"
    )
    result = cli("person", "import-training", str(cli.file("bad.csv", bad)))
    assert result.exit_code != 0
    assert (
        "line 2, column 'completion_date'" in result.output and "'14/09/2026' is not a date" in result.output
    )
    assert "line 4, column 'user_email'" in result.output and "nothing was imported" in result.output
    assert _people(cli)["jdoe@d203.org"]["training_completed_on"] is None

    missing = cli("person", "import-training", str(cli.file("nodate.csv", "Email,Course\nmlee@d203.org,x\n")))
    assert missing.exit_code != 0 and "no column for completed" in missing.output
    assert "--column completed=HEADER" in missing.output
    chosen = cli.ok(
        "person", "import-training", str(cli.file("custom.csv", "Work Email,Finished On\nmlee@d203.org,2026-08-30\n")),
        "--column", "email=Work Email", "--column", "completed=Finished On",
    ).output  # fmt: skip
    assert "Set 1 date(s) for 1 person" in chosen


def test_json_output_lists_columns_changes_and_rows_left_out(cli: Cli, tmp_path: Path) -> None:
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    out = json.loads(
        cli.ok(
            "person", "import-agreements", str(cli.file("envelopes.csv", DOCUSIGN)), "--format", "json"
        ).output
    )
    assert out["schema"] == "auditor/evidence-import" and out["dates_set"] == 2
    assert out["columns"]["document"] == "subject" and out["columns"]["email"] == "recipient_email"
    assert out["left_out"] == [{"line": 4, "why": "status 'Voided' is not a completion"}]


def test_an_xlsx_export_reads_the_same(cli: Cli, tmp_path: Path) -> None:
    from openpyxl import Workbook

    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (line.split(",") for line in LMS.splitlines()):
        sheet.append(row)
    path = tmp_path / "completions.xlsx"
    book.save(path)
    out = cli.ok("person", "import-training", str(path), "--course", "social media").output
    assert "Set 2 date(s) for 2 people" in out
    assert _people(cli)["mlee@d203.org"]["training_completed_on"] == "2026-09-14"
