"""Ledger chunks quote each policy clause once (format 2, issue 17), on SQLite and PostgreSQL.

The clause text a finding quotes was 57 % of a 100,000-account ledger's bytes. A chunk now holds
each distinct clause once and its findings name them by position; what is read back is what was
stored, key order included, and a chunk written before (format 1, clauses inline) reads the same.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.engine.policy import dump_preset
from auditor.model.types import AuditRun, Finding, FindingState, Platform, Severity
from auditor.services import audit as audit_mod
from auditor.services.history import History
from auditor.services.policy import save_policy
from tests.vault.test_run_storage import store_new
from vault import kinds
from vault.registry import Registry
from vault.stores.audits import CHUNK_KIND, AuditStore, pack_chunk, unpack_chunk

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
CLAUSES = [
    {"id": f"N203-{n}", "citation": f"Naperville 203, item {n}", "text": f"Employees must do thing {n}."}
    for n in range(5)
]


def _finding(i: int, quoted: list[Any], **evidence: Any) -> Finding:
    return Finding(
        check_id=f"check.{i % 3}",
        severity=Severity.HIGH,
        subject=f"account:a_{i:04d}",
        message=f"Account a_{i:04d} has a problem.",
        account_id=f"a_{i:04d}",
        platform=Platform.X,
        clauses=tuple(str(c["id"]) for c in quoted if isinstance(c, dict) and "id" in c),
        evidence={"before": i, "clauses": quoted, **evidence},
        state=FindingState.OPEN,
    )


def _findings(count: int) -> list[Finding]:
    out = []
    for i in range(count):
        if i % 7 == 3:  # evidence whose clauses are not quoted clauses: kept as they are
            out.append(_finding(i, [{"id": "X", "text": "no citation"}, 4]))
        elif i % 11 == 5:
            out.append(_finding(i, []))
        else:
            out.append(_finding(i, [CLAUSES[i % 5], CLAUSES[(i + 2) % 5]], after=[i]))
    return out


def _store(reg: Registry, findings: list[Finding]) -> None:
    save_policy(reg, dump_preset("naperville-203"), "preset")
    run = AuditRun(
        id="run-000", started_at=T0, finished_at=T0 + timedelta(minutes=1), findings=tuple(findings)
    )
    store_new(reg, [(run, {})])


def _chunks(reg: Registry) -> list[dict[str, Any]]:
    return [r.data for r in reg.scan(CHUNK_KIND) if not isinstance(r, Exception)]


def test_a_chunk_holds_each_quoted_clause_once_and_reads_back_the_same(
    make_registry: Callable[..., Registry],
) -> None:
    reg = make_registry()
    findings = _findings(1200)
    _store(reg, findings)

    chunks = _chunks(reg)
    assert len(chunks) >= 2 and all(c["format"] == 2 for c in chunks)
    for chunk in chunks:
        texts = [q["text"] for q in chunk["quotes"]]
        assert len(texts) == len(set(texts)) <= len(CLAUSES)
        stored = json.dumps(chunk)
        for clause in CLAUSES:
            assert stored.count(clause["text"]) <= 1
    # The clause text is stored a handful of times, not once per finding.
    assert sum(json.dumps(c).count(CLAUSES[0]["text"]) for c in chunks) <= len(chunks)

    ledger = AuditStore(reg).ledger([])
    assert ledger is not None
    got = {f.fingerprint: f for f in ledger.findings}
    assert got == {f.fingerprint: f for f in findings}
    for f in findings:  # every value, nested ones included
        assert json.dumps(got[f.fingerprint].to_dict(), sort_keys=True) == json.dumps(
            f.to_dict(), sort_keys=True
        )
    # Readers of the stored form (history, registry check) see the findings whole too.
    raw = AuditStore(reg).ledger_raw([])
    assert raw is not None
    assert json.dumps(raw, sort_keys=True) == json.dumps(
        {f.fingerprint: f.to_dict() for f in findings}, sort_keys=True
    )
    history = History.read(reg)
    assert {f.fingerprint: f for f in history.ledger_after(0)} == {f.fingerprint: f for f in findings}


def test_a_chunk_written_before_format_2_reads_the_same(
    make_registry: Callable[..., Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = make_registry()
    findings = _findings(1500)
    spec = kinds.KINDS[CHUNK_KIND]
    monkeypatch.setitem(kinds.KINDS, CHUNK_KIND, dataclasses.replace(spec, format=1, upgrades={}))
    monkeypatch.setattr("vault.stores.audits.pack_chunk", lambda items: {"findings": list(items)})
    monkeypatch.setattr("vault.stores.audits.CHUNK_FORMAT", 1)
    _store(reg, findings)
    # A second night, so that the findings are open (not new) and the next night touches few.
    again = AuditRun(id="run-001", started_at=T0 + timedelta(days=1), findings=tuple(findings))
    store_new(reg, [(again, {})])
    monkeypatch.undo()
    stored = _chunks(reg)  # read as format 2 (nothing to convert), the clauses inline
    assert stored and all("quotes" not in c for c in stored)
    assert sum(json.dumps(c).count(CLAUSES[0]["text"]) for c in stored) > 50

    ledger = AuditStore(reg).ledger([])
    assert ledger is not None
    assert {f.fingerprint: f for f in ledger.findings} == {f.fingerprint: f for f in findings}
    # The next audit rewrites every chunk in format 2 once (the head said its chunks were older),
    # though it changed one finding; the night after rewrites only what it touches.
    extra = _finding(5000, [CLAUSES[1]])
    later = AuditRun(id="run-002", started_at=T0 + timedelta(days=2), findings=(*findings, extra))
    store_new(reg, [(later, {})])
    rewritten = _chunks(reg)
    assert len(rewritten) == len(stored) and all("quotes" in c for c in rewritten)
    assert {f.fingerprint: f for f in audit_mod.current_ledger(reg)} == {
        f.fingerprint: f for f in (*findings, extra)
    }
    versions = {r.id: r.version for r in reg.scan(CHUNK_KIND) if not isinstance(r, Exception)}
    more = _finding(5001, [CLAUSES[2]])
    night = AuditRun(id="run-003", started_at=T0 + timedelta(days=3), findings=(*findings, extra, more))
    store_new(reg, [(night, {})])
    after = {r.id: r.version for r in reg.scan(CHUNK_KIND) if not isinstance(r, Exception)}
    changed = sum(after[k] != v for k, v in versions.items())
    assert 0 < changed <= 2 < len(versions)  # the chunks of `extra` (new -> open) and of `more`


def test_a_chunk_quoting_a_clause_it_does_not_hold_is_damaged_not_misread() -> None:
    chunk = pack_chunk([_finding(1, [CLAUSES[0]]).to_dict()])
    chunk["refs"][0] = [3]
    with pytest.raises(ValueError, match="does not hold"):
        unpack_chunk(json.loads(json.dumps(chunk)))


_text = st.text(st.characters(codec="utf-8"), max_size=12)
_clause = st.fixed_dictionaries({"id": _text, "citation": _text, "text": _text})
_odd = st.one_of(st.none(), st.integers(), _text, st.fixed_dictionaries({"id": _text}), _clause.map(dict))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"check_id": _text, "subject": _text},
            optional={
                "evidence": st.one_of(
                    st.none(),
                    st.dictionaries(_text, _odd, max_size=3),
                    st.builds(
                        lambda a, cl, b: {**a, "clauses": cl, **b},
                        st.dictionaries(_text, _odd, max_size=2),
                        st.one_of(st.lists(_clause, max_size=3), st.lists(_odd, max_size=3), _odd),
                        st.dictionaries(_text, _odd, max_size=2),
                    ),
                )
            },
        ),
        max_size=8,
    )
)
def test_any_stored_findings_pack_and_unpack_to_the_same_json(findings: list[dict[str, Any]]) -> None:
    before = json.dumps(findings)
    packed = json.loads(json.dumps(pack_chunk(findings)))
    assert json.dumps(findings) == before  # the writer's dicts are not changed
    assert json.dumps(unpack_chunk(packed)) == before


def test_a_chunk_that_does_not_fit_the_typed_reader_reads_as_before(
    make_registry: Callable[..., Registry],
) -> None:
    """A stored finding only the generic reader accepts (an empty state, a null text, an enum in
    another spelling, a datetime where a date goes) is read as `Finding.from_dict` reads it."""
    reg = make_registry()
    good = _finding(1, [CLAUSES[0]])
    odd = {
        **_finding(2, [CLAUSES[1]]).to_dict(),
        "state": "",
        "account_id": None,
        "severity": "HIGH",
        "waived_until": "2026-05-01T00:00:00+00:00",
    }
    chunk = pack_chunk([good.to_dict(), odd])
    with reg.transaction():
        reg.put(CHUNK_KIND, "1.0", chunk, expected_version=None)
        reg.put(
            "audit-ledger",
            "current",
            {"after_run": "", "seq": 1, "findings": {"buckets": 1, "count": 2}},
            expected_version=None,
        )
    ledger = AuditStore(reg).ledger([])
    assert ledger is not None
    got = {f.fingerprint: f for f in ledger.findings}
    expected = Finding.from_dict(json.loads(json.dumps(odd)))
    assert got[expected.fingerprint] == expected
    assert (
        expected.state is FindingState.NEW
        and expected.account_id == ""
        and expected.severity is Severity.HIGH
    )
    assert got[good.fingerprint] == good


_finding_strategy = st.builds(
    Finding,
    check_id=_text,
    severity=st.sampled_from(Severity),
    subject=_text,
    message=_text,
    account_id=_text,
    person_id=_text,
    platform=st.none() | st.sampled_from(Platform),
    building=_text,
    clauses=st.lists(_text, max_size=2).map(tuple),
    remediation=_text,
    evidence=st.dictionaries(
        _text,
        st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), _text, st.lists(_text, max_size=2)),
        max_size=3,
    ).flatmap(
        lambda ev: st.one_of(
            st.just(ev),
            st.lists(st.sampled_from(CLAUSES) | _clause, max_size=3).map(lambda cl: {**ev, "clauses": cl}),
        )
    ),
    state=st.sampled_from(FindingState),
    waived_until=st.none() | st.dates(),
    waiver_reason=_text,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(_finding_strategy, max_size=6))
def test_the_typed_reader_reads_what_the_generic_reader_reads(findings: list[Finding]) -> None:
    """The one-pass reader and `Finding.from_dict` give equal findings, field for field."""
    from vault.crypto import UNTYPED_MISS, decode_typed
    from vault.stores.audits import _CHUNK_DECODER, _Chunk, _chunk_findings

    stored = json.dumps({**pack_chunk(f.to_dict() for f in findings), "format": 2}, sort_keys=True).encode()
    typed = decode_typed(stored, _CHUNK_DECODER)
    slow = [Finding.from_dict(d) for d in unpack_chunk(json.loads(stored))]
    if typed is UNTYPED_MISS:  # only JSON beyond the standard (an infinite float): read generically
        assert b"Infinity" in stored
    else:
        assert isinstance(typed, _Chunk)
        assert [f.__dict__ for f in _chunk_findings(typed)] == [f.__dict__ for f in slow]
    assert [f.__dict__ for f in slow] == [
        Finding.from_dict(json.loads(json.dumps(f.to_dict()))).__dict__ for f in findings
    ]


def test_a_clause_spelled_in_another_key_order_reads_back_in_its_own_order() -> None:
    """Found by the property above (seed 5): a clause equal to one already quoted or shared in this
    process but with its keys in another order came back in the other one's order."""
    usual = {"id": "N203-SECURITY", "citation": "Site Security", "text": "shared with administration"}
    other = {"id": "N203-SECURITY", "text": "shared with administration", "citation": "Site Security"}
    findings = [
        {"check_id": "a", "subject": "1", "evidence": {"clauses": [usual]}},
        {"check_id": "b", "subject": "2", "evidence": {"clauses": [other]}},
    ]
    before = json.dumps(findings)
    packed = json.loads(json.dumps(pack_chunk(findings)))
    assert json.dumps(unpack_chunk(packed)) == before
