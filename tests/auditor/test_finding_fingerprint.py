"""A finding's fingerprint is made with it (issue 17: an audit asked 280,000 findings for it about
five million times) and kept beside its fields: every way a Finding is made holds the same one, so
two equal findings have equal `__dict__`s (what the audit's reuse and its change records compare),
and it is never stored, encoded or compared as a field."""

from __future__ import annotations

import dataclasses

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from auditor.model.types import Finding, FindingState, Severity, finding_with

TEXT = st.text(max_size=12)


@given(check=TEXT, subject=TEXT, other=TEXT, message=TEXT)
def test_every_way_of_making_a_finding_holds_its_own_fingerprint(
    check: str, subject: str, other: str, message: str
) -> None:
    f = Finding(check_id=check, severity=Severity.HIGH, subject=subject, message=message)
    expected = f"{check}|{subject}"
    decoded = msgspec.json.decode(msgspec.json.encode(f.to_dict()), type=Finding)  # the ledger's reader
    made = [
        f,
        Finding.from_dict(f.to_dict()),
        decoded,
        dataclasses.replace(f, state=FindingState.OPEN),
        finding_with(f, state=FindingState.OPEN),
    ]
    for g in made:
        assert g.fingerprint == expected
        assert {**g.__dict__, "state": f.state} == f.__dict__
    assert decoded == f and decoded.__dict__ == f.__dict__
    moved = finding_with(f, subject=other)
    assert moved.fingerprint == f"{check}|{other}" == dataclasses.replace(f, subject=other).fingerprint
    assert finding_with(f, check_id=other).fingerprint == f"{other}|{subject}"
    # Never a field: not in the stored form, not encoded, not part of equality.
    assert "fingerprint" not in f.to_dict()
    assert "fingerprint" not in msgspec.json.decode(msgspec.json.encode(f))  # a key (a message may say it)
    assert "fingerprint" not in {x.name for x in dataclasses.fields(Finding)}
