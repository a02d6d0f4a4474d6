"""Recall and false positives on the issue 14 labelled set (labelled_issue14.py), scored as the
nightly audit scores: per district, per platform, handles with their display names."""

from __future__ import annotations

import random
import re
from collections import defaultdict

import pytest

from auditor.engine.impersonation import Match
from auditor.model.types import Platform

from . import labelled_issue14 as L

LOOKALIKE_CATEGORIES = {
    "confusable", "new_confusables", "fuzz_addition", "fuzz_omission", "fuzz_repetition",
    "fuzz_transposition", "fuzz_keyboard", "fuzz_bitsquat", "fuzz_homoglyph", "fuzz_hyphenation",
    "fuzz_vowel_swap", "foreign_affix", "role_superintendent", "role_board", "role_principal",
    "role_official", "platform_bluesky", "platform_mastodon", "platform_facebook", "short", "rtl",
    "joint", "other_digits", "display_name_only", "district_name",
}  # fmt: skip
NEGATIVE_CATEGORIES = {
    "real_districts", "common_words", "people", "namesakes", "neighbours", "allowlisted",
    "police_fire", "libraries", "booster_clubs", "ptos", "own_domain", "facebook_same_page",
}  # fmt: skip


def _scan(items: list[L.Item]) -> dict[L.Item, list[Match]]:
    """Every item's matches; an item of district -1 is scored against every district."""
    detectors = [L.detector_for(d) for d in L.districts()]
    groups: dict[tuple[int, Platform], list[L.Item]] = defaultdict(list)
    for item in items:
        for k in range(len(detectors)) if item[0] == -1 else (item[0],):
            groups[(k, item[1])].append(item)
    out: dict[L.Item, list[Match]] = {item: [] for item in items}
    for (k, platform), group in groups.items():
        shown = {g[2]: g[3] for g in group if g[3]}
        found: dict[str, list[Match]] = defaultdict(list)
        for m in detectors[k].scan(list(dict.fromkeys(g[2] for g in group)), platform, shown):
            found[m.candidate].append(m)
        for g in group:
            out[g] += found.get(g[2], [])
    return out


@pytest.fixture(scope="module")
def positives() -> dict[L.Item, list[Match]]:
    return _scan(L.positives())


@pytest.fixture(scope="module")
def negatives() -> dict[L.Item, list[Match]]:
    return _scan(L.negatives())


def _by_category(result: dict[L.Item, list[Match]]) -> dict[str, list[tuple[L.Item, list[Match]]]]:
    out: dict[str, list[tuple[L.Item, list[Match]]]] = defaultdict(list)
    for item, matches in result.items():
        out[item[4]].append((item, matches))
    return out


def test_the_set_is_large_varied_and_generated():
    pos, neg = L.positives(), L.negatives()
    assert len(pos) >= 5000 and len(neg) >= 5000
    assert len(L.districts()) >= 20
    assert {d.form for d in L.districts()} == {"isd", "cusd", "usd", "sd", "ps"}
    assert {i[4] for i in pos} == LOOKALIKE_CATEGORIES
    assert {i[4] for i in neg} == NEGATIVE_CATEGORIES
    per = defaultdict(int)
    for i in pos:
        per[i[4]] += 1
    assert min(per.values()) >= 100, per
    assert len({i[1] for i in pos}) == 7 and len({i[1] for i in neg}) >= 6
    assert L.positives() == pos and L.negatives() == neg  # the seed fixes it


def test_real_district_names_are_vendored_with_their_source_and_are_not_our_fictional_towns():
    lines = (L.DATA / "us_school_districts.txt").read_text(encoding="utf-8").splitlines()
    header = " ".join(line.lstrip("# ") for line in lines if line.startswith("#"))
    assert "amcneil36/amcneil36.github.io" in header and "public domain" in header
    names = L.real_district_names()
    assert len(names) >= 1400
    words = {w.casefold() for n in names for w in re.findall(r"[A-Za-z]+", n)}
    for town in L.TOWNS:
        assert not {w.casefold() for w in town.split()} <= words, town


@pytest.mark.parametrize("category", sorted(LOOKALIKE_CATEGORIES))
def test_recall_per_category_is_at_least_99_percent(positives, category):
    rows = _by_category(positives)[category]
    missed = [item for item, matches in rows if not matches]
    assert len(missed) <= 0.01 * len(rows), missed[:10]


@pytest.mark.parametrize("category", sorted(NEGATIVE_CATEGORIES))
def test_false_positives_per_negative_category_below_half_a_percent(negatives, category):
    rows = _by_category(negatives)[category]
    flagged = [(item, matches[0].explain()) for item, matches in rows if matches]
    assert len(flagged) < 0.005 * len(rows), flagged[:10]


def test_false_positives_overall_below_half_a_percent(negatives):
    flagged = [item for item, matches in negatives.items() if matches]
    assert len(flagged) < 0.005 * len(negatives), flagged[:10]


@pytest.mark.parametrize("category", ["allowlisted", "neighbours"])
def test_no_allowlisted_organisation_and_no_neighbour_is_ever_flagged(negatives, category):
    assert [item for item, matches in _by_category(negatives)[category] if matches] == []


def test_partner_organisations_are_not_flagged_on_any_platform_by_handle_or_display_name():
    for d in L.districts():
        det = L.detector_for(d)
        for org, handles in d.partners:
            for platform in (
                Platform.X,
                Platform.INSTAGRAM,
                Platform.FACEBOOK,
                Platform.YOUTUBE,
                Platform.TIKTOK,
            ):
                assert det.scan(handles, platform, dict.fromkeys(handles, org)) == [], (org, platform)
            masto = [f"@{h}@mastodon.social" for h in handles]
            assert det.scan(masto, Platform.MASTODON, dict.fromkeys(masto, org)) == []
            sky = [f"{h.lower().replace('_', '-')}.bsky.social" for h in handles]
            assert det.scan(sky, Platform.BLUESKY, dict.fromkeys(sky, org)) == []


def test_every_flag_explains_itself(positives):
    for item, matches in positives.items():
        for m in matches:
            assert m.reasons and all(r.strip() for r in m.reasons), (item, m)
    confusables = [(i, ms) for i, ms in positives.items() if i[4] == "confusable"]
    for item, matches in confusables:
        text = " ".join(r for m in matches for r in m.reasons)
        # "Cyrillic а for a at position 2", "3 Greek look-alike letters (... for ...)"
        assert re.search(r" for [a-z]+ at position \d+| look-alike letters \(.+ for .+\)", text), (item, text)
    shown = [ms[0].reasons[0] for i, ms in positives.items() if i[4] == "display_name_only"]
    assert all(r.startswith("display name ") for r in shown), shown[:5]


def test_scan_finds_exactly_what_score_finds(positives):
    rng = random.Random(14)
    by = defaultdict(list)
    for item in rng.sample(sorted(positives, key=repr), 600) + rng.sample(L.negatives(), 600):
        if not item[3] and item[0] >= 0:  # score() reads handles only
            by[(item[0], item[1])].append(item[2])
    detectors = {k: L.detector_for(L.districts()[k]) for k, _ in by}
    for (k, platform), handles in by.items():
        det = detectors[k]
        naive = [m for h in dict.fromkeys(handles) for m in det.score(h, platform)]
        key = lambda m: (m.candidate, m.protected.name, m.score)  # noqa: E731
        assert sorted(det.scan(handles, platform), key=key) == sorted(naive, key=key)
