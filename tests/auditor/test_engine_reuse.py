"""The audit keeps last night's finding object when tonight's equals it but for its state
(auditor/engine/evaluate.py `_Reuse`): what the run stores and shows must be exactly what it was
without the reuse, for any previous finding and any fresh one."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from auditor.engine.evaluate import _Reuse
from auditor.model.types import Finding, FindingState, Severity, finding_with

_base = Finding(
    check_id="approval.missing",
    severity=Severity.HIGH,
    subject="account:a_1",
    message="X account @north has no approval on record.",
    account_id="a_1",
    clauses=("N203-SMR-1",),
    remediation="Record the approval.",
    evidence={"clauses": [{"id": "N203-SMR-1", "citation": "c", "text": "t"}], "seen": [1]},
)

_variations = st.fixed_dictionaries(
    {},
    optional={
        "state": st.sampled_from(FindingState),
        "severity": st.sampled_from(Severity),
        "message": st.sampled_from([_base.message, "X account @north has no approval."]),
        "evidence": st.sampled_from([dict(_base.evidence), {"seen": [1]}, {**_base.evidence, "seen": [2]}]),
        "waived_until": st.sampled_from([None, date(2027, 1, 1)]),
        "waiver_reason": st.sampled_from(["", "board review"]),
        "clauses": st.sampled_from([_base.clauses, ()]),
    },
)


@given(_variations, _variations, st.sampled_from([FindingState.NEW, FindingState.OPEN]))
def test_a_reused_finding_gives_what_the_fresh_one_gave(
    old_kw: dict[str, Any], new_kw: dict[str, Any], state: FindingState
) -> None:
    previous = finding_with(_base, **old_kw)
    fresh = finding_with(_base, **{"state": FindingState.NEW, **new_kw})
    got = _Reuse([previous])(fresh)
    assert got is fresh or got is previous
    # What the diff makes of it (the state it sets) is the same field for field.
    assert finding_with(got, state=state).__dict__ == finding_with(fresh, state=state).__dict__
    same_but_state = {**fresh.__dict__, "state": previous.state} == previous.__dict__
    assert (got is previous) == same_but_state


def test_an_unchanged_finding_is_last_nights_object_and_a_changed_one_is_not() -> None:
    previous = finding_with(_base, state=FindingState.OPEN)
    reuse = _Reuse([previous])
    assert reuse(finding_with(_base, evidence=dict(_base.evidence))) is previous
    changed = finding_with(_base, message="X account @north has no approval.")
    assert reuse(changed) is changed
    other = finding_with(_base, subject="account:a_2")
    assert reuse(other) is other
