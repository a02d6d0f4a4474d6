"""profile.handle_unverified: a Bluesky handle the platform no longer verifies (issue 15)."""

from __future__ import annotations

import dataclasses

import pytest

from auditor.engine.checks.base import CheckContext, Coverage
from auditor.model.types import Account, Platform, Profile, ProfileStatus, Severity

from ..factories import coverage, make_account, make_context, make_profile, run_check

DISTRICT = make_account(id="acc-news", platform=Platform.BLUESKY, handle="news.naperville203.org")
HOSTED = make_account(id="acc-fans", platform=Platform.BLUESKY, handle="nnhs-news.bsky.social")
DID = "did:plc:inz4fkbbp7ms3ixufw6xuvdi"


def _ctx(account: Account, **overrides: object) -> CheckContext:
    profile = make_profile(account, platform_id=DID, **overrides)
    return make_context(accounts=(account,), profiles={account.id: profile})


def test_a_verified_handle_passes() -> None:
    assert run_check("profile.handle_unverified", _ctx(DISTRICT)) == []


def test_a_district_domain_handle_that_broke_is_high_with_the_clause() -> None:
    [finding] = run_check("profile.handle_unverified", _ctx(DISTRICT, handle_unverified=True))
    assert finding.message == (
        "Bluesky account news.naperville203.org no longer has a verified handle (Bluesky shows "
        "handle.invalid). The handle is a name under the district domain naperville203.org: whoever "
        "controls that name can claim the handle."
    )
    assert finding.severity is Severity.HIGH
    assert finding.clauses == ("N203-SECURITY",)
    assert finding.evidence["district_domain"] == "naperville203.org"
    assert finding.evidence["platform_id"] == DID
    assert "auditor account edit bluesky:news.naperville203.org --handle HANDLE" in finding.remediation


def test_another_broken_handle_is_medium_and_cites_the_moline_clause() -> None:
    ctx = _ctx(HOSTED, handle_unverified=True)
    ctx = dataclasses.replace(ctx, policy=make_context(policy="moline-coal-valley").policy)
    [finding] = run_check("profile.handle_unverified", ctx)
    assert finding.message == (
        "Bluesky account nnhs-news.bsky.social no longer has a verified handle (Bluesky shows handle.invalid)."
    )
    assert (finding.severity, finding.clauses) == (Severity.MEDIUM, ("MCV-APPROVAL-1",))


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        (
            Profile.unknown(Platform.BLUESKY, "news.naperville203.org", "HTTP 503 after 3 attempts"),
            Coverage.CANNOT_TELL,
        ),
        (
            Profile(
                Platform.BLUESKY, "news.naperville203.org", ProfileStatus.NOT_FOUND, handle_unverified=True
            ),
            Coverage.NOT_APPLICABLE,
        ),
    ],
)
def test_unknown_cannot_tell_and_a_missing_account_is_not_this_finding(
    profile: Profile, expected: Coverage
) -> None:
    ctx = make_context(accounts=(DISTRICT,), profiles={DISTRICT.id: profile})
    assert coverage("profile.handle_unverified", ctx, DISTRICT) is expected
    assert run_check("profile.handle_unverified", ctx) == []
