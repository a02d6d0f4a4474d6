"""Roster sync on OneRoster bundles other projects wrote (../shared/formats, used as they are).

Issue 13: a real OneRoster 1.2 sample whose `roles.csv` end dates had passed departed 5 of 5 people
with no warning (the guard counted only people missing from the roster), and the first sync of any
source turned everyone whose registry job title is not a OneRoster word into a role change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli

FORMATS = Path(
    os.environ.get("AUDITOR_TEST_FORMATS", Path(__file__).resolve().parents[2].parent / "shared" / "formats")
)
MOODLE = FORMATS / "moodle-enrol_oneroster"

# The people of moodle's bundles, as a district's registry would have them: job titles, not
# OneRoster's role words.
STAFF = (
    "name,email,kind,role,building,status\n"
    "John Doe,john.doe@myschool.com,employee,History Teacher,History Department,active\n"
    "Jim Smith,jim.smith@myschool.com,employee,Social Studies Teacher,History Department,active\n"
    "Thomas Jones,thomas.jones@testemail.com,employee,Assistant Principal,History Department,active\n"
    "Mary Jones,mary.jones@myschool.com,student,,History Department,active\n"
    "Anna Brown,anna.brown@myschool.com,student,,History Department,active\n"
)


def _people(cli: Cli) -> dict[str, dict[str, Any]]:
    return {p["email"]: p for p in json.loads(cli.ok("person", "list", "--json").output)["items"]}


@pytest.fixture
def district(cli: Cli) -> Cli:
    if not MOODLE.is_dir():
        pytest.fail(f"the shared test formats are missing: {FORMATS}")
    cli.init()
    cli.ok("person", "import", str(cli.file("staff.csv", STAFF)))
    return cli


def test_a_oneroster_1_1_first_sync_is_a_baseline_not_role_changes(district: Cli) -> None:
    cli = district
    before = _people(cli)
    out = cli.ok("roster", "sync", str(MOODLE / "Test_full_data_set.zip")).output
    assert "First sync of this source: a baseline. 5 people matched" in out
    assert "0 role changes" in out or "No changes" in out
    # 'teacher' is not 'History Teacher': kept, and listed as such
    assert "John Doe: History Teacher (roster: teacher)" in out
    after = _people(cli)
    # Job titles and buildings stay; an empty role is filled (the students' 'student').
    expected = {e: (p["role"] or "student", p["building"], p["status"]) for e, p in before.items()}
    assert {e: (p["role"], p["building"], p["status"]) for e, p in after.items()} == expected
    assert all(p["role_changed_on"] is None for p in after.values())
    findings = json.loads(cli.ok("roster", "history", "--json").output)["items"]
    assert findings[0]["counts"]["role_changes"] == 0


def test_a_oneroster_1_2_export_whose_roles_ended_is_refused_naming_who(district: Cli) -> None:
    """moodle's v1p2_full_dataset.zip: every role ended 2025-09-23 (and roles.csv has two trailing
    empty header cells, which used to make the whole file unreadable)."""
    cli = district
    before = _people(cli)
    refused = cli("roster", "sync", str(MOODLE / "v1p2_full_dataset.zip"))
    assert refused.exit_code == 1, refused.output
    assert (
        "The roster would take 5 of 5 active people it covers out of active status (5 departed): "
        in refused.stdout
    )
    for name in ("John Doe", "Jim Smith", "Thomas Jones", "Mary Jones", "Anna Brown"):
        assert name in refused.stdout
    assert "nothing was applied" in refused.stderr and "--force" in refused.stderr
    assert _people(cli) == before

    cli.ok("roster", "sync", str(MOODLE / "v1p2_full_dataset.zip"), "--force")
    after = _people(cli)
    assert {p["status"] for p in after.values()} == {"departed"}
    assert {p["departed_on"] for p in after.values()} == {"2025-09-23"}


def test_a_delta_bundle_departs_nobody_it_does_not_name(district: Cli) -> None:
    cli = district
    before = _people(cli)
    out = cli.ok("roster", "sync", str(MOODLE / "oneroster_test_data.zip")).output
    assert "changes only" in out
    assert _people(cli) == before
