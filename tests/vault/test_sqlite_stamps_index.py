"""The covering index a kind's head check reads (SQLite): `records.stamp` lies after the blob in
each row, so without `records_stamps` checking the head of the audit's change records walked every
blob (617 MB at 100,000 accounts) on each audit that stored a change. A registry made before the
index gets it at its next write, never when it is only opened or read."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from auditor.model.types import Account, Person, Platform, Secret
from tests.vault.conftest import PASSPHRASE
from vault.backends.sqlite import SQLiteBackend
from vault.maintenance import check_registry
from vault.registry import Registry
from vault.stores.inventory import Inventory

STAMPS_QUERY = "SELECT id, version, lookup, CAST(stamp AS BLOB) FROM records WHERE kind=?"


def _plan(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return " ".join(str(r[-1]) for r in con.execute("EXPLAIN QUERY PLAN " + STAMPS_QUERY, ("account",)))
    finally:
        con.close()


def _indexed(path: Path) -> bool:
    con = sqlite3.connect(path)
    try:
        found = con.execute("SELECT 1 FROM sqlite_master WHERE type='index' AND name='records_stamps'")
        return found.fetchone() is not None
    finally:
        con.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _make(path: Path) -> None:
    reg = Registry.create(SQLiteBackend(path), "admin", Secret(PASSPHRASE), kdf_profile="floor")
    try:
        inv = Inventory(reg)
        owner = inv.add_person(Person(id="", name="Ana Ortiz", email="aortiz@d203.org"))
        inv.add_account(Account(id="", platform=Platform.X, handle="d203", owner_id=owner.id))
    finally:
        reg.close()


def test_a_new_registry_checks_a_kind_s_head_from_the_covering_index_alone(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    _make(path)
    assert _indexed(path)
    assert "COVERING INDEX records_stamps" in _plan(path)


def test_an_older_registry_gets_the_index_at_its_next_write_and_not_when_read(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    _make(path)
    con = sqlite3.connect(path)
    con.execute("DROP INDEX records_stamps")  # as the release before this one made it
    con.commit()
    con.close()
    assert "COVERING INDEX" not in _plan(path)
    before = _digest(path)

    reg = Registry.open(SQLiteBackend(path))
    reg.unlock(None, Secret(PASSPHRASE))
    try:
        assert [a.handle for a in Inventory(reg).accounts()] == ["d203"]
        reg.close()
        assert _digest(path) == before, "opening and reading wrote to the file"
        assert not _indexed(path)

        reg = Registry.open(SQLiteBackend(path))
        reg.unlock(None, Secret(PASSPHRASE))
        inv = Inventory(reg)
        owner = inv.people()[0]
        inv.add_account(Account(id="", platform=Platform.INSTAGRAM, handle="d203_ig", owner_id=owner.id))
        assert _indexed(path)
        assert "COVERING INDEX records_stamps" in _plan(path)
        # Every head still verifies, through the index.
        assert sorted(a.handle for a in Inventory(reg).accounts()) == ["d203", "d203_ig"]
        assert check_registry(reg).healthy
    finally:
        reg.close()
