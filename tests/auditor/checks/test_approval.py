"""approval.missing, approval.expiring, approval.lapsed, training.lapsed, agreement.missing."""

from __future__ import annotations

import dataclasses
from datetime import date

from auditor.engine.checks.base import Coverage
from auditor.engine.policy import Period
from auditor.engine.policy.model import Renewal
from auditor.model.types import Account, AccountStatus, Approval, PersonStatus, Platform

from ..factories import (
    coverage,
    make_account,
    make_context,
    make_person,
    messages,
    preset,
    run_check,
    with_people,
)

RETIRED = make_account(status=AccountStatus.RETIRED, approval=Approval())

# -- approval.missing -------------------------------------------------------------------------------


def test_approval_on_record_passes() -> None:
    assert messages("approval.missing", make_context()) == []


def test_approval_missing_and_pending() -> None:
    none = make_account(id="a1", handle="one", approval=Approval())
    pending = make_account(id="a2", handle="two", approval=Approval(requested_on=date(2026, 5, 2)))
    ctx = make_context(accounts=[none, pending])
    assert messages("approval.missing", ctx) == [
        "Instagram account @one has no approval on record.",
        "Instagram account @two was submitted for approval on 2026-05-02 but has not been approved.",
    ]
    assert run_check("approval.missing", ctx)[0].remediation == (
        "Record the approval with `auditor account edit instagram:one --approved DATE --approved-by EMAIL`, "
        "or retire the account with `auditor account retire instagram:one`."
    )


def test_approval_missing_skips_retired_accounts() -> None:
    ctx = make_context(accounts=[RETIRED])
    assert messages("approval.missing", ctx) == []
    assert coverage("approval.missing", ctx, RETIRED) is Coverage.NOT_APPLICABLE


# -- approval.expiring / approval.lapsed ------------------------------------------------------------


def _due(d: date | None, approved: date | None = date(2025, 6, 1)) -> Account:
    return make_account(
        approval=Approval(approved_on=approved, approved_by="morgan.hale@naperville203.org", renewal_due=d)
    )


def test_approval_far_from_due_passes() -> None:
    ctx = make_context(accounts=[_due(date(2026, 9, 1))])
    assert messages("approval.expiring", ctx) == []
    assert messages("approval.lapsed", ctx) == []


def test_approval_expiring_uses_the_policy_warning_window() -> None:
    ctx = make_context(accounts=[_due(date(2026, 6, 20))])
    assert messages("approval.expiring", ctx) == [
        "Instagram account @nnhs_athletics's approval expires on 2026-06-20 (in 19 days)."
    ]
    assert messages("approval.lapsed", ctx) == []
    narrow = dataclasses.replace(
        preset(), warnings=dataclasses.replace(preset().warnings, approval_expiring=Period(days=7))
    )
    assert (
        messages("approval.expiring", make_context(policy=narrow, accounts=[_due(date(2026, 6, 20))])) == []
    )
    assert messages("approval.expiring", make_context(accounts=[_due(date(2026, 6, 1))])) == [
        "Instagram account @nnhs_athletics's approval expires on 2026-06-01 (today)."
    ]


def test_approval_lapsed_from_the_policy_renewal_period() -> None:
    policy = dataclasses.replace(preset("moline-coal-valley"), renewal=Renewal(approval=Period(months=12)))
    account = make_account(
        platform=Platform.FACEBOOK, handle="mhs.maroons", approval=Approval(approved_on=date(2025, 5, 15))
    )
    ctx = make_context(policy=policy, accounts=[account])
    [finding] = run_check("approval.lapsed", ctx)
    assert finding.message == "Facebook account mhs.maroons's approval lapsed on 2026-05-15."
    assert finding.clauses == ("MCV-APPROVAL-1-DECISION",)
    assert messages("approval.expiring", ctx) == []


def test_approval_due_not_applicable_without_a_due_date_or_approval() -> None:
    ctx = make_context()  # Naperville sets no approval renewal and the account records none
    assert messages("approval.lapsed", ctx) == []
    assert coverage("approval.lapsed", ctx, make_account()) is Coverage.NOT_APPLICABLE
    unapproved = make_account(approval=Approval(renewal_due=date(2026, 1, 1)))
    assert (
        coverage("approval.expiring", make_context(accounts=[unapproved]), unapproved)
        is Coverage.NOT_APPLICABLE
    )


