"""Running checks over a context: crash isolation, the new/open/resolved diff, waivers, thresholds.

`evaluate()` runs each selected check. Account checks run account by account, so a check that raises
costs one account's result: it becomes a `check.error` finding for that account carrying only the
exception's *type* (an exception's text may quote a bio, an email or a token, so it is never kept),
and the run goes on. Findings are then compared with the previous run by fingerprint (check id +
subject): `new`, `open`, and `resolved` for fingerprints that disappeared, but only when the subject
was really evaluated this run; a finding whose account could not be checked (profile unknown, check
crashed) is carried over as `open`, never resolved. Waivers (fingerprint, reason, until) mark
matching findings `waived` until their date; an expired waiver reopens the finding.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from auditor.engine.checks.base import AccountCheck, Check, CheckContext, Coverage
from auditor.engine.checks.registry import CHECK_ERROR_ID, select_checks
from auditor.model.types import (
    Account,
    Finding,
    FindingState,
    Platform,
    ProfileStatus,
    Severity,
    finding_with,
)

_ACTIVE_STATES = (FindingState.NEW, FindingState.OPEN)


@dataclass(frozen=True)
class Waiver:
    """An administrator's decision to accept a finding until a date (logged by the CLI)."""

    fingerprint: str
    reason: str
    until: date
    by: str = ""

    def active_on(self, today: date) -> bool:
        return today <= self.until


@dataclass(frozen=True)
class EvaluationResult:
    """What one evaluation produced: every finding with its state, and what ran."""

    findings: tuple[Finding, ...]
    checks_run: tuple[str, ...]
    errors: tuple[str, ...] = ()  # one line per crashed check: "approval.lapsed: KeyError (1 account)"
    expired_waivers: tuple[Waiver, ...] = ()
    accounts_checked: int = 0
    profiles_unknown: int = 0

    def by_state(self, *states: FindingState) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.state in states)

    @property
    def active(self) -> tuple[Finding, ...]:
        """Findings still to act on: new and open (not waived, not resolved)."""
        return self.by_state(*_ACTIVE_STATES)

    def counts(self) -> dict[str, int]:
        """Active findings per severity, every severity present (zeros included)."""
        counts = {s.value: 0 for s in Severity}
        for f in self.active:
            counts[f.severity.value] += 1
        return counts


@dataclass
class _Run:
    """Bookkeeping for one evaluation: what each check evaluated or crashed on."""

    crashed: dict[str, set[str]] = field(default_factory=dict)  # check id -> account ids ("" = whole check)
    errors: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------


def evaluate(
    ctx: CheckContext,
    checks: Sequence[Check] | Sequence[str] | None = None,
    previous: Sequence[Finding] | None = None,
    waivers: Iterable[Waiver] = (),
    *,
    offline: bool = False,
    platforms: Collection[Platform] | None = None,
) -> EvaluationResult:
    """Run `checks` (instances or ids; default: what the policy asks for) over `ctx`.

    `previous`: the last run's findings, for the new/open/resolved states. `platforms` limits the run
    (accounts, candidates and previous findings) to those platforms; `offline` drops checks that
    need the network. Previous findings of checks that did not run, or on platforms outside the
    run, are outside this run: neither resolved nor repeated.
    """
    if checks is None:
        selected = select_checks(ctx.policy, offline=offline)
    elif all(isinstance(c, str) for c in checks):
        selected = select_checks(ctx.policy, [str(c) for c in checks], offline=offline)
    else:
        selected = [c for c in checks if isinstance(c, Check) and not (offline and c.needs_network)]
    if platforms is not None:
        ctx = restrict(ctx, platforms)

    in_scope_previous = [
        f for f in previous or () if platforms is None or f.platform is None or f.platform in platforms
    ]
    run = _Run()
    current: list[Finding] = []
    same = _Reuse(in_scope_previous)
    for check in selected:
        current.extend(map(same, _run_isolated(check, ctx, run)))

    ran = {c.id: c for c in selected}
    findings = _diff(ctx, current, in_scope_previous, ran, run)
    findings, expired = _apply_waivers(findings, waivers, ctx.today)
    return EvaluationResult(
        findings=tuple(findings),
        checks_run=tuple(ran),
        errors=tuple(run.errors),
        expired_waivers=tuple(expired),
        accounts_checked=len(ctx.accounts),
        profiles_unknown=sum(
            1 for a in ctx.accounts if (p := ctx.profile(a)) is not None and p.status is ProfileStatus.UNKNOWN
        ),
    )


