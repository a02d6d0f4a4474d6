"""The registry on both backends (a real SQLite file and a real PostgreSQL database): round trips,
the distinct failure modes, and durability. Tests that need the file itself run on SQLite only."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.model.types import Account, Person, Platform, Role, Secret
from tests.vault.conftest import PASSPHRASE, RawDb, mode
from vault.backends.sqlite import SQLiteBackend
from vault.errors import (
    AccessDeniedError,
    ConcurrentEditError,
    IdentityError,
    NewerFormatError,
    RecordTamperedError,
    RegistryDamagedError,
    RegistryExistsError,
    RegistryNotFoundError,
    WrongPassphraseError,
)
from vault.registry import Registry
from vault.rekey import add_identity
from vault.stores.inventory import Inventory


def _seed(reg: Registry) -> tuple[Person, Account, Account]:
    inv = Inventory(reg)
    owner = inv.add_person(Person(id="", name="Marcus Lee", email="mlee@naperville203.org", role="Principal"))
    a1 = inv.add_account(
        Account(id="", platform=Platform.INSTAGRAM, handle="nnhs_athletics", owner_id=owner.id)
    )
    a2 = inv.add_account(Account(id="", platform=Platform.X, handle="Naperville203", owner_id=owner.id))
    return owner, a1, a2


def _db(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path)


def test_round_trip_through_close_and_reopen(make_registry: Callable[..., Registry], reopen) -> None:  # type: ignore[no-untyped-def]
    reg = make_registry()
    owner, a1, _ = _seed(reg)
    reg.close()
    inv = Inventory(reopen())
    assert inv.resolve_person("MLEE@naperville203.org") == owner
    assert inv.resolve_account("instagram:@NNHS_Athletics") == a1
    assert [a.handle for a in inv.accounts()] == ["nnhs_athletics", "Naperville203"]


def test_wrong_passphrase_is_its_own_error(make_registry, reopen) -> None:  # type: ignore[no-untyped-def]
    make_registry().close()
    with pytest.raises(WrongPassphraseError, match="wrong passphrase"):
        reopen(passphrase="not the passphrase at all")


def test_no_name_handle_or_email_is_stored_in_clear(make_registry, registry_path: Path) -> None:  # type: ignore[no-untyped-def]
    reg = make_registry(admin="dwhitfield")
    _seed(reg)
    reg.close()
    raw = b"".join(p.read_bytes() for p in registry_path.parent.iterdir() if p.is_file())
    for needle in (b"Marcus", b"mlee", b"naperville203", b"nnhs_athletics", b"Principal", b"dwhitfield"):
        assert needle not in raw.lower(), needle


def test_files_are_created_mode_0600(make_registry, registry_path: Path) -> None:  # type: ignore[no-untyped-def]
    reg = make_registry()
    _seed(reg)
    files = [p for p in registry_path.parent.iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"registry.db", "registry.db-wal"}
    assert all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}
    from vault.backup import take_backup

    backup = Path(take_backup(reg, "test"))
    assert mode(backup) == 0o600 and mode(backup.parent) == 0o700


def test_wal_and_synchronous_full(make_registry, registry_path: Path) -> None:  # type: ignore[no-untyped-def]
    reg = make_registry()
    conn = reg.backend.conn  # type: ignore[attr-defined]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_flipped_ciphertext_byte_names_the_record_and_spares_the_others(  # type: ignore[no-untyped-def]
    make_registry, reopen, raw: RawDb
) -> None:
    reg = make_registry()
    _, a1, a2 = _seed(reg)
    reg.close()
    blob = bytearray(raw("SELECT blob FROM records WHERE id=?", (a1.id,))[0][0])
    blob[20] ^= 0x01
    raw("UPDATE records SET blob=? WHERE id=?", (bytes(blob), a1.id))
    inv = Inventory(reopen())
    with pytest.raises(RecordTamperedError) as info:
        inv.get_account(a1.id)
    assert info.value.record_id == a1.id and f"account record {a1.id}" in info.value.message
    assert [a.id for a in inv.accounts()] == [a2.id]
    assert [e.record_id for e in inv.damaged] == [a1.id]


def test_ciphertext_copied_onto_another_row_is_detected(make_registry, reopen, raw: RawDb) -> None:  # type: ignore[no-untyped-def]
    reg = make_registry()
    _, a1, a2 = _seed(reg)
    reg.close()
    blob = raw("SELECT blob FROM records WHERE id=?", (a1.id,))[0][0]
    raw("UPDATE records SET blob=? WHERE id=?", (blob, a2.id))
    with pytest.raises(RecordTamperedError, match=a2.id):
        Inventory(reopen()).get_account(a2.id)


def test_old_version_replayed_under_the_current_version_number_is_detected(  # type: ignore[no-untyped-def]
    make_registry, reopen, raw: RawDb
) -> None:
    import dataclasses

    reg = make_registry()
    _, a1, _ = _seed(reg)
    old_blob = raw("SELECT blob FROM records WHERE id=?", (a1.id,))[0][0]
    Inventory(reg).save_account(dataclasses.replace(a1, notes="changed"))
    reg.close()
    raw("UPDATE records SET blob=? WHERE id=?", (old_blob, a1.id))
    with pytest.raises(RecordTamperedError):
        Inventory(reopen()).get_account(a1.id)


def test_garbage_file_is_reported_damaged_and_left_untouched(registry_path: Path) -> None:
    registry_path.parent.mkdir(parents=True)
    registry_path.write_bytes(b"this is not a registry" * 100)
    before = hashlib.sha256(registry_path.read_bytes()).hexdigest()
    with pytest.raises(RegistryDamagedError, match="not an SQLite database"):
        Registry.open(SQLiteBackend(registry_path))
    assert hashlib.sha256(registry_path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in registry_path.parent.iterdir()) == ["registry.db"]


def test_truncated_registry_is_reported_damaged_and_left_untouched(
    make_registry, registry_path: Path
) -> None:  # type: ignore[no-untyped-def]
    reg = make_registry()
    _seed(reg)
    reg.backend.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[attr-defined]
    reg.close()
    data = registry_path.read_bytes()
    registry_path.write_bytes(data[: 4096 + 100])
    before = registry_path.read_bytes()
    with pytest.raises(RegistryDamagedError):
        reg2 = Registry.open(SQLiteBackend(registry_path))
        reg2.unlock(None, Secret(PASSPHRASE))
    assert registry_path.read_bytes() == before


def test_an_sqlite_file_without_our_schema_is_damaged(registry_path: Path) -> None:
    registry_path.parent.mkdir(parents=True)
    with _db(registry_path) as db:
        db.execute("CREATE TABLE other (x)")
    with pytest.raises(RegistryDamagedError, match="tables missing"):
        Registry.open(SQLiteBackend(registry_path))


def test_registry_from_a_newer_version_is_refused_without_change(
    make_registry, new_backend, raw: RawDb
) -> None:  # type: ignore[no-untyped-def]
    make_registry().close()
    raw("UPDATE meta SET value='99' WHERE name='format_version'")
    before = _all_rows(raw)
    with pytest.raises(NewerFormatError, match="newer version of auditor"):
        Registry.open(new_backend())
    assert _all_rows(raw) == before


def test_a_newer_database_schema_is_refused_without_change(make_registry, new_backend, raw: RawDb) -> None:  # type: ignore[no-untyped-def]
    make_registry().close()
    raw("UPDATE meta SET value='7' WHERE name='schema_version'")
    before = _all_rows(raw)
    with pytest.raises(NewerFormatError, match="database schema 7"):
        Registry.open(new_backend())
    assert _all_rows(raw) == before


def _all_rows(raw: RawDb) -> list[object]:
    return [raw(f"SELECT * FROM {t} ORDER BY 1") for t in ("meta", "identities", "wraps", "records", "log")]  # noqa: S608


def test_hostile_kdf_parameters_are_refused(make_registry, reopen, raw: RawDb) -> None:  # type: ignore[no-untyped-def]
    make_registry().close()
    sealed = json.loads(bytes(raw("SELECT sealed_private FROM identities")[0][0]))
    sealed["kdf"]["memory_kib"] = 512 * 1024 * 1024
    raw("UPDATE identities SET sealed_private=?", (json.dumps(sealed).encode(),))
    with pytest.raises(RegistryDamagedError, match="above the cap"):
        reopen()


def test_private_key_damage_is_not_reported_as_wrong_passphrase(make_registry, reopen, raw: RawDb) -> None:  # type: ignore[no-untyped-def]
    make_registry().close()
    sealed = json.loads(bytes(raw("SELECT sealed_private FROM identities")[0][0]))
    key = bytearray.fromhex(sealed["key"])
    key[-1] ^= 1
    sealed["key"] = key.hex()
    raw("UPDATE identities SET sealed_private=?", (json.dumps(sealed).encode(),))
    with pytest.raises(RegistryDamagedError, match="passphrase is right"):
        reopen()


def test_missing_registry_says_how_to_create_one(registry_path: Path) -> None:
    with pytest.raises(RegistryNotFoundError) as info:
        Registry.open(SQLiteBackend(registry_path))
    assert "auditor init" in info.value.hint


def test_create_refuses_to_overwrite(make_registry) -> None:  # type: ignore[no-untyped-def]
    make_registry().close()
    with pytest.raises(RegistryExistsError):
        make_registry()


def test_auditor_identity_holds_the_inventory_key_only(make_registry, reopen) -> None:  # type: ignore[no-untyped-def]
    reg = make_registry()
    add_identity(reg, "it-nightly", Role.AUDITOR, Secret("nightly passphrase 123"), kdf_profile="floor")
    reg.put("credential", "c1", {"password": "x"}, expected_version=0, domain="escrow")
    reg.close()
    aud = reopen("it-nightly", "nightly passphrase 123")
    assert aud.identity is not None and aud.identity.role is Role.AUDITOR
    assert aud.has_domain("inventory") and not aud.has_domain("escrow")
    with pytest.raises(AccessDeniedError, match="does not hold the escrow key"):
        aud.get("credential", "c1", domain="escrow")
    with pytest.raises(AccessDeniedError):
        add_identity(aud, "x-admin", Role.ADMIN, Secret("another passphrase"), kdf_profile="floor")


def test_admin_can_unlock_as_auditor_only(make_registry, reopen) -> None:  # type: ignore[no-untyped-def]
    make_registry().close()
    reg = reopen(as_role=Role.AUDITOR)
    assert not reg.has_domain("escrow")


def test_several_identities_need_a_name(make_registry, reopen) -> None:  # type: ignore[no-untyped-def]
    reg = make_registry()
    add_identity(reg, "mlee", Role.ADMIN, Secret("marcus passphrase 1"), kdf_profile="floor")
    reg.close()
    with pytest.raises(IdentityError, match="2 identities"):
        reopen()
    assert reopen("MLEE", "marcus passphrase 1").identity.name == "mlee"  # type: ignore[union-attr]
    with pytest.raises(WrongPassphraseError):
        reopen("mlee", PASSPHRASE)


def test_identity_names_are_not_stored_in_clear(make_registry) -> None:  # type: ignore[no-untyped-def]
    reg = make_registry(admin="dwhitfield")
    names = [r.name for r in reg.identity_rows()]
    assert names and all("dwhitfield" not in n for n in names)
    assert [i.name for i in reg.identities()] == ["dwhitfield"]


def test_second_edit_from_a_stale_read_is_a_conflict(make_registry, reopen) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    reg = make_registry()
    _, a1, _ = _seed(reg)
    other = Inventory(reopen())
    mine = Inventory(reg).get_account(a1.id)
    theirs = other.get_account(a1.id)
    assert mine is not None and theirs is not None
    other.save_account(dataclasses.replace(theirs, notes="theirs"))
    with pytest.raises(ConcurrentEditError, match="changed by someone else"):
        Inventory(reg).save_account(dataclasses.replace(mine, notes="mine"))
    assert Inventory(reg).get_account(a1.id).notes == "theirs"  # type: ignore[union-attr]


def test_natural_keys_are_unique(make_registry) -> None:  # type: ignore[no-untyped-def]
    from auditor.model.errors import AuditorError

    reg = make_registry()
    _seed(reg)
    inv = Inventory(reg)
    with pytest.raises(AuditorError, match="already in the registry"):
        inv.add_account(Account(id="", platform=Platform.X, handle="@NAPERVILLE203"))
    with pytest.raises(AuditorError, match="already exists"):
        inv.add_person(Person(id="", name="Other", email="MLee@Naperville203.org"))


def test_person_named_on_an_account_cannot_be_removed(make_registry) -> None:  # type: ignore[no-untyped-def]
    from auditor.model.errors import AuditorError

    reg = make_registry()
    owner, _, _ = _seed(reg)
    with pytest.raises(AuditorError, match="still named on 2 account"):
        Inventory(reg).remove_person(owner)


def test_registry_check_names_tampered_records(make_registry, reopen, raw: RawDb) -> None:  # type: ignore[no-untyped-def]
    from vault.maintenance import check_registry

    reg = make_registry()
    _, a1, _ = _seed(reg)
    reg.close()
    assert check_registry(reopen()).healthy
    raw("UPDATE records SET version=version+1 WHERE id=?", (a1.id,))
    report = check_registry(reopen())
    assert not report.healthy
    assert [(t.kind, t.record_id) for t in report.tampered] == [("account", a1.id)]
    assert report.records_ok["account"] == 1 and report.records_ok["person"] == 1
