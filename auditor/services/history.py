"""Stored audit history, by change (issue 17): what a run stores, how readers get a run's findings
back without reading every run, the conversion of registries stored before, and compaction.

A run stores its summary (the header of `AuditRun`, counts by state and severity, the open findings
after it by severity, notes, options) and the ledger entries that changed in it, each with its value
before and after (vault/stores/audits.py). The ledger itself is kept in chunks, rewritten only where
a finding changed; the latest profile of each account in chunks, rewritten only where a profile
changed. So a night where little changed adds a few kilobytes, and:

* `audit history` and the findings report's trend read only the summaries;
* `finding list`, the reports and the next audit read the ledger (its chunks);
* a past run's findings (`audit diff`, `report findings --run`, `finding show`'s history) are the
  ledger walked back from the newest run through the changes of the runs after it: `audit diff
  previous latest` reads one run's changes.

Retention (`[audit] retention` in the policy, docs/design.md "Stored audit history"): `auditor audit
compact` drops the change records of runs older than the retention; their summaries stay for ever
(trend and history are unchanged), only their findings can no longer be shown. The reveal log is
never touched, and the compaction is itself logged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from auditor.engine.ledger import advance_ledger, covers, resolve_run
from auditor.model.errors import NotFoundError
from auditor.model.types import AuditRun, Finding, FindingState, Profile
from vault.errors import VaultError
from vault.revealog import RevealLog
from vault.stores.audits import (
    LEGACY,
    AuditStore,
    Change,
    FindingEncoder,
    RunDetailCompactedError,
    StoredRun,
    canonical,
)

if TYPE_CHECKING:
    from auditor.engine.policy.model import Period
    from vault.registry import Registry

ACTIVE = (FindingState.NEW, FindingState.OPEN)


# --------------------------------------------------------------------------------------------------
# What a run stores


def changes_between(
    previous: Sequence[Finding],
    after: Sequence[Finding],
    encode: Callable[[Finding], dict[str, Any]] | None = None,
) -> list[Change]:
    """The ledger entries that differ: (fingerprint, stored value before or None, after or None).

    `encode` gives a finding's stored dict (`FindingEncoder`, so the ledger's chunks reuse the dicts
    of the findings that changed instead of encoding them again). A finding equal to the stored one
    is not encoded at all; one that differs only in a way its stored form does not show (a tuple
    where the stored value has a list) is not a change."""
    enc = encode or Finding.to_dict
    before = {f.fingerprint: f for f in previous}
    out: list[Change] = []
    seen: set[str] = set()
    for f in after:
        fp = f.fingerprint
        seen.add(fp)
        old = before.get(fp)
        # Two findings are equal when their fields are: comparing the field dicts is the dataclass's
        # __eq__ without its two 14-field tuples (280,000 comparisons a night at 100,000 accounts).
        if old is f or (old is not None and old.__dict__ == f.__dict__):
            continue
        new = enc(f)
        was = old.to_dict() if old is not None else None
        if was is not None and was == new and canonical(was) == canonical(new):
            continue
        out.append((fp, was, new))
    out.extend((fp, f.to_dict(), None) for fp, f in before.items() if fp not in seen)
    return out


def tally(run: AuditRun, after: Iterable[Finding]) -> dict[str, dict[str, int]]:
    """A run's summary counts: its findings by state and (active ones) by severity, and the active
    ledger after it by severity (the trend chart)."""
    # Counted by member, then written by value: enum's `.value` descriptor once per kind, not per
    # finding (560,000 a night at 100,000 accounts).
    states = Counter(f.state for f in run.findings)
    open_after = Counter(f.severity for f in after if f.state in ACTIVE)
    return {
        "states": {k.value: n for k, n in states.items()},
        "severity": run.counts_by_severity(),
        "open_after": {k.value: n for k, n in open_after.items()},
    }


def store_run(
    registry: Registry,
    run: AuditRun,
    profiles: Mapping[str, Profile],
    searched: Iterable[Any],
    notes: Sequence[str],
    options: Mapping[str, Any],
    previous: Sequence[Finding],
) -> None:
    """Store a run by change, with the ledger after it (the caller holds the transaction)."""
    store = AuditStore(registry)
    converted = convert_run_storage(registry) if _legacy(store) else 0
    head = store.head()
    seq = int(head.get("seq", 0)) + 1 if head is not None and LEGACY not in head else 1
    after = advance_ledger(previous, run)
    encode = FindingEncoder()  # each finding encoded once, for its change and for its chunk
    changes = _put_run(store, run, previous, after, encode, seq, searched, notes, options)
    _, index = store.put_profiles(profiles)
    first = head is None or converted > 0
    touched = None if first else [fp for fp, _, _ in changes]
    del changes  # the change records are written: their dicts need not outlive them
    store.put_ledger(run.id, seq, after, touched, index, encode=encode)


def _put_run(
    store: AuditStore,
    run: AuditRun,
    previous: Sequence[Finding],
    after: Sequence[Finding],
    encode: FindingEncoder,
    seq: int,
    searched: Iterable[Any],
    notes: Sequence[str],
    options: Mapping[str, Any],
    *,
    expected_version: int = 0,
) -> list[Change]:
    """Store `run`'s summary and what it changed from `previous` to `after`; returns the changes."""
    changes = changes_between(previous, after, encode)
    inside = covers(run)
    store.put_run(
        run,
        seq=seq,
        tally=tally(run, after),
        extras=[f.fingerprint for f in run.findings if not inside(f)],
        changes=changes,
        searched=searched,
        notes=notes,
        options=options,
        expected_version=expected_version,
    )
    return changes


