"""Record kinds are declared once (vault/kinds.py), and re-keying handles every one of them.

Issue 11: one `profile attest` record made every re-key fail, because re-keying knew the blind
index of people and accounts only. Now `Registry.put` refuses a kind that is not declared, the
sample district (which writes most kinds, through the real commands' library calls) holds only
declared kinds, and a registry holding a record of *every* declared kind is re-keyed with its
blind indexes recomputed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.model.types import CredentialRef, Role, RotationTask, Secret
from vault import kinds
from vault.errors import AccessDeniedError, NewerFormatError, VaultError
from vault.registry import Registry
from vault.rekey import add_identity

SAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "person": ("p_1", {"id": "p_1", "name": "Ann Lee", "email": "Ann@D203.org"}),
    "account": ("a_1", {"id": "a_1", "platform": "instagram", "handle": "@LHS_Athletics"}),
    "attestation": ("t_1", {"platform": "snapchat", "handle": "lhs_spirit", "checked_on": "2026-11-01"}),
    # Scoped records hold a bundle sealed under their scope's key (vault/escrow/scopes.py).
    "credential": ("a_1:v1", {"scope": "scope_1", "scope_version": 1, "box": "00" * 40}),
    "credential-pending": (
        "a_1",
        {"scope": "scope_1", "scope_version": 1, "box": "00" * 40, "task_id": "t_1"},
    ),
    "escrow-scope": ("scope_1", {"name": "North High", "version": 1, "check": "00" * 16, "wraps": {}}),
    "credential-meta": ("a_1", CredentialRef(account_id="a_1", escrowed=True, version=1).to_dict()),
    "rotation-task": (
        "t_2",
        RotationTask(
            id="t_2", account_id="a_1", reason="test", opened_at=datetime(2026, 11, 1, tzinfo=UTC)
        ).to_dict(),
    ),
    "identity": ("id_x", {"name": "x"}),
    "log-keys": ("log", {"epochs": {}}),
    "escrow-history": ("escrow", {"versions": {}}),
    "setting": ("s", {"value": 1}),
    "api-token": ("x", {"name": "x", "value": "t"}),
    "policy": ("current", {"text": "format_version = 1"}),
    "audit-run": ("r_1", {"id": "r_1"}),
    "audit-run-change": ("r_1.0", {"run": "r_1", "changes": []}),
    "audit-ledger": ("current", {"after_run": "r_1", "seq": 1}),
    "audit-ledger-chunk": ("1.0", {"findings": []}),
    "audit-profile": ("1.0", {"profiles": {}}),
    "waiver": ("f_1", {"reason": "ok"}),
    "roster-sync": ("y_1", {"source": "hr"}),
    "change": ("c_1", {"source": "import:staff.csv", "records": []}),
    "roster-baseline": ("rb_1", {"source": "hr", "people": {"p_1": ["teacher", "north"]}}),
    "watch": (
        "w_1",
        {"platform": "x", "handle": "@TheReal203Superintendent", "note": "reported by a parent"},
    ),
}


def test_every_declared_kind_has_a_sample_here() -> None:
    """A kind added to vault/kinds.py must be added to SAMPLES, so the re-key test covers it."""
    assert set(SAMPLES) == set(kinds.KINDS)


def test_an_undeclared_kind_is_refused(make_registry: Callable[..., Registry]) -> None:
    reg = make_registry()
    with pytest.raises(kinds.UndeclaredKindError, match=r"not declared in vault/kinds\.py"):
        reg.put("sticky-note", "n1", {"text": "x"}, expected_version=0)
    assert "sticky-note" not in reg.backend.kinds()


def test_a_registry_with_every_kind_is_re_keyed_with_its_blind_indexes(
    make_registry: Callable[..., Registry], reopen: Callable[..., Registry]
) -> None:
    from vault.rekey import remove_identity

    reg = make_registry()
    add_identity(reg, "bob", Role.ADMIN, Secret("bob admin passphrase"), kdf_profile="floor")
    for kind, (record_id, data) in SAMPLES.items():
        if kind in ("identity", "log-keys", "escrow-history") and reg.backend.get(kind, record_id):
            continue
        reg.put(kind, record_id, data, expected_version=None)
    remove_identity(reg, "bob", backup=False)
    reg.close()
    admin = reopen()
    for kind, (record_id, data) in SAMPLES.items():
        rec = admin.get(kind, record_id)
        assert rec is not None, kind
        key = kinds.natural_key(kind, data)
        if key is not None:  # the blind index was recomputed under the new inventory key
            assert admin.find(kind, key) is not None, kind
    assert admin.find("account", "instagram:lhs_athletics") is not None
    assert admin.find("person", "ann@d203.org") is not None


def test_only_audit_runs_and_the_ledger_are_written_by_an_auditor(
    make_registry: Callable[..., Registry], reopen: Callable[..., Registry]
) -> None:
    reg = make_registry()
    add_identity(reg, "nightly", Role.AUDITOR, Secret("nightly passphrase 1"), kdf_profile="floor")
    reg.close()
    nightly = reopen("nightly", "nightly passphrase 1")
    allowed = {k for k, spec in kinds.KINDS.items() if Role.AUDITOR in spec.writers}
    assert allowed == {"audit-run", "audit-run-change", "audit-ledger", "audit-ledger-chunk", "audit-profile"}
    for kind, (record_id, data) in SAMPLES.items():
        if kinds.KINDS[kind].domain == kinds.ESCROW:
            continue  # no key to seal them with at all
        if kind in allowed:
            nightly.put(kind, record_id, data, expected_version=None)
        else:
            with pytest.raises(AccessDeniedError, match="is an auditor identity and may not change"):
                nightly.put(kind, record_id, data, expected_version=None)
            with pytest.raises(AccessDeniedError):
                nightly.delete(kind, "identity" if kind == "identity" else record_id)


def test_the_sample_district_writes_only_declared_kinds(tmp_path: Path) -> None:
    from auditor.services.demo import build_demo
    from vault.backends.sqlite import SQLiteBackend

    result = build_demo(tmp_path / "demo", today=date(2026, 11, 20))
    backend = SQLiteBackend(result.registry)
    backend.open()
    written = set(backend.kinds())
    backend.close()
    assert written <= set(kinds.KINDS)
    # The demo exercises most of them; what it leaves out is covered by the re-key test above.
    assert {"person", "account", "attestation", "credential", "credential-meta", "audit-run"} <= written


# -- per-kind formats and upgrade steps --------------------------------------------------------------


def _bump(monkeypatch: pytest.MonkeyPatch, name: str, fmt: int, upgrades: dict[int, kinds.Upgrade]) -> None:
    spec = kinds.KINDS[name]
    monkeypatch.setitem(kinds.KINDS, name, dataclasses.replace(spec, format=fmt, upgrades=upgrades))


def test_a_record_of_an_older_layout_is_read_in_the_current_one(
    make_registry: Callable[..., Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A future release splits a setting's `value` into `value` and `unit`: records written before
    read in the new layout through the declared step; the stored bytes change only when rewritten."""
    reg = make_registry()
    reg.put("setting", "timeout", {"value": "30 s"}, expected_version=0)

    def split_unit(data: dict[str, Any]) -> dict[str, Any]:
        number, _, unit = str(data.pop("value")).partition(" ")
        return {**data, "value": int(number), "unit": unit}

    _bump(monkeypatch, "setting", 2, {1: split_unit})
    rec = reg.get("setting", "timeout")
    assert rec is not None and rec.data == {"value": 30, "unit": "s", "format": 2}
    assert [r.data for r in reg.scan("setting") if not isinstance(r, Exception)] == [rec.data]
    reg.put("setting", "timeout", {"value": 45, "unit": "s"}, expected_version=rec.version)
    again = reg.get("setting", "timeout")
    assert again is not None and again.data == {"value": 45, "unit": "s", "format": 2}


def test_a_record_written_by_a_newer_auditor_is_refused_not_misread(
    make_registry: Callable[..., Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = make_registry()
    _bump(monkeypatch, "setting", 3, {1: lambda d: d, 2: lambda d: d})
    reg.put("setting", "timeout", {"value": 30}, expected_version=0)
    monkeypatch.undo()
    with pytest.raises(
        NewerFormatError, match=r"setting record timeout is in format 3 .* written by a newer auditor"
    ):
        reg.get("setting", "timeout")
    with pytest.raises(NewerFormatError):
        list(reg.scan("setting"))


def test_a_writer_giving_an_old_format_is_a_programming_error(make_registry: Callable[..., Registry]) -> None:
    reg = make_registry()
    with pytest.raises(VaultError, match="internal error: a writer gave format 7"):
        reg.put("setting", "timeout", {"value": 30, "format": 7}, expected_version=0)
    assert reg.get("setting", "timeout") is None
