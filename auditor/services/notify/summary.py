"""What a notification says about a run: the decision to send, the subject, the text, the JSON.

`RunSummary.from_run` condenses a stored `AuditRun` (and the waivers that expired during it) into
counts by severity, the findings that are new this run (plus those reopened because their waiver
expired: they need a human again), and the number of profiles that could not be checked. `on-new`
sends only when that list is non-empty (docs/notify.md, "When a message is sent"); `always` sends
every run. The generic webhook gets the versioned envelope `auditor/notification` (docs/json.md
conventions: schema, version, keys in a fixed order).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from auditor.engine.ledger import finding_id, ledger
from auditor.model.types import AuditRun, Finding, FindingState, Severity
from auditor.services.policy import stored_policy

SCHEMA = "auditor/notification"
SCHEMA_VERSION = 1
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
MAX_LISTED = 50  # findings listed in a message; the attachments carry the rest


class NotifyMode(StrEnum):
    ON_NEW = "on-new"
    ALWAYS = "always"
    NEVER = "never"


def _rank(f: Finding) -> tuple[int, str, str]:
    return (SEVERITY_ORDER.index(f.severity.value), f.check_id, f.subject)


@dataclass(frozen=True)
class RunSummary:
    district: str
    run_id: str
    started_at: str
    identity: str
    accounts_checked: int
    profiles_unknown: int
    active_by_severity: dict[str, int]
    new: tuple[Finding, ...]  # new this run, or reopened because a waiver expired
    reopened: int
    open_count: int
    resolved: int
    waived: int
    errors: tuple[str, ...] = ()
    test: bool = False

    @classmethod
    def from_run(
        cls, run: AuditRun, district: str, *, reopened_fingerprints: Iterable[str] = ()
    ) -> RunSummary:
        """`reopened_fingerprints`: findings that were waived before this run and are open again
        because the waiver expired (`reopened_this_run`); they count as new for `on-new`."""
        again = set(reopened_fingerprints)
        new = [f for f in run.findings if f.state is FindingState.NEW]
        reopened = [f for f in run.findings if f.state is FindingState.OPEN and f.fingerprint in again]
        states = {s: sum(1 for f in run.findings if f.state is s) for s in FindingState}
        return cls(
            district=district,
            run_id=run.id,
            started_at=run.started_at.isoformat(),
            identity=run.identity,
            accounts_checked=run.accounts_checked,
            profiles_unknown=run.profiles_unknown,
            active_by_severity=run.counts_by_severity(),
            new=tuple(sorted([*new, *reopened], key=_rank)),
            reopened=len(reopened),
            open_count=states[FindingState.OPEN],
            resolved=states[FindingState.RESOLVED],
            waived=states[FindingState.WAIVED],
            errors=run.errors,
        )

    @property
    def has_new(self) -> bool:
        return bool(self.new)

    def should_send(self, mode: NotifyMode) -> bool:
        if mode is NotifyMode.ALWAYS:
            return True
        if mode is NotifyMode.ON_NEW:
            return self.has_new
        return False

    # ---------------------------------------------------------------------------------------------
    # Words

    def subject(self) -> str:
        """`[auditor] Naperville 203: 3 new findings (1 high)`."""
        if self.test:
            return f"[auditor] {self.district}: test message"
        if self.new:
            by: dict[str, int] = {}
            for f in self.new:
                by[f.severity.value] = by.get(f.severity.value, 0) + 1
            worst = [f"{by[s]} {s}" for s in SEVERITY_ORDER[:2] if by.get(s)]
            n = len(self.new)
            text = f"{n} new finding{'s' if n != 1 else ''}"
            if worst:
                text += f" ({', '.join(worst)})"
        else:
            active = sum(self.active_by_severity.values())
            text = "no new findings" + (f" ({active} open)" if active else "")
        if self.profiles_unknown:
            text += (
                f"; {self.profiles_unknown} profile{'s' if self.profiles_unknown != 1 else ''} not checked"
            )
        return f"[auditor] {self.district}: {text}"

    def severity_line(self) -> str:
        parts = [f"{self.active_by_severity.get(s, 0)} {s}" for s in SEVERITY_ORDER]
        return "Active findings by severity: " + ", ".join(parts) + "."

    def text(self, attachments: Iterable[str] = (), problems: Iterable[str] = ()) -> str:
        """The plain-text body: summary by severity, new findings with clause and fix, unknown profiles."""
        lines: list[str] = []
        if self.test:
            lines += [
                f"This is a test message from auditor for {self.district}.",
                "If you can read it, audit notifications will reach you here.",
                "",
            ]
            return "\n".join(lines)
        lines.append(
            f"Audit run {self.run_id} for {self.district} (started {self.started_at[:19]} UTC"
            + (f", as {self.identity})." if self.identity else ").")
        )
        lines.append(f"Accounts checked: {self.accounts_checked}.")
        lines.append(self.severity_line())
        lines.append(
            f"States: {len(self.new) - self.reopened} new, {self.open_count} open, {self.waived} waived, "
            f"{self.resolved} resolved since the last run."
        )
        if self.profiles_unknown:
            lines.append(
                f"Profiles unknown this run: {self.profiles_unknown} could not be checked (a platform "
                "did not answer, or no API token); see the profile.unknown findings."
            )
        else:
            lines.append("Profiles unknown this run: none; every profile was checked.")
        for err in self.errors:
            lines.append(f"Check error: {err}")
        lines.append("")
        if self.new:
            heading = f"New findings ({len(self.new)})"
            if self.reopened:
                heading += f", {self.reopened} reopened because a waiver expired"
            lines += [heading + ":", ""]
            for i, f in enumerate(self.new[:MAX_LISTED], start=1):
                lines.append(f"{i}. [{f.severity.value.upper()}] {f.message}")
                lines.append(f"   Finding {finding_id(f.fingerprint)}, check {f.check_id}.")
                if f.clauses:
                    lines.append(f"   Policy clause: {', '.join(f.clauses)}")
                if f.remediation:
                    lines.append(f"   Fix: {f.remediation}")
                lines.append("")
            if len(self.new) > MAX_LISTED:
                lines += [f"... and {len(self.new) - MAX_LISTED} more (see the attached report).", ""]
        else:
            lines += ["No new findings this run.", ""]
        names = list(attachments)
        if names:
            lines.append("Attached: " + ", ".join(names) + ".")
        for p in problems:
            lines.append(f"Note: {p}")
        lines.append("Details: `auditor finding list`, `auditor finding show ID`, `auditor audit history`.")
        return "\n".join(lines).rstrip("\n") + "\n"

    # ---------------------------------------------------------------------------------------------
    # JSON

    def envelope(self) -> dict[str, Any]:
        """The generic webhook body: a versioned envelope (docs/notify.md, "Generic webhook")."""

        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "test": self.test,
            "district": self.district,
            "subject": self.subject(),
            "run": {
                "id": self.run_id,
                "started_at": self.started_at,
                "identity": self.identity,
                "accounts_checked": self.accounts_checked,
                "profiles_unknown": self.profiles_unknown,
                "active_by_severity": {s: self.active_by_severity.get(s, 0) for s in SEVERITY_ORDER},
                "new": len(self.new) - self.reopened,
                "reopened": self.reopened,
                "open": self.open_count,
                "waived": self.waived,
                "resolved": self.resolved,
                "errors": list(self.errors),
            },
            "new_findings": [
                {
                    "id": finding_id(f.fingerprint),
                    "check_id": f.check_id,
                    "severity": f.severity.value,
                    "state": f.state.value,
                    "message": f.message,
                    "clauses": list(f.clauses),
                    "remediation": f.remediation,
                }
                for f in self.new[:MAX_LISTED]
            ],
        }

    @classmethod
    def test_message(cls, district: str) -> RunSummary:
        return cls(
            district=district,
            run_id="test",
            started_at="",
            identity="",
            accounts_checked=0,
            profiles_unknown=0,
            active_by_severity={s.value: 0 for s in Severity},
            new=(),
            reopened=0,
            open_count=0,
            resolved=0,
            waived=0,
            test=True,
        )


def reopened_this_run(runs: Sequence[AuditRun], run: AuditRun) -> set[str]:
    """Fingerprints waived in the ledger before `run` and open in it: their waiver expired this run.

    The engine reports an expired waiver on every run while its record exists, so "expired" alone
    would make `on-new` send every night; "waived before, open now" happens once.
    """

    before = ledger([r for r in runs if r.id != run.id and (r.started_at, r.id) < (run.started_at, run.id)])
    waived = {f.fingerprint for f in before if f.state is FindingState.WAIVED}
    return {f.fingerprint for f in run.findings if f.state is FindingState.OPEN and f.fingerprint in waived}


def district_label(registry: Any) -> str:
    """A short district name for subjects: the policy's first alias ("Naperville 203"), else its name."""

    try:
        stored = stored_policy(registry)
        if stored is None:
            return "the district"
        policy = stored.load()
    except Exception:  # a subject line is not worth failing a notification for
        return "the district"
    return policy.aliases[0] if policy.aliases else policy.name
