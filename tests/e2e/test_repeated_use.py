"""Repeated use never loses or reverts data (issue 13): sequences of commands, not single ones.

A hypothesis state machine runs random sequences of import / roster sync / edit / offboard / export
and re-import on one real registry file and asserts after every step that no field changed except
by the command that names it. The test after it is the issue's "Done when" sequence, through the
CLI as a district would run it.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from auditor.model.errors import UsageError
from auditor.model.types import Person, PersonStatus, Secret
from auditor.services import escrow as escrow_ops
from auditor.services import roster as roster_ops
from auditor.services.imports import PERSON_COLUMNS, export_csv, person_export_row, read_accounts, read_people
from auditor.services.inventory import import_accounts, import_people
from connectors.roster.generic_csv import CsvMapping, MappedCsvSource
from tests.e2e.conftest import Cli
from vault.backends.sqlite import SQLiteBackend
from vault.registry import Registry
from vault.stores.inventory import Inventory

STAFF = (
    "name,email,kind,role,building,status,employee_id,training_completed_on,procedure_signed_on,"
    "aup_signed_on,notes\n"
    "Dana Whitfield,dana@d203.org,employee,Communications Director,District Office,active,E1,2026-08-20,"
    "2026-08-20,2026-08-20,\n"
    "Marcus Lee,mlee@d203.org,employee,Principal,North,active,E2,2026-08-22,2026-08-22,2026-08-22,\n"
    "Priya Raman,praman@d203.org,employee,Athletic Director,North,active,E3,2025-08-15,2025-08-15,2025-08-15,"
    "training due\n"
    "Tom Okafor,tokafor@d203.org,employee,Band Director,Central,active,E4,2026-01-10,2026-01-10,2026-01-10,\n"
    "Luis Ortega,lortega@d203.org,employee,Activities Coordinator,Central,active,E5,2026-08-30,2026-08-30,"
    "2026-08-30,\n"
)
ACCOUNTS = (
    "platform,handle,owner_email,co_manager_emails,purpose,building,approved_on,renewal_due\n"
    "instagram,nnhs_athletics,praman@d203.org,mlee@d203.org,athletics,North,2026-01-10,2027-01-10\n"
    "x,chs_band,tokafor@d203.org,lortega@d203.org,activity,Central,2026-02-01,2027-02-01\n"
)
PARTIAL = "name,email,role\nPriya Raman,praman@d203.org,Activities Director\n"
HR_HEADER = "Employee ID,Work Email,Full Name,Job Title,Location,Employment Status,Termination Date\n"
# The HR export as the registry has it (the first sync's baseline)...
HR_AGREES = (
    "E1,dana@d203.org,Dana Whitfield,Communications Director,District Office,Active,\n"
    "E2,mlee@d203.org,Marcus Lee,Principal,North,Active,\n"
    "E3,praman@d203.org,Priya Raman,Athletic Director,North,Active,\n"
    "E4,tokafor@d203.org,Tom Okafor,Band Director,Central,Active,\n"
    "E5,lortega@d203.org,Luis Ortega,Activities Coordinator,Central,Active,\n"
)
# ...and a month later: Tom left, Luis became an assistant principal, Marcus is on leave.
HR_LATER = (
    HR_AGREES.replace("Band Director,Central,Active,", "Band Director,Central,Terminated,2026-10-22")
    .replace("Activities Coordinator,Central,Active", "Assistant Principal,Central,Active")
    .replace("Principal,North,Active", "Principal,North,Leave of Absence")
)
MAPPING_TABLE = {
    "columns": {
        "employee_id": "Employee ID", "email": "Work Email", "name": "Full Name", "role": "Job Title",
        "building": "Location", "status": "Employment Status", "left_on": "Termination Date",
    },
    "status_values": {"Leave of Absence": "on_leave"},
}  # fmt: skip
MAPPING = CsvMapping.from_dict(MAPPING_TABLE)
ROSTER_FACTS = {"status", "departed_on", "role", "building", "role_changed_on"}
# What a roster sync may change; the rest (training, signatures, notes...) only a person's own commands.
ROSTER_FIELDS = ROSTER_FACTS | {"kind", "adult", "birth_date", "grade", "employee_id", "email"}


def _fields(p: Person) -> dict[str, Any]:
    data = p.to_dict()
    for name in ("created_at", "updated_at", "sources", "id"):
        data.pop(name, None)
    return data


# Notes as a person types them: no control characters but newline (exports show those as visible
# escapes, by design, so they are not text that round-trips; see auditor/model/safetext.py).
_NOTE = st.text(st.characters(blacklist_categories=("Cc", "Cs"), whitelist_characters="\n"), max_size=8)


class RepeatedUse(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp())
        self.reg = Registry.create(
            SQLiteBackend(self.dir / "registry.db"), "admin", Secret("pass phrase 1"), kdf_profile="floor"
        )
        self.inv = Inventory(self.reg)
        self.files = {}
        for name, text in (("staff.csv", STAFF), ("accounts.csv", ACCOUNTS), ("partial.csv", PARTIAL),
                           ("hr-agrees.csv", HR_HEADER + HR_AGREES), ("hr-later.csv", HR_HEADER + HR_LATER)):  # fmt: skip
            path = self.dir / name
            path.write_text(text, encoding="utf-8")
            self.files[name] = path
        self._import("staff.csv")
        parsed = read_accounts(self.files["accounts.csv"], {p.email: p for p in self.inv.people()})
        import_accounts(self.inv, parsed.items, dry_run=False, given=parsed.given)
        self.before = self._snapshot()

    def teardown(self) -> None:
        self.reg.close()

    def _snapshot(self) -> dict[str, dict[str, Any]]:
        return {p.email: _fields(p) for p in self.inv.people()}

    def _import(self, name: str) -> None:
        parsed = read_people(self.files[name])
        import_people(self.inv, parsed.items, dry_run=False, given=parsed.given, source=name)

    def _changed(self) -> dict[str, set[str]]:
        now = self._snapshot()
        out = {e: {k for k in now[e] if now[e][k] != self.before[e].get(k)} for e in now}
        return {e: f for e, f in out.items() if f}

    def _held(self) -> dict[str, set[str]]:
        """Per person, the roster facts a roster sync or an offboarding set."""
        return {
            p.email: {f for f, s in p.sources.items() if s.from_roster and f in ROSTER_FACTS}
            for p in self.inv.people()
        }

    @rule()
    def reimport_staff(self) -> None:
        held = self._held()
        self._import("staff.csv")
        for email, fields in self._changed().items():
            assert not fields & held[email], (email, fields & held[email])  # roster facts stick
            assert fields <= set(PERSON_COLUMNS), (email, fields)

    @rule()
    def import_three_columns(self) -> None:
        self._import("partial.csv")
        changed = self._changed()
        assert set(changed) <= {"praman@d203.org"} and changed.get("praman@d203.org", {"role"}) <= {"role"}

    @rule(name=st.sampled_from(["hr-agrees.csv", "hr-later.csv"]))
    def roster_sync(self, name: str) -> None:
        source = MappedCsvSource(self.files[name], MAPPING, name="hr")
        roster_ops.sync(self.reg, source, force=True)
        for email, fields in self._changed().items():
            assert fields <= ROSTER_FIELDS, (email, fields - ROSTER_FIELDS)

    @rule(email=st.sampled_from(["dana@d203.org", "mlee@d203.org", "praman@d203.org"]), note=_NOTE)
    def edit_notes(self, email: str, note: str) -> None:
        person = self.inv.person_by_email(email)
        assert person is not None
        self.inv.save_person(dataclasses.replace(person, notes=note))
        changed = self._changed()
        assert set(changed) <= {email} and changed.get(email, {"notes"}) <= {"notes"}
        assert self._snapshot()[email]["notes"] == note

    @precondition(lambda self: any(p.status is not PersonStatus.DEPARTED for p in self.inv.people()))
    @rule(data=st.data())
    def offboard(self, data: st.DataObject) -> None:
        active = [p for p in self.inv.people() if p.status is not PersonStatus.DEPARTED]
        person = data.draw(st.sampled_from(active))
        heirs = [p for p in active if p.id != person.id and p.status is PersonStatus.ACTIVE]
        before_departed = person.departed_on
        plan = escrow_ops.plan_offboard(self.reg, person.email)
        try:
            escrow_ops.offboard(self.reg, plan, new_owner_ref=heirs[0].email if heirs else None)
        except UsageError as exc:
            # Nobody active is left to take their accounts over: refused, and nothing changed.
            assert "no active co-manager to take over" in exc.message and not heirs
            assert self._changed() == {}
            return
        changed = self._changed()
        assert set(changed) <= {person.email}
        assert changed.get(person.email, set()) <= {"status", "departed_on"}
        after = self.inv.person_by_email(person.email)
        assert after is not None and after.status is PersonStatus.DEPARTED
        if before_departed is not None:
            assert after.departed_on == before_departed  # a real departure date is kept

    @rule()
    def export_and_reimport(self) -> None:
        path = self.dir / "export.csv"
        rows = [person_export_row(p) for p in self.inv.people()]
        path.write_text(export_csv(rows, list(PERSON_COLUMNS)), encoding="utf-8", newline="")
        parsed = read_people(path)
        result = import_people(self.inv, parsed.items, dry_run=False, given=parsed.given, source="export.csv")
        assert (result.created, result.updated) == ([], [])
        assert self._changed() == {}

    @invariant()
    def nothing_lost(self) -> None:
        # Nobody is ever deleted, and the fields only people's own commands set are never blanked.
        now = self._snapshot()
        assert set(now) == set(self.before)
        for email, fields in now.items():
            for name in ("training_completed_on", "procedure_signed_on", "aup_signed_on", "name"):
                assert fields[name], (email, name)
        self.before = now


TestRepeatedUse = RepeatedUse.TestCase
TestRepeatedUse.settings = settings(
    max_examples=10, stateful_step_count=8, deadline=None, suppress_health_check=list(HealthCheck)
)


# --------------------------------------------------------------------------------------------------
# The "Done when", through the CLI.


def _person(cli: Cli, email: str) -> dict[str, Any]:
    item: dict[str, Any] = json.loads(cli.ok("person", "show", email, "--json").output)["item"]
    return item


def test_done_when_the_yearly_sequence_leaves_every_fact_as_the_commands_meant(cli: Cli) -> None:
    cli.init()
    staff = cli.file("staff.csv", STAFF)
    cli.ok("person", "import", str(staff))
    cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS)))
    hr = cli.tmp / "hr.csv"
    hr.write_text(HR_HEADER + HR_AGREES, encoding="utf-8")
    mapping = cli.file("hr-mapping.json", json.dumps(MAPPING_TABLE))
    cli.ok(
        "roster", "add", "hr", "--kind", "csv", "--option", f"path={hr}", "--option", f"mapping=@{mapping}"
    )

    # 1. The first sync is a baseline: nobody changed jobs, nobody is reported as changing.
    first = cli.ok("roster", "sync", "hr", "--dry-run").output
    assert "First sync of this source: a baseline. 5 people matched" in first
    assert "No changes: the registry already matches the roster." in first
    cli.ok("roster", "sync", "hr")

    # 2. A month later: Tom left (with a real date), Luis changed role, Marcus went on leave.
    hr.write_text(HR_HEADER + HR_LATER, encoding="utf-8")
    dry = cli.ok("roster", "sync", "hr", "--dry-run").output
    assert "Tom Okafor" in dry and "departed on 2026-10-22" in dry
    assert "Activities Coordinator at Central -> Assistant Principal at Central" in dry
    assert "1 departure, 1 role change, 1 other update, 0 new people." in dry
    assert "Marcus Lee" in dry and "status: active -> on_leave, updated from the roster." in dry
    cli.ok("roster", "sync", "hr")

    # 3. Offboard Tom: his departure date stays the roster's.
    cli.ok("offboard", "tokafor@d203.org", "--to", "lortega@d203.org", "--yes")
    tom = _person(cli, "tokafor@d203.org")
    assert (tom["status"], tom["departed_on"]) == ("departed", "2026-10-22")

    # 4. Re-import the original staff CSV: the dry run says what it keeps, and it keeps it.
    facts = {e: _person(cli, e) for e in ("tokafor@d203.org", "lortega@d203.org", "mlee@d203.org")}
    dry_import = cli.ok("person", "import", str(staff), "--dry-run").output
    assert "Would import people: 0 new, 0 updated, 5 unchanged." in dry_import
    assert (
        "Left alone (3); --override-roster lets the file change what a roster sync or an offboarding set:"
        in dry_import
    )
    assert (
        "line 5: Tom Okafor <tokafor@d203.org>: status kept as departed (the file says active; set by roster hr"
        in dry_import
    )
    assert (
        "Luis Ortega <lortega@d203.org>: role kept as Assistant Principal (the file says Activities Coordinator; set by roster hr"
        in dry_import
    )
    assert "Marcus Lee <mlee@d203.org>: status kept as on_leave" in dry_import
    done = json.loads(cli.ok("person", "import", str(staff), "--json").output)
    assert (done["updated"], done["backup"], len(done["kept"])) == (0, None, 3)
    assert {e: _person(cli, e) for e in facts} == facts

    # 5. Export accounts and people, import both back: nothing changes, no backup is taken.
    for noun in ("account", "person"):
        exported = cli.tmp / f"{noun}-export.csv"
        exported.write_bytes(cli.ok(noun, "list", "--format", "csv").stdout_bytes)
        again = json.loads(cli.ok(noun, "import", str(exported), "--json").output)
        assert (again["created"], again["updated"], again["backup"]) == (0, 0, None)
    assert {e: _person(cli, e) for e in facts} == facts

    # 6. --override-roster is the one way a file overrides a roster fact, and the history says so.
    override = cli.file("rehire.csv", "name,email,status\nTom Okafor,tokafor@d203.org,active\n")
    cli.ok("person", "import", str(override), "--override-roster")
    assert _person(cli, "tokafor@d203.org")["status"] == "active"
    history = json.loads(cli.ok("person", "history", "tokafor@d203.org", "--json").output)["items"]
    assert [(h["source"], h["field"], h["old"], h["new"]) for h in history if h["field"] == "status"] == [
        ("import:staff.csv", "status", "(empty)", "active"),
        ("roster:hr", "status", "active", "departed"),
        ("import:rehire.csv", "status", "departed", "active"),
    ]


def test_a_note_with_a_trailing_space_survives_an_export_and_reimport() -> None:
    """The sequence hypothesis found: a file's cells are read trimmed, so a note stored as "0 "
    came back from its own export as "0", an update nobody asked for."""
    state = RepeatedUse()
    try:
        state.nothing_lost()
        state.edit_notes(email="dana@d203.org", note="0 ")
        state.nothing_lost()
        state.export_and_reimport()
        state.nothing_lost()
        assert state.inv.person_by_email("dana@d203.org").notes == "0 "
    finally:
        state.teardown()