def restrict(ctx: CheckContext, platforms: Collection[Platform]) -> CheckContext:
    """The context narrowed to `platforms` (accounts, their profiles, candidates, claimants)."""
    wanted = set(platforms)
    accounts = tuple(a for a in ctx.accounts if a.platform in wanted)
    ids = {a.id for a in accounts}
    searched = ctx.searched_platforms
    return dataclasses.replace(
        ctx,
        accounts=accounts,
        profiles={k: v for k, v in ctx.profiles.items() if k in ids},
        credentials={k: v for k, v in ctx.credentials.items() if k in ids},
        rotation_tasks=tuple(t for t in ctx.rotation_tasks if t.account_id in ids),
        candidates=tuple(c for c in ctx.candidates if c.platform in wanted),
        claimants=tuple(p for p in ctx.claimants if p.platform in wanted),
        searched_platforms=frozenset(wanted if searched is None else searched & wanted),
        looked_up={k: v for k, v in ctx.looked_up.items() if Platform.parse(k[0]) in wanted},
    )


# --------------------------------------------------------------------------------------------------
# Crash isolation


def _error_finding(check: Check, exc: BaseException, account: Account | None) -> Finding:
    # Only the exception's type: its message may quote profile text, an address or a secret.
    kind = type(exc).__name__
    if account is not None:
        message = (
            f"The {check.id} check could not evaluate {account.label}: it failed with {kind}. "
            "The rest of the audit ran; report this as a bug."
        )
        subject = f"{check.id}:account:{account.id}"
    else:
        message = (
            f"The {check.id} check failed with {kind} and produced no results this run. "
            "The rest of the audit ran; report this as a bug."
        )
        subject = f"{check.id}:run"
    return Finding(
        check_id=CHECK_ERROR_ID,
        # As severe as what the check could have found: a crash must not lower the exit code.
        severity=check.severity,
        subject=subject,
        message=message,
        account_id=account.id if account else "",
        platform=account.platform if account else None,
        building=account.building if account else "",
        remediation=f"Run `auditor audit --check {check.id}` again; if it still fails, report the bug.",
        evidence={"check": check.id, "exception_type": kind},
    )


def _run_isolated(check: Check, ctx: CheckContext, run: _Run) -> list[Finding]:
    if isinstance(check, AccountCheck):
        out: list[Finding] = []
        crashed: set[str] = set()
        kinds: list[str] = []
        for account in ctx.accounts:
            try:
                if check.applies(ctx, account) is Coverage.APPLIES:
                    # list() inside the try: a generator that fails half-way yields nothing.
                    out.extend(list(check.check_account(ctx, account)))
            except Exception as exc:  # isolation is the point: any failure becomes a finding
                crashed.add(account.id)
                kinds.append(type(exc).__name__)
                out.append(_error_finding(check, exc, account))
        if crashed:
            run.crashed[check.id] = crashed
            n = len(crashed)
            run.errors.append(
                f"{check.id}: {', '.join(sorted(set(kinds)))} ({n} account{'s' if n != 1 else ''})"
            )
        return out
    try:
        return list(check.run(ctx))
    except Exception as exc:
        run.crashed[check.id] = {""}
        run.errors.append(f"{check.id}: {type(exc).__name__}")
        covered: list[Account] = []
        with contextlib.suppress(Exception):  # the error finding below says enough
            covered = check.covered_accounts(ctx)
        if covered:
            return [_error_finding(check, exc, a) for a in covered]
        return [_error_finding(check, exc, None)]


# --------------------------------------------------------------------------------------------------
# The diff against the previous run


def _evaluated(ctx: CheckContext, f: Finding, ran: dict[str, Check], run: _Run) -> Coverage | None:
    """Whether the subject of previous finding `f` was evaluated this run (None: outside the run)."""
    if f.check_id == CHECK_ERROR_ID:
        check_id = f.subject.split(":", 1)[0]
        if check_id not in ran:
            return None
        crashed = run.crashed.get(check_id, set())
        if "" in crashed or f.account_id in crashed:
            return Coverage.CANNOT_TELL  # still crashing: the current error finding replaces it
        return Coverage.APPLIES
    check = ran.get(f.check_id)
    if check is None:
        return None
    crashed = run.crashed.get(f.check_id, set())
    if "" in crashed or (f.account_id and f.account_id in crashed):
        return Coverage.CANNOT_TELL
    try:
        return check.coverage(ctx, f)
    except Exception:  # when in doubt, do not resolve
        return Coverage.CANNOT_TELL