def _legacy(store: AuditStore) -> bool:
    if store.conversion_pending():
        return True
    head = store.head()
    return head is not None and LEGACY in head


# --------------------------------------------------------------------------------------------------
# Reading it back


@dataclass
class History:
    """The stored runs' summaries, oldest first, and their findings on demand."""

    registry: Registry
    runs: list[StoredRun]
    damaged: list[str] = field(default_factory=list)
    _current: dict[str, dict[str, Any]] | None = None
    _legacy_ledgers: list[list[Finding]] | None = None

    @classmethod
    def read(cls, registry: Registry, damaged: list[str] | None = None) -> History:
        sink: list[str] = [] if damaged is None else damaged
        runs = AuditStore(registry).stored_runs(sink)
        history = cls(registry, runs, sink)
        if any(r.legacy is not None for r in runs):  # not converted yet: fold in memory, as before
            full = [r.legacy for r in runs if r.legacy is not None]
            states: list[list[Finding]] = []
            state: list[Finding] = []
            for run in full:
                state = advance_ledger(state, run)
                states.append(state)
            history._legacy_ledgers = states
            history.runs = [
                StoredRun(
                    run=r.run,
                    seq=i + 1,
                    tally=tally(f, s),
                    searched=r.searched,
                    notes=r.notes,
                    options=r.options,
                    legacy=f,
                )
                for i, (r, f, s) in enumerate(
                    zip([r for r in runs if r.legacy is not None], full, states, strict=True)
                )
            ]
        return history

    @property
    def headers(self) -> list[AuditRun]:
        """Every run as an `AuditRun` without its findings (ids, times, scope, counts)."""
        return [r.run for r in self.runs]

    def index(self, ref: str) -> int:
        headers = self.headers
        return headers.index(resolve_run(headers, ref))

    def ledgers_after(self, indices: Iterable[int]) -> dict[int, list[Finding]]:
        """The ledger as each run left it: the newest from its chunks, earlier ones walked back
        through the changes of the runs after them (one pass for all the indices asked)."""
        wanted = sorted(set(indices), reverse=True)
        if not wanted:
            return {}
        if self._legacy_ledgers is not None:
            return {i: list(self._legacy_ledgers[i]) for i in wanted}
        store = AuditStore(self.registry)
        if self._current is None:
            self._current = store.ledger_raw(self.damaged) or {}
        state = self._current
        out: dict[int, list[Finding]] = {}
        position = len(self.runs) - 1
        for i in wanted:
            while position > i:
                run = self.runs[position]
                try:
                    changes = store.changes(run)
                except RunDetailCompactedError:
                    raise NotFoundError(
                        f"the findings of audit run {self.runs[i].run.id} are no longer stored: the detail of "
                        f"run {run.run.id} was compacted ([audit] retention in the policy)",
                        "Its summary is still in `auditor audit history`; later runs can be compared.",
                    ) from None
                if state is self._current:
                    state = dict(state)
                for fp, before, _after in changes:
                    if before is None:
                        state.pop(fp, None)
                    else:
                        state[fp] = before
                position -= 1
            out[i] = [Finding.from_dict(d) for d in state.values()]
        return out

    def ledger_after(self, index: int) -> list[Finding]:
        return self.ledgers_after([index])[index]

    def findings_of(self, index: int, after: Sequence[Finding] | None = None) -> tuple[Finding, ...]:
        """The findings run `index` reported: what it covered of the ledger it left."""
        stored = self.runs[index]
        if stored.legacy is not None:
            return stored.legacy.findings
        extras = set(stored.extras)
        state = self.ledger_after(index) if after is None else after
        inside = covers(stored.run)
        return tuple(f for f in state if inside(f) or f.fingerprint in extras)

    def full_runs(self, indices: Iterable[int] | None = None) -> dict[int, AuditRun]:
        """Runs with their findings (`AuditRun` as the engine folds them)."""
        chosen = range(len(self.runs)) if indices is None else indices
        ledgers = self.ledgers_after(chosen)
        return {
            i: _with_findings(self.runs[i].run, self.findings_of(i, state)) for i, state in ledgers.items()
        }


