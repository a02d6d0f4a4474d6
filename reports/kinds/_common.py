"""What every kind reads, how a kind is registered, and the small look-ups they share.

Everything comes from one `reports.input.ReportInput` (auditor/services/reporting.py reads it: the
audit's snapshot of policy, people, accounts, escrow metadata, rotation tasks and waivers, plus the
runs or the reveal log where a kind's `reads` asks for them), under the inventory key only, so the
nightly `auditor` identity can build every report: none of them can see a secret.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from auditor.engine.checks.base import CheckContext
from auditor.engine.ledger import ledger
from auditor.engine.snapshot import Gathered, Snapshot, build_context
from auditor.model.log import Event, VerifyResult
from auditor.model.types import Account, AuditRun, Finding, FindingState, Person, RotationTask
from reports.input import Reads, ReportInput
from reports.model import Report

ACTIVE_STATES = (FindingState.NEW, FindingState.OPEN)


class Builder(Protocol):
    """A kind's `build`: the report from the input, for a run, a period, a person, at a clock."""

    def __call__(
        self,
        data: ReportInput,
        *,
        run: str | None = None,
        since: date | str | None = None,
        person: Person | None = None,
        now: datetime,
    ) -> Report: ...


@dataclass(frozen=True)
class Kind:
    """A report kind as reports/kinds/__init__.py registers it (`KINDS`)."""

    name: str  # `auditor report NAME`, `--attach NAME:FORMAT`, the file names of an evidence pack
    build: Builder
    pack_note: str  # its line in an evidence pack's README.txt: what the reader finds in it
    reads: frozenset[Reads] = field(default=frozenset())  # besides the snapshot


@dataclass
class Source:
    """The input plus the labels every report writes instead of ids."""

    data: ReportInput
    now: datetime

    @property
    def snapshot(self) -> Snapshot:
        return self.data.snapshot

    @property
    def runs(self) -> tuple[AuditRun, ...]:
        """Every stored run, oldest first (a kind reading them says `Reads.RUNS`)."""
        if self.data.runs is None:
            raise ValueError("the report input was read without the runs (Reads.RUNS)")
        return self.data.runs

    def ledger_after(self, index: int) -> list[Finding]:
        """The ledger as the run at `index` left it."""
        if self.data.ledger_after is not None:
            return list(self.data.ledger_after(index))
        return ledger(self.runs[: index + 1])

    def trend_counts(self, index: int) -> tuple[dict[str, int], int, int]:
        """(active findings by severity after the run at `index`, new in it, resolved in it)."""
        if self.data.tallies is not None:
            t = self.data.tallies[index]
            states = t.get("states", {})
            return dict(t.get("open_after", {})), states.get("new", 0), states.get("resolved", 0)
        run = self.runs[index]
        state = [f for f in ledger(self.runs[: index + 1]) if f.state in ACTIVE_STATES]
        return (
            dict(Counter(f.severity.value for f in state)),
            sum(1 for f in run.findings if f.state is FindingState.NEW),
            sum(1 for f in run.findings if f.state is FindingState.RESOLVED),
        )

    @property
    def events(self) -> tuple[Event, ...]:
        """The reveal log's events (a kind reading them says `Reads.LOG`)."""
        if self.data.events is None:
            raise ValueError("the report input was read without the reveal log (Reads.LOG)")
        return self.data.events

    @property
    def log_check(self) -> VerifyResult:
        """The verification of the whole log chain (`Reads.LOG`)."""
        if self.data.log_check is None:
            raise ValueError("the report input was read without the reveal log (Reads.LOG)")
        return self.data.log_check

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def district(self) -> str:
        return self.snapshot.policy.name

    @property
    def policy_label(self) -> str:
        s = self.snapshot
        return f"{s.policy.id} ({s.policy_source})" if s.policy_source else s.policy.id

    def account(self, account_id: str) -> Account | None:
        return self._accounts.get(account_id)

    def account_label(self, account_id: str) -> str:
        label = self._account_labels.get(account_id)
        if label is None:  # worked out once per account: a report names one account many times
            a = self._accounts.get(account_id)
            label = a.label if a is not None else (f"(removed account {account_id})" if account_id else "")
            self._account_labels[account_id] = label
        return label

    def person(self, person_id: str) -> Person | None:
        return self._people.get(person_id)

    def person_label(self, person_id: str) -> str:
        """An email (what people search for), or the name when there is none."""
        p = self._people.get(person_id)
        if p is None:
            return f"(unknown {person_id})" if person_id else ""
        return p.email or p.name

    def people_labels(self, ids: Iterable[str]) -> list[str]:
        return [self.person_label(i) for i in ids]

    def __post_init__(self) -> None:
        self._accounts = {a.id: a for a in self.snapshot.accounts}
        self._people = {p.id: p for p in self.snapshot.people}
        self._account_labels: dict[str, str] = {}
        self._building_names: dict[str, str] = {}

    def check_context(self) -> CheckContext:
        """The audit's own check context at the report's clock, without any profile: for the checks
        that read the registry only (escrow), so a report and an audit never disagree on a rule."""

        return build_context(self.snapshot, Gathered(), self.now)


def load(data: ReportInput, now: datetime) -> Source:
    return Source(data, now.astimezone(UTC))


def day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def building_name(source: Source, building: str) -> str:
    """The policy's name for a building id ("nnhs" -> "Naperville North High School")."""
    name = source._building_names.get(building)
    if name is None:  # once per building: every row of a 10,000-account report names one
        b = source.snapshot.policy.building(building) if building else None
        name = source._building_names[building] = b.name if b is not None else building
    return name


def task_due(task: RotationTask, source: Source) -> date:
    """A task's deadline: its own, else the policy's rotation deadline after opening (the same rule
    as check `escrow.rotation_overdue`)."""
    return task.due(source.snapshot.policy.escrow.rotation_deadline)


def task_steps(task: RotationTask) -> list[str]:
    """Each checklist item of a task with its state, as reports print them: "password: confirmed
    2026-12-03 by admin (the new password is credential version 5)", "totp: to do"."""
    out = []
    for s in task.items:
        if s.done:
            assert s.confirmed_at is not None
            by = f" by {s.confirmed_by}" if s.confirmed_by else ""
            why = f" ({s.evidence})" if s.evidence else ""
            out.append(f"{s.item.value}: confirmed {day(s.confirmed_at)}{by}{why}")
        elif task.cancelled:
            out.append(f"{s.item.value}: cancelled")
        else:
            pending = " (new value pending)" if s.item.field and s.item.field in task.pending_fields else ""
            out.append(f"{s.item.value}: to do{pending}")
    return out


def worst(findings: Sequence[Finding]) -> Finding | None:
    return max(findings, key=lambda f: f.severity.rank, default=None)
