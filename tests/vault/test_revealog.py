"""The stored reveal log: chained, MAC'd, encrypted events; tampering named; fail closed."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.model.log import LogChainError
from auditor.model.types import Role, Secret
from tests.vault.conftest import RawDb
from vault.errors import LogWriteError, VaultError
from vault.registry import Registry
from vault.rekey import add_identity, remove_identity
from vault.revealog import RevealLog

SECOND = "second admin passphrase"


def _events(reg: Registry, n: int) -> RevealLog:
    log = RevealLog(reg)
    for i in range(n):
        log.append("reveal", account_id=f"a_{i}", reason=f"ticket {i}")
    return log


def test_events_round_trip_and_verify(make_registry: Callable[..., Registry]) -> None:
    reg = make_registry()
    log = _events(reg, 3)
    events = log.events()
    assert [(e.seq, e.action, e.account_id, e.reason, e.identity) for e in events] == [
        (1, "reveal", "a_0", "ticket 0", "admin"),
        (2, "reveal", "a_1", "ticket 1", "admin"),
        (3, "reveal", "a_2", "ticket 2", "admin"),
    ]
    result = log.verify()
    assert result.ok and result.message == "All 3 events verify (events 1 to 3)."
    assert reg.log_head() == f"3:{events[-1].digest}"  # kept in the authenticated inventory manifest


def test_log_rows_are_encrypted(make_registry: Callable[..., Registry], registry_path: Path) -> None:
    reg = make_registry()
    RevealLog(reg).append("reveal", account_id="a_x", reason="coach Rivera left")
    raw = registry_path.read_bytes() + Path(str(registry_path) + "-wal").read_bytes()
    assert b"coach Rivera" not in raw and b"a_x" not in raw


def test_reason_is_mandatory_and_secrets_refused(make_registry: Callable[..., Registry]) -> None:
    log = RevealLog(make_registry())
    with pytest.raises(LogChainError, match="reason is required"):
        log.append("reveal", account_id="a")
    with pytest.raises(LogChainError, match="looks like a secret"):
        log.append("set", account_id="a", details={"password": "x"})
    assert log.events() == []


def test_deleted_event_is_named(make_registry: Callable[..., Registry], raw: RawDb) -> None:
    reg = make_registry()
    log = _events(reg, 5)
    raw("DELETE FROM log WHERE seq = 3", bypass_log_guard=True)
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 4
    assert result.message == "Event 3 is missing: the log jumps from event 2 to event 4."


def test_reordered_events_are_named(make_registry: Callable[..., Registry], raw: RawDb) -> None:
    reg = make_registry()
    log = _events(reg, 5)
    raw("UPDATE log SET seq = 100 WHERE seq = 3", bypass_log_guard=True)
    raw("UPDATE log SET seq = 3 WHERE seq = 4", bypass_log_guard=True)
    raw("UPDATE log SET seq = 4 WHERE seq = 100", bypass_log_guard=True)
    result = log.verify()
    assert not result.ok
    assert result.message == "Event 4 appears before event 3: the log is out of order."


def test_edited_event_is_named(make_registry: Callable[..., Registry], raw: RawDb) -> None:
    reg = make_registry()
    log = _events(reg, 4)
    blob = bytes(raw("SELECT blob FROM log WHERE seq = 2")[0][0])
    raw(
        "UPDATE log SET blob = ? WHERE seq = 2",
        (blob.replace(b'"ct": "', b'"ct": "A'),),
        bypass_log_guard=True,
    )
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 2
    assert result.message.startswith("Event 2 cannot be trusted: it does not decrypt")


def test_event_rewritten_with_the_key_breaks_the_next_link(
    make_registry: Callable[..., Registry], raw: RawDb
) -> None:
    """An insider holding the inventory key re-encrypts an altered event: the chain still tells."""
    import dataclasses

    from vault.log_chain import compute_mac

    reg = make_registry()
    log = _events(reg, 4)
    original = log.events()[1]
    forged = dataclasses.replace(original, reason="nothing to see")
    forged = dataclasses.replace(forged, mac=compute_mac(forged, log._current_keys()[0]))
    blob = log._encode(forged, 1, log._current_keys()[1])
    raw("UPDATE log SET blob = ? WHERE seq = 2", (blob,), bypass_log_guard=True)
    assert log.verify().message.startswith("Event 3 does not follow event 2")


def test_truncated_tail_is_detected_by_the_head(make_registry: Callable[..., Registry], raw: RawDb) -> None:
    reg = make_registry()
    log = _events(reg, 5)
    raw("DELETE FROM log WHERE seq >= 4", bypass_log_guard=True)
    result = log.verify()
    assert not result.ok
    assert "The log ends at event 3 but the recorded head is event 5" in result.message


def test_fail_closed_when_the_log_cannot_be_written(
    make_registry: Callable[..., Registry], registry_path: Path
) -> None:
    reg = make_registry()
    log = _events(reg, 1)
    reg.backend.conn.execute("PRAGMA busy_timeout = 50")  # type: ignore[attr-defined]
    holder = sqlite3.connect(registry_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    shown: list[str] = []
    try:
        with (
            pytest.raises(LogWriteError, match="nothing was shown"),
            log.reveal("reveal", account_id="a", reason="r"),
        ):
            shown.append("the secret")
        with pytest.raises(LogWriteError):
            log.log_then(lambda: shown.append("the secret"), "totp", account_id="a", reason="r")
    finally:
        holder.execute("ROLLBACK")
    assert shown == []
    assert len(log.events()) == 1


def test_reveal_refuses_to_run_inside_a_transaction(make_registry: Callable[..., Registry]) -> None:
    reg = make_registry()
    log = RevealLog(reg)
    with (
        reg.transaction(),
        pytest.raises(VaultError, match="inside an open transaction"),
        log.reveal("reveal", account_id="a", reason="r"),
    ):
        pass


def test_log_survives_rekeying_and_an_auditor_can_verify(
    make_registry: Callable[..., Registry], reopen: Callable[..., Registry]
) -> None:
    reg = make_registry()
    add_identity(reg, "bob", Role.ADMIN, Secret(SECOND), kdf_profile="floor")
    add_identity(reg, "compliance", Role.AUDITOR, Secret(SECOND), kdf_profile="floor")
    _events(reg, 2)
    remove_identity(reg, "bob", backup=False)
    _events(reg, 1)
    remove_identity(reg, "compliance", backup=False)
    RevealLog(reg).append("set", account_id="a_1")
    result = RevealLog(reg).verify()
    assert result.ok, result.message
    assert result.message == "All 8 events verify (events 1 to 8)."
    actions = [e.action for e in RevealLog(reg).events()]
    assert actions == [
        "identity-add",
        "identity-add",
        "reveal",
        "reveal",
        "identity-remove",
        "reveal",
        "identity-remove",
        "set",
    ]
