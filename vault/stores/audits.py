"""Audit runs, the findings ledger and waivers: typed records under the inventory key.

The nightly `auditor` identity writes runs and the ledger (vault/kinds.py); waivers need an
administrator. Values go in and out as model types (`AuditRun`, `Finding`, `Profile`) or the small
records below; what a record holds on disk is decided here. A record that fails its integrity
check, or does not parse, is named in the caller's `damaged` list and skipped, so one bad record
never hides the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from auditor.model.types import AuditRun, Finding, Platform, Profile
from vault.errors import RecordTamperedError
from vault.kinds import kind
from vault.registry import Registry, utcnow

RUN_KIND = "audit-run"
LEDGER_KIND = "audit-ledger"
LEDGER_ID = "current"
WAIVER_KIND = "waiver"
# Their records carry their format (declared with the kinds, with any upgrade steps: vault/kinds.py).
RUN_FORMAT = kind(RUN_KIND).format
LEDGER_FORMAT = kind(LEDGER_KIND).format


@dataclass(frozen=True)
class WaiverRecord:
    """An administrator's waiver as stored: the terms in force, and the earlier terms in `history`."""

    fingerprint: str
    finding_id: str
    check_id: str
    subject: str
    reason: str
    until: date
    by: str
    at: str = ""  # ISO 8601, UTC
    history: tuple[Mapping[str, Any], ...] = ()
    version: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "finding_id": self.finding_id,
            "check_id": self.check_id,
            "subject": self.subject,
            "reason": self.reason,
            "until": self.until.isoformat(),
            "by": self.by,
            "at": self.at,
            "history": [dict(h) for h in self.history],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], version: int = 0) -> WaiverRecord:
        return cls(
            fingerprint=str(data["fingerprint"]),
            finding_id=str(data.get("finding_id", "")),
            check_id=str(data.get("check_id", "")),
            subject=str(data.get("subject", "")),
            reason=str(data["reason"]),
            until=date.fromisoformat(str(data["until"])),
            by=str(data.get("by", "")),
            at=str(data.get("at", "")),
            history=tuple(dict(h) for h in data.get("history") or ()),
            version=version,
        )

    def terms(self) -> dict[str, Any]:
        """What `history` keeps of these terms when they are replaced."""
        return {"reason": self.reason, "until": self.until.isoformat(), "by": self.by, "at": self.at}


@dataclass(frozen=True)
class StoredLedger:
    after_run: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)


class AuditStore:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # -- runs ---------------------------------------------------------------------------------------

    def runs(self, damaged: list[str]) -> list[AuditRun]:
        """Every stored run, oldest first."""
        out: list[AuditRun] = []
        for rec in self.registry.scan(RUN_KIND):
            if isinstance(rec, RecordTamperedError):
                damaged.append(f"{RUN_KIND} record")
                continue
            try:
                out.append(AuditRun.from_dict(rec.data["run"]))
            except (KeyError, TypeError, ValueError):
                damaged.append(f"{RUN_KIND} record")
        out.sort(key=lambda r: (r.started_at, r.id))
        return out

    def has_runs(self) -> bool:
        """Whether any audit has been stored, without reading the runs: the ledger record exists
        after the first run; a registry from before it is asked which record kinds it holds."""
        backend = self.registry.backend
        return backend.get(LEDGER_KIND, LEDGER_ID) is not None or RUN_KIND in backend.kinds()

    def put_run(
        self,
        run: AuditRun,
        profiles: Mapping[str, Profile],
        searched: Iterable[Platform],
        notes: Sequence[str],
        options: Mapping[str, Any],
    ) -> None:
        """Store a new run with the profiles it read (in the caller's transaction)."""
        self.registry.put(
            RUN_KIND,
            run.id,
            {
                "format": RUN_FORMAT,
                "run": run.to_dict(),
                "profiles": {k: v.to_dict() for k, v in profiles.items()},
                "searched_platforms": sorted(p.value for p in searched),
                "notes": list(notes),
                "options": dict(options),
            },
            expected_version=0,
        )

    # -- the ledger ---------------------------------------------------------------------------------

    def ledger(self, damaged: list[str]) -> StoredLedger | None:
        """The stored ledger; None when there is none, or it is damaged (then named in `damaged`,
        and the caller folds the runs instead)."""
        try:
            rec = self.registry.get(LEDGER_KIND, LEDGER_ID)
        except RecordTamperedError:
            damaged.append(f"{LEDGER_KIND} record (rebuilt from the runs)")
            return None
        if rec is None or rec.data.get("format") != LEDGER_FORMAT:
            return None
        try:
            findings = tuple(Finding.from_dict(d) for d in rec.data["findings"])
        except (KeyError, TypeError, ValueError):
            damaged.append(f"{LEDGER_KIND} record (rebuilt from the runs)")
            return None
        return StoredLedger(str(rec.data.get("after_run", "")), findings)

    def put_ledger(self, after_run: str, findings: Iterable[Finding]) -> None:
        self.registry.put(
            LEDGER_KIND,
            LEDGER_ID,
            {"format": LEDGER_FORMAT, "after_run": after_run, "findings": [f.to_dict() for f in findings]},
            expected_version=None,
        )

    # -- waivers ------------------------------------------------------------------------------------

    def waivers(self, damaged: list[str]) -> list[WaiverRecord]:
        out: list[WaiverRecord] = []
        for rec in self.registry.scan(WAIVER_KIND):
            if isinstance(rec, RecordTamperedError):
                damaged.append(f"{WAIVER_KIND} record")
                continue
            try:
                out.append(WaiverRecord.from_dict(rec.data, rec.version))
            except (KeyError, TypeError, ValueError):
                damaged.append(f"{WAIVER_KIND} record")
        return out

    def waiver(self, finding_id: str) -> WaiverRecord | None:
        rec = self.registry.get(WAIVER_KIND, finding_id)
        return None if rec is None else WaiverRecord.from_dict(rec.data, rec.version)

    def put_waiver(self, waiver: WaiverRecord, *, expected_version: int) -> WaiverRecord:
        """Store `waiver` (stamped now), in the caller's transaction."""
        stamped = dataclasses.replace(waiver, at=utcnow().isoformat(), version=0)
        version = self.registry.put(
            WAIVER_KIND, waiver.finding_id, stamped.to_dict(), expected_version=expected_version
        )
        return dataclasses.replace(stamped, version=version)
