"""Approval, training and signed agreements: the paperwork each account and manager needs.

Moline-Coal Valley: "Decisions to approve or deny are made by central administration" (Approval
item 1), "a signed copy of this procedure AND the full 6:235 Acceptable Use Policy on file with HR"
(item 2), training renewed "annually" (item 3). Naperville 203: creators "must inform
school/building administration" (Social Media Representation 1). Renewal periods and the warning
window come from the policy; an account's own recorded renewal date always wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from auditor.engine.checks.base import (
    AccountCheck,
    CheckContext,
    Coverage,
    active_managers,
    days_word,
    join_words,
)
from auditor.engine.policy.model import AGREEMENT_KINDS
from auditor.model.types import Account, Finding, Severity


def approval_due(ctx: CheckContext, account: Account) -> date | None:
    """When the account's approval must be renewed, or None when it never lapses."""
    approval = account.approval
    if approval.renewal_due is not None:
        return approval.renewal_due
    period = ctx.policy.renewal.approval
    if approval.approved_on is not None and period is not None:
        return period.add_to(approval.approved_on)
    return None


class ApprovalMissing(AccountCheck):
    id = "approval.missing"
    title = "Every account has the administration's approval on record"
    severity = Severity.HIGH
    risk = "An account the administration never approved speaks for the district without its consent."
    remediation = (
        "Record the approval with `auditor account edit ACCOUNT --approved DATE --approved-by EMAIL`, "
        "or retire the account with `auditor account retire ACCOUNT`."
    )

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        approval = account.approval
        if approval.is_approved:
            return
        if approval.requested_on is not None:
            message = (
                f"{account.label} was submitted for approval on {approval.requested_on.isoformat()} "
                "but has not been approved."
            )
        else:
            message = f"{account.label} has no approval on record."
        yield self.finding(ctx, message, account=account)


class _ApprovalDue(AccountCheck):
    def applies(self, ctx: CheckContext, account: Account) -> Coverage:
        base = super().applies(ctx, account)
        if base is Coverage.APPLIES and (
            not account.approval.is_approved or approval_due(ctx, account) is None
        ):
            return Coverage.NOT_APPLICABLE
        return base


class ApprovalExpiring(_ApprovalDue):
    id = "approval.expiring"
    title = "No account's approval expires within the policy's warning window"
    severity = Severity.LOW
    risk = "An approval about to lapse becomes a policy violation without anyone noticing."
    remediation = "Renew the approval and record it with `auditor account edit ACCOUNT --approved DATE`."

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        due = approval_due(ctx, account)
        assert due is not None
        horizon = ctx.policy.warnings.approval_expiring.add_to(ctx.today)
        if ctx.today <= due <= horizon:
            left = (due - ctx.today).days
            when = "today" if left == 0 else f"in {days_word(left)}"
            yield self.finding(
                ctx,
                f"{account.label}'s approval expires on {due.isoformat()} ({when}).",
                account=account,
                evidence={"due": due.isoformat()},
            )


class ApprovalLapsed(_ApprovalDue):
    id = "approval.lapsed"
    title = "Every account's approval is current"
    severity = Severity.HIGH
    risk = "The account runs on an approval the district no longer stands behind."
    remediation = (
        "Renew the approval and record it with `auditor account edit ACCOUNT --approved DATE`, "
        "or retire the account with `auditor account retire ACCOUNT`."
    )

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        due = approval_due(ctx, account)
        assert due is not None
        if due < ctx.today:
            yield self.finding(
                ctx,
                f"{account.label}'s approval lapsed on {due.isoformat()}.",
                account=account,
                evidence={"due": due.isoformat()},
            )


class TrainingLapsed(AccountCheck):
    id = "training.lapsed"
    title = "Every active manager of an account has current social media training"
    severity = Severity.MEDIUM
    risk = "Managers who were never trained (or not recently) misjudge what may be posted."
    remediation = "Record the completed training with `auditor person edit PERSON --training DATE`."

    def applies(self, ctx: CheckContext, account: Account) -> Coverage:
        base = super().applies(ctx, account)
        if base is Coverage.APPLIES and ctx.policy.renewal.training is None:
            return Coverage.NOT_APPLICABLE
        return base

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        period = ctx.policy.renewal.training
        assert period is not None
        for person in active_managers(ctx, account):
            done = person.training_completed_on
            if done is None:
                message = (
                    f"{account.label} is managed by {person.name}, who has no social media "
                    "training on record."
                )
            elif period.add_to(done) < ctx.today:
                message = (
                    f"{account.label} is managed by {person.name}, whose social media training "
                    f"lapsed on {period.add_to(done).isoformat()}."
                )
            else:
                continue
            yield self.finding(ctx, message, account=account, person=person)


_AGREEMENT_FIELDS = {"procedure": "procedure_signed_on", "aup": "aup_signed_on"}


class AgreementMissing(AccountCheck):
    id = "agreement.missing"
    title = "Every active manager of an account has the required signed agreements on file"
    severity = Severity.MEDIUM
    risk = "Without a signed procedure and acceptable use policy, the district cannot hold managers to them."
    remediation = (
        "Record the signatures with `auditor person edit PERSON --procedure-signed DATE --aup-signed DATE`."
    )

    def applies(self, ctx: CheckContext, account: Account) -> Coverage:
        base = super().applies(ctx, account)
        if base is Coverage.APPLIES and not ctx.policy.agreement.required:
            return Coverage.NOT_APPLICABLE
        return base

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:

        renewal = ctx.policy.renewal.agreement
        for person in active_managers(ctx, account):
            missing: list[str] = []
            expired: list[str] = []
            for kind in ctx.policy.agreement.required:
                signed: date | None = getattr(person, _AGREEMENT_FIELDS[kind])
                if signed is None:
                    missing.append(AGREEMENT_KINDS[kind])
                elif renewal is not None and renewal.add_to(signed) < ctx.today:
                    expired.append(f"{AGREEMENT_KINDS[kind]} expired on {renewal.add_to(signed).isoformat()}")
            if not missing and not expired:
                continue
            parts = []
            if missing:
                parts.append(f"who has no signed copy of {join_words(missing)} on file")
            if expired:
                parts.append(f"whose signed copy of {join_words(expired)}")
            yield self.finding(
                ctx,
                f"{account.label} is managed by {person.name}, {' and '.join(parts)}.",
                account=account,
                person=person,
            )
