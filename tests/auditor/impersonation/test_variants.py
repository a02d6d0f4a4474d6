"""Platform-valid lookalike variants for exact-lookup platforms, and search queries."""

from __future__ import annotations

import re

import pytest

from auditor.engine.impersonation import ProtectedName
from auditor.engine.impersonation.detector import Detector
from auditor.engine.impersonation.variants import is_valid, plan_probes, search_queries, variants, words_of
from auditor.model.types import Platform

RULES = {
    Platform.X: r"[a-z0-9_]{1,15}",
    Platform.INSTAGRAM: r"(?!\.)(?!.*\.\.)[a-z0-9._]{1,30}(?<!\.)",
    Platform.FACEBOOK: r"(?=.*[a-z])[a-z0-9]{5,50}",
    Platform.YOUTUBE: r"[a-z0-9_.\-]{3,30}",
    Platform.TIKTOK: r"[a-z0-9_.]{2,23}[a-z0-9_]",
    Platform.MASTODON: r"[a-z0-9_]{1,30}",
    Platform.BLUESKY: r"[a-z0-9]([a-z0-9-]*[a-z0-9])?\.bsky\.social",
}


@pytest.mark.parametrize("platform", list(RULES))
def test_variants_are_valid_unique_capped_and_not_the_handle(platform):
    handle = "NapervilleCUSD203" if platform is Platform.FACEBOOK else "naperville203"
    out = variants(handle, platform, limit=450)
    assert 0 < len(out) <= 450
    assert len(set(out)) == len(out)
    assert all(re.fullmatch(RULES[platform], v) for v in out), [
        v for v in out if not re.fullmatch(RULES[platform], v)
    ]
    assert all(is_valid(v, platform) for v in out)
    assert handle.casefold() not in out


def test_x_variants_put_squats_first_and_reach_the_cap_for_short_handles():
    out = variants("d203", Platform.X, limit=450)
    # The name split into its words, then the commonest affixes with and without separators.
    assert out[:7] == [
        "d_203",
        "d203official",
        "d203_official",
        "d_203_official",
        "thed203",
        "the_d203",
        "the_d_203",
    ]
    assert {"d2o3", "cl203", "d203official", "d203_hq", "d_203_hq", "officiald203"} <= set(out)
    long = variants("naperville203", Platform.X, limit=450)
    assert {
        "naperv1lle203",
        "napervi1le203",
        "naperville2o3",
        "naperville_203",
        "naperville203_",
        "imnaperville203",
        "naperville203hq",
        "napervile203",
    } <= set(long)
    assert all(len(v) <= 15 for v in long)
    # A homoglyph swap comes within the first 15 even where most affixes do not fit in 15 characters.
    assert "naperville2o3" in long[:15]


@pytest.mark.parametrize(
    ("handle", "platform", "expected"),
    [
        ("District203", Platform.X, ["district_203_hq", "district_203_tv", "the_district203"]),
        (
            "naperville203",
            Platform.INSTAGRAM,
            ["naperville.203.official", "the_naperville_203", "naperville_203_hq"],
        ),
        (
            "naperville203.bsky.social",
            Platform.BLUESKY,
            ["naperville-203-hq.bsky.social", "the-naperville-203.bsky.social"],
        ),
        (
            "NapervilleNorthHS",
            Platform.YOUTUBE,
            ["naperville_north_hs_official", "the.naperville.north.hs", "naperville-north-hs-hq"],
        ),
        (
            "nnhs_athletics",
            Platform.INSTAGRAM,
            ["nnhs.athletics", "nnhsathletics", "nnhs.athletics.official"],
        ),
    ],
)
def test_separator_and_affix_forms_are_generated_early_and_platform_valid(handle, platform, expected):
    out = variants(handle, platform, limit=60)
    assert set(expected) <= set(out), [e for e in expected if e not in out]
    assert all(re.fullmatch(RULES[platform], v) for v in out)
    # Forms a platform's grammar refuses are never offered: no period on X, no underscore on Bluesky.
    assert not any("." in v for v in variants("District203", Platform.X, limit=450))
    assert not any("_" in v for v in variants("naperville203.bsky.social", Platform.BLUESKY, limit=450))


