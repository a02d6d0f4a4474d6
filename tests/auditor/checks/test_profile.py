"""profile.not_found, profile.suspended, profile.renamed, profile.inactive, profile.unknown."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from auditor.engine.checks.base import CheckContext, Coverage
from auditor.model.types import AccountStatus, Platform, Profile, ProfileStatus

from ..factories import coverage, make_account, make_context, make_profile, messages, preset, run_check

ACCOUNT = make_account()
UNKNOWN = Profile.unknown(Platform.INSTAGRAM, "nnhs_athletics", "rate-limited past the budget")
RETIRED = make_account(status=AccountStatus.RETIRED)


def _ctx(**profile_overrides: object) -> CheckContext:
    return make_context(profiles={ACCOUNT.id: make_profile(ACCOUNT, **profile_overrides)})


def test_a_found_current_profile_passes_every_profile_check() -> None:
    ctx = make_context()
    for check_id in (
        "profile.not_found",
        "profile.suspended",
        "profile.renamed",
        "profile.inactive",
        "profile.unknown",
    ):
        assert messages(check_id, ctx) == [], check_id


def test_profile_not_found_and_deactivated() -> None:
    assert messages("profile.not_found", _ctx(status=ProfileStatus.NOT_FOUND)) == [
        "Instagram account @nnhs_athletics was not found on Instagram."
    ]
    assert messages("profile.not_found", _ctx(status=ProfileStatus.DEACTIVATED)) == [
        "Instagram account @nnhs_athletics has been deactivated on Instagram."
    ]


def test_profile_suspended() -> None:
    [finding] = run_check("profile.suspended", _ctx(status=ProfileStatus.SUSPENDED))
    assert finding.message == "Instagram account @nnhs_athletics has been suspended by Instagram."
    assert finding.clauses == ("N203-POLICIES",)


def test_profile_renamed() -> None:
    assert messages(
        "profile.renamed", _ctx(platform_handle="nnhs_huskies", renamed_from="nnhs_athletics")
    ) == ["Instagram account @nnhs_athletics has been renamed to @nnhs_huskies on Instagram."]
    # Only the case differs: not a rename.
    assert messages("profile.renamed", _ctx(platform_handle="NNHS_Athletics")) == []


def test_profile_inactive_uses_the_policy_window() -> None:
    ctx = _ctx(last_post_at=datetime(2025, 11, 30, tzinfo=UTC))
    [finding] = run_check("profile.inactive", ctx)
    assert (
        finding.message
        == "Instagram account @nnhs_athletics has not posted since 2025-11-30, more than 180 days ago."
    )
    assert finding.clauses == ("BP-DORMANT",)
    assert messages("profile.inactive", _ctx(last_post_at=datetime(2025, 12, 3, tzinfo=UTC))) == []


def test_profile_unknown_is_reported_and_never_looks_compliant() -> None:
    ctx = make_context(profiles={ACCOUNT.id: UNKNOWN})
    [finding] = run_check("profile.unknown", ctx)
    assert finding.message == (
        "Instagram account @nnhs_athletics could not be checked this run (rate-limited past the budget)."
    )
    assert finding.severity.value == "info"
    assert messages("profile.unknown", make_context(profiles={})) == [
        "Instagram account @nnhs_athletics could not be checked this run: no profile lookup was made."
    ]
    # Every other profile check says "cannot tell" rather than "passes".
    for check_id in (
        "profile.not_found",
        "profile.suspended",
        "profile.renamed",
        "profile.inactive",
        "affiliation.missing",
    ):
        assert messages(check_id, ctx) == []
        assert coverage(check_id, ctx, ACCOUNT) is Coverage.CANNOT_TELL, check_id


def test_profile_checks_not_applicable() -> None:
    retired_ctx = make_context(accounts=[RETIRED], profiles={RETIRED.id: UNKNOWN})
    assert messages("profile.unknown", retired_ctx) == []
    assert coverage("profile.not_found", retired_ctx, RETIRED) is Coverage.NOT_APPLICABLE
    gone = _ctx(status=ProfileStatus.NOT_FOUND)
    assert coverage("profile.renamed", gone, ACCOUNT) is Coverage.NOT_APPLICABLE
    assert coverage("profile.inactive", gone, ACCOUNT) is Coverage.NOT_APPLICABLE
    no_window = dataclasses.replace(preset(), inactive_after=None)
    old = make_profile(ACCOUNT, last_post_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert messages("profile.inactive", make_context(policy=no_window, profiles={ACCOUNT.id: old})) == []
    assert coverage("profile.inactive", _ctx(last_post_at=None), ACCOUNT) is Coverage.CANNOT_TELL