# -- training.lapsed (Moline-Coal Valley: renewed annually) -----------------------------------------

MCV_ACCOUNT = make_account(
    platform=Platform.FACEBOOK, handle="mhs.maroons", login_email="maroons@molineschools.org"
)


def test_training_current_passes() -> None:
    assert (
        messages("training.lapsed", make_context(policy="moline-coal-valley", accounts=[MCV_ACCOUNT])) == []
    )


def test_training_lapsed_and_missing_for_every_active_manager() -> None:
    ctx = with_people(
        make_context(policy="moline-coal-valley", accounts=[MCV_ACCOUNT]),
        make_person(training_completed_on=date(2025, 5, 31)),
        make_person(
            id="p-comanager",
            name="Jordan Lee",
            email="jordan.lee@naperville203.org",
            training_completed_on=None,
        ),
    )
    assert messages("training.lapsed", ctx) == [
        "Facebook account mhs.maroons is managed by Alex Rivera, whose social media training lapsed on "
        "2026-05-31.",
        "Facebook account mhs.maroons is managed by Jordan Lee, who has no social media training on record.",
    ]
    assert run_check("training.lapsed", ctx)[1].remediation == (
        "Record the completed training with "
        "`auditor person edit jordan.lee@naperville203.org --training DATE`."
    )


def test_training_not_applicable_without_renewal_or_for_inactive_people() -> None:
    ctx = with_people(make_context(), make_person(training_completed_on=None))  # Naperville: no training rule
    assert messages("training.lapsed", ctx) == []
    assert coverage("training.lapsed", ctx, make_account()) is Coverage.NOT_APPLICABLE
    ctx = with_people(
        make_context(policy="moline-coal-valley", accounts=[MCV_ACCOUNT]),
        make_person(training_completed_on=None, status=PersonStatus.ON_LEAVE),
    )
    assert messages("training.lapsed", ctx) == []


# -- agreement.missing (Moline-Coal Valley: procedure AND acceptable use policy) --------------------


def test_agreements_on_file_pass() -> None:
    assert (
        messages("agreement.missing", make_context(policy="moline-coal-valley", accounts=[MCV_ACCOUNT])) == []
    )


def test_agreement_missing_names_what_is_missing() -> None:
    ctx = with_people(
        make_context(policy="moline-coal-valley", accounts=[MCV_ACCOUNT]),
        make_person(procedure_signed_on=None, aup_signed_on=None),
        make_person(id="p-comanager", name="Jordan Lee", aup_signed_on=None),
    )
    assert messages("agreement.missing", ctx) == [
        "Facebook account mhs.maroons is managed by Alex Rivera, who has no signed copy of the social media "
        "procedure and the acceptable use policy on file.",
        "Facebook account mhs.maroons is managed by Jordan Lee, who has no signed copy of the acceptable use "
        "policy on file.",
    ]
    assert run_check("agreement.missing", ctx)[0].clauses == ("MCV-APPROVAL-2",)


def test_agreement_expired_when_the_policy_sets_a_renewal() -> None:
    base = preset("moline-coal-valley")
    policy = dataclasses.replace(base, renewal=dataclasses.replace(base.renewal, agreement=Period(months=12)))
    ctx = with_people(
        make_context(policy=policy, accounts=[MCV_ACCOUNT]), make_person(procedure_signed_on=date(2025, 3, 1))
    )
    assert messages("agreement.missing", ctx)[0] == (
        "Facebook account mhs.maroons is managed by Alex Rivera, whose signed copy of the social media "
        "procedure expired on 2026-03-01."
    )


def test_agreement_not_applicable_when_the_policy_requires_none() -> None:
    ctx = with_people(make_context(), make_person(procedure_signed_on=None))
    assert messages("agreement.missing", ctx) == []
    assert coverage("agreement.missing", ctx, make_account()) is Coverage.NOT_APPLICABLE