def _with_findings(run: AuditRun, findings: tuple[Finding, ...]) -> AuditRun:
    import dataclasses

    return dataclasses.replace(run, findings=findings)


# --------------------------------------------------------------------------------------------------
# Converting a registry stored before issue 17


def convert_run_storage(registry: Registry) -> int:
    """Rewrite runs stored with every finding and profile (format 1) as summaries and changes,
    the ledger as chunks and the profiles as the latest per account; returns the runs converted.

    Every record is read through the registry, so each one is authenticated and the kinds'
    authenticated heads checked: a record that fails stops the conversion with nothing written
    (a damaged history is never made to look sound by rewriting it under the key)."""
    store = AuditStore(registry)
    damaged: list[str] = []
    runs = store.stored_runs(damaged)
    head = store.head()
    if damaged:
        raise VaultError(
            f"{len(damaged)} audit run record(s) failed their integrity check; the stored runs were not "
            "converted",
            "Run `auditor registry check`, restore a backup from before the damage, then upgrade again; "
            "nothing was changed.",
        )
    legacy = [r for r in runs if r.legacy is not None]
    if any(r.legacy is None for r in runs) and legacy:
        raise VaultError(
            "the registry holds audit runs in both the old and the new layout, which auditor never writes; "
            "nothing was converted",
            "Run `auditor registry check`; restore a backup taken before the upgrade.",
        )
    if not legacy and (head is None or LEGACY not in head):
        return 0
    with registry.transaction():
        state: list[Finding] = []
        latest: dict[str, Any] = {}
        for seq, stored in enumerate(legacy, start=1):
            full = stored.legacy
            assert full is not None
            after = advance_ledger(state, full)
            _put_run(
                store,
                full,
                state,
                after,
                FindingEncoder(),
                seq,
                stored.searched,
                stored.notes,
                stored.options,
                expected_version=stored.version,
            )
            latest.update(stored.legacy_profiles)
            state = after
        if head is not None and LEGACY in head and not legacy:
            state = [Finding.from_dict(d) for d in head[LEGACY].get("findings") or ()]
        _, index = store.put_profiles({k: Profile.from_dict(v) for k, v in latest.items()})
        last = legacy[-1].run.id if legacy else str(head[LEGACY].get("after_run", "")) if head else ""
        store.put_ledger(last, len(legacy), state, None, index)
    return len(legacy)


# --------------------------------------------------------------------------------------------------
# Retention


@dataclass(frozen=True)
class CompactResult:
    runs: tuple[str, ...]  # the runs whose detail was (or would be) dropped
    records: int  # change records deleted
    kept: int  # runs whose detail is kept


def compact(
    registry: Registry, retention: Period | None, today: date, *, dry_run: bool = False
) -> CompactResult:
    """Drop the per-run detail (change records) of runs older than `retention`, keeping every
    summary; an administrator's action, logged (the reveal log itself is never touched)."""
    identity = registry.require_admin("Compacting the audit history")
    history = History.read(registry)
    if any(r.legacy is not None for r in history.runs):
        raise VaultError(
            "the stored runs are in the layout before issue 17",
            "Run `auditor registry upgrade` first (or let the next audit convert them).",
        )
    old = [
        r
        for r in history.runs[:-1]  # the newest run's detail is what walks back to the others
        if retention is not None and not r.compacted and retention.add_to(r.run.started_at.date()) < today
    ]
    result = CompactResult(
        tuple(r.run.id for r in old), sum(r.change_records for r in old), len(history.runs) - len(old)
    )
    if dry_run:
        return result
    store = AuditStore(registry)
    with registry.transaction():
        deleted = sum(store.compact(r) for r in old)
        RevealLog(registry).append(
            "compact",
            details={
                "runs": len(old),
                "records": deleted,
                "oldest": old[0].run.id if old else "",
                "newest": old[-1].run.id if old else "",
                "retention": str(retention),
                "by": identity.name,
            },
        )
    return result
