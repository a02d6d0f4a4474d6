"""Recall per category and false positives on the generated role / display-name set (issue 14)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from auditor.engine.impersonation import Detector, ProtectedKind, ProtectedName
from auditor.engine.impersonation.roles import Official, RoleModel
from auditor.model.types import Platform

from . import labelled_roles as L


def _flagged(items: list[L.Item]) -> dict[str, list[tuple[L.Item, bool]]]:
    detectors = [L.detector(d) for d in L.DISTRICTS]
    by: dict[tuple[int, Platform], list[L.Item]] = defaultdict(list)
    for item in items:
        by[(item[0], item[1])].append(item)
    out: dict[str, list[tuple[L.Item, bool]]] = defaultdict(list)
    for (k, platform), group in by.items():
        shown = {h: s for _, _, h, s, _ in group if s}
        hit = {m.candidate for m in detectors[k].scan([g[2] for g in group], platform, shown)}
        for item in group:
            out[item[4]].append((item, item[2] in hit))
    return out


@pytest.fixture(scope="module")
def positives() -> dict[str, list[tuple[L.Item, bool]]]:
    return _flagged(L.positives())


@pytest.fixture(scope="module")
def negatives() -> dict[str, list[tuple[L.Item, bool]]]:
    return _flagged(L.negatives())


def test_the_set_is_large_enough(positives, negatives):
    assert sum(len(v) for v in positives.values()) >= 1000
    assert sum(len(v) for v in negatives.values()) >= 1000


@pytest.mark.parametrize(
    "category", ["display_name_only", "superintendent", "board", "principal", "district_name"]
)
def test_recall_per_category_is_at_least_99_percent(positives, category):
    rows = positives[category]
    missed = [i for i, hit in rows if not hit]
    assert len(missed) <= 0.01 * len(rows), missed[:20]


def test_false_positives_below_half_a_percent(negatives):
    rows = [r for v in negatives.values() for r in v]
    flagged = [i for i, hit in rows if hit]
    assert len(flagged) < 0.005 * len(rows), flagged[:20]


def test_allowlisted_organisations_are_never_flagged_on_any_platform(negatives):
    assert [i for i, hit in negatives["allowlisted"] if hit] == []
    for d in L.DISTRICTS:
        det = L.detector(d)
        for org, handles in L.allowlisted(d).items():
            for platform in L.PLATFORMS:
                assert det.scan(handles, platform, dict.fromkeys(handles, org)) == []


def _sisd() -> Detector:
    return L.detector(L.DISTRICTS[0])


def test_a_display_name_only_match_explains_itself():
    det = _sisd()
    [m] = det.scan(["qx81734"], Platform.X, {"qx81734": "Stonebridge Independent School District - Official"})
    assert m.score >= 95
    assert m.reasons[0].startswith(
        "display name copies the district name Stonebridge Independent School District"
    )


def test_a_role_squat_names_the_rule():
    det = _sisd()
    reasons = {r for m in det.scan(["TheRealSupt_StonebridgeISD"], Platform.X) for r in m.reasons}
    assert "claims the superintendent role with the district's name" in reasons


def test_a_bare_personal_name_is_never_protected_but_with_a_role_it_is():
    det = _sisd()
    assert det.scan(["MariaDelgado", "drmariadelgado", "maria.delgado.photo"], Platform.INSTAGRAM) == []
    [m] = det.scan(["SuperintendentDelgado"], Platform.INSTAGRAM)
    assert m.reasons == ("uses the name of Maria Delgado with the superintendent role",)


def test_without_a_role_model_the_detector_behaves_as_before():
    det = Detector([ProtectedName("MariaDelgado", kind=ProtectedKind.ROLE)])
    assert det.scan(["MariaDelgado1"], Platform.X)
    assert det.scan(["x1"], Platform.X, {"x1": "Stonebridge ISD"}) == []


def test_a_word_inside_another_word_is_no_role():
    m = RoleModel(
        district_names=("Stonebridge ISD",), officials=(Official("Maria Delgado", "superintendent"),)
    )
    assert m.claim("skateboardstonebridgeisd") is None
    assert m.claim("SkateBoardStonebridgeISD") is not None  # written as two words: a board claim
    assert m.claim("BoardOfEdStonebridgeISD") is not None


CLUBS = (
    "Orchestra",
    "Band",
    "Parents",
    "PTA",
    "Booster Club",
    "Robotics",
    "Alumni",
    "Fans",
    "Theatre",
    "Chess",
)


def test_a_club_named_with_the_district_is_unlisted_not_an_impostor() -> None:
    """'Orchestra (Naperville 203)' is how clubs and boosters name themselves: a display name that
    adds a word of its own is not scored as copying the district (account.unlisted reports it when
    the profile claims the district); one that adds only 'Official', 'Account'... is."""
    for k, d in enumerate(L.DISTRICTS):
        det = L.detector(d)
        for name in d.names[:2]:
            shown = {}
            for i, club in enumerate(CLUBS):
                shown[f"club{k}x{i}a"] = f"{club} ({name})"
                shown[f"club{k}x{i}b"] = f"{name} {club}"
            assert det.scan(list(shown), Platform.X, shown) == [], name
            copies = {
                f"copy{k}x{i}": t for i, t in enumerate((f"{name} | Official Account", f"The Real {name}"))
            }
            assert {m.candidate for m in det.scan(list(copies), Platform.X, copies)} == set(copies), name
