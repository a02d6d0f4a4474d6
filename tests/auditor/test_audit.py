"""auditor/services/audit.py and auditor/services/policy.py on a real encrypted registry in tmp_path.

What an operator relies on: the policy stored only after validation and only by an admin; the audit
reading escrow metadata when the escrow commands wrote some and coping when they did not; states
new -> open -> resolved across runs; a partial run (--check, --offline, --platform) leaving the rest
of the ledger alone; waivers in force, then reopening after their date; a Bluesky search feeding
look-alikes and claimants; and a connector that cannot work making profiles unknown, never found.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from auditor.engine.ledger import apply_waivers_now, diff_runs, find_finding, finding_id, ledger, resolve_run
from auditor.engine.policy import dump_preset
from auditor.model.errors import InputError, NotFoundError, PolicyError, UsageError
from auditor.model.types import (
    Account,
    Approval,
    CredentialRef,
    FindingState,
    Person,
    PersonStatus,
    Platform,
    Purpose,
    Role,
    RotationTask,
    Secret,
)
from auditor.services.audit import (
    AuditOptions,
    connector_factory,
    load_runs,
    parse_candidates,
    read_snapshot,
    run_audit,
    waive,
)
from auditor.services.policy import require_policy, save_policy, stored_policy
from connectors.fakes import FakeAccount, FakeBluesky
from vault.backends.sqlite import SQLiteBackend
from vault.errors import AccessDeniedError
from vault.registry import Registry
from vault.rekey import add_identity
from vault.stores.inventory import Inventory

T0 = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)
ADMIN_PASS = Secret("admin passphrase for tests")
AUDITOR_PASS = Secret("auditor passphrase for tests")


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[Registry]:
    registry = Registry.create(
        SQLiteBackend(str(tmp_path / "r.db")), "admin", ADMIN_PASS, kdf_profile="floor"
    )
    add_identity(registry, "nightly", Role.AUDITOR, AUDITOR_PASS, kdf_profile="floor")
    yield registry
    registry.close()


def _district(reg: Registry, *, policy: bool = True) -> dict[str, Account]:
    inv = Inventory(reg)
    owner = inv.add_person(
        Person(
            id="",
            name="Dana Whitfield",
            email="dwhitfield@naperville203.org",
            role="Principal",
            building="nnhs",
        )
    )
    gone = inv.add_person(
        Person(
            id="",
            name="Tom Okafor",
            email="tokafor@naperville203.org",
            role="Band Director",
            status=PersonStatus.DEPARTED,
        )
    )
    approved = Approval(approved_on=date(2026, 1, 5), approved_by=owner.email)
    accounts = {
        "x": inv.add_account(
            Account(
                id="",
                platform=Platform.X,
                handle="naperville203",
                building="nnhs",
                purpose=Purpose.DISTRICT,
                owner_id=owner.id,
                login_email="naperville203@gmail.com",
                two_factor=True,
                public_comments=False,
                approval=approved,
            )
        ),
        "band": inv.add_account(
            Account(
                id="",
                platform=Platform.BLUESKY,
                handle="nchsband.bsky.social",
                building="nchs",
                purpose=Purpose.ACTIVITY,
                owner_id=gone.id,
                login_email="band@naperville203.org",
                two_factor=True,
                public_comments=False,
                approval=approved,
            )
        ),
    }
    if policy:
        save_policy(reg, dump_preset("naperville-203"), "preset naperville-203")
    return accounts


def _states(run_findings: object) -> dict[tuple[str, str], str]:
    return {(f.check_id, f.subject): f.state.value for f in run_findings}  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------
# The stored policy


def test_policy_is_stored_only_when_valid_and_only_by_an_admin(reg: Registry, tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as missing:
        require_policy(reg)
    assert "auditor policy init --preset" in missing.value.hint

    stored = save_policy(reg, dump_preset("moline-coal-valley"), "preset moline-coal-valley")
    assert stored.version == 1 and stored.set_by == "admin"
    assert require_policy(reg)[1].id == "moline-coal-valley"

    broken = dump_preset("naperville-203").replace('training = ""', 'training = "every year"', 1)
    with pytest.raises(PolicyError) as bad:
        save_policy(reg, broken, "file policy.toml")
    assert "renewal.training: 'every year' is not a period" in bad.value.message
    assert "was not changed" in bad.value.hint
    assert stored_policy(reg).text == dump_preset("moline-coal-valley")  # type: ignore[union-attr]

    with pytest.raises(PolicyError, match="already stored"):
        save_policy(reg, dump_preset("naperville-203"), "preset naperville-203", replace=False)

    nightly = Registry.open(SQLiteBackend(str(tmp_path / "r.db")))
    nightly.unlock("nightly", AUDITOR_PASS)
    try:
        assert require_policy(nightly)[1].id == "moline-coal-valley"  # the scheduled job can read it
        with pytest.raises(AccessDeniedError):
            save_policy(nightly, dump_preset("naperville-203"), "preset naperville-203")
    finally:
        nightly.close()


# --------------------------------------------------------------------------------------------------
# The snapshot and the context


def test_snapshot_reads_escrow_records_when_present_and_copes_without(reg: Registry) -> None:
    accounts = _district(reg)
    snap = read_snapshot(reg)
    assert snap.credentials == {} and snap.rotation_tasks == []
    assert [a.handle for a in snap.accounts] == ["nchsband.bsky.social", "naperville203"]

    x = accounts["x"]
    ref = CredentialRef(x.id, escrowed=True, version=2, set_at=T0 - timedelta(days=10), has_password=True)
    reg.put("credential-meta", x.id, ref.to_dict(), expected_version=0)
    task = RotationTask(
        "t1", x.id, "owner departed", opened_at=T0 - timedelta(days=30), due_on=date(2026, 8, 15)
    )
    reg.put("rotation-task", "t1", task.to_dict(), expected_version=0)
    snap = read_snapshot(reg)
    assert snap.credentials == {x.id: ref}
    assert snap.rotation_tasks == [task]

    outcome = run_audit(reg, AuditOptions(offline=True), now=T0)
    by_check = {(f.check_id, f.account_id) for f in outcome.run.findings}
    assert ("escrow.missing", x.id) not in by_check  # the escrow record counts
    assert ("escrow.missing", accounts["band"].id) in by_check
    overdue = [f for f in outcome.run.findings if f.check_id == "escrow.rotation_overdue"]
    assert [f.account_id for f in overdue] == [x.id]


def test_no_policy_is_an_operational_error_with_the_init_hint(reg: Registry) -> None:
    _district(reg, policy=False)
    with pytest.raises(PolicyError) as err:
        run_audit(reg, AuditOptions(offline=True), now=T0)
    assert err.value.hint.startswith("Create one with `auditor policy init --preset naperville-203`")
    assert load_runs(reg) == []


# --------------------------------------------------------------------------------------------------
# Runs and the ledger


def test_states_go_new_open_resolved_across_stored_runs(reg: Registry) -> None:
    accounts = _district(reg)
    x = accounts["x"]
    first = run_audit(reg, AuditOptions(offline=True), now=T0)
    login = ("login.non_district_email", f"account:{x.id}")
    assert _states(first.run.findings)[login] == "new"
    assert set(_states(first.run.findings).values()) == {"new"}
    assert first.network_used is False and first.run.offline

    second = run_audit(reg, AuditOptions(offline=True), now=T0 + timedelta(days=1))
    assert set(_states(second.run.findings).values()) == {"open"}

    stored = Inventory(reg).get_account(x.id)
    assert stored is not None
    Inventory(reg).save_account(dataclasses.replace(stored, login_email="social@naperville203.org"))
    third = run_audit(reg, AuditOptions(offline=True), now=T0 + timedelta(days=2))
    states = _states(third.run.findings)
    assert states.pop(login) == "resolved"
    assert set(states.values()) == {"open"}

    runs = load_runs(reg)
    assert [r.id for r in runs] == [first.run.id, second.run.id, third.run.id]
    assert resolve_run(runs, "latest") == runs[-1] and resolve_run(runs, "previous") == runs[-2]
    assert resolve_run(runs, first.run.id) == runs[0]
    with pytest.raises(UsageError, match="3 runs start with 'run-'"):
        resolve_run(runs, "run-")
    d = diff_runs(runs[1], runs[2])
    assert [(f.check_id, f.subject) for f in d.removed] == [login]
    assert d.added == () and d.changed == ()

    # The fourth run no longer repeats the resolved finding.
    fourth = run_audit(reg, AuditOptions(offline=True), now=T0 + timedelta(days=3))
    assert login not in _states(fourth.run.findings)


def test_a_partial_run_leaves_the_rest_of_the_ledger_alone(reg: Registry) -> None:
    accounts = _district(reg)
    run_audit(reg, AuditOptions(offline=True), now=T0)
    # Only the escrow family, then only X: neither makes the other findings vanish or look new later.
    only_escrow = run_audit(reg, AuditOptions(offline=True, checks=("escrow",)), now=T0 + timedelta(hours=1))
    assert {f.check_id for f in only_escrow.run.findings} == {"escrow.missing"}
    only_x = run_audit(reg, AuditOptions(offline=True, platforms=(Platform.X,)), now=T0 + timedelta(hours=2))
    assert {f.platform for f in only_x.run.findings} == {Platform.X}
    full = run_audit(reg, AuditOptions(offline=True), now=T0 + timedelta(hours=3))
    assert set(_states(full.run.findings).values()) == {"open"}
    owner = [f for f in ledger(load_runs(reg)) if f.check_id == "owner.departed"]
    assert [f.account_id for f in owner] == [accounts["band"].id]

    # A diff against the partial run compares only what both checked: the findings of checks the
    # escrow-only run skipped are "not compared", never "removed" (or "added" on the way back).
    runs = load_runs(reg)
    first, escrow_only = runs[0], runs[1]
    d = diff_runs(first, escrow_only)
    assert d.removed == () and d.added == ()
    assert d.unchanged == 2  # escrow.missing on both accounts, in both runs
    assert d.not_compared == len([f for f in first.findings if f.check_id != "escrow.missing"]) > 0
    back = diff_runs(escrow_only, runs[3])
    assert back.added == () and back.removed == () and back.not_compared == d.not_compared


def test_unknown_check_is_a_usage_error(reg: Registry) -> None:
    _district(reg)
    with pytest.raises(UsageError, match=r"unknown check 'escrow\.nope'"):
        run_audit(reg, AuditOptions(offline=True, checks=("escrow.nope",)), now=T0)
    with pytest.raises(UsageError, match="no check to run offline"):
        run_audit(reg, AuditOptions(offline=True, checks=("profile",)), now=T0)


# --------------------------------------------------------------------------------------------------
# Waivers


def test_a_waiver_holds_until_its_date_then_the_finding_reopens(reg: Registry, tmp_path: Path) -> None:
    accounts = _district(reg)
    first = run_audit(reg, AuditOptions(offline=True), now=T0)
    target = next(f for f in first.run.findings if f.check_id == "login.non_district_email")
    fid = finding_id(target.fingerprint)

    with pytest.raises(UsageError, match="needs a reason"):
        waive(reg, fid, "  ", date(2026, 9, 30), today=T0.date())
    with pytest.raises(UsageError, match="is in the past"):
        waive(reg, fid, "ok", date(2026, 8, 1), today=T0.date())
    with pytest.raises(NotFoundError):
        waive(reg, "fdeadbeef", "ok", date(2026, 9, 30), today=T0.date())

    finding, w = waive(
        reg, fid, "Board exception until the new mailbox exists", date(2026, 9, 30), today=T0.date()
    )
    assert finding.fingerprint == target.fingerprint and w.by == "admin"

    during = run_audit(reg, AuditOptions(offline=True), now=T0 + timedelta(days=5))
    waived = find_finding(during.run.findings, fid)
    assert waived.state is FindingState.WAIVED and waived.waived_until == date(2026, 9, 30)
    assert waived.waiver_reason == "Board exception until the new mailbox exists"
    assert during.expired_waivers == ()

    # The ledger as `finding list` shows it on 1 October: open again, with the expiry recorded.
    now_view = apply_waivers_now(ledger(load_runs(reg)), [w], date(2026, 10, 1))
    assert find_finding(now_view, fid).state is FindingState.OPEN

    after = run_audit(reg, AuditOptions(offline=True), now=datetime(2026, 10, 2, tzinfo=UTC))
    reopened = find_finding(after.run.findings, fid)
    assert reopened.state is FindingState.OPEN
    assert reopened.evidence["waiver_expired_on"] == "2026-09-30"
    assert [x.fingerprint for x in after.expired_waivers] == [target.fingerprint]

    # An auditor identity cannot waive.
    nightly = Registry.open(SQLiteBackend(str(tmp_path / "r.db")))
    nightly.unlock("nightly", AUDITOR_PASS)
    try:
        with pytest.raises(AccessDeniedError):
            waive(nightly, fid, "no", date(2026, 12, 1), today=T0.date())
    finally:
        nightly.close()
    assert accounts


# --------------------------------------------------------------------------------------------------
# Connectors: discovery by search, and failures


def test_bluesky_search_feeds_lookalikes_and_claimants(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    _district(reg)
    fake = FakeBluesky(
        [
            FakeAccount("nchsband.bsky.social", id="b1", name="NCHS Band", bio="Naperville Central band"),
            FakeAccount("naperviile203.bsky.social", id="b2", name="Naperville 203", bio="News"),
            FakeAccount(
                "nchs-parents.bsky.social",
                id="b3",
                name="District 203 parents",
                bio="Naperville 203 families",
            ),
        ]
    )
    with fake:
        monkeypatch.setenv("AUDITOR_BLUESKY_BASE_URL", fake.url)
        outcome = run_audit(
            reg,
            AuditOptions(
                platforms=(Platform.BLUESKY,), checks=("impersonation", "account", "profile.not_found")
            ),
            now=T0,
        )
    got = {(f.check_id, f.subject) for f in outcome.run.findings}
    assert got == {
        ("impersonation.suspected", "candidate:bluesky:naperviile203.bsky.social"),
        ("account.unlisted", "claimant:bluesky:nchs-parents.bsky.social"),
    }
    assert all(r.path.startswith("/xrpc/app.bsky.actor.") for r in fake.requests)
    assert outcome.run.platforms == ("bluesky",)


def test_a_connector_that_cannot_work_gives_unknown_profiles(reg: Registry) -> None:
    accounts = _district(reg)
    # No X token anywhere (no registry token, no keyring): every X profile is unknown.
    factory = connector_factory(require_policy(reg)[1], tokens=lambda p: None, env={})
    outcome = run_audit(
        reg, AuditOptions(platforms=(Platform.X,), checks=("profile",)), connector_for=factory, now=T0
    )
    [f] = outcome.run.findings
    assert (f.check_id, f.account_id) == ("profile.unknown", accounts["x"].id)
    assert f.message == "X account @naperville203 could not be checked this run (no credentials)."
    assert outcome.run.profiles_unknown == 1


# --------------------------------------------------------------------------------------------------
# The candidates file


def test_candidates_file_lines() -> None:
    text = "# reported by staff\n\nx:@TheReal203Supt\nbluesky: d203.bsky.social  # from a parent\nx:thereal203supt\n"
    assert parse_candidates(text) == (
        (Platform.X, "@TheReal203Supt"),
        (Platform.BLUESKY, "d203.bsky.social"),
        (Platform.X, "thereal203supt"),
    )
    with pytest.raises(InputError, match="line 2: expected PLATFORM:HANDLE"):
        parse_candidates("x:ok\nmyspace:someone\n", "reported.txt")
    with pytest.raises(InputError, match="line 1"):
        parse_candidates("x:\n")


def test_the_stored_ledger_matches_every_run_folded_and_old_registries_rebuild_it(reg: Registry) -> None:
    """The audit reads one ledger record instead of every run since the first; it must say exactly
    what folding all runs says, and a registry from before the record existed still works."""
    from auditor.services.audit import current_ledger, has_runs
    from vault.stores.audits import LEDGER_ID, LEDGER_KIND

    _district(reg)
    assert not has_runs(reg) and current_ledger(reg) == []
    run_audit(reg, AuditOptions(offline=True), now=T0)
    run_audit(reg, AuditOptions(offline=True, checks=("escrow",)), now=T0 + timedelta(hours=1))
    run_audit(reg, AuditOptions(offline=True, platforms=(Platform.X,)), now=T0 + timedelta(hours=2))

    def key(findings: list) -> list:  # type: ignore[type-arg]
        return sorted((f.fingerprint, f.state.value, f.message) for f in findings)

    assert has_runs(reg)
    assert key(current_ledger(reg)) == key(ledger(load_runs(reg)))
    stored = reg.get(LEDGER_KIND, LEDGER_ID)
    assert stored is not None and stored.data["after_run"] == load_runs(reg)[-1].id

    # A registry written before the ledger record: the next audit folds the runs and stores it.
    reg.backend.delete(LEDGER_KIND, LEDGER_ID)
    assert has_runs(reg)
    expected = key(ledger(load_runs(reg)))
    assert key(current_ledger(reg)) == expected
    fourth = run_audit(reg, AuditOptions(offline=True), now=T0 + timedelta(hours=3))
    assert set(_states(fourth.run.findings).values()) == {"open"}
    assert reg.get(LEDGER_KIND, LEDGER_ID) is not None
