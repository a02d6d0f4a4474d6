"""The engine: crash isolation, the new/open/resolved diff, waivers, --fail-on and filters."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date

from auditor.engine.checks import CHECKS, AccountCheck, Check, CheckContext
from auditor.engine.evaluate import Waiver, evaluate, fail_on, filter_findings
from auditor.model.types import (
    Account,
    AccountStatus,
    Approval,
    Finding,
    FindingState,
    Platform,
    Profile,
    Severity,
)

from .factories import make_account, make_candidate, make_context, make_profile

SECRET_TEXT = "hunter2-password-in-an-exception"


class ExplodesOnSecondAccount(AccountCheck):
    """An account check that crashes on one account, with data in its exception text."""

    id = "approval.missing"  # borrows an id: the engine reports under the check's id
    title = "t"
    severity = Severity.HIGH
    risk = "r."
    remediation = "`auditor x`"

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        if account.id == "a2":
            yield self.finding(ctx, "half-way finding that must be discarded", account=account)
            raise KeyError(SECRET_TEXT)
        yield self.finding(ctx, f"{account.label} has no approval on record.", account=account)


class ExplodesWholesale(Check):
    id = "impersonation.suspected"
    title = "t"
    severity = Severity.CRITICAL
    risk = "r."
    remediation = "`auditor x`"

    def run(self, ctx: CheckContext) -> Iterable[Finding]:
        raise RuntimeError(SECRET_TEXT)


def _accounts() -> list[Account]:
    return [
        make_account(id="a1", handle="one"),
        make_account(id="a2", handle="two"),
        make_account(id="a3", handle="three"),
    ]


def test_a_crashing_check_costs_one_accounts_result_and_keeps_no_exception_text() -> None:
    ctx = make_context(accounts=_accounts())
    escrow = CHECKS["escrow.missing"]()
    result = evaluate(ctx, checks=[ExplodesOnSecondAccount(), ExplodesWholesale(), escrow])
    messages = [(f.check_id, f.message) for f in result.findings]
    assert messages == [
        ("approval.missing", "Instagram account @one has no approval on record."),
        (
            "check.error",
            "The approval.missing check could not evaluate Instagram account @two: it failed with "
            "KeyError. The rest of the audit ran; report this as a bug.",
        ),
        ("approval.missing", "Instagram account @three has no approval on record."),
        (
            "check.error",
            "The impersonation.suspected check failed with RuntimeError and produced no results "
            "this run. The rest of the audit ran; report this as a bug.",
        ),
    ]
    error = result.findings[1]
    assert error.subject == "approval.missing:account:a2" and error.severity is Severity.HIGH
    assert error.evidence == {"check": "approval.missing", "exception_type": "KeyError"}
    assert result.errors == (
        "approval.missing: KeyError (1 account)",
        "impersonation.suspected: RuntimeError",
    )
    assert SECRET_TEXT not in repr(result)
    assert result.checks_run == ("approval.missing", "impersonation.suspected", "escrow.missing")
    assert fail_on(result.findings, "critical")  # the wholesale crash keeps its check's severity


def test_a_crashing_check_is_not_resolved_but_carried_over() -> None:
    accounts = _accounts()
    before = evaluate(make_context(accounts=accounts), checks=["approval.missing"])
    assert before.findings == ()
    unapproved = [dataclasses.replace(a, approval=Approval()) for a in accounts]
    first = evaluate(make_context(accounts=unapproved), checks=["approval.missing"])
    assert len(first.findings) == 3
    second = evaluate(
        make_context(accounts=unapproved), checks=[ExplodesOnSecondAccount()], previous=first.findings
    )
    by_subject = {f.subject: f for f in second.findings}
    # The crashed account's finding stays open (carried), never resolved.
    carried = by_subject["account:a2"]
    assert carried.state is FindingState.OPEN and carried.evidence["carried_over"] is True
    assert by_subject["account:a1"].state is FindingState.OPEN
    assert by_subject["approval.missing:account:a2"].state is FindingState.NEW
    # Next run the check works again: the error finding resolves.
    third = evaluate(make_context(accounts=unapproved), checks=["approval.missing"], previous=second.findings)
    states = {f.subject: f.state for f in third.findings}
    assert states["approval.missing:account:a2"] is FindingState.RESOLVED
    assert states["account:a2"] is FindingState.OPEN


def test_new_open_and_resolved_against_the_previous_run() -> None:
    one, two = make_account(id="a1", handle="one"), make_account(id="a2", handle="two")
    ctx = make_context(
        accounts=[
            dataclasses.replace(one, login_email="a@gmail.com"),
            dataclasses.replace(two, login_email="b@gmail.com"),
        ]
    )
    first = evaluate(ctx, checks=["login.non_district_email"])
    assert [f.state for f in first.findings] == [FindingState.NEW, FindingState.NEW]
    three = make_account(id="a3", handle="three", login_email="c@gmail.com")
    ctx = make_context(accounts=[one, dataclasses.replace(two, login_email="b@gmail.com"), three])
    second = evaluate(ctx, checks=["login.non_district_email"], previous=first.findings)
    assert [(f.subject, f.state) for f in second.findings] == [
        ("account:a2", FindingState.OPEN),
        ("account:a3", FindingState.NEW),
        ("account:a1", FindingState.RESOLVED),
    ]
    # A resolved finding is history: it does not come back as resolved again.
    third = evaluate(ctx, checks=["login.non_district_email"], previous=second.findings)
    assert [(f.subject, f.state) for f in third.findings] == [
        ("account:a2", FindingState.OPEN),
        ("account:a3", FindingState.OPEN),
    ]


def test_an_unknown_profile_never_resolves_a_profile_finding() -> None:
    account = make_account()
    bare = make_profile(account, display_name="Go", bio="scores", website="")
    first = evaluate(
        make_context(profiles={account.id: bare}), checks=["affiliation.missing", "profile.unknown"]
    )
    assert [f.check_id for f in first.findings] == ["affiliation.missing"]
    unknown = Profile.unknown(Platform.INSTAGRAM, account.handle, "HTTP 503")
    second = evaluate(
        make_context(profiles={account.id: unknown}),
        checks=["affiliation.missing", "profile.unknown"],
        previous=first.findings,
    )
    assert [(f.check_id, f.state) for f in second.findings] == [
        ("profile.unknown", FindingState.NEW),
        ("affiliation.missing", FindingState.OPEN),
    ]
    assert second.profiles_unknown == 1
    assert not fail_on(filter_findings(second.findings, ["profile"]), "low")  # unknown is info


def test_retired_or_removed_accounts_resolve_their_findings() -> None:
    account = make_account(login_email="a@gmail.com")
    first = evaluate(make_context(accounts=[account]), checks=["login.non_district_email"])
    retired = dataclasses.replace(account, status=AccountStatus.RETIRED)
    second = evaluate(
        make_context(accounts=[retired]), checks=["login.non_district_email"], previous=first.findings
    )
    assert [f.state for f in second.findings] == [FindingState.RESOLVED]
    gone = evaluate(make_context(accounts=[]), checks=["login.non_district_email"], previous=first.findings)
    assert [f.state for f in gone.findings] == [FindingState.RESOLVED]


def test_findings_of_checks_outside_this_run_are_neither_resolved_nor_repeated() -> None:
    account = make_account(login_email="a@gmail.com")
    first = evaluate(make_context(accounts=[account], candidates=(make_candidate(),)))
    assert {f.check_id for f in first.findings} == {"login.non_district_email", "impersonation.suspected"}
    offline = evaluate(make_context(accounts=[account]), previous=first.findings, offline=True)
    assert "impersonation.suspected" not in offline.checks_run
    assert [(f.check_id, f.state) for f in offline.findings] == [
        ("login.non_district_email", FindingState.OPEN)
    ]


def test_platform_scope_drops_other_platforms_and_waits_for_searches() -> None:
    ig = make_account(id="a1", handle="one", login_email="a@gmail.com")
    fb = make_account(id="a2", platform=Platform.FACEBOOK, handle="two.page", login_email="b@gmail.com")
    first = evaluate(make_context(accounts=[ig, fb], candidates=(make_candidate(),)))
    assert len(first.findings) == 3
    second = evaluate(
        make_context(accounts=[ig, fb]), previous=first.findings, platforms=[Platform.INSTAGRAM]
    )
    assert [(f.subject, f.state) for f in second.findings] == [("account:a1", FindingState.OPEN)]
    # X was in scope but its search did not complete: the impostor stays open.
    third = evaluate(
        make_context(accounts=[ig, fb], searched_platforms=frozenset()),
        previous=first.findings,
        platforms=[Platform.X],
    )
    assert [(f.check_id, f.state) for f in third.findings] == [("impersonation.suspected", FindingState.OPEN)]


def test_waivers_hide_until_their_date_then_reopen() -> None:
    account = make_account(login_email="a@gmail.com")
    ctx = make_context(accounts=[account])
    first = evaluate(ctx, checks=["login.non_district_email"])
    fp = first.findings[0].fingerprint
    assert fp == "login.non_district_email|account:acc-athletics"
    waiver = Waiver(fp, "Platform migration under way", until=date(2026, 6, 30), by="it-admin")
    waived = evaluate(ctx, checks=["login.non_district_email"], previous=first.findings, waivers=[waiver])
    [f] = waived.findings
    assert (f.state, f.waived_until, f.waiver_reason) == (
        FindingState.WAIVED,
        date(2026, 6, 30),
        "Platform migration under way",
    )
    assert not fail_on(waived.findings, "info")
    assert waived.active == () and waived.counts()["medium"] == 0
    # The day after the waiver ends, the finding is open again and the expiry is reported.
    later = make_context(accounts=[account], now=ctx.now.replace(month=7, day=1))
    reopened = evaluate(
        later, checks=["login.non_district_email"], previous=waived.findings, waivers=[waiver]
    )
    [f] = reopened.findings
    assert f.state is FindingState.OPEN and f.waived_until is None
    assert f.evidence["waiver_expired_on"] == "2026-06-30"
    assert reopened.expired_waivers == (waiver,)
    assert fail_on(reopened.findings, "medium")


def test_fail_on_and_filters() -> None:
    findings = [
        Finding("profile.unknown", Severity.INFO, "account:a", "m", platform=Platform.X),
        Finding("escrow.missing", Severity.HIGH, "account:b", "m", platform=Platform.INSTAGRAM),
        Finding(
            "escrow.stale",
            Severity.MEDIUM,
            "account:c",
            "m",
            platform=Platform.X,
            state=FindingState.RESOLVED,
        ),
    ]
    assert fail_on(findings, Severity.HIGH) and fail_on(findings, "info")
    assert not fail_on(findings, "critical")
    assert not fail_on(findings[2:], "low")  # resolved findings never fail a run
    assert [f.check_id for f in filter_findings(findings, check_ids=["escrow"])] == [
        "escrow.missing",
        "escrow.stale",
    ]
    assert [f.check_id for f in filter_findings(findings, platforms=["twitter"])] == [
        "profile.unknown",
        "escrow.stale",
    ]
    assert [f.check_id for f in filter_findings(findings, states=["new"])] == [
        "profile.unknown",
        "escrow.missing",
    ]


def test_default_run_uses_the_policy_and_counts_by_severity() -> None:
    account = make_account(login_email="a@gmail.com", two_factor=False)
    ctx = make_context(accounts=[account], credentials={})
    result = evaluate(ctx)
    assert sorted(f.check_id for f in result.findings) == [
        "escrow.missing",
        "login.non_district_email",
        "login.two_factor_off",
    ]
    assert result.counts() == {"info": 0, "low": 0, "medium": 2, "high": 1, "critical": 0}
    assert result.accounts_checked == 1
