"""Audit runs stored by change (issue 17), on SQLite and PostgreSQL: the same answers as the layout
before (every run with all its findings and profiles), a registry in that layout converted safely,
and nights where nothing changed that add almost nothing and make readers read no more.

The runs are built by hand so that every kind of change happens: findings opened, resolved,
reopened, changed in severity, a `--check` run and a `--platform` run that cover only part of the
ledger, a finding outside what its run covered, profiles changed for a few accounts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from auditor.engine.ledger import diff_runs, ledger
from auditor.engine.policy import dump_preset
from auditor.engine.policy.model import Period
from auditor.engine.snapshot import Gathered
from auditor.model.errors import NotFoundError
from auditor.model.types import AuditRun, Finding, FindingState, Platform, Profile, ProfileStatus, Severity
from auditor.services import audit as audit_mod
from auditor.services.history import History, compact, convert_run_storage
from auditor.services.policy import save_policy
from vault import kinds
from vault.errors import RecordTamperedError, VaultError
from vault.registry import Registry
from vault.revealog import RevealLog
from vault.stores.audits import CHANGE_KIND, CHUNK_KIND, PROFILE_KIND, RUN_KIND, AuditStore

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
CHECKS = ("escrow.missing", "training.lapsed", "profile.inactive")


def _finding(
    check: str, i: int, state: FindingState, severity: Severity = Severity.MEDIUM, **kw: Any
) -> Finding:
    platform = kw.pop("platform", Platform.X if i % 2 else Platform.INSTAGRAM)
    return Finding(
        check_id=check,
        severity=severity,
        subject=f"account:a_{i:04d}",
        message=f"{platform.label} account a_{i:04d} has a problem ({check}).",
        account_id=f"a_{i:04d}",
        platform=platform,
        clauses=("N203-SECURITY",),
        evidence={"seen": [i, check]},
        state=state,
        **kw,
    )


def _profiles(accounts: int, changed: set[int], night: int) -> dict[str, Profile]:
    return {
        f"a_{i:04d}": Profile(
            platform=Platform.X,
            handle=f"school_{i:04d}",
            status=ProfileStatus.FOUND,
            display_name=f"School {i}",
            bio=f"Official account {i}" + (f" (night {night})" if i in changed else ""),
        )
        for i in range(accounts)
    }


def nights(accounts: int = 40) -> list[tuple[AuditRun, dict[str, Profile]]]:
    """Eight runs with every kind of change, then their profiles."""
    out: list[tuple[AuditRun, dict[str, Profile]]] = []

    def run(n: int, findings: list[Finding], **kw: Any) -> AuditRun:
        return AuditRun(
            id=f"run-{n:02d}",
            started_at=T0 + timedelta(days=n),
            finished_at=T0 + timedelta(days=n, minutes=2),
            identity="nightly",
            policy="naperville-203",
            checks=kw.pop("checks", CHECKS),
            accounts_checked=accounts,
            findings=tuple(findings),
            **kw,
        )

    base = range(0, accounts, 3)
    out.append(
        (run(0, [_finding(CHECKS[i % 3], i, FindingState.NEW) for i in base]), _profiles(accounts, set(), 0))
    )
    out.append(
        (run(1, [_finding(CHECKS[i % 3], i, FindingState.OPEN) for i in base]), _profiles(accounts, set(), 1))
    )
    # Two resolved, one more severe, one new; two profiles changed.
    third = [
        _finding(
            CHECKS[i % 3],
            i,
            FindingState.RESOLVED if i in (0, 3) else FindingState.OPEN,
            Severity.HIGH if i == 6 else Severity.MEDIUM,
        )
        for i in base
    ] + [_finding("escrow.missing", 1, FindingState.NEW)]
    out.append((run(2, third), _profiles(accounts, {1, 2}, 2)))
    # Only the escrow check: the others stay as they were.
    escrow = [f for f in third if f.check_id == "escrow.missing" and f.state is not FindingState.RESOLVED]
    out.append(
        (
            run(
                3,
                [dataclasses.replace(f, state=FindingState.OPEN) for f in escrow],
                checks=("escrow.missing",),
            ),
            _profiles(accounts, {1, 2}, 2),
        )
    )
    # Only X; and a finding outside what the run covered (an Instagram one).
    xs = [
        dataclasses.replace(f, state=FindingState.OPEN)
        for f in third
        if f.platform is Platform.X and f.state is not FindingState.RESOLVED
    ]
    stray = _finding("training.lapsed", 4, FindingState.NEW, platform=Platform.INSTAGRAM)
    out.append((run(4, [*xs, stray], platforms=("x",)), _profiles(accounts, {1, 2, 5}, 4)))
    # A full run: 0 reopens, the stray one is gone again, one waived.
    full = [
        _finding(
            CHECKS[i % 3],
            i,
            FindingState.OPEN if i else FindingState.NEW,
            Severity.HIGH if i == 6 else Severity.MEDIUM,
        )
        for i in base
        if i != 3
    ]
    full[1] = dataclasses.replace(
        full[1], state=FindingState.WAIVED, waived_until=date(2026, 9, 1), waiver_reason="ok"
    )
    out.append((run(5, full), _profiles(accounts, {1, 2, 5}, 4)))
    out.append(
        (
            run(
                6,
                [
                    dataclasses.replace(
                        f, state=FindingState.OPEN if f.state is FindingState.NEW else f.state
                    )
                    for f in full
                ],
            ),
            _profiles(accounts, {1, 2, 5}, 4),
        )
    )
    out.append((run(7, list(out[-1][0].findings)), _profiles(accounts, {1, 2, 5}, 4)))
    return out


def store_new(reg: Registry, sequence: list[tuple[AuditRun, dict[str, Profile]]]) -> None:
    for run, profiles in sequence:
        previous = audit_mod.current_ledger(reg)
        with reg.transaction():
            audit_mod._store_run(
                reg,
                run,
                Gathered(profiles=profiles, searched={Platform.X}),
                ["a note"],
                audit_mod.AuditOptions(),
                previous,
            )


@contextmanager
def old_layout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The kinds as they were declared before issue 17 (format 1), to write the old layout."""
    for name in ("audit-run", "audit-ledger"):
        monkeypatch.setitem(kinds.KINDS, name, dataclasses.replace(kinds.KINDS[name], format=1, upgrades={}))
    yield
    monkeypatch.undo()


