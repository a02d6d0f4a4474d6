"""auditor.services.roster against a real registry: source configuration, secrets, and the sync transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from auditor.model.errors import AuditorError, ConnectorError, NotFoundError, UsageError
from auditor.model.types import Account, Person, PersonKind, PersonStatus, Platform, RosterEntry, Secret
from auditor.services import roster as roster_ops
from connectors.roster.base import RosterSource
from connectors.roster.generic_csv import MappedCsvSource
from connectors.roster.msgraph import GraphUsersSource
from vault.backends.sqlite import SQLiteBackend
from vault.errors import ConcurrentEditError
from vault.registry import Registry
from vault.stores.inventory import Inventory
from vault.stores.tokens import RegistryTokenStore

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = Registry.create(
        SQLiteBackend(tmp_path / "registry.db"), "admin", Secret("correct horse battery"), kdf_profile="floor"
    )
    yield reg
    reg.close()


class ListSource(RosterSource):
    """A roster whose entries the test hands over (the sources themselves are tested elsewhere)."""

    kind = "test-list"

    def __init__(self, entries: list[RosterEntry], *, full: bool = True, name: str = "hr") -> None:
        super().__init__(name)
        self.entries = entries
        self.full_snapshot = full

    def fetch(self) -> list[RosterEntry]:
        return list(self.entries)


def staff(n: int) -> list[Person]:
    return [
        Person(id=f"p_{i}", name=f"Staff {i}", email=f"s{i}@d203.org", role="teacher", building="North",
               employee_id=f"E{i}")
        for i in range(n)
    ]  # fmt: skip


def entry(i: int, **overrides: object) -> RosterEntry:
    values: dict[str, object] = {
        "source_id": f"r{i}", "email": f"s{i}@d203.org", "name": f"Staff {i}", "role": "teacher",
        "building": "North", "employee_id": f"E{i}",
    }  # fmt: skip
    values.update(overrides)
    return RosterEntry(**values)  # type: ignore[arg-type]


def seed(registry: Registry, people: list[Person], owner: str = "") -> Inventory:
    inv = Inventory(registry)
    for p in people:
        inv.add_person(p)
    if owner:
        inv.add_account(Account(id="", platform=Platform.INSTAGRAM, handle="nnhs", owner_id=owner))
    return inv


def backups(registry: Registry) -> list[Path]:
    folder = Path(registry.backend.location).parent / "backups"
    return sorted(folder.iterdir()) if folder.exists() else []


# -- options ---------------------------------------------------------------------------------------


def test_options_are_converted_by_the_sources_defaults(tmp_path: Path) -> None:
    opts = roster_ops.parse_options(
        "google",
        ["max_results=200", "building_from_org_unit=yes", "student_org_units=/Students, /Pupils",
         "customer=C01"],
    )  # fmt: skip
    assert opts == {
        "max_results": 200,
        "building_from_org_unit": True,
        "student_org_units": ["/Students", "/Pupils"],
        "customer": "C01",
    }
    assert roster_ops.parse_options("oneroster-rest", ["version=1.2"]) == {"version": "1.2"}  # not 1.2 float
    path = roster_ops.parse_options("oneroster-csv", ["path=exports/or.zip"], base=tmp_path)["path"]
    assert path == str(tmp_path / "exports" / "or.zip")


def test_a_csv_mapping_comes_from_a_toml_file(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('full_snapshot = false\n[columns]\nemail = "Work Email"\nrole = "Title"\n')
    opts = roster_ops.parse_options("csv", ["path=staff.csv", f"mapping=@{mapping}"], base=tmp_path)
    assert opts["mapping"] == {"full_snapshot": False, "columns": {"email": "Work Email", "role": "Title"}}
    source = roster_ops.validate_source(roster_ops.SourceConfig("hr", "csv", opts))
    assert isinstance(source, MappedCsvSource) and source.full_snapshot is False
    json.dumps(opts)  # storable as a setting


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["client_secret=s3cr3t-value"], "secrets are never given as arguments"),
        (["access_token=s3cr3t-value"], "secrets are never given as arguments"),
        (["tenant"], "is not KEY=VALUE"),
        (["tenant=a", "tenant=b"], "given twice"),
        (["page_size=lots"], "'lots' is not a number"),
        (['student_types=["a"'], "not valid JSON"),
    ],
)
def test_bad_options_are_usage_errors_that_never_echo_a_secret(pairs: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        roster_ops.parse_options("msgraph", pairs)
    assert "s3cr3t-value" not in info.value.message + info.value.hint


def test_kind_aliases_and_unknown_kinds() -> None:
    assert roster_ops.parse_kind("google").value == "google-directory"
    assert roster_ops.parse_kind("MSGraph").value == "msgraph"
    with pytest.raises(UsageError, match="unknown roster source kind 'ldap'") as info:
        roster_ops.parse_kind("ldap")
    assert "oneroster-csv" in info.value.hint


# -- configured sources ------------------------------------------------------------------------------


def test_add_open_and_remove_a_source_with_its_secret(registry: Registry) -> None:
    options = {"tenant": "d203.org", "client_id": "abc", "graph_url": "http://127.0.0.1:9"}
    with pytest.raises(UsageError, match="needs its client secret"):
        roster_ops.add_source(registry, "entra", "msgraph", options)
    roster_ops.add_source(registry, "Entra", "msgraph", options, Secret("graph-secret-1"))
    stored = registry.setting(roster_ops.SOURCES_SETTING)
    assert stored["entra"]["options"] == options and "graph-secret-1" not in json.dumps(stored)
    assert RegistryTokenStore(registry).get("roster:entra") == Secret("graph-secret-1")
    rows = roster_ops.source_rows(registry)
    assert [(r["name"], r["kind"], r["secret"]) for r in rows] == [("entra", "msgraph", "stored")]

    source = roster_ops.open_source(registry, "ENTRA")
    assert isinstance(source, GraphUsersSource) and source.name == "entra"
    assert "graph-secret-1" not in repr(source)

    with pytest.raises(UsageError, match="already exists"):
        roster_ops.add_source(registry, "entra", "msgraph", options, Secret("x"))
    roster_ops.set_source_secret(registry, "entra", Secret("graph-secret-2"))
    assert RegistryTokenStore(registry).get("roster:entra") == Secret("graph-secret-2")

    roster_ops.remove_source(registry, "entra")
    assert roster_ops.source_rows(registry) == [] and RegistryTokenStore(registry).names() == []
    with pytest.raises(NotFoundError, match="no roster source named 'entra'"):
        roster_ops.open_source(registry, "entra")


def test_bad_options_are_refused_before_anything_is_stored(registry: Registry) -> None:
    with pytest.raises(ConnectorError, match="unknown option 'colour'") as info:
        roster_ops.add_source(registry, "sis", "oneroster-csv", {"path": "/x", "colour": "red"})
    assert "disabled_means" in info.value.hint
    with pytest.raises(ConnectorError, match="missing 1 required"):
        roster_ops.add_source(registry, "entra", "msgraph", {"tenant": "d203.org"}, Secret("s"))
    with pytest.raises(UsageError, match="not a valid roster source name"):
        roster_ops.add_source(registry, "../etc", "oneroster-csv", {"path": "/x"})
    assert registry.setting(roster_ops.SOURCES_SETTING) is None
    assert RegistryTokenStore(registry).names() == []


def test_a_source_whose_secret_is_missing_says_how_to_store_it(registry: Registry) -> None:
    roster_ops.add_source(registry, "entra", "msgraph", {"tenant": "t", "client_id": "c"}, Secret("s"))
    RegistryTokenStore(registry).delete("roster:entra")
    assert roster_ops.source_rows(registry)[0]["secret"] == "MISSING"
    with pytest.raises(ConnectorError, match="has no stored client secret") as info:
        roster_ops.open_source(registry, "entra")
    assert "auditor roster set-secret entra" in info.value.hint


# -- sync --------------------------------------------------------------------------------------------


def test_sync_applies_records_history_and_is_idempotent(registry: Registry) -> None:
    inv = seed(registry, staff(5), owner="p_1")
    # The first sync of the source is the baseline (issue 13): the roster agrees with the registry.
    first = roster_ops.sync(registry, ListSource([entry(i) for i in range(5)]), now=NOW.replace(hour=5))
    assert first.plan.baseline and first.plan.is_empty and first.plan.summary.matched == 5  # type: ignore[union-attr]
    entries = [entry(0, role="principal"), entry(1, status=PersonStatus.DEPARTED, left_on=date(2026, 11, 1)),
               entry(2), entry(3), entry(4),
               entry(9, email="new@d203.org", name="New Hire", employee_id="E9")]  # fmt: skip
    outcome = roster_ops.sync(registry, ListSource(entries), create_missing=True, now=NOW)
    assert outcome.applied and not outcome.refused and outcome.backup and Path(outcome.backup).exists()
    assert outcome.counts == {"departures": 1, "role_changes": 1, "updates": 0, "created": 1, "absent": 0,
                              "unmatched": 0, "warnings": 0}  # fmt: skip
    people = {p.email: p for p in inv.people()}
    assert len(people) == 6  # nobody removed, one added
    assert people["s1@d203.org"].status is PersonStatus.DEPARTED
    assert people["s1@d203.org"].departed_on == date(2026, 11, 1)
    assert people["s0@d203.org"].role == "principal" and people["s0@d203.org"].role_changed_on == NOW.date()
    assert people["new@d203.org"].id.startswith("p_") and people["new@d203.org"].created_at == NOW
    assert inv.references_to("p_1")  # the departed owner is still on the account

    [_baseline, record] = roster_ops.history(registry)
    assert (record.source, record.kind, record.by, record.counts["departures"]) == (
        "hr",
        "test-list",
        "admin",
        1,
    )
    assert any("Staff 1 (p_1) departed on 2026-11-01" in line and "named on district accounts" in line
               for line in record.changes)  # fmt: skip
    assert record.previous_sync_at == NOW.replace(hour=5).isoformat()

    again = roster_ops.sync(registry, ListSource(entries), create_missing=True, now=NOW.replace(hour=7))
    assert again.plan.is_empty and again.changes == [] and again.backup == ""
    assert {p.email: p for p in inv.people()} == people
    assert [r.previous_sync_at for r in roster_ops.history(registry)] == [
        "",
        NOW.replace(hour=5).isoformat(),
        NOW.isoformat(),
    ]
    assert len(backups(registry)) == 1  # the baseline and the last sync changed nothing: no backup


def test_dry_run_and_a_delta_write_nothing_and_depart_nobody(registry: Registry) -> None:
    inv = seed(registry, staff(4))
    before = inv.people()
    dry = roster_ops.sync(registry, ListSource([entry(0)]), dry_run=True, now=NOW)
    assert dry.dry_run and not dry.applied and len(dry.plan.departures) == 3 and dry.plan.warnings
    assert inv.people() == before and roster_ops.history(registry) == [] and backups(registry) == []

    delta = roster_ops.sync(registry, ListSource([entry(0)], full=False), now=NOW)
    assert delta.applied and delta.plan.departures == () and not delta.full_snapshot
    assert inv.people() == before


def test_warnings_refuse_unless_forced(registry: Registry) -> None:
    inv = seed(registry, staff(5))
    before = inv.people()
    refused = roster_ops.sync(registry, ListSource([entry(0), entry(1)]), now=NOW)
    assert refused.refused and not refused.applied
    assert refused.plan.warnings == (
        "The roster would take 3 of 5 active people it covers out of active status (3 departed): Staff 2, "
        "Staff 3, Staff 4; check that the export is complete and current before applying.",
    )
    assert inv.people() == before and roster_ops.history(registry) == [] and backups(registry) == []

    forced = roster_ops.sync(registry, ListSource([entry(0), entry(1)]), force=True, now=NOW)
    assert forced.applied and forced.forced
    assert sum(p.status is PersonStatus.DEPARTED for p in inv.people()) == 3
    assert roster_ops.history(registry)[0].forced is True


def test_a_concurrent_edit_mid_sync_rolls_back_every_change(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone edits Staff 2 while the sync runs (after it read the registry, before it writes):
    the sync must fail as a whole, leaving Staff 1's planned departure unwritten too."""
    import dataclasses

    inv = seed(registry, staff(3))
    before = inv.people()
    real_backup = roster_ops.take_backup

    def backup_then_someone_edits(reg: Registry, reason: str, directory: Path | None = None) -> str:
        path = real_backup(reg, reason, directory)
        other = Registry.open(SQLiteBackend(Path(reg.backend.location)))
        try:
            other.unlock("admin", Secret("correct horse battery"))
            other_inv = Inventory(other)
            person = other_inv.get_person("p_2")
            assert person is not None
            other_inv.save_person(dataclasses.replace(person, notes="edited meanwhile"))
        finally:
            other.close()
        return path

    monkeypatch.setattr(roster_ops, "take_backup", backup_then_someone_edits)
    entries = [entry(1, status=PersonStatus.DEPARTED), entry(2, role="principal")]
    with pytest.raises(ConcurrentEditError, match="person p_2 was changed by someone else"):
        roster_ops.sync(registry, ListSource(entries, full=False), now=NOW)
    after = {p.id: p for p in inv.people()}
    assert after["p_1"] == {p.id: p for p in before}["p_1"]  # not departed: rolled back
    assert after["p_2"].notes == "edited meanwhile" and after["p_2"].role == "teacher"
    assert roster_ops.history(registry) == []
    assert len(backups(registry)) == 1  # the backup was taken before the attempt


