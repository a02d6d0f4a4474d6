"""Reports from the registry: read what a report kind reads, once, and hand it to `reports`.

`reports` is pure (a report is a function of a `reports.input.ReportInput` plus run, period, person
and clock); this module is where the registry is read for it: the audit's snapshot
(`auditor.services.audit.read_snapshot`), and, where the kind's `reads` asks, every stored run's
summary (the ledger of a past run walked back on demand: auditor/services/history.py), the
reveal log with the verification of its whole chain, the identities and the break-glass set (who
can reveal what), and the person named by `--person`. An evidence pack reads everything every kind
reads, plus the stored policy text, in one go, so its reports describe the same registry. Everything
is read under the inventory key only: the nightly `auditor` identity can build every report and none
can contain a secret (docs/reports.md).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.model.types import Finding, Role
from auditor.services.audit import read_snapshot, run_history
from auditor.services.policy import stored_policy
from reports import build_report as build_from_input
from reports import write_file
from reports.evidence import build_pack
from reports.input import EVERY, BreakGlassSet, Grant, IdentityInfo, Reads, ReportInput
from reports.kinds import KINDS, kind_named
from reports.model import Report
from vault.escrow.breakglass import BreakGlassSplit, GroupSpec
from vault.registry import INVENTORY, Identity
from vault.revealog import RevealLog
from vault.stores.inventory import Inventory

if TYPE_CHECKING:
    from vault.registry import Registry


def _instant(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text).astimezone(UTC) if text else None
    except ValueError:
        return None


def identity_info(ident: Identity) -> IdentityInfo:
    """An identity as reports see it. A district administrator reveals every scope, since it was
    created by whoever created it; a building administrator the scopes it was granted (when, by
    whom: its identity record, vault/scopes.py); auditor and compliance identities none."""
    created = _instant(ident.created_at)
    if ident.role is Role.ADMIN:
        grants: tuple[Grant, ...] = (Grant(EVERY, created, ident.created_by),)
    elif ident.role is Role.BUILDING_ADMIN:
        grants = tuple(Grant(name, _instant(at), by) for name, at, by in ident.grants)
    else:
        grants = ()
    return IdentityInfo(ident.name, ident.role, ident.email, created, ident.created_by, grants)


def breakglass_set(info: Mapping[str, Any] | None) -> BreakGlassSet | None:
    """The break-glass set from its stored public metadata (no share, no key), or None."""
    if not info:
        return None
    try:
        groups = tuple(
            GroupSpec(str(g["name"]), int(g["threshold"]), int(g["count"])) for g in info["groups"]
        )
        split = BreakGlassSplit(int(info["set_id"]), int(info["group_threshold"]), groups, (), "")
        return BreakGlassSet(split.set_id, split.describe(), _instant(str(info.get("created_at", ""))))
    except (KeyError, TypeError, ValueError):
        # Unreadable metadata still wraps the keys: say there is a set rather than hide it.
        set_id = info.get("set_id")
        return BreakGlassSet(set_id if isinstance(set_id, int) else 0, "layout unreadable", None)


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

        identities = breakglass = None
        if Reads.IDENTITIES in reads:
            identities = tuple(
                sorted((identity_info(i) for i in registry.identities()), key=lambda i: i.name)
            )
            # The inventory manifest carries the set too (it wraps both keys), authenticated under the
            # key every identity holds; `breakglass_info()` checks it only for an admin. A set made
            # before format 2 may be in the escrow manifest alone.
            breakglass = breakglass_set(registry.manifest(INVENTORY).breakglass or registry.breakglass_info())

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
        identities=identities,
        breakglass=breakglass,
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
    """A zip of every report (HTML, CSV, JSON), the log verification, the policy in force and a
    SHA-256 manifest (`MANIFEST.sha256`, `manifest.json`). Written atomically, mode 0600."""
    reads = {r for kind in KINDS.values() for r in kind.reads}
    data = read_input(registry, reads, pack=True)
    return write_file(Path(path), build_pack(data, now=now or datetime.now(UTC)))