def store_old(
    reg: Registry, sequence: list[tuple[AuditRun, dict[str, Profile]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `put_run` and `put_ledger` wrote before issue 17."""
    with old_layout(monkeypatch), reg.transaction():
        for run, profiles in sequence:
            reg.put(
                RUN_KIND,
                run.id,
                {
                    "format": 1,
                    "run": run.to_dict(),
                    "profiles": {k: v.to_dict() for k, v in profiles.items()},
                    "searched_platforms": ["x"],
                    "notes": ["a note"],
                    "options": {},
                },
                expected_version=0,
            )
        folded = ledger([r for r, _ in sequence])
        reg.put(
            "audit-ledger",
            "current",
            {"format": 1, "after_run": sequence[-1][0].id, "findings": [f.to_dict() for f in folded]},
            expected_version=None,
        )


def key(findings: Any) -> list[tuple[str, str, str, str]]:
    return sorted((f.fingerprint, f.state.value, f.severity.value, f.message) for f in findings)


def answers(reg: Registry) -> dict[str, Any]:
    """What findings, history, trend and diff say, read the new way."""
    history = History.read(reg)
    n = len(history.runs)
    full = history.full_runs()
    return {
        "ids": [r.run.id for r in history.runs],
        "ledgers": [key(history.ledger_after(i)) for i in range(n)],
        "findings": [key(full[i].findings) for i in range(n)],
        "tallies": [dict(r.tally) for r in history.runs],
        "diffs": [_diff(full[i - 1], full[i]) for i in range(1, n)],
        "current": key(audit_mod.current_ledger(reg)),
        "profiles": {k: v.bio for k, v in audit_mod.latest_profiles(reg).items()},
    }


def expected(sequence: list[tuple[AuditRun, dict[str, Profile]]]) -> dict[str, Any]:
    """The same, computed the way readers did before issue 17: folding full runs."""
    from auditor.services.history import tally

    runs = [r for r, _ in sequence]
    latest: dict[str, str] = {}
    for _, profiles in sequence:
        latest.update({k: v.bio for k, v in profiles.items()})
    return {
        "ids": [r.id for r in runs],
        "ledgers": [key(ledger(runs[: i + 1])) for i in range(len(runs))],
        "findings": [key(r.findings) for r in runs],
        "tallies": [tally(r, ledger(runs[: i + 1])) for i, r in enumerate(runs)],
        "diffs": [_diff(runs[i - 1], runs[i]) for i in range(1, len(runs))],
        "current": key(ledger(runs)),
        "profiles": latest,
    }


def _diff(a: AuditRun, b: AuditRun) -> tuple[Any, ...]:
    d = diff_runs(a, b)
    return (
        key(d.added),
        key(d.removed),
        sorted((x.fingerprint, y.severity.value) for x, y in d.changed),
        d.unchanged,
        d.not_compared,
    )


def test_runs_stored_by_change_answer_what_full_runs_answered(make_registry: Callable[..., Registry]) -> None:
    reg = make_registry()
    sequence = nights()
    store_new(reg, sequence)
    assert answers(reg) == expected(sequence)
    # A run's record is its summary: no finding and no profile in it.
    rec = reg.get(RUN_KIND, "run-07")
    assert rec is not None and "findings" not in rec.data["run"] and "profiles" not in rec.data
    assert rec.data["changes"] == 0 and rec.data["tally"]["states"]["open"] > 0


def test_an_old_registry_reads_the_same_before_and_after_its_conversion(
    make_registry: Callable[..., Registry], reopen: Callable[..., Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = make_registry()
    sequence = nights()
    store_old(reg, sequence, monkeypatch)
    assert AuditStore(reg).conversion_pending()
    assert answers(reg) == expected(sequence)  # read in the old layout (folded in memory)
    assert convert_run_storage(reg) == len(sequence)
    assert not AuditStore(reg).conversion_pending()
    reg.close()
    again = reopen()
    assert answers(again) == expected(sequence)
    assert convert_run_storage(again) == 0  # done once
    # The next run continues the converted history.
    more = [
        (
            dataclasses.replace(sequence[-1][0], id="run-08", started_at=T0 + timedelta(days=8)),
            sequence[-1][1],
        )
    ]
    store_new(again, more)
    assert answers(again) == expected(sequence + more)


def test_the_next_audit_converts_an_old_registry_itself(
    make_registry: Callable[..., Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = make_registry()
    sequence = nights()
    store_old(reg, sequence[:5], monkeypatch)
    store_new(reg, sequence[5:])
    assert not AuditStore(reg).conversion_pending()
    assert answers(reg) == expected(sequence)


def test_a_tampered_old_run_stops_the_conversion_with_nothing_written(
    make_registry: Callable[..., Registry], raw: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = make_registry()
    store_old(reg, nights()[:3], monkeypatch)
    _corrupt(raw, RUN_KIND, "run-01")
    kinds_before = set(reg.backend.kinds())
    with pytest.raises(VaultError, match="failed their integrity check; the stored runs were not converted"):
        convert_run_storage(reg)
    assert set(reg.backend.kinds()) == kinds_before and AuditStore(reg).conversion_pending()


def test_nights_where_nothing_changed_add_almost_nothing_and_readers_read_no_more(
    make_registry: Callable[..., Registry],
) -> None:
    """1,000 accounts, a finding for every other one: after the first two nights (every finding is
    new, then open), a night that changes nothing stores its summary and rewrites the ledger head,
    nothing else; the latest report's reads do not grow with the runs."""
    reg = make_registry()
    save_policy(reg, dump_preset("naperville-203"), "preset")
    accounts = 1000
    profiles = _profiles(accounts, set(), 0)
    findings = [_finding(CHECKS[i % 3], i, FindingState.OPEN) for i in range(0, accounts, 2)]
    first = AuditRun(
        id="run-000",
        started_at=T0,
        checks=CHECKS,
        findings=tuple(dataclasses.replace(f, state=FindingState.NEW) for f in findings),
    )
    store_new(reg, [(first, profiles)])
    sizes = []
    for n in range(1, 51):
        run = AuditRun(
            id=f"run-{n:03d}", started_at=T0 + timedelta(days=n), checks=CHECKS, findings=tuple(findings)
        )
        with counting(reg) as before:
            store_new(reg, [(run, profiles)])
        sizes.append(before["written"])
        if n == 1:
            reads_after_1 = reads_of_latest_report(reg)
    assert max(sizes[1:]) < 5_000, sizes  # bytes sealed per unchanged night (measured: 887)
    after_50 = reads_of_latest_report(reg)
    assert after_50[CHANGE_KIND] == after_50[PROFILE_KIND] == 0
    assert after_50[CHUNK_KIND] == reads_after_1[CHUNK_KIND]
    # The run summaries are one small record a run (the history and the trend read them).
    assert after_50[RUN_KIND] == 51 and after_50["run_bytes"] < 51 * 2_000


@contextmanager
def counting(reg: Registry) -> Iterator[dict[str, int]]:
    """Bytes sealed by the registry while inside."""
    seen = {"written": 0}
    real = reg.seal_row

    def seal(*args: Any, **kw: Any) -> Any:
        row = real(*args, **kw)
        seen["written"] += len(row.blob)
        return row

    reg.seal_row = seal  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        reg.seal_row = real  # type: ignore[method-assign]


def reads_of_latest_report(reg: Registry) -> dict[str, int]:
    """Records (and run-summary bytes) the findings report reads, by kind."""
    from auditor.services.reporting import build_report

    counts: dict[str, int] = {RUN_KIND: 0, CHANGE_KIND: 0, CHUNK_KIND: 0, PROFILE_KIND: 0, "run_bytes": 0}
    backend = reg.backend
    real_get, real_scan = backend.get, backend.scan

    def get(kind: str, record_id: str) -> Any:
        row = real_get(kind, record_id)
        if row is not None and kind in counts:
            counts[kind] += 1
        return row

    def scan(kind: str) -> Any:
        rows = list(real_scan(kind))
        if kind in counts:
            counts[kind] += len(rows)
            if kind == RUN_KIND:
                counts["run_bytes"] += sum(len(r.blob) for r in rows)
        return rows

    backend.get, backend.scan = get, scan  # type: ignore[method-assign]
    try:
        build_report("findings", reg)
    finally:
        backend.get, backend.scan = real_get, real_scan  # type: ignore[method-assign]
    return counts


def test_compaction_keeps_summaries_drops_old_detail_and_is_logged(
    make_registry: Callable[..., Registry],
) -> None:
    reg = make_registry()
    sequence = nights()
    store_new(reg, sequence)
    events = len(list(RevealLog(reg).events()))
    today = (T0 + timedelta(days=9)).date()
    dry = compact(reg, Period(days=4), today, dry_run=True)
    assert (
        dry.runs == ("run-00", "run-01", "run-02", "run-03", "run-04")
        and len(list(RevealLog(reg).events())) == events
    )
    done = compact(reg, Period(days=4), today)
    assert done.runs == dry.runs and done.records > 0
    log = list(RevealLog(reg).events())
    assert len(log) == events + 1 and log[-1].action == "compact" and log[-1].details["runs"] == 5
    assert RevealLog(reg).verify().ok
    history = History.read(reg)
    assert [dict(r.tally) for r in history.runs] == expected(sequence)["tallies"]  # trend and history kept
    assert key(history.ledger_after(5)) == expected(sequence)["ledgers"][5]  # newer runs still walk back
    with pytest.raises(NotFoundError, match="run-04 was compacted"):
        history.ledger_after(3)
    assert compact(reg, None, today).runs == ()  # `retention = false` keeps everything


def test_a_tampered_change_record_is_named_not_misread(
    make_registry: Callable[..., Registry], raw: Any
) -> None:
    reg = make_registry()
    store_new(reg, nights())
    _corrupt(raw, CHANGE_KIND, "run-05.0")
    history = History.read(reg)
    with pytest.raises(RecordTamperedError):
        history.ledger_after(2)


def _corrupt(raw: Any, kind: str, record_id: str) -> None:
    """Flip a byte of a record's ciphertext, as someone with write access to the database could."""
    [(blob,)] = raw("SELECT blob FROM records WHERE kind=? AND id=?", (kind, record_id))
    damaged = bytearray(blob)
    damaged[-1] ^= 1
    raw("UPDATE records SET blob=? WHERE kind=? AND id=?", (bytes(damaged), kind, record_id))


def test_registry_upgrade_converts_the_runs_after_a_backup(
    make_registry: Callable[..., Registry],
    new_backend: Callable[[], Any],
    reopen: Callable[..., Registry],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    """`auditor registry upgrade` on a registry whose runs are in the layout before issue 17."""
    from auditor.model.types import Secret
    from auditor.services import registry_admin
    from tests.vault.conftest import PASSPHRASE

    monkeypatch.setenv("AUDITOR_BACKUP_DIR", str(tmp_path / "backups"))
    reg = make_registry()
    sequence = nights()
    store_old(reg, sequence, monkeypatch)
    reg.close()
    assert registry_admin.describe(new_backend(), "here")["needs_upgrade"]
    result = registry_admin.upgrade(new_backend(), lambda _reg: ("admin", Secret(PASSPHRASE)))
    assert result.done == (
        f"audit runs: {len(sequence)} run(s) stored by change (summaries, changes, chunked ledger and profiles)",
    )
    assert result.backup
    upgraded = reopen()
    assert not AuditStore(upgraded).conversion_pending()
    assert answers(upgraded) == expected(sequence)
    assert registry_admin.upgrade(new_backend(), lambda _reg: ("admin", Secret(PASSPHRASE))).done == ()


def test_a_change_stores_the_finding_before_it_as_what_differs(
    make_registry: Callable[..., Registry],
) -> None:
    """The second night (every finding new -> open) stores each finding once in full, not twice,
    and reads back the whole finding as it was before."""
    import json

    reg = make_registry()
    save_policy(reg, dump_preset("naperville-203"), "preset")
    profiles = _profiles(200, set(), 0)
    findings = [_finding(CHECKS[i % 3], i, FindingState.OPEN) for i in range(200)]
    new = tuple(dataclasses.replace(f, state=FindingState.NEW) for f in findings)
    runs = [
        AuditRun(id="run-000", started_at=T0, checks=CHECKS, findings=new),
        AuditRun(id="run-001", started_at=T0 + timedelta(days=1), checks=CHECKS, findings=tuple(findings)),
    ]
    store_new(reg, [(r, profiles) for r in runs])

    def change_bytes(run_id: str) -> int:
        rec = reg.get(CHANGE_KIND, f"{run_id}.0")
        assert rec is not None
        return len(json.dumps(rec.data))

    assert change_bytes("run-001") < 1.25 * change_bytes("run-000")
    store = AuditStore(reg)
    [second] = [r for r in store.stored_runs([]) if r.run.id == "run-001"]
    changes = store.changes(second)
    assert len(changes) == 200
    for _fp, before, after in changes:
        assert before is not None and after is not None
        assert before["state"] == "new" and after["state"] == "open"
        assert Finding.from_dict(before) == dataclasses.replace(
            Finding.from_dict(after), state=FindingState.NEW
        )
