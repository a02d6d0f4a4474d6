"""Recall and false positives of the tier fixes on the generated set in `labelled_set.py`."""

from __future__ import annotations

import pytest

from auditor.engine.impersonation import Detector
from tests.auditor.impersonation import district, labelled_set

LOOKALIKES = labelled_set.lookalikes()
NEGATIVES = labelled_set.negatives()


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(labelled_set.protected(), allowlist=district.ALLOWLIST)


def _flagged(detector: Detector, candidates: list[str]) -> set[str]:
    return {m.candidate for m in detector.scan(candidates)}


@pytest.mark.parametrize("category", sorted(LOOKALIKES))
def test_recall_per_category_at_the_flag_threshold(detector, category):
    cases = LOOKALIKES[category]
    assert len(cases) >= 20
    missed = [(c, t) for c, t in cases if not any(m.protected.name == t for m in detector.score(c))]
    assert 1 - len(missed) / len(cases) >= 0.99, missed[:10]


@pytest.mark.parametrize("category", sorted(NEGATIVES))
def test_false_positives_per_negative_set(detector, category):
    cases = NEGATIVES[category]
    flagged = _flagged(detector, cases)
    assert len(flagged) / len(cases) < 0.005, sorted(flagged)[:10]


def test_scan_finds_what_score_finds_on_the_lookalikes(detector):
    cands = [c for cases in LOOKALIKES.values() for c, _ in cases]
    by_score = {c for c in cands if detector.score(c)}
    assert _flagged(detector, cands) == by_score
