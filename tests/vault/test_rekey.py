"""Identity removal re-keys for real; break-glass opens the keys once and is then useless."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from auditor.model.errors import UsageError
from auditor.model.types import Account, Platform, Role, Secret
from vault import crypto
from vault.errors import AccessDeniedError, IdentityError, VaultError
from vault.escrow import breakglass as bg
from vault.escrow.bundle import parse_input
from vault.escrow.store import Escrow
from vault.registry import ESCROW, INVENTORY, Registry
from vault.rekey import (
    add_identity,
    breakglass_finish,
    breakglass_info,
    breakglass_session,
    breakglass_setup,
    breakglass_unlock,
    remove_identity,
)
from vault.stores.inventory import Inventory
from vault.stores.tasks import open_tasks

BOB = "bob admin passphrase"


def _setup(make_registry: Callable[..., Registry]) -> tuple[Registry, Account, Account]:
    reg = make_registry()
    inv = Inventory(reg)
    a = inv.add_account(Account(id="", platform=Platform.X, handle="lincolnhs"))
    b = inv.add_account(Account(id="", platform=Platform.INSTAGRAM, handle="lhs_band"))
    Escrow(reg).store(a.id, parse_input("password=pw-a\ntotp=JBSWY3DPEHPK3PXPJBSWY3DP"))
    add_identity(reg, "bob", Role.ADMIN, Secret(BOB), kdf_profile="floor")
    return reg, a, b


def test_removed_identity_old_keys_and_wraps_open_nothing_current(
    make_registry: Callable[..., Registry], reopen: Callable[..., Registry]
) -> None:
    reg, a, _ = _setup(make_registry)
    bob = reopen("bob", BOB)
    old_keys = bob.held_keys()
    old_private = _private_key(bob, "bob", BOB)
    old_wraps = {w.domain: w for w in reg.backend.wraps(bob.identity.id)}  # type: ignore[union-attr]
    bob.close()

    result = remove_identity(reg, "bob")
    assert set(result.domains) == {INVENTORY, ESCROW} and result.key_versions == {INVENTORY: 2, ESCROW: 2}
    assert result.backup and [t.account_id for t in result.tasks] == [a.id]

    # The old wrap rows still unwrap with the old private key, but only to the retired keys.
    for domain, wrap in old_wraps.items():
        key = crypto.unwrap(wrap.stanza, old_private, reg.wrap_label(domain, wrap.key_version))
        assert key == old_keys[domain] and key != reg.held_keys()[domain]
    # ...which decrypt no current record of either domain.
    rows = [row for kind in reg.backend.kinds() for row in reg.backend.scan(kind)]
    assert rows
    for row in rows:
        for key in old_keys.values():
            with pytest.raises(crypto.DecryptError):
                crypto.open_sealed(
                    key, row.blob, crypto.record_aad(reg.registry_id, row.kind, row.id, row.version)
                )
    # Bob is gone; the current registry works, blind indexes included.
    with pytest.raises(IdentityError):
        reopen("bob", BOB)
    admin = reopen()
    assert Inventory(admin).find_account(Platform.X, "LincolnHS") is not None
    assert Escrow(admin).reveal(a.id, "after the re-key").password == Secret("pw-a")
    assert [t.account_id for t in open_tasks(admin)] == [a.id]


def _private_key(reg: Registry, name: str, passphrase: str) -> bytes:
    import json

    row = reg.identity_row(name)
    sealed = json.loads(row.sealed_private)
    derived = crypto.argon2id(passphrase.encode(), crypto.KdfParams.from_dict(sealed["kdf"]))
    payload = crypto.open_sealed(derived[:32], bytes.fromhex(sealed["key"]), reg._identity_aad(row.id))
    return bytes.fromhex(json.loads(payload)["private"])  # format 2: the key and the pins it remembers


def test_last_admin_and_self_cannot_be_removed(make_registry: Callable[..., Registry]) -> None:
    reg = make_registry()
    add_identity(reg, "nightly", Role.AUDITOR, Secret(BOB), kdf_profile="floor")
    with pytest.raises(UsageError, match="unlocked as"):
        remove_identity(reg, "admin", backup=False)
    result = remove_identity(reg, "nightly", backup=False)
    assert result.domains == (INVENTORY,) and result.tasks == ()


def test_breakglass_opens_the_keys_once_then_rotates(
    make_registry: Callable[..., Registry], reopen: Callable[..., Registry], new_backend
) -> None:  # type: ignore[no-untyped-def]
    reg, a, _ = _setup(make_registry)
    split = breakglass_setup(reg, bg.single_group(2, 3))
    assert breakglass_info(reg)["set_id"] == split.set_id  # type: ignore[index]
    # Removing an identity re-wraps the new keys for break-glass without the shares.
    remove_identity(reg, "bob", backup=False)
    reg.close()

    locked = Registry.open(new_backend())
    session = breakglass_session(locked)
    session.add(split.cards[2].words)
    session.add(split.cards[0].words)
    key = session.finish()
    breakglass_unlock(locked, key, reason="drill", operator="R. Diaz")
    assert Escrow(locked).reveal(a.id, "drill").password == Secret("pw-a")
    result = breakglass_finish(locked, revealed=[a.id], backup=False)
    assert result.breakglass_dropped and breakglass_info(locked) is None
    with pytest.raises(VaultError, match="no break-glass set"):
        breakglass_session(locked)
    # The recovered key unwraps nothing any more, even with the old metadata put back.
    with pytest.raises(VaultError):
        breakglass_unlock(locked, key, reason="again")
    locked.close()
    admin = reopen()
    assert Escrow(admin).reveal(a.id, "after").password == Secret("pw-a")
    breakglass_setup(admin, bg.single_group(2, 3))
    stale = breakglass_session(admin)
    with pytest.raises(bg.StaleSharesError):
        stale.add(split.cards[0].words)


def test_auditor_cannot_rekey(
    make_registry: Callable[..., Registry], reopen: Callable[..., Registry]
) -> None:
    reg, _, _ = _setup(make_registry)
    add_identity(reg, "nightly", Role.AUDITOR, Secret(BOB), kdf_profile="floor")
    auditor = reopen("nightly", BOB)
    with pytest.raises(AccessDeniedError):
        remove_identity(auditor, "bob")


def _open_backup_with(path: str, name: str, passphrase: str) -> Registry:
    from vault.backends.sqlite import SQLiteBackend

    copy = Registry.open(SQLiteBackend(path))
    copy.unlock(name, Secret(passphrase))
    return copy


def test_passwd_keeps_the_key_pair_but_rotate_revokes_the_old_passphrase_and_old_copies(
    make_registry: Callable[..., Registry], reopen: Callable[..., Registry], registry_path
) -> None:  # type: ignore[no-untyped-def]
    """After a leaked passphrase: `passwd` only re-seals, so old passphrase + old copy still open
    today's keys; `rotate` gives a new key pair and re-keys, so they open only retired keys."""
    from vault.backup import take_backup
    from vault.rekey import rotate_identity

    reg, a, _ = _setup(make_registry)
    backup = take_backup(reg, "before-the-leak")
    bob = reopen("bob", BOB)
    bob.change_passphrase(Secret(BOB), Secret("bob's second passphrase"), kdf_profile="floor")
    leaked = _open_backup_with(backup, "bob", BOB)
    assert leaked.held_keys() == bob.held_keys()  # the leak still opens the current registry's keys
    leaked.close()
    bob.close()

    result = rotate_identity(reg, "bob", Secret("bob's third passphrase"), kdf_profile="floor", backup=False)
    assert set(result.domains) == {INVENTORY, ESCROW} and [t.account_id for t in result.tasks] == [a.id]
    leaked = _open_backup_with(backup, "bob", BOB)
    current = reopen("bob", "bob's third passphrase")
    assert not set(leaked.held_keys().values()) & set(current.held_keys().values())
    # The leaked key pair unwraps nothing stored now.
    old_private = _private_key(leaked, "bob", BOB)
    for wrap in current.backend.wraps():
        with pytest.raises(crypto.DecryptError):
            crypto.unwrap(wrap.stanza, old_private, current.wrap_label(wrap.domain, wrap.key_version))
    leaked.close()
    for old in (BOB, "bob's second passphrase"):
        with pytest.raises(Exception, match="wrong passphrase"):
            reopen("bob", old)
    assert Escrow(current).reveal(a.id, "after the rotation").password == Secret("pw-a")
    assert "identity-rotate" in [
        e.action for e in __import__("vault.revealog").revealog.RevealLog(current).events()
    ]


def test_an_auditor_identity_is_rotated_by_an_administrator(
    make_registry: Callable[..., Registry], reopen: Callable[..., Registry]
) -> None:
    from vault.rekey import rotate_identity

    reg = make_registry()
    add_identity(reg, "nightly", Role.AUDITOR, Secret("nightly passphrase 1"), kdf_profile="floor")
    nightly = reopen("nightly", "nightly passphrase 1")
    with pytest.raises(AccessDeniedError, match="needs an admin identity"):
        rotate_identity(nightly, "nightly", Secret("nightly passphrase 2"), kdf_profile="floor")
    nightly.close()
    result = rotate_identity(
        reg, "nightly", Secret("nightly passphrase 2"), kdf_profile="floor", backup=False
    )
    assert result.domains == (INVENTORY,) and result.tasks == ()
    assert reopen("nightly", "nightly passphrase 2").identity.role is Role.AUDITOR  # type: ignore[union-attr]
