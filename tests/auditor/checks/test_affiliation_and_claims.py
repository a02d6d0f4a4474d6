"""affiliation.missing, impersonation.suspected, account.unlisted: pass, fail, not applicable."""

from __future__ import annotations

import dataclasses

from auditor.engine.checks.base import Coverage
from auditor.engine.policy import AllowlistEntry
from auditor.model.types import AccountStatus, Platform, Profile, ProfileStatus

from ..factories import (
    coverage,
    make_account,
    make_candidate,
    make_context,
    make_profile,
    messages,
    preset,
    run_check,
)

# -- affiliation.missing ----------------------------------------------------------------------------


def test_affiliation_passes_when_the_bio_names_the_school_and_the_role() -> None:
    assert messages("affiliation.missing", make_context()) == []


def test_affiliation_fails_when_nothing_names_the_district() -> None:
    account = make_account()
    profile = make_profile(account, display_name="Go Huskies", bio="Scores and schedules.", website="")
    ctx = make_context(profiles={account.id: profile})
    assert messages("affiliation.missing", ctx) == [
        "Instagram account @nnhs_athletics does not state its affiliation with Naperville Community Unit "
        "School District 203 in its profile."
    ]
    [finding] = run_check("affiliation.missing", ctx)
    assert finding.clauses == ("N203-SMR-3",)
    assert finding.evidence["clauses"][0]["text"].startswith(
        "An employee or volunteer group social media account"
    )
    assert finding.remediation.endswith("`auditor audit --check affiliation.missing`.")


def test_affiliation_requires_the_role_where_the_policy_asks_for_it() -> None:
    account = make_account()
    profile = make_profile(account, display_name="Huskies", bio="News from Naperville North.", website="")
    ctx = make_context(profiles={account.id: profile})
    [finding] = run_check("affiliation.missing", ctx)
    assert finding.message == (
        "Instagram account @nnhs_athletics states its affiliation with Naperville Community Unit School "
        "District 203 but not its role in its profile."
    )
    assert finding.severity.value == "low"


def test_affiliation_counts_the_owners_recorded_role_and_district_links() -> None:
    account = make_account()
    profile = make_profile(
        account,
        display_name="Huskies",
        bio="Athletic Director's updates.",
        website="",
        links=("https://naperville203.org/page",),
    )
    assert messages("affiliation.missing", make_context(profiles={account.id: profile})) == []


def test_affiliation_does_not_match_an_alias_inside_a_longer_word() -> None:
    account = make_account()
    profile = make_profile(account, display_name="ND2031 fan club", bio="official", website="")
    assert len(messages("affiliation.missing", make_context(profiles={account.id: profile}))) == 1


def test_affiliation_is_not_evaluated_on_an_unknown_profile() -> None:
    account = make_account()
    unknown = Profile.unknown(Platform.INSTAGRAM, "nnhs_athletics", "HTTP 503")
    ctx = make_context(profiles={account.id: unknown})
    assert messages("affiliation.missing", ctx) == []
    assert coverage("affiliation.missing", ctx, account) is Coverage.CANNOT_TELL
    # And with no lookup at all, it cannot tell either.
    assert coverage("affiliation.missing", make_context(profiles={}), account) is Coverage.CANNOT_TELL


def test_affiliation_not_applicable_to_retired_or_vanished_accounts() -> None:
    retired = make_account(status=AccountStatus.RETIRED)
    bare = make_profile(retired, bio="", display_name="", website="")
    ctx = make_context(accounts=[retired], profiles={retired.id: bare})
    assert messages("affiliation.missing", ctx) == []
    assert coverage("affiliation.missing", ctx, retired) is Coverage.NOT_APPLICABLE
    gone = make_account()
    ctx = make_context(profiles={gone.id: make_profile(gone, status=ProfileStatus.NOT_FOUND, bio="")})
    assert coverage("affiliation.missing", ctx, gone) is Coverage.NOT_APPLICABLE


# -- impersonation.suspected ------------------------------------------------------------------------


def test_impersonation_passes_without_candidates_above_the_threshold() -> None:
    ctx = make_context(candidates=(make_candidate(score=84.0),))
    assert messages("impersonation.suspected", ctx) == []


