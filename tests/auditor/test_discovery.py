"""What look-alike discovery asks each platform (auditor/services/audit.py): the names it probes, in
which order and weight, the queries it searches, and the budget line a run prints (issue 14)."""

from __future__ import annotations

from auditor.engine.impersonation.variants import is_valid
from auditor.engine.policy import load_preset
from auditor.engine.snapshot import DiscoveryUse, district_context, protected_names
from auditor.model.types import Account, Platform
from auditor.services.audit import OWN_NAME_WEIGHT, discovery_queries, probe_bases

POLICY = load_preset("naperville-203")


def _account(platform: Platform, handle: str, display_name: str = "") -> Account:
    return Account(id=f"a-{handle}", platform=platform, handle=handle, display_name=display_name)


def test_probe_bases_put_the_district_s_own_handles_and_names_first_and_fit_the_platform() -> None:
    accounts = [_account(Platform.X, "naperville203"), _account(Platform.X, "nnhs_theatre")]
    bases = probe_bases(POLICY, Platform.X, accounts, protected_names(POLICY, accounts))
    names = [b for b, _ in bases]
    assert names[:4] == ["naperville203", "nnhs_theatre", "d203", "district203"]
    assert all(is_valid(b, Platform.X) for b in names)  # 15 characters at most on X
    assert "NapervilleCommunityUnitSchoolDistrict203".casefold() not in {n.casefold() for n in names}
    assert len({n.casefold() for n in names}) == len(names)  # `Naperville203` is naperville203 again
    weights = dict(bases)
    assert weights["naperville203"] == weights["d203"] == OWN_NAME_WEIGHT
    assert weights["D203Board"] == 1  # a protected role name valid on X
    # On Bluesky every name is a handle under bsky.social.
    bluesky = [b for b, _ in probe_bases(POLICY, Platform.BLUESKY, [], protected_names(POLICY, []))]
    assert bluesky[:2] == ["d203.bsky.social", "district203.bsky.social"]
    assert all(b.endswith(".bsky.social") for b in bluesky)


def test_discovery_queries_put_the_platform_s_own_display_names_before_other_platforms() -> None:
    accounts = [
        _account(Platform.MASTODON, "kennedyjh@mastodon.example", "Kennedy Junior High"),
        _account(Platform.X, "nnhs_theatre", "NNHS Theatre"),
    ]
    mastodon = discovery_queries(POLICY, district_context(POLICY), accounts, Platform.MASTODON)
    assert mastodon[: len(POLICY.names())] == list(POLICY.names())  # the district's names first
    assert mastodon.index("Kennedy Junior High") < mastodon.index("Naperville Central High School")
    assert "kennedyjh" in mastodon and "nnhs_theatre" not in mastodon  # handles of this platform only
    assert mastodon[-1] == "NNHS Theatre"  # another platform's display name comes last
    x = discovery_queries(POLICY, district_context(POLICY), accounts, Platform.X)
    assert x.index("NNHS Theatre") < x.index("Kennedy Junior High")


def test_the_budget_line_says_what_each_platform_used() -> None:
    assert (
        DiscoveryUse(Platform.X, probes=212, probe_budget=400, bases=9, watched=1).line()
        == "X: 212 of 400 look-alike probes (9 names), 1 watched handle"
    )
    assert (
        DiscoveryUse(
            Platform.YOUTUBE, probes=3, probe_budget=400, bases=2, searches=14, search_budget=25, resolved=4
        ).line()
        == "YouTube: 3 of 400 look-alike probes (2 names), 14 of 25 searches, 4 search hits looked up by id"
    )
    assert (
        DiscoveryUse(Platform.MASTODON, searches=0, search_budget=25).line() == "Mastodon: 0 of 25 searches"
    )
    assert DiscoveryUse(Platform.X, watched=2).line() == "X: 2 watched handles"


def test_an_impostor_imitates_the_district_account_on_its_own_platform() -> None:
    """The district is @naperville203 on Facebook and on X; an X lookalike imitates the X account
    (issue 21: it was reported as imitating the Facebook page, the first of two equal matches)."""
    from datetime import UTC, datetime

    from auditor.engine.impersonation.detector import Detector
    from auditor.engine.impersonation.scoring import ProtectedName
    from auditor.model.types import Platform
    from auditor.services.audit import _score

    names = [
        ProtectedName("naperville203", platform=p)
        for p in (Platform.FACEBOOK, Platform.X, Platform.INSTAGRAM)
    ]
    detector = Detector(names, threshold=85)
    for platform in (Platform.X, Platform.INSTAGRAM, Platform.FACEBOOK):
        found = _score(detector, None, platform, ["naperville2O3"], {}, datetime(2026, 12, 1, tzinfo=UTC))  # type: ignore[arg-type]
        assert [c.target for c in found] == [f"{platform.label} account @naperville203"]
