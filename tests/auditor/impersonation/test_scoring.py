"""Tiers, number guard, mixed-script floor and plain-word reasons, with exact scores."""

from __future__ import annotations

import pytest

from auditor.engine.impersonation import Match, ProtectedKind, ProtectedName, Tier, score_pair
from auditor.model.types import Platform

X, IG = Platform.X, Platform.INSTAGRAM
HANDLE = ProtectedName("naperville203", platform=X)
ROLE = ProtectedName("203superintendent", kind=ProtectedKind.ROLE)

CASES = [
    # candidate, protected, score, tier, reasons
    ("naperv1lle203", HANDLE, 99, Tier.SAME_KEY, ("1 for i",)),
    ("NapervilIe203", HANDLE, 99, Tier.SAME_KEY, ("I for l",)),
    ("naperville2O3", HANDLE, 99, Tier.SAME_KEY, ("O for 0",)),
    ("naperville_203", HANDLE, 99, Tier.SAME_KEY, ("separator _ added",)),
    ("nаperville203", HANDLE, 99, Tier.SAME_KEY, ("Cyrillic а for a at position 2",)),
    ("naper\u200bville203", HANDLE, 99, Tier.SAME_KEY, ("zero-width space removed",)),
    ("ｎａｐｅｒｖｉｌｌｅ２０３", HANDLE, 99, Tier.SAME_KEY, ("fullwidth characters",)),
    (
        "naperville203",
        ProtectedName("naperville203", platform=IG),
        99,
        Tier.SAME_KEY,
        ("same name as Instagram account @naperville203",),
    ),
    ("TheReal203Superintendent", ROLE, 95, Tier.SAME_CORE, ("affix the+real",)),
    ("realnaperville203", HANDLE, 95, Tier.SAME_CORE, ("affix real",)),
    ("ıamnaperville203", HANDLE, 95, Tier.SAME_CORE, ("look-alike ı for i at position 1", "affix iam")),
    ("d2O3_superintendent", ROLE, 90, Tier.CONTAINS, ("contains 203superintendent with d added", "O for 0")),
    ("naperville203sports", HANDLE, 90, Tier.CONTAINS, ("contains naperville203 with sports added",)),
    (
        "napervile203",
        HANDLE,
        92,
        Tier.SIMILAR,
        ("similar to naperville203 (OSA similarity 0.92)", "missing l"),
    ),
    (
        "naperivlle203",
        HANDLE,
        92,
        Tier.SIMILAR,
        ("similar to naperville203 (OSA similarity 0.92)", "v moved"),
    ),
    ("superintendent_203", ROLE, 95, Tier.SIMILAR, ("same words as 203superintendent in a different order",)),
    # number guard: a different number is a different district, capped at 60
    (
        "naperville204",
        HANDLE,
        60,
        Tier.SIMILAR,
        (
            "similar to naperville203 (OSA similarity 0.92)",
            "4 for 3",
            "different number (204, not 203): capped at 60",
        ),
    ),
    (
        "naperville2034",
        HANDLE,
        60,
        Tier.CONTAINS,
        ("contains naperville203 with 4 added", "different number (2034, not 203): capped at 60"),
    ),
    # no number where the protected name has one: capped at 80
    (
        "napervillezoe",
        HANDLE,
        80,
        Tier.SIMILAR,
        (
            "similar to naperville203 (OSA similarity 0.92)",
            "z for 2",
            "no number where naperville203 has 203: capped at 80",
        ),
    ),
    # mixed script raises a near match to 97, but not past the number guard
    (
        "nаpervile203",
        HANDLE,
        97,
        Tier.SIMILAR,
        (
            "Cyrillic а for a at position 2",
            "similar to naperville203 (OSA similarity 0.92)",
            "missing l",
            "mixed scripts (Latin with Cyrillic): raised to 97",
        ),
    ),
    (
        "nаperville204",
        HANDLE,
        60,
        Tier.SIMILAR,
        (
            "Cyrillic а for a at position 2",
            "similar to naperville203 (OSA similarity 0.92)",
            "4 for 3",
            "different number (204, not 203): capped at 60",
        ),
    ),
    (
        "coffeelover",
        HANDLE,
        23,
        Tier.SIMILAR,
        ("similar words to naperville203 (token-sort similarity 0.23)",),
    ),
]


@pytest.mark.parametrize(("candidate", "protected", "score", "tier", "reasons"), CASES)
def test_tiers_scores_and_reasons(candidate, protected, score, tier, reasons):
    m = score_pair(candidate, protected, platform=X)
    assert m == Match(candidate, protected, score, tier, reasons, X)


def test_mastodon_same_username_on_another_instance_is_a_lookalike():
    p = ProtectedName("naperville203@k12.social", platform=Platform.MASTODON)
    m = score_pair("@naperville203@mastodon.social", p, platform=Platform.MASTODON)
    assert (m.score, m.reasons) == (99, ("on mastodon.social, not k12.social",))
    assert score_pair("@Naperville203@k12.social", p, platform=Platform.MASTODON) is None


def test_the_inventory_account_itself_is_not_a_lookalike():
    assert score_pair("NAPERVILLE203", HANDLE, platform=X) is None
    assert (
        score_pair(
            "Napervillecusd203",
            ProtectedName("Naperville.CUSD.203", platform=Platform.FACEBOOK),
            platform=Platform.FACEBOOK,
        )
        is None
    )
    # same text on another platform: could be an impersonator or an unlisted account, so it is flagged
    assert score_pair("naperville203", HANDLE, platform=IG).score == 99


def test_match_is_frozen_and_explains_itself():
    m = score_pair("TheReal203Superintendent", ROLE)
    assert m.explain() == "affix the+real"
    with pytest.raises(AttributeError):
        m.score = 0  # type: ignore[misc]
    assert ROLE.describe() == "the protected role name 203superintendent"
    assert HANDLE.describe() == "X account @naperville203"