def test_impersonation_flags_a_candidate_with_its_explanation() -> None:
    ctx = make_context(candidates=(make_candidate(),))
    [finding] = run_check("impersonation.suspected", ctx)
    assert finding.message == (
        "X account @TheReal203Superintendent is not in the inventory and imitates the protected role name "
        "Superintendent "
        "(score 90: affix the+real; contains 203superintendent)."
    )
    assert finding.subject == "candidate:x:thereal203superintendent"
    assert finding.platform is Platform.X
    assert finding.clauses == ("N203-SMR-4",)


def test_impersonation_never_flags_allowlisted_or_inventoried_accounts() -> None:
    policy = dataclasses.replace(
        preset(), allowlist=(AllowlistEntry(Platform.X, "@naperville204", "Neighbouring district"),)
    )
    own = make_account(platform=Platform.X, handle="NNHS_Athletics")
    ctx = make_context(
        policy=policy,
        accounts=[own],
        candidates=(
            make_candidate(handle="naperville204", target="@naperville203", score=95),
            make_candidate(handle="nnhs_athletics", score=99),
        ),
    )
    assert messages("impersonation.suspected", ctx) == []


def test_impersonation_resolution_waits_for_a_completed_search() -> None:
    check_ctx = make_context(searched_platforms=frozenset({Platform.BLUESKY}))
    [old] = run_check("impersonation.suspected", make_context(candidates=(make_candidate(),)))
    from auditor.engine.checks.registry import CHECKS

    assert CHECKS["impersonation.suspected"]().coverage(check_ctx, old) is Coverage.CANNOT_TELL


# -- account.unlisted -------------------------------------------------------------------------------


def _claimant(**overrides: object) -> Profile:
    values: dict[str, object] = {
        "platform": Platform.INSTAGRAM,
        "handle": "nnhs_band",
        "status": ProfileStatus.FOUND,
        "platform_handle": "nnhs_band",
        "display_name": "NNHS Band",
        "bio": "Marching band of Naperville North High School",
    }
    values.update(overrides)
    return Profile(**values)  # type: ignore[arg-type]


def test_unlisted_passes_when_the_claimant_is_in_the_inventory() -> None:
    ctx = make_context(claimants=(_claimant(handle="NNHS_Athletics", platform_handle="nnhs_athletics"),))
    assert messages("account.unlisted", ctx) == []


def test_unlisted_reports_an_unregistered_account_claiming_the_district() -> None:
    ctx = make_context(claimants=(_claimant(),))
    [finding] = run_check("account.unlisted", ctx)
    assert finding.message == (
        "Instagram account @nnhs_band claims to represent Naperville Community Unit School District 203 "
        '("Naperville North High School" in its profile) but is not in the inventory.'
    )
    assert finding.subject == "claimant:instagram:nnhs_band"
    assert finding.clauses == ("N203-SMR-1", "N203-SMR-4", "N203-SMR-5")


def test_unlisted_not_applicable_to_profiles_without_a_claim_or_already_flagged() -> None:
    ctx = make_context(
        claimants=(
            _claimant(
                handle="huskyfan", platform_handle="huskyfan", bio="I love football", display_name="fan"
            ),
            _claimant(
                platform=Platform.X,
                handle="TheReal203Superintendent",
                platform_handle="TheReal203Superintendent",
                bio="Naperville 203 superintendent",
            ),
        ),
        candidates=(make_candidate(),),
    )
    assert messages("account.unlisted", ctx) == []


def test_candidates_adapt_from_the_impersonation_detectors_matches() -> None:
    from auditor.engine.checks import ImpersonationCandidate
    from auditor.engine.impersonation import Match, ProtectedKind, ProtectedName, Tier

    match = Match(
        candidate="TheReal203Superintendent",
        protected=ProtectedName("203 Superintendent", ProtectedKind.ROLE),
        score=90,
        tier=Tier.CONTAINS,
        reasons=("affix the+real",),
    )
    candidate = ImpersonationCandidate.from_match(match, Platform.X)
    [finding] = run_check("impersonation.suspected", make_context(candidates=(candidate,)))
    assert finding.message == (
        "X account @TheReal203Superintendent is not in the inventory and imitates the protected role name "
        "203 Superintendent (score 90: affix the+real)."
    )
