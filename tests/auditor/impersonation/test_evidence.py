"""Profile evidence raises or lowers a match, and says by how much and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auditor.engine.impersonation import ProtectedName, score_pair
from auditor.engine.impersonation.evidence import DistrictContext, apply_evidence
from auditor.model.types import Platform

NOW = datetime(2025, 3, 1, tzinfo=UTC)
D203 = DistrictContext(
    names=("Naperville 203", "Naperville Community Unit School District 203", "District 203", "D203"),
    domains=("naperville203.org",),
    roles=("superintendent", "board of education", "principal"),
    other_organisations=("Indian Prairie School District 204", "Naperville Police Department"),
    other_domains=("ipsd.org",),
)
BASE = score_pair("napervilIe203", ProtectedName("naperville203"))  # 99, "I for l"


def test_claims_links_and_a_new_account_raise_the_score_with_reasons():
    m = score_pair("realnaperville203", ProtectedName("naperville203"))  # 95
    out = apply_evidence(
        m,
        D203,
        display_name="Naperville 2O3 Superintendent",
        bio="The official page",
        links=["https://www.naperville203.org/about"],
        created_at=NOW - timedelta(days=3),
        now=NOW,
    )
    assert out.score == 100
    assert out.reasons == (
        "affix real",
        "display name names the district (Naperville 203): +5",
        "display name claims the role superintendent: +5",
        "profile says official: +3",
        "links to the district's domain naperville203.org: +5",
        "account created 3 days ago: +5",
    )


def test_homoglyphs_in_the_bio_still_count_as_naming_the_district():
    out = apply_evidence(BASE, D203, bio="Nаperville 203 updates")  # Cyrillic а
    assert out.reasons[-1] == "bio names the district (Naperville 203): +5"


def test_a_different_district_or_allowlisted_organisation_lowers_the_score():
    m = score_pair("napervillezoe", ProtectedName("naperville203"))
    assert m.score == 80  # capped: no number
    out = apply_evidence(m, D203, bio="News for families in District 204")
    assert (out.score, out.reasons[-1]) == (50, "profile names a different organisation (district 204): -30")
    out = apply_evidence(m, D203, bio="Naperville Police Department community page")
    assert out.reasons[-1] == "profile names a different organisation (Naperville Police Department): -30"
    out = apply_evidence(m, D203, links=["ipsd.org"])
    assert out.reasons[-1] == "profile names a different organisation (ipsd.org): -30"


def test_a_parody_label_lowers_and_an_older_account_raises_a_little():
    out = apply_evidence(BASE, D203, bio="parody account", created_at=NOW - timedelta(days=100), now=NOW)
    assert (out.score, out.reasons[1:]) == (
        91,
        ("account created 100 days ago: +2", "profile says parody: -10"),
    )


def test_no_evidence_leaves_the_match_unchanged():
    assert apply_evidence(BASE, D203, bio="hello", created_at=NOW - timedelta(days=900), now=NOW) is BASE


def test_bluesky_handle_on_the_district_domain_is_proof_of_control():
    m = score_pair("news.naperville203.org", ProtectedName("naperville203"), platform=Platform.BLUESKY)
    out = apply_evidence(m, D203, platform=Platform.BLUESKY)
    assert out.score == 0
    assert out.reasons[-1] == (
        "handle is on the district's own domain naperville203.org: proof of control, not impersonation"
    )


def test_a_bio_claiming_a_role_of_the_district_by_the_role_models_rules_lifts_the_score_and_says_so():
    from dataclasses import replace

    from auditor.engine.impersonation.roles import Official, RoleModel

    model = RoleModel(
        district_names=("Stonebridge Independent School District", "Stonebridge ISD"),
        officials=(Official("Maria Delgado", "superintendent"),),
        district_label="Stonebridge ISD",
    )
    sisd = DistrictContext(names=("Stonebridge ISD",), roles=("superintendent",), role_model=model)
    weak = score_pair("stonebridge_updates", ProtectedName("StonebridgeISD"))  # 79
    assert weak is not None and weak.score < 85
    lifted = apply_evidence(weak, sisd, bio="Superintendent of Stonebridge ISD. Go Panthers!")
    assert lifted.score == weak.score + 15 >= 85
    assert lifted.reasons[-3:] == (
        "bio names the district (Stonebridge ISD): +5",
        "bio claims the role superintendent: +5",
        "bio claims the superintendent role with the district's name: +5",
    )
    # Dr + surname with the district's name is a claim too; without the role model only the word counts
    dr = apply_evidence(weak, sisd, bio="Dr. Delgado, Stonebridge ISD")
    assert "bio uses the name of Maria Delgado with the district's name: +5" in dr.reasons
    plain = apply_evidence(weak, replace(sisd, role_model=None), bio="Superintendent of Stonebridge ISD")
    assert plain.score == weak.score + 10
    assert plain.reasons[-1] == "bio claims the role superintendent: +5"
    # a bio that names the role without this district claims nothing of ours
    other = apply_evidence(weak, sisd, bio="Retired superintendent, now a photographer")
    assert not any("district's name" in r for r in other.reasons)


def test_district_context_fills_the_allowlisted_organisations_and_the_role_model():
    from auditor.engine.policy.model import AllowlistEntry, Policy, ProtectedRole
    from auditor.engine.snapshot import district_context

    policy = Policy(
        id="sisd",
        name="Stonebridge Independent School District",
        aliases=("Stonebridge ISD",),
        protected_roles=(ProtectedRole("supt", "Superintendent", people=("Maria Delgado",)),),
        allowlist=(
            AllowlistEntry(
                Platform.X, "StonebridgeISDPTA", "partner", organisation="Stonebridge ISD PTA Council"
            ),
            AllowlistEntry(
                Platform.INSTAGRAM, "sisd_pta", "partner", organisation="Stonebridge ISD PTA Council"
            ),
            AllowlistEntry(Platform.X, "StonebridgePD", "town", organisation="Stonebridge Police Department"),
        ),
    )
    ctx = district_context(policy)
    assert ctx.other_organisations == ("Stonebridge ISD PTA Council", "Stonebridge Police Department")
    assert ctx.role_model is not None
    m = score_pair("stonebridge_isd_news", ProtectedName("StonebridgeISD"))
    out = apply_evidence(m, ctx, bio="News from the Stonebridge Police Department")
    assert out.reasons[-1] == "profile names a different organisation (Stonebridge Police Department): -30"