def test_damaged_person_records_stop_the_sync(registry: Registry) -> None:
    seed(registry, staff(2))
    row = registry.backend.get("person", "p_1")
    assert row is not None
    registry.backend.conn.execute(  # type: ignore[attr-defined]
        "UPDATE records SET blob=? WHERE kind='person' AND id='p_1'",
        (row.blob[:-1] + bytes([row.blob[-1] ^ 1]),),
    )
    with pytest.raises(AuditorError, match="failed their integrity check; the roster sync did not run"):
        roster_ops.sync(registry, ListSource([entry(0)]), now=NOW)
    assert roster_ops.history(registry) == []


def test_an_unknown_path_or_name_is_not_found(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no file or folder at that path"):
        roster_ops.open_source(registry, str(tmp_path / "missing.zip"))
    (tmp_path / "export").mkdir()
    source = roster_ops.open_source(registry, str(tmp_path / "export"))
    assert source.kind == "oneroster-csv" and source.name == "oneroster-csv:export"


def test_students_are_matched_too(registry: Registry) -> None:
    inv = seed(registry, [Person(id="p_s", name="Kim Lee", email="kim@students.d203.org",
                                 kind=PersonKind.STUDENT, grade="9")])  # fmt: skip
    entries = [RosterEntry("u", "kim@students.d203.org", "Kim Lee", kind=PersonKind.STUDENT, grade="10")]
    outcome = roster_ops.sync(registry, ListSource(entries), now=NOW)
    assert outcome.counts["updates"] == 1
    assert inv.people()[0].grade == "10"