def test_words_of_splits_at_separators_camel_case_and_numbers():
    assert words_of("NapervilleNorthHS") == ["naperville", "north", "hs"]
    assert words_of("naperville203") == ["naperville", "203"]
    assert words_of("nnhs_athletics") == ["nnhs", "athletics"]
    assert words_of("D203Superintendent") == ["d", "203", "superintendent"]


def test_plan_probes_shares_the_budget_round_robin_across_bases():
    bases = [[f"a{i}" for i in range(100)], [f"b{i}" for i in range(100)], [f"c{i}" for i in range(100)]]
    plan = plan_probes(bases, 31)
    assert len(plan) == 31
    counts = {k: sum(1 for p in plan if p[0] == k) for k in "abc"}
    assert counts == {"a": 11, "b": 10, "c": 10}  # the one left over goes to the first base
    assert plan[:3] == ["a0", "b0", "c0"]  # each base's likeliest first


def test_plan_probes_gives_a_short_base_s_share_to_the_others_and_skips_own_and_repeats():
    bases = [["own", "x1"], ["x1", "y1", "y2", "y3", "y4"], ["z1", "z2", "z3", "z4"]]
    plan = plan_probes(bases, 8, skip={"own"})
    assert "own" not in plan and plan.count("x1") == 1
    assert plan == ["x1", "y1", "z1", "y2", "z2", "y3", "z3", "y4"]
    assert plan_probes(bases, 0) == []
    assert len(plan_probes(bases, 100, skip={"own"})) == 9  # everything, once


def test_instagram_variants_include_period_and_affix_squats():
    out = variants("naperville203", Platform.INSTAGRAM)
    assert {
        "thenaperville203",
        "the.naperville203",
        "naperville.203",
        "real_naperville203",
        "naperville203_official",
    } <= set(out)


def test_facebook_variants_ignore_periods_and_case():
    out = variants("Naperville.CUSD.203", Platform.FACEBOOK)
    assert "." not in "".join(out)
    assert "napervillecusd2o3" in out and "napervillecusd203" not in out


def test_bluesky_variants_include_the_domain_squat_first():
    out = variants("naperville203.org", Platform.BLUESKY)
    assert out[0] == "naperville203-org.bsky.social"
    assert "realnaperville203.bsky.social" in out


def test_every_variant_is_flagged_or_knowingly_below_threshold():
    """The generator and the detector agree: nearly every probe would be reported if found."""
    d = Detector([ProtectedName("naperville203", platform=Platform.X)])
    out = variants("naperville203", Platform.X, limit=450)
    flagged = {m.candidate for m in d.scan(out, Platform.X)}
    assert len(flagged) / len(out) >= 0.95


def test_search_queries():
    assert search_queries(
        ["Naperville 203", "District 203", "D203"], ["superintendent"], ["@naperville203", "@d203@k12.social"]
    ) == ["Naperville 203", "District 203", "D203", "D203 superintendent", "naperville203"]
    assert search_queries(["Naperville Community Unit School District 203"], ["board"]) == [
        "Naperville Community Unit School District 203",
        "Naperville Community Unit School District 203 board",
        "d203",
        "district 203",
    ]


def test_search_queries_cover_display_names_officials_and_buildings_most_valuable_first():
    out = search_queries(
        ["Naperville 203", "D203"],
        ["Superintendent"],
        ["naperville203", "NapervilleNorthHS"],
        display_names=["Naperville North High School", "naperville 203"],
        buildings=[("Naperville North High School", "Naperville North", "NNHS")],
        officials=[("Elena Delgado", "Superintendent")],
    )
    assert out == [
        "Naperville 203",
        "D203",
        "Naperville North High School",  # the own account's display name (and the building: once)
        "Elena Delgado Superintendent",
        "Dr. Delgado Superintendent",
        "D203 Superintendent",
        "Naperville North",
        "NNHS",
        "naperville203",
        "NapervilleNorthHS",
        "district 203",  # d203 is D203 again
    ]
    # A personal name alone is never searched for (namesakes exist); the budget keeps the head.
    assert "Elena Delgado" not in out
