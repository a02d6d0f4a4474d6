"""A person at several buildings (issue 16, "per-school staff rows folded into one person"), end to end
through the CLI: a Clever/PowerSchool-style staff export with one row per school synced into the
registry, the principal of two schools approving an account of the second, the people CSV round
trip, and `person edit/list/show`.

Before, the fold kept every school on the roster entry but the person kept only the first: the
principal of Naperville North and Central approved Central's Snapchat, and the audit said "no
permission from the Principal of Naperville Central High School is on record".
"""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import Cli

PEOPLE = (
    "name,email,kind,role,building,status\n"
    "Morgan Hale,morgan.hale@naperville203.org,employee,Principal,nnhs,active\n"
    "Priya Raman,praman@naperville203.org,employee,Athletic Director,nnhs,active\n"
)
# Snapchat is approved for activities with the building administrator's permission (the preset).
ACCOUNTS = (
    "platform,handle,building,purpose,owner_email,approved_on,approved_by\n"
    "snapchat,nnhs_spirit,nnhs,activity,praman@naperville203.org,2026-02-01,morgan.hale@naperville203.org\n"
    "snapchat,nchs_spirit,nchs,activity,praman@naperville203.org,2026-02-01,morgan.hale@naperville203.org\n"
)
STAFF_HEADER = "School_id,Staff_id,Staff_email,Name,Title,Status\n"
MORGAN_NNHS = "nnhs,T1,morgan.hale@naperville203.org,Morgan Hale,Principal,Active\n"
MORGAN_NCHS = "nchs,T1,morgan.hale@naperville203.org,Morgan Hale,Principal,Active\n"
PRIYA = "nnhs,T2,praman@naperville203.org,Priya Raman,Athletic Director,Active\n"
MAPPING = {
    "columns": {
        "building": "School_id", "employee_id": "Staff_id", "email": "Staff_email", "name": "Name",
        "role": "Title", "status": "Status",
    }
}  # fmt: skip
CENTRAL_UNMET = (
    "Snapchat account @nchs_spirit does not meet the district's conditions for Snapchat: no permission "
    "from the Principal of Naperville Central High School is on record."
)


def _person(cli: Cli, email: str) -> dict[str, Any]:
    item: dict[str, Any] = json.loads(cli.ok("person", "show", email, "--json").output)["item"]
    return item


def _platform_findings(cli: Cli) -> list[tuple[str, str]]:
    result = cli("audit", "--offline", "--check", "platform", "--json")
    assert result.exit_code in (0, 3), result.output
    items = json.loads(result.stdout)["items"]
    return sorted((f["check_id"], f["message"]) for f in items if f["state"] != "resolved")


def test_a_principal_of_two_schools_from_a_per_school_export_approves_for_both(cli: Cli) -> None:
    cli.init()
    cli.ok("policy", "init", "--preset", "naperville-203")
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS)))
    assert _platform_findings(cli) == [("platform.condition_unmet", CENTRAL_UNMET)]

    staff = cli.file("staff.csv", STAFF_HEADER + MORGAN_NNHS + MORGAN_NCHS + PRIYA)
    mapping = cli.file("mapping.json", json.dumps(MAPPING))
    cli.ok(
        "roster",
        "add",
        "sis",
        "--kind",
        "csv",
        "--option",
        f"path={staff}",
        "--option",
        f"mapping=@{mapping}",
    )
    first = cli.ok("roster", "sync", "sis").output
    assert "First sync of this source: a baseline. 2 people matched" in first
    assert "Morgan Hale (" in first and "building nnhs -> nnhs; nchs, taken from the roster." in first
    morgan = _person(cli, "morgan.hale@naperville203.org")
    assert (morgan["building"], morgan["buildings"]) == ("nnhs", ["nnhs", "nchs"])
    shown = cli.ok("person", "show", "morgan.hale@naperville203.org").output
    assert [line.split() for line in shown.splitlines() if line.startswith("building ")] == [
        ["building", "nnhs;", "nchs"]
    ]
    assert "buildings: roster:sis on" in shown  # where the list came from

    assert _platform_findings(cli) == []  # her permission covers Central's account too

    # A people file from last term saying only Central: the roster's buildings stand, primary too.
    old = cli.file("old.csv", "name,email,building\nMorgan Hale,morgan.hale@naperville203.org,nchs\n")
    dry = cli.ok("person", "import", str(old), "--dry-run").output
    assert "Would import people: 0 new, 0 updated, 1 unchanged." in dry
    assert ": building kept as nnhs (the file says nchs; set by roster sis on " in dry
    assert ": buildings kept as nnhs; nchs (the file says (empty); set by roster sis on " in dry

    # The next night's export lists her schools the other way round: nothing changes.
    staff.write_text(STAFF_HEADER + MORGAN_NCHS + PRIYA + MORGAN_NNHS, encoding="utf-8")
    again = cli.ok("roster", "sync", "sis", "--dry-run").output
    assert "No changes: the registry already matches the roster." in again, again
    cli.ok("roster", "sync", "sis")
    assert _person(cli, "morgan.hale@naperville203.org") == morgan  # not written again (updated_at)

    # She leaves Central: the roster's word, reported as a building change, not a role change.
    staff.write_text(STAFF_HEADER + MORGAN_NNHS + PRIYA, encoding="utf-8")
    left = cli.ok("roster", "sync", "sis").output
    assert "building nnhs; nchs -> nnhs, taken from the roster." in left, left
    assert "changed role" not in left
    morgan = _person(cli, "morgan.hale@naperville203.org")
    assert (morgan["building"], morgan["buildings"]) == ("nnhs", [])
    assert _platform_findings(cli) == [("platform.condition_unmet", CENTRAL_UNMET)]


