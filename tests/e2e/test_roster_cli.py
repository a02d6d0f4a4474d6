"""`auditor roster ...` end to end: OneRoster exports and a Graph tenant synced into a real registry."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from connectors.roster.fakes import FakeGraph
from tests.e2e.conftest import Cli

PEOPLE = (
    "name,email,kind,role,building,status,employee_id\n"
    "Jane Doe,jdoe@springfield.example,employee,teacher,Lincoln High School,active,E1001\n"
    "Bob Smith,bsmith@springfield.example,employee,aide,Washington Middle School,active,E1002\n"
    "Ann Admin,ann@springfield.example,employee,administrator,Springfield Public Schools,active,E1003\n"
    "Al Old,al@springfield.example,employee,teacher,Lincoln High School,active,E1004\n"
    "Cara Kim,ckim@springfield.example,employee,teacher,Washington Middle School,active,E1005\n"
)
ACCOUNTS = (
    "platform,handle,owner_email,co_manager_emails,student_manager_emails,purpose,building,approved_on,renewal_due,notes\n"
    "instagram,lhs_science,al@springfield.example,jdoe@springfield.example,,activity,Lincoln High School,2026-01-12,2027-01-12,\n"
)

MANIFEST = (
    "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.users,bulk\nfile.orgs,bulk\n"
    "source.systemName,PowerSchool\n"
)
ORGS = (
    "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
    "dist1,,,Springfield Public Schools,district,SPS,\n"
    "lhs,,,Lincoln High School,school,LHS,dist1\n"
    "wms,,,Washington Middle School,school,WMS,dist1\n"
)
USERS_HEADER = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,"
    "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
)
# Jane becomes an administrator (role change); Al's record is being deleted (departure).
USERS = (
    "u1,,,true,lhs,administrator,jdoe,,Jane,Doe,,E1001,JDoe@springfield.example,,,,,\n"
    "u2,,,true,wms,aide,bsmith,,Bob,Smith,,E1002,bsmith@springfield.example,,,,,\n"
    "u3,,,true,dist1,administrator,ann,,Ann,Admin,,E1003,ann@springfield.example,,,,,\n"
    "u4,tobedeleted,2026-10-30T12:00:00.000Z,true,lhs,teacher,al,,Al,Old,,E1004,al@springfield.example,,,,,\n"
    "u5,,,true,wms,teacher,ckim,,Cara,Kim,,E1005,ckim@springfield.example,,,,,\n"
)


# What the roster said before: everyone as the registry has them (the first sync's baseline).
BASE_USERS = USERS.replace(",lhs,administrator,jdoe,", ",lhs,teacher,jdoe,").replace(
    "u4,tobedeleted,2026-10-30T12:00:00.000Z,", "u4,,,"
)


def baseline(cli: Cli, root: Path) -> None:
    """The source's first sync, from `root`: a baseline that agrees with the registry and changes
    nothing. `root` then holds the current export (the source is named after its folder)."""
    out = cli.ok("roster", "sync", str(write_folder(root, export_files(BASE_USERS)))).output
    assert "First sync of this source: a baseline. 5 people matched" in out
    assert "No changes: the registry already matches the roster." in out
    for name, text in export_files().items():
        (root / name).write_text(text, encoding="utf-8")


def export_files(users: str = USERS) -> dict[str, str]:
    return {"manifest.csv": MANIFEST, "orgs.csv": ORGS, "users.csv": USERS_HEADER + users}


def write_folder(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def write_zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr("oneroster/" + name, text)  # exporters often wrap the CSVs in a folder
    return path


def people(cli: Cli) -> dict[str, dict[str, Any]]:
    items = json.loads(cli.ok("person", "list", "--json").output)["items"]
    return {p["email"]: p for p in items}


def backups(cli: Cli) -> list[Path]:
    folder = cli.registry.parent / "backups"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.fixture
def district(cli: Cli) -> Cli:
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS)))
    for path in backups(cli):  # the imports' own backups; the tests count the sync's
        path.unlink()
    return cli


def test_sync_from_a_folder_applies_departure_and_role_change_once(district: Cli) -> None:
    cli = district
    export = cli.tmp / "export"
    baseline(cli, export)
    before = people(cli)

    dry = cli.ok("roster", "sync", str(export), "--dry-run").output
    assert (
        f"Al Old ({before['al@springfield.example']['id']}) departed on 2026-10-30: listed as departed by "
        "the roster; they are still named on district accounts." in dry
    )
    assert (
        "Jane Doe" in dry and "teacher at Lincoln High School -> administrator at Lincoln High School" in dry
    )
    assert "review the accounts they manage" in dry  # Jane co-manages @lhs_science
    assert "Dry run: nothing was written." in dry
    assert people(cli) == before and backups(cli) == []
    assert len(json.loads(cli.ok("roster", "history", "--json").output)["items"]) == 1  # the baseline

    out = cli.ok("roster", "sync", str(export)).output
    assert "1 departure, 1 role change, 0 other updates, 0 new people." in out
    assert "Applied in one transaction. Backup taken before the sync:" in out
    assert len(backups(cli)) == 1

    after = people(cli)
    assert set(after) == set(before)  # nobody deleted
    al = after["al@springfield.example"]
    assert (al["status"], al["departed_on"]) == ("departed", "2026-10-30")
    account = json.loads(cli.ok("account", "show", "instagram:lhs_science", "--json").output)["item"]
    assert account["owner"] == "al@springfield.example"  # still referenced, so still there
    jane = after["jdoe@springfield.example"]
    assert jane["role"] == "administrator" and jane["role_changed_on"]
    assert {
        k: v for k, v in after.items() if k not in ("al@springfield.example", "jdoe@springfield.example")
    } == {k: v for k, v in before.items() if k not in ("al@springfield.example", "jdoe@springfield.example")}

    again = cli.ok("roster", "sync", str(export)).output
    assert "No changes: the registry already matches the roster." in again
    assert "Previous sync of this source:" in again
    assert people(cli) == after and len(backups(cli)) == 1

    records = json.loads(cli.ok("roster", "history", "--json").output)["items"]
    assert [r["counts"]["departures"] for r in records] == [0, 1, 0]
    assert records[1]["source"] == "oneroster-csv:export"
    assert any("Al Old" in line and "departed" in line for line in records[1]["changes"])
    table = cli.ok("roster", "history", "--changes").output
    assert "oneroster-csv:export" in table and "changed role on" in table


def test_sync_from_a_zip_reports_json(district: Cli) -> None:
    cli = district
    export = write_zip(cli.tmp / "oneroster.zip", export_files(BASE_USERS))
    first = json.loads(cli.ok("roster", "sync", str(export), "--format", "json").output)
    assert first["baseline"] is True and first["matched"] == 5 and first["changes"] == []
    export.unlink()
    write_zip(export, export_files())
    data = json.loads(cli.ok("roster", "sync", str(export), "--format", "json").output)
    assert data["schema"] == "auditor/roster-sync" and data["applied"] is True
    assert data["counts"]["departures"] == 1 and data["counts"]["role_changes"] == 1
    assert [d["name"] for d in data["departures"]] == ["Al Old"] and data["departures"][0]["referenced"]
    assert data["role_changes"][0]["new_role"] == "administrator"
    assert data["backup"] and Path(data["backup"]).exists()
    second = json.loads(cli.ok("roster", "sync", str(export), "--format", "json").output)
    assert second["changes"] == [] and second["backup"] is None


def test_malformed_roster_file_is_one_line_error_and_changes_nothing(district: Cli) -> None:
    cli = district
    bad_users = USERS.replace("u2,,,true,wms", "u2,,,maybe,wms")
    export = write_folder(cli.tmp / "export", export_files(bad_users))
    before = people(cli)
    result = cli("roster", "sync", str(export))
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first == "error: users.csv, line 3, column 'enabledUser': 'maybe' is not true or false"
    assert "Traceback" not in result.output
    assert people(cli) == before and backups(cli) == []
    assert "No roster syncs yet" in cli.ok("roster", "history").output


def test_many_departures_are_refused_without_force(district: Cli) -> None:
    cli = district
    # A filtered export: only two of the five staff, one of them marked deleted (80% would leave,
    # by two roads: Al marked deleted, Ann and Cara missing).
    partial = "".join(line + "\n" for line in USERS.splitlines() if line.startswith(("u2", "u4")))
    export = write_folder(cli.tmp / "export", export_files(partial))
    before = people(cli)
    result = cli("roster", "sync", str(export))
    assert result.exit_code == 1
    assert (
        "The roster would take 4 of 5 active people it covers out of active status (4 departed): Al Old, Ann "
        "Admin, Cara Kim, Jane Doe; check that the export is complete and current" in result.stdout
    )
    assert "error: the plan has 1 warning; nothing was applied" in result.stderr
    assert "--force" in result.stderr
    assert people(cli) == before and backups(cli) == []

    out = cli.ok("roster", "sync", str(export), "--force").output
    assert "4 departures" in out
    after = people(cli)
    assert after["al@springfield.example"]["status"] == "departed"
    assert after["ckim@springfield.example"]["status"] == "departed"
    assert json.loads(cli.ok("roster", "history", "--json").output)["items"][0]["forced"] is True


def test_unknown_source_and_bad_options_fail_early(district: Cli) -> None:
    cli = district
    result = cli("roster", "sync", "nowhere")
    assert result.exit_code == 1 and "no roster source named 'nowhere'" in result.stderr
    result = cli(
        "roster", "add", "hr", "--kind", "msgraph", "--option", "tenant=d", "--option", "colour=blue"
    )
    assert result.exit_code == 1 and "unknown option 'colour'" in result.stderr
    result = cli(
        "roster",
        "add",
        "hr",
        "--kind",
        "msgraph",
        "--option",
        "client_secret=hunter2-value",
        "--secret-stdin",
    )
    assert result.exit_code == 2 and "secrets are never given as arguments" in result.stderr
    assert "hunter2-value" not in result.output
    result = cli("roster", "add", "sis", "--kind", "oneroster-csv", "--option", "path=x", "--secret-stdin")
    assert result.exit_code == 2 and "takes no secret" in result.stderr
    assert "No roster sources" in cli.ok("roster", "list").output


GRAPH_SECRET = "gr4ph-Client-S3cret~Value.9f2a"


def graph_users() -> list[dict[str, Any]]:
    def user(
        uid: str, name: str, mail: str, enabled: bool, title: str, dept: str, emp: str
    ) -> dict[str, Any]:
        return {
            "id": uid, "displayName": name, "userPrincipalName": mail, "mail": mail, "accountEnabled": enabled,
            "jobTitle": title, "department": dept, "employeeId": emp, "employeeType": "Employee",
            "employeeHireDate": "2015-08-20T00:00:00Z", "employeeLeaveDateTime": None,
        }  # fmt: skip

    return [
        user("1", "Jane Doe", "jdoe@springfield.example", True, "teacher", "Lincoln High School", "E1001"),
        user("2", "Bob Smith", "bsmith@springfield.example", True, "aide", "Washington Middle School", "E1002"),
        user("3", "Ann Admin", "ann@springfield.example", True, "administrator", "Springfield Public Schools",
             "E1003"),
        user("4", "Al Old", "al@springfield.example", False, "teacher", "Lincoln High School", "E1004"),
        user("5", "Cara Kim", "ckim@springfield.example", True, "principal", "Washington Middle School", "E1005"),
    ]  # fmt: skip


def test_msgraph_source_with_secret_from_stdin_never_shows_it(district: Cli) -> None:
    cli = district
    outputs: list[str] = []
    with FakeGraph(graph_users(), client_secret=GRAPH_SECRET) as graph:
        args = ["--option", "tenant=springfield.example", "--option", "client_id=demo-client",
                "--option", f"login_url={graph.url}", "--option", f"graph_url={graph.url}",
                "--option", "page_size=2"]  # fmt: skip
        outputs.append(cli.ok("roster", "add", "entra", "--kind", "msgraph", *args, "--secret-stdin",
                              input=GRAPH_SECRET + "\n").output)  # fmt: skip
        assert "Added roster source entra (msgraph)" in outputs[-1]

        listing = cli.ok("roster", "list").output
        outputs.append(listing)
        assert "entra" in listing and "stored" in listing and "tenant=springfield.example" in listing
        as_json = cli.ok("roster", "list", "--json").output
        outputs.append(as_json)
        item = json.loads(as_json)["items"][0]
        assert item["secret_stored"] is True and item["options"]["page_size"] == 2

        outputs.append(cli.ok("roster", "sync", "entra", "--dry-run").output)
        out = cli.ok("roster", "sync", "entra").output
        outputs.append(out)
        # The first sync of a source is its baseline: Cara's job title is taken from the directory,
        # not reported as a role change (issue 13).
        assert "1 departure, 0 role changes, 1 other update" in out
        assert "Cara Kim" in out and "role teacher -> principal, taken from the roster." in out
        outputs.append(cli.ok("roster", "sync", "entra", "--format", "json").output)
        outputs.append(cli.ok("roster", "history", "--json", "--changes").output)
        # The stored secret is what reached the token endpoint (three syncs, three tokens).
        tokens = [r for r in graph.requests if r.path.endswith("/oauth2/v2.0/token")]
        assert len(tokens) == 3 and all(r.form["client_secret"] == GRAPH_SECRET for r in tokens)
        assert len(graph.requests_to("/v1.0/users")) == 9  # five users, two per page, three syncs

    after = people(cli)
    assert after["al@springfield.example"]["status"] == "departed"
    assert after["ckim@springfield.example"]["role"] == "principal"
    for text in outputs:
        assert GRAPH_SECRET not in text
    files = [p for p in cli.tmp.rglob("*") if p.is_file()]
    assert any(p.name.startswith("registry.db") for p in files) and backups(cli)
    for path in files:
        assert GRAPH_SECRET.encode() not in path.read_bytes(), path

    outputs.append(cli.ok("roster", "remove", "entra").output)
    assert "No roster sources" in cli.ok("roster", "list").output
    result = cli("roster", "sync", "entra")
    assert result.exit_code == 1 and "no roster source named 'entra'" in result.stderr
    assert len(json.loads(cli.ok("roster", "history", "--json").output)["items"]) == 2  # history kept


@pytest.mark.parametrize("command", ["add", "set-secret", "list", "remove", "sync", "history"])
def test_every_roster_command_documents_an_example(cli: Cli, command: str) -> None:
    out = cli.ok("roster", command, "--help").output
    assert "Example:" in out and f"auditor roster {command}" in out


def test_a_secret_is_never_asked_for_without_a_terminal(district: Cli) -> None:
    cli = district
    result = cli("roster", "add", "entra", "--kind", "msgraph", "-o", "tenant=t", "-o", "client_id=c")
    assert result.exit_code == 2
    assert "the client secret is needed but there is no terminal to ask on" in result.stderr
    assert "--secret-stdin" in result.stderr
    assert "No roster sources" in cli.ok("roster", "list").output


def test_offboarding_keeps_the_departure_date_the_roster_recorded(district: Cli) -> None:
    """Issue 13: `offboard` overwrote the roster's real departure date with the day it ran."""
    cli = district
    cli.ok("roster", "sync", str(write_folder(cli.tmp / "export", export_files())))
    assert people(cli)["al@springfield.example"]["departed_on"] == "2026-10-30"
    cli.ok("offboard", "al@springfield.example", "--to", "ann@springfield.example", "--yes")
    al = people(cli)["al@springfield.example"]
    assert (al["status"], al["departed_on"]) == ("departed", "2026-10-30")
    account = json.loads(cli.ok("account", "show", "instagram:lhs_science", "--json").output)["item"]
    assert account["owner"] == "ann@springfield.example"
