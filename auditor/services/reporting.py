"""Reports from the registry: read what a report kind reads, once, and hand it to `reports`.

`reports` is pure (a report is a function of a `reports.input.ReportInput` plus run, period, person
and clock); this module is where the registry is read for it: the audit's snapshot
(`auditor.services.audit.read_snapshot`), and, where the kind's `reads` asks, every stored run's
summary (the ledger of a past run walked back on demand: auditor/services/history.py), the
reveal log with the verification of its whole chain, and the person named by `--person`. An
evidence pack reads everything every kind reads, plus the stored policy text, in one go, so its five
reports describe the same registry. Everything is read under the inventory key only: the nightly
`auditor` identity can build every report and none can contain a secret (docs/reports.md).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.model.types import Finding
from auditor.services.audit import read_snapshot, run_history
from auditor.services.policy import stored_policy
from reports import build_report as build_from_input
from reports import write_file
from reports.evidence import build_pack
from reports.input import Reads, ReportInput
from reports.kinds import KINDS, kind_named
from reports.model import Report
from vault.revealog import RevealLog
from vault.stores.inventory import Inventory

if TYPE_CHECKING:
    from vault.registry import Registry


def read_input(registry: Registry, reads: Collection[Reads] = (), *, pack: bool = False) -> ReportInput:
    """The snapshot, plus the runs and the reveal log where `reads` asks for them; `pack`: also the
    stored policy and the registry id (evidence packs)."""
    runs = tallies = ledger_after = None
    with registry.snapshot():
        snapshot = read_snapshot(registry)
        if Reads.RUNS in reads:
            # The runs' summaries only; a past run's ledger is walked back from the newest on demand
            # (auditor/services/history.py), and the newest is the snapshot's own.
            history = run_history(registry)
            runs = tuple(history.headers)
            tallies = tuple(r.tally for r in history.runs)
            last = len(runs) - 1

            def ledger_after(index: int) -> list[Finding]:
                return list(snapshot.previous) if index == last else history.ledger_after(index)

    events = log_check = None
    if Reads.LOG in reads:
        log = RevealLog(registry)
        events = tuple(log.events())
        log_check = log.verify()
    return ReportInput(
        snapshot=snapshot,
        runs=runs,
        tallies=tallies,
        ledger_after=ledger_after,
        events=events,
        log_check=log_check,
        policy=stored_policy(registry) if pack else None,
        registry_id=registry.registry_id if pack else "",
    )


def build_report(
    kind: str,
    registry: Registry,
    *,
    run: str | None = None,
    since: date | str | None = None,
    person: str | None = None,
    now: datetime | None = None,
) -> Report:
    """A report of `kind` (a name in `reports.kinds.KINDS`) from the registry. `run`: a run id,
    prefix, `latest` or `previous` (findings); `since`: first day of the period (activity); `person`:
    email, id or name (offboarding; all departed staff when omitted); `now`: the report's clock."""
    spec = kind_named(kind)
    data = read_input(registry, spec.reads)
    subject = Inventory(registry).resolve_person(person) if person and Reads.PERSON in spec.reads else None
    return build_from_input(
        spec.name, data, run=run, since=since, person=subject, now=now or datetime.now(UTC)
    )


def build_evidence_pack(registry: Registry, path: Path, *, now: datetime | None = None) -> Path:
    """A zip of the five reports (HTML, CSV, JSON), the log verification, the policy in force and a
    SHA-256 manifest (`MANIFEST.sha256`, `manifest.json`). Written atomically, mode 0600."""
    reads = {r for kind in KINDS.values() for r in kind.reads}
    data = read_input(registry, reads, pack=True)
    return write_file(Path(path), build_pack(data, now=now or datetime.now(UTC)))
