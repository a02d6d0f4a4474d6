"""The ledger: the latest known state of every finding, folded over the stored runs, and what it
answers (a finding by id, its history, two runs compared). Pure: runs in, findings out.

A run replaces the ledger entries it covered (checks it ran, on the platforms it ran for) and leaves
the rest, so an `--offline` or `--check` run never makes other findings look new or resolved later.
Waivers mark findings `waived` while in force and reopen them after their `until` date. Reading and
writing runs, the stored ledger and waivers is auditor/services/audit.py's.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from auditor.engine.checks.registry import CHECK_ERROR_ID
from auditor.engine.evaluate import Waiver
from auditor.model.errors import NotFoundError, UsageError
from auditor.model.types import AuditRun, Finding, FindingState


def finding_id(fingerprint: str) -> str:
    """A short, stable id for a finding (same check + subject = same id in every run)."""
    return "f" + hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()[:8]


def resolve_run(runs: Sequence[AuditRun], ref: str) -> AuditRun:
    """A run by id, unique id prefix, `latest`, or `previous`."""
    if not runs:
        raise NotFoundError("no audit has been run yet", "Run `auditor audit` first.")
    text = ref.strip()
    if text in ("latest", "last"):
        return runs[-1]
    if text == "previous":
        if len(runs) < 2:
            raise NotFoundError("there is only one audit run", "Run `auditor audit` again.")
        return runs[-2]
    exact = [r for r in runs if r.id == text]
    if exact:
        return exact[0]
    matches = [r for r in runs if r.id.startswith(text)] if text else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"{len(matches)} runs start with {text!r}", "Give more of the run id.")
    raise NotFoundError(f"no audit run {text!r}", "`auditor audit history` lists the runs.")


def covered(run: AuditRun, f: Finding) -> bool:
    """Did `run` evaluate the check and platform of `f` (so its result replaces `f`)? A run's own
    findings are what it covered of the ledger it left (how stored runs get theirs back)."""
    return covers(run)(f)


def covers(run: AuditRun) -> Callable[[Finding], bool]:
    """`covered(run, f)` for many findings: the run's checks and platforms made into sets once (a
    night at 100,000 accounts asks for 560,000 findings)."""
    checks = frozenset(run.checks)
    platforms = frozenset(run.platforms)

    def test(f: Finding) -> bool:
        check_id = f.subject.split(":", 1)[0] if f.check_id == CHECK_ERROR_ID else f.check_id
        if check_id not in checks:
            return False
        return not platforms or f.platform is None or f.platform in platforms

    return test


def ledger(runs: Sequence[AuditRun]) -> list[Finding]:
    """The latest known state of every finding, folded over `runs` (oldest first).

    A run replaces what it covered; findings of checks or platforms it did not cover stay as the last
    run that covered them left them. Resolved findings stay until the next run that covers them.
    """
    state: list[Finding] = []
    for run in runs:
        state = advance_ledger(state, run)
    return state


def advance_ledger(previous: Sequence[Finding], run: AuditRun) -> list[Finding]:
    """The ledger after `run`: what it covered is replaced by its findings, the rest stays."""
    inside = covers(run)
    state = {f.fingerprint: f for f in previous if not inside(f)}
    for f in run.findings:
        state[f.fingerprint] = f
    return list(state.values())


def apply_waivers_now(findings: Iterable[Finding], waivers: Iterable[Waiver], today: date) -> list[Finding]:
    """Findings as they stand today: waived while a waiver is in force, reopened once it expired.

    The engine does this during a run; `finding list` does it again so a waiver granted (or expired)
    since the last run shows at once.
    """
    best: dict[str, Waiver] = {}
    for w in waivers:
        if w.fingerprint not in best or w.until > best[w.fingerprint].until:
            best[w.fingerprint] = w
    out: list[Finding] = []
    for f in findings:
        waiver = best.get(f.fingerprint)
        if f.state is FindingState.RESOLVED:
            out.append(f)
        elif waiver is not None and waiver.active_on(today):
            out.append(
                dataclasses.replace(
                    f, state=FindingState.WAIVED, waived_until=waiver.until, waiver_reason=waiver.reason
                )
            )
        elif f.state is FindingState.WAIVED:
            evidence = {**f.evidence}
            if f.waived_until is not None:
                evidence["waiver_expired_on"] = f.waived_until.isoformat()
            out.append(
                dataclasses.replace(
                    f, state=FindingState.OPEN, waived_until=None, waiver_reason="", evidence=evidence
                )
            )
        else:
            out.append(f)
    return out


def find_finding(findings: Iterable[Finding], ref: str) -> Finding:
    """A finding by its short id (`f1a2b3c4d`, or a unique prefix) or its fingerprint."""
    text = ref.strip()
    items = list(findings)
    for f in items:
        if f.fingerprint == text or finding_id(f.fingerprint) == text:
            return f
    matches = [f for f in items if text and finding_id(f.fingerprint).startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"{len(matches)} findings start with {text!r}", "Give more of the finding id.")
    raise NotFoundError(f"no finding {text!r}", "`auditor finding list` shows the findings and their ids.")


def finding_history(runs: Sequence[AuditRun], fingerprint: str) -> list[tuple[str, datetime, str]]:
    """(run id, started, state) for every run that reported the finding."""
    out: list[tuple[str, datetime, str]] = []
    for run in runs:
        for f in run.findings:
            if f.fingerprint == fingerprint:
                out.append((run.id, run.started_at, f.state.value))
    return out


@dataclass(frozen=True)
class RunDiff:
    """What changed between two stored runs (by fingerprint; resolved findings count as absent).

    Only what both runs checked is compared: a run limited with `--check` or `--platform` says
    nothing about the other checks, so their findings are counted in `not_compared`, never shown as
    added or removed.
    """

    added: tuple[Finding, ...]
    removed: tuple[Finding, ...]
    changed: tuple[tuple[Finding, Finding], ...]  # (before, after): severity or message differs
    unchanged: int
    not_compared: int = 0


def diff_runs(before: AuditRun, after: AuditRun) -> RunDiff:
    def live(run: AuditRun) -> dict[str, Finding]:
        return {f.fingerprint: f for f in run.findings if f.state is not FindingState.RESOLVED}

    def both(f: Finding) -> bool:
        return covered(before, f) and covered(after, f)

    all_a, all_b = live(before), live(after)
    a = {fp: f for fp, f in all_a.items() if both(f)}
    b = {fp: f for fp, f in all_b.items() if both(f)}
    added = tuple(f for fp, f in b.items() if fp not in a)
    removed = tuple(f for fp, f in a.items() if fp not in b)
    changed = tuple(
        (a[fp], f)
        for fp, f in b.items()
        if fp in a and (a[fp].severity, a[fp].message) != (f.severity, f.message)
    )
    not_compared = len((set(all_a) | set(all_b)) - set(a) - set(b))
    return RunDiff(added, removed, changed, len(set(a) & set(b)) - len(changed), not_compared)
