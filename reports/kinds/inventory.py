"""The inventory report: every account with owner, co-managers, approval and renewal, escrow status
(escrowed / missing / stale, never a value) and the last audit result for it.

Escrow status applies the audit's own checks (`escrow.missing`, `escrow.stale`) at the report's
clock, so the report and the next audit agree. "Last audit result" is the ledger after the latest run
(reports/kinds/findings.py), with today's waivers.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from auditor.engine.checks.base import Coverage
from auditor.engine.checks.escrow import EscrowStale
from auditor.model.types import Account, AccountStatus, Finding, Person
from reports.input import Reads, ReportInput
from reports.kinds._common import ACTIVE_STATES, Kind, Source, building_name, day, load, worst
from reports.kinds.findings import run_findings
from reports.model import Column, Figure, Report, Section, columns, count_phrase, join

ESCROWED, MISSING, STALE, NOT_APPLICABLE = "escrowed", "missing", "stale", "n/a (retired)"


def escrow_status(source: Source) -> dict[str, tuple[str, str]]:
    """(status, why) per account id, by the audit's escrow checks at the report's clock."""

    ctx = source.check_context()
    stale = EscrowStale()
    out: dict[str, tuple[str, str]] = {}
    for account in source.snapshot.accounts:
        ref = source.snapshot.credentials.get(account.id)
        if account.status is AccountStatus.RETIRED:
            out[account.id] = (NOT_APPLICABLE, "")
        elif ref is None or not ref.escrowed:
            out[account.id] = (MISSING, "no credentials are escrowed")
        else:
            applies = stale.applies(ctx, account) is Coverage.APPLIES
            found = list(stale.check_account(ctx, account)) if applies else []
            out[account.id] = (STALE, found[0].message) if found else (ESCROWED, "")
    return out


def audit_result(source: Source) -> tuple[dict[str, str], bool]:
    """A short last-audit result per account id, and whether any audit has run."""

    run, findings, _ = run_findings(source, None)
    if run is None:
        return {}, False
    per: dict[str, list[Finding]] = {}
    for f in findings:
        if f.account_id and f.state in ACTIVE_STATES:
            per.setdefault(f.account_id, []).append(f)
    out = {}
    for account_id, items in per.items():
        top = worst(items)
        assert top is not None
        out[account_id] = f"{count_phrase(len(items), 'open finding')} (worst: {top.severity.value})"
    return out, True


def account_row(source: Source, a: Account, escrow: tuple[str, str], result: str) -> dict[str, Any]:
    return {
        "platform": a.platform.label,
        "handle": a.handle,
        "display_name": a.display_name,
        "profile_url": a.profile_url,
        "building": building_name(source, a.building),
        "purpose": a.purpose.value,
        "status": a.status.value,
        "owner": source.person_label(a.owner_id) if a.owner_id else "",
        "co_managers": source.people_labels(a.co_manager_ids),
        "student_managers": source.people_labels(a.student_manager_ids),
        "approved_on": day(a.approval.approved_on),
        "approved_by": a.approval.approved_by,
        "renewal_due": day(a.approval.renewal_due),
        "escrow": escrow[0],
        "escrow_note": escrow[1],
        "last_audit": result,
    }


ACCOUNT_COLUMNS = columns(
    ("platform", "Platform"),
    ("handle", "Handle"),
    ("display_name", "Name"),
    Column("profile_url", "Profile", link=True),
    ("building", "Building"),
    ("purpose", "Purpose"),
    ("status", "Status"),
    ("owner", "Owner"),
    ("co_managers", "Co-managers"),
    ("student_managers", "Student managers"),
    ("approved_on", "Approved"),
    ("approved_by", "Approved by"),
    ("renewal_due", "Renewal due"),
    ("escrow", "Escrow"),
    ("escrow_note", "Escrow note"),
    ("last_audit", "Last audit"),
)


def build(
    data: ReportInput,
    *,
    run: str | None = None,
    since: date | str | None = None,
    person: Person | None = None,
    now: datetime,
) -> Report:
    source = load(data, now)
    escrow = escrow_status(source)
    results, audited = audit_result(source)
    clean = "no open findings" if audited else "not audited yet"
    accounts = source.snapshot.accounts
    rows = tuple(account_row(source, a, escrow[a.id], results.get(a.id, clean)) for a in accounts)
    live = [a for a in accounts if a.status is not AccountStatus.RETIRED]
    by_escrow = Counter(escrow[a.id][0] for a in live)
    renewals = [
        a for a in live if a.approval.renewal_due is not None and a.approval.renewal_due < source.today
    ]
    unapproved = [a for a in live if not a.approval.is_approved]
    with_findings = [a for a in live if a.id in results]
    summary = (
        f"{source.district} has {count_phrase(len(live), 'active account')}"
        f" ({len(accounts) - len(live)} retired) on "
        f"{count_phrase(len({a.platform for a in live}), 'platform')}. "
        f"Credential escrow: {by_escrow[ESCROWED]} escrowed, {by_escrow[MISSING]} missing, "
        f"{by_escrow[STALE]} stale. "
    )
    problems = []
    if unapproved:
        problems.append(f"{count_phrase(len(unapproved), 'account')} without a recorded approval")
    if renewals:
        problems.append(
            f"{count_phrase(len(renewals), 'approval')} past {'its' if len(renewals) == 1 else 'their'} renewal date"
        )
    if audited:
        problems.append(f"{count_phrase(len(with_findings), 'account')} with open audit findings")
    else:
        problems.append("no audit has been run yet")
    text = join(problems)
    summary += text[:1].upper() + text[1:] + "."
    figures = (
        Figure("accounts", "Active accounts", len(live)),
        Figure("retired", "Retired", len(accounts) - len(live)),
        Figure("escrowed", "Escrowed", by_escrow[ESCROWED]),
        Figure("escrow_missing", "Escrow missing", by_escrow[MISSING]),
        Figure("escrow_stale", "Escrow stale", by_escrow[STALE]),
        Figure("renewal_overdue", "Renewal overdue", len(renewals)),
        Figure("with_findings", "With open findings", len(with_findings)),
    )
    return Report(
        kind="inventory",
        title="Account inventory",
        generated_at=source.now,
        district=source.district,
        policy=source.policy_label,
        scope={},
        summary=summary,
        figures=figures,
        sections=(
            Section(
                "accounts",
                "Accounts",
                ACCOUNT_COLUMNS,
                rows,
                description="Every official account in the registry, by platform and handle.",
                empty="The inventory has no accounts yet.",
            ),
        ),
    )


KIND = Kind(
    "inventory",
    build,
    "every account: owner, co-managers, approval, escrow status, last audit result",
    reads=frozenset({Reads.RUNS}),
)