class _Reuse:
    """A finding equal to the previous run's but for its state, replaced by the previous one as each
    check returns it: at 100,000 accounts most of a night's 280,000 findings are last night's
    again, and this way they are not held twice (a third of the audit's peak memory), the diff
    keeps the stored object, and storing the run sees it unchanged at a glance (`old is new`)."""

    def __init__(self, previous: Iterable[Finding]) -> None:
        self.before = {f.fingerprint: f for f in previous}

    def __call__(self, f: Finding) -> Finding:
        old = self.before.get(f.fingerprint)
        if old is None:
            return f
        fields, was = f.__dict__, old.__dict__
        if fields["state"] is not was["state"]:
            fields = {**fields, "state": was["state"]}
        return old if fields == was else f


def _diff(
    ctx: CheckContext,
    current: list[Finding],
    previous: Sequence[Finding],
    ran: dict[str, Check],
    run: _Run,
) -> list[Finding]:
    before = {f.fingerprint: f for f in previous if f.state is not FindingState.RESOLVED}
    out: list[Finding] = []
    seen: set[str] = set()
    for f in current:
        fp = f.fingerprint
        if fp in seen:
            continue  # one finding per fingerprint: a check that repeats itself must not double-count
        seen.add(fp)
        state = FindingState.OPEN if fp in before else FindingState.NEW
        out.append(f if f.state is state else finding_with(f, state=state))
    for fp, old in before.items():
        if fp in seen:
            continue
        coverage = _evaluated(ctx, old, ran, run)
        if coverage is None:
            continue
        if coverage is Coverage.CANNOT_TELL:
            evidence: dict[str, Any] = {**old.evidence, "carried_over": True}
            out.append(finding_with(old, state=FindingState.OPEN, evidence=evidence))
        else:
            out.append(finding_with(old, state=FindingState.RESOLVED, waived_until=None, waiver_reason=""))
    return out


def _apply_waivers(
    findings: list[Finding], waivers: Iterable[Waiver], today: date
) -> tuple[list[Finding], list[Waiver]]:
    by_fp: dict[str, Waiver] = {}
    for w in waivers:
        # The latest-ending waiver for a fingerprint wins.
        if w.fingerprint not in by_fp or w.until > by_fp[w.fingerprint].until:
            by_fp[w.fingerprint] = w
    out: list[Finding] = []
    expired: list[Waiver] = []
    for f in findings:
        waiver = by_fp.get(f.fingerprint)
        if waiver is None or f.state is FindingState.RESOLVED:
            out.append(f)
            continue
        w = waiver
        if w.active_on(today):
            out.append(
                finding_with(f, state=FindingState.WAIVED, waived_until=w.until, waiver_reason=w.reason)
            )
        else:
            expired.append(w)
            state = FindingState.OPEN if f.state is FindingState.WAIVED else f.state
            evidence = {**f.evidence, "waiver_expired_on": w.until.isoformat()}
            out.append(finding_with(f, state=state, waived_until=None, waiver_reason="", evidence=evidence))
    return out, expired


# --------------------------------------------------------------------------------------------------
# Thresholds and filters (the CLI's --fail-on, --check and --platform)


def fail_on(findings: Iterable[Finding], severity: Severity | str) -> bool:
    """True when a new or open finding is at or above `severity` (exit code 3 in the CLI)."""
    threshold = Severity.parse(severity).rank
    return any(f.state in _ACTIVE_STATES and f.severity.rank >= threshold for f in findings)


def filter_findings(
    findings: Iterable[Finding],
    check_ids: Iterable[str] | None = None,
    platforms: Iterable[Platform | str] | None = None,
    states: Iterable[FindingState | str] | None = None,
) -> list[Finding]:
    """Findings matching every given filter. Check ids may name a family ("profile", "profile.*")."""
    out = list(findings)
    if check_ids is not None:
        wanted = list(check_ids)

        def matches(cid: str) -> bool:
            return any(
                cid == w or cid.split(".", 1)[0] == (w[:-2] if w.endswith(".*") else w) for w in wanted
            )

        out = [f for f in out if matches(f.check_id)]
    if platforms is not None:
        plats = {Platform.parse(p) for p in platforms}
        out = [f for f in out if f.platform in plats]
    if states is not None:
        wanted_states = {FindingState.parse(s) for s in states}
        out = [f for f in out if f.state in wanted_states]
    return out