def test_several_buildings_round_trip_through_the_people_csv_and_person_edit(cli: Cli) -> None:
    cli.init()
    people = (
        "name,email,role,building\n"
        "Morgan Hale,mhale@d203.org,Principal,North HS; Central HS\n"
        'Sam Ortiz,sortiz@d203.org,Counselor,"Special Services, Annex"\n'
    )
    cli.ok("person", "import", str(cli.file("people.csv", people)))
    morgan = _person(cli, "mhale@d203.org")
    assert (morgan["building"], morgan["buildings"]) == ("North HS", ["North HS", "Central HS"])
    sam = _person(cli, "sortiz@d203.org")  # a comma is part of a name, not a separator
    assert (sam["building"], sam["buildings"]) == ("Special Services, Annex", [])

    table = cli.ok("person", "list").output
    assert "North HS; Central HS" in table
    exported = cli.ok("person", "list", "--format", "csv").stdout_bytes.decode("utf-8")
    assert "Principal,North HS; Central HS,active" in exported
    path = cli.tmp / "export.csv"
    path.write_text(exported, encoding="utf-8", newline="")
    done = json.loads(cli.ok("person", "import", str(path), "--json").output)
    assert (done["created"], done["updated"], done["changes"]) == (0, 0, [])
    assert _person(cli, "mhale@d203.org") == morgan

    # Filtering by building finds her at either school.
    for building in ("central hs", "North HS"):
        found = json.loads(cli.ok("person", "list", "--building", building, "--json").output)["items"]
        assert [p["email"] for p in found] == ["mhale@d203.org"]

    # An edited building cell changes exactly that person's buildings, and says so.
    edited = cli.tmp / "edited.csv"
    edited.write_text(exported.replace("North HS; Central HS", "Central HS; North HS; Kennedy JH"), "utf-8")
    dry = cli.ok("person", "import", str(edited), "--dry-run").output
    assert "building: North HS -> Central HS" in dry
    assert "buildings: North HS; Central HS -> Central HS; North HS; Kennedy JH" in dry

    out = cli.ok("person", "edit", "mhale@d203.org", "--building", "Central HS;North HS").output
    assert out.strip() == "Updated Morgan Hale <mhale@d203.org>: building, buildings"
    morgan = _person(cli, "mhale@d203.org")
    assert (morgan["building"], morgan["buildings"]) == ("Central HS", ["Central HS", "North HS"])
    cli.ok("person", "edit", "mhale@d203.org", "--building", "North HS")
    morgan = _person(cli, "mhale@d203.org")
    assert (morgan["building"], morgan["buildings"]) == ("North HS", [])
    history = json.loads(cli.ok("person", "history", "mhale@d203.org", "--json").output)["items"]
    assert ("buildings", "Central HS; North HS", "(empty)") in {
        (h["field"], h["old"], h["new"]) for h in history
    }
