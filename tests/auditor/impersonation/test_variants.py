"""Platform-valid lookalike variants for exact-lookup platforms, and search queries."""

from __future__ import annotations

import re

import pytest

from auditor.engine.impersonation import ProtectedName
from auditor.engine.impersonation.detector import Detector
from auditor.engine.impersonation.variants import is_valid, search_queries, variants
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
    assert out[:6] == ["thed203", "the_d203", "reald203", "real_d203", "thereald203", "thereal_d203"]
    assert {"d2o3", "cl203", "d_203", "d203official", "d203_hq", "officiald203"} <= set(out)
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
    ) == ["Naperville 203", "District 203", "D203", "naperville203", "D203 superintendent"]
    assert search_queries(["Naperville Community Unit School District 203"], ["board"]) == [
        "Naperville Community Unit School District 203",
        "d203",
        "district 203",
        "Naperville Community Unit School District 203 board",
    ]
