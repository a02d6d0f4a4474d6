"""The tamper kit (issue 11): what someone who can write the SQLite file or the PostgreSQL schema, but
holds no passphrase, might change, and the error that names each change.

Every vector runs on both backends. Each one edits the stored rows directly (tests/vault/conftest.py
`RawDb`, as a database administrator would), then asserts that:

* using the registry normally (unlocking, reading the changed kind, revealing, re-keying, verifying
  the log, recovering with break-glass) fails with the vector's own error class and message;
* `registry check` (a tolerant unlock, vault/maintenance.py) reports it;
* nothing was written back: every row is byte for byte what the attacker left;
* for the key-substitution vectors, no key the attacker holds opens any wrapped key stored afterwards.

The registry is built once (an SQLite template with three identities, people, accounts, two
credential versions, an attestation, a task, a token, a setting, log events and a 2-of-3 break-glass
set, plus a copy taken before the last changes for the replay vectors) and copied into each test.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auditor.model.types import Account, Person, Platform, Role, Secret
from tests.vault.conftest import RawDb
from vault import crypto, heads
from vault.backends.storage import Backend
from vault.errors import (
    KeyMetadataTamperedError,
    RecordTamperedError,
    RegistryDamagedError,
    RollbackError,
    VaultError,
)
from vault.registry import Registry

ADMIN, ADMIN_PASS = "it-admin", "tamper kit admin passphrase"
BOB, BOB_PASS = "bob", "tamper kit bob passphrase"
NIGHTLY, NIGHTLY_PASS = "nightly", "tamper kit nightly passphrase"


@dataclass
class Template:
    path: Path
    old: Path
    info: dict[str, Any]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    from connectors.platforms.manual import Attestation
    from vault.backends.sqlite import SQLiteBackend
    from vault.escrow import breakglass as bg
    from vault.escrow.bundle import parse_input
    from vault.escrow.store import Escrow
    from vault.rekey import add_identity, breakglass_setup
    from vault.revealog import RevealLog
    from vault.stores.attestations import RegistryAttestationStore
    from vault.stores.inventory import Inventory
    from vault.stores.tasks import open_task
    from vault.stores.tokens import RegistryTokenStore

    base = tmp_path_factory.mktemp("tamper-template")
    saved = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(base / "state")  # never the developer's own state
    try:
        path = base / "registry.db"
        reg = Registry.create(SQLiteBackend(path), ADMIN, Secret(ADMIN_PASS), kdf_profile="floor")
        add_identity(reg, BOB, Role.ADMIN, Secret(BOB_PASS), kdf_profile="floor")
        add_identity(reg, NIGHTLY, Role.AUDITOR, Secret(NIGHTLY_PASS), kdf_profile="floor")
        inv = Inventory(reg)
        ann = inv.add_person(Person(id="", name="Ann Lee", email="ann@d203.org"))
        inv.add_person(Person(id="", name="Bo Kim", email="bo@d203.org"))
        inv.add_person(Person(id="", name="Cy Diaz", email="cy@d203.org"))
        a = inv.add_account(
            Account(id="", platform=Platform.INSTAGRAM, handle="lhs_athletics", owner_id=ann.id)
        )
        b = inv.add_account(Account(id="", platform=Platform.X, handle="lincolnhs", owner_id=ann.id))
        escrow = Escrow(reg)
        escrow.store(a.id, parse_input("password=first-password-v1"))
        RegistryAttestationStore(reg).put(
            Attestation(
                platform=Platform.SNAPCHAT, handle="lhs_spirit", checked_by=ADMIN, checked_on=_today()
            )
        )
        open_task(reg, b.id, "tamper kit")
        RegistryTokenStore(reg).set("x", Secret("token-one"))
        reg.set_setting("tamper-kit", {"n": 1})
        log = RevealLog(reg)
        for i in range(3):
            log.append("reveal", account_id=a.id, reason=f"ticket {i}")
        split = breakglass_setup(reg, [bg.GroupSpec("IT", 2, 3)], 1)
        reg.close()
        old = base / "old.db"
        _copy_sqlite(path, old)
        # What changes after the "old" copy: the replay vectors put these back.
        reg = Registry.open(SQLiteBackend(path))
        reg.unlock(ADMIN, Secret(ADMIN_PASS))
        inv = Inventory(reg)
        ann = inv.get_person(ann.id)
        assert ann is not None
        import dataclasses

        inv.save_person(dataclasses.replace(ann, name="Ann Lee-Park"))
        Escrow(reg).store(a.id, parse_input("password=second-password-v2"))
        RegistryTokenStore(reg).set("x", Secret("token-two"))
        reg.set_setting("tamper-kit", {"n": 2})
        RevealLog(reg).append("reveal", account_id=a.id, reason="ticket 3")
        ids = {i.name: i.id for i in reg.identities()}
        reg.close()
        _checkpoint(path)
        yield Template(
            path,
            old,
            {
                "ids": ids,
                "account": a.id,
                "person": ann.id,
                "registry_id": reg.registry_id,
                "shares": [c.words.reveal_str() for c in split.cards],
            },
        )
    finally:
        if saved is None:
            os.environ.pop("XDG_STATE_HOME", None)
        else:
            os.environ["XDG_STATE_HOME"] = saved


def _today():  # type: ignore[no-untyped-def]
    from datetime import date

    return date(2026, 11, 1)


def _checkpoint(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _copy_sqlite(src: Path, dst: Path) -> None:
    _checkpoint(src)
    shutil.copy(src, dst)


@dataclass
class Kit:
    raw: RawDb
    new_backend: Callable[[], Backend]
    template: Template
    backend_kind: str
    location: str

    @property
    def info(self) -> dict[str, Any]:
        return self.template.info

    def ident(self, name: str) -> str:
        return str(self.info["ids"][name])

    def open(self, name: str = ADMIN, passphrase: str = ADMIN_PASS, **kw: Any) -> Registry:
        reg = Registry.open(self.new_backend())
        try:
            reg.unlock(name, Secret(passphrase), **kw)
        except BaseException:
            reg.close()
            raise
        return reg

    # -- the attacker's tools: rows, manifests, keys ---------------------------------------------
    def manifest(self, domain: str) -> dict[str, Any]:
        return dict(
            json.loads(self.raw("SELECT value FROM meta WHERE name = ?", (f"manifest.{domain}",))[0][0])
        )

    def set_manifest(self, domain: str, data: dict[str, Any]) -> None:
        self.raw("UPDATE meta SET value = ? WHERE name = ?", (json.dumps(data), f"manifest.{domain}"))

    def forge_manifest(self, domain: str, data: dict[str, Any], key: bytes) -> None:
        """Rewrite a manifest consistently under a key of the attacker's choosing."""
        body = {k: v for k, v in data.items() if k != "mac"}
        mac = heads.Manifest._canonical(body)
        import hmac as hmac_mod

        tag = hmac_mod.digest(crypto.subkey(key, heads.MAC_INFO), mac, "sha256").hex()
        self.set_manifest(domain, {**body, "mac": tag})

    def public_key(self, name: str) -> bytes:
        return bytes(self.raw("SELECT public_key FROM identities WHERE id = ?", (self.ident(name),))[0][0])

    def old_rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with sqlite3.connect(self.template.old) as db:
            return db.execute(sql, params).fetchall()

    def snapshot(self) -> Any:
        from vault.backends.migrate import read_rows

        backend = self.new_backend()
        backend.open()
        try:
            return read_rows(backend)
        finally:
            backend.close()


@pytest.fixture
def kit(
    template: Template,
    backend_kind: str,
    registry_location: str,
    new_backend: Callable[[], Backend],
    raw: RawDb,
) -> Kit:
    if backend_kind == "sqlite":
        Path(registry_location).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(template.path, registry_location)
    else:
        from vault.backends.migrate import copy_registry
        from vault.backends.sqlite import SQLiteBackend

        src = SQLiteBackend(template.path)
        src.open()
        copy_registry(src, new_backend())
        src.close()
    kit = Kit(raw, new_backend, template, backend_kind, registry_location)
    kit.open().close()  # this machine has now seen the registry (whole-file rollback needs that)
    return kit


ATTACKER_PRIVATE, ATTACKER_PUBLIC = crypto.new_identity_keypair()
ATTACKER_KEY = b"\x42" * 32  # a domain key of the attacker's choosing


# --------------------------------------------------------------------------------------------------
# Vectors: (id, tamper, how it is caught, error class, message fragment)


def _escrow_bg(kit: Kit, **changes: Any) -> None:
    data = kit.manifest("escrow")
    data["breakglass"] = {**data["breakglass"], **changes}
    kit.set_manifest("escrow", data)


def k_bg_public_key(kit: Kit) -> None:
    _escrow_bg(kit, public_key=ATTACKER_PUBLIC.hex())


def k_bg_public_key_both(kit: Kit) -> None:
    for domain in ("inventory", "escrow"):
        data = kit.manifest(domain)
        data["breakglass"] = {**data["breakglass"], "public_key": ATTACKER_PUBLIC.hex()}
        kit.set_manifest(domain, data)


def k_bg_stanza(kit: Kit) -> None:
    bg = kit.manifest("escrow")["breakglass"]
    stanza = crypto.wrap(ATTACKER_KEY, bytes.fromhex(bg["public_key"]), b"x")
    _escrow_bg(kit, wrap={**bg["wrap"], "stanza": stanza.hex()})


def _plant_identity(kit: Kit, *, wraps: bool) -> None:
    kit.raw(
        "INSERT INTO identities(id, name, role, public_key, sealed_private, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        ("id_planted0001", "0" * 64, "admin", ATTACKER_PUBLIC, b"{}", "2026-11-01T00:00:00+00:00"),
    )
    if wraps:
        for domain in ("inventory", "escrow"):
            kit.raw(
                "INSERT INTO wraps(identity_id, domain, key_version, stanza, check_tag) VALUES (?, ?, ?, ?, ?)",
                ("id_planted0001", domain, 1, crypto.wrap(ATTACKER_KEY, ATTACKER_PUBLIC, b"x"), b"\0" * 16),
            )


def k_planted_identity_with_wraps(kit: Kit) -> None:
    _plant_identity(kit, wraps=True)


def k_planted_identity_alone(kit: Kit) -> None:
    _plant_identity(kit, wraps=False)


def k_auditor_plants_identity(kit: Kit) -> None:
    """An insider with the auditor identity's inventory key (and write access) re-MACs the inventory
    manifest with an identity of its own: the escrow manifest, which it cannot forge, disagrees."""
    nightly = kit.open(NIGHTLY, NIGHTLY_PASS)
    inventory_key = nightly.held_keys()["inventory"]
    nightly.close()
    _plant_identity(kit, wraps=False)
    data = kit.manifest("inventory")
    data["identities"]["id_planted0001"] = {
        "name": "0" * 64,
        "role": "admin",
        "public_key": ATTACKER_PUBLIC.hex(),
        "created_at": "2026-11-01T00:00:00+00:00",
    }
    kit.forge_manifest("inventory", data, inventory_key)


def k_planted_wrap(kit: Kit) -> None:
    kit.raw(
        "INSERT INTO wraps(identity_id, domain, key_version, stanza, check_tag) VALUES (?, ?, ?, ?, ?)",
        (
            kit.ident(NIGHTLY),
            "escrow",
            1,
            crypto.wrap(ATTACKER_KEY, kit.public_key(NIGHTLY), b"x"),
            b"\0" * 16,
        ),
    )


def _set_public(kit: Kit, name: str) -> None:
    kit.raw("UPDATE identities SET public_key = ? WHERE id = ?", (ATTACKER_PUBLIC, kit.ident(name)))


def k_auditor_public_key(kit: Kit) -> None:
    _set_public(kit, NIGHTLY)


def k_other_admin_public_key(kit: Kit) -> None:
    _set_public(kit, BOB)


def k_own_public_key(kit: Kit) -> None:
    _set_public(kit, ADMIN)


def k_role_raised(kit: Kit) -> None:
    kit.raw("UPDATE identities SET role = 'admin' WHERE id = ?", (kit.ident(NIGHTLY),))


def _substitute_wrap(kit: Kit, name: str, domain: str, *, version: int) -> None:
    """Wrap a key of the attacker's choosing to an identity's public key and forge the domain's
    manifest under it, consistently: only the identity's pinned key can tell."""
    label = f"{kit.info['registry_id']}\x00{domain}\x00{version}".encode()
    stanza = crypto.wrap(ATTACKER_KEY, kit.public_key(name), label)
    check = crypto.key_check(ATTACKER_KEY, domain.encode())
    kit.raw(
        "UPDATE wraps SET stanza = ?, check_tag = ?, key_version = ? WHERE identity_id = ? AND domain = ?",
        (stanza, check, version, kit.ident(name), domain),
    )
    data = kit.manifest(domain)
    data["key_version"] = version
    data["key_check"] = check.hex()
    data["wraps"][kit.ident(name)] = {
        "key_version": version,
        "stanza": heads.stanza_digest(stanza),
        "check": check.hex(),
    }
    if version > 1:
        data["endorse"] = {"1": "00" * 32}
    kit.forge_manifest(domain, data, ATTACKER_KEY)


def k_wrap_to_admin_same_version(kit: Kit) -> None:
    _substitute_wrap(kit, ADMIN, "inventory", version=1)


def k_wrap_to_admin_next_version(kit: Kit) -> None:
    _substitute_wrap(kit, ADMIN, "escrow", version=2)


def k_wrap_to_auditor(kit: Kit) -> None:
    _substitute_wrap(kit, NIGHTLY, "inventory", version=1)


def k_bg_forged(kit: Kit) -> None:
    """The break-glass recipient is public: wrap the attacker's keys to it, forge both manifests."""
    from vault.rekey import _bg_label  # the label is not a secret; the attacker has the code

    class _Reg:
        def wrap_label(self, domain: str, version: int) -> bytes:
            return f"{kit.info['registry_id']}\x00{domain}\x00{version}".encode()

    for domain in ("inventory", "escrow"):
        data = kit.manifest(domain)
        bg = data["breakglass"]
        check = crypto.key_check(ATTACKER_KEY, domain.encode())
        stanza = crypto.wrap(ATTACKER_KEY, bytes.fromhex(bg["public_key"]), _bg_label(_Reg(), domain, 1))  # type: ignore[arg-type]
        bg["wrap"] = {"key_version": 1, "stanza": stanza.hex(), "check": check.hex()}
        data["key_check"] = check.hex()
        kit.forge_manifest(domain, data, ATTACKER_KEY)


def k_wrap_deleted(kit: Kit) -> None:
    kit.raw("DELETE FROM wraps WHERE identity_id = ? AND domain = 'escrow'", (kit.ident(BOB),))


def k_wrap_version(kit: Kit) -> None:
    kit.raw("UPDATE wraps SET key_version = 7 WHERE identity_id = ? AND domain = 'escrow'", (kit.ident(BOB),))


def k_created_at(kit: Kit) -> None:
    kit.raw("UPDATE identities SET created_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", (kit.ident(BOB),))


def k_names_swapped(kit: Kit) -> None:
    bob, nightly = kit.ident(BOB), kit.ident(NIGHTLY)
    names = dict(kit.raw("SELECT id, name FROM identities WHERE id IN (?, ?)", (bob, nightly)))
    kit.raw("UPDATE identities SET name = ? WHERE id = ?", ("x" * 64, bob))
    kit.raw("UPDATE identities SET name = ? WHERE id = ?", (names[bob], nightly))
    kit.raw("UPDATE identities SET name = ? WHERE id = ?", (names[nightly], bob))


def k_identity_deleted(kit: Kit) -> None:
    kit.raw("DELETE FROM wraps WHERE identity_id = ?", (kit.ident(BOB),))
    kit.raw("DELETE FROM identities WHERE id = ?", (kit.ident(BOB),))


def k_kdf_hostile(kit: Kit) -> None:
    sealed = json.loads(
        bytes(kit.raw("SELECT sealed_private FROM identities WHERE id = ?", (kit.ident(ADMIN),))[0][0])
    )
    sealed["kdf"]["memory_kib"] = 2 * 1024 * 1024
    kit.raw(
        "UPDATE identities SET sealed_private = ? WHERE id = ?",
        (json.dumps(sealed).encode(), kit.ident(ADMIN)),
    )


def k_sealed_key_swapped(kit: Kit) -> None:
    bobs = bytes(kit.raw("SELECT sealed_private FROM identities WHERE id = ?", (kit.ident(BOB),))[0][0])
    kit.raw("UPDATE identities SET sealed_private = ? WHERE id = ?", (bobs, kit.ident(ADMIN)))


def h_registry_id(kit: Kit) -> None:
    kit.raw("UPDATE meta SET value = '00000000-0000-4000-8000-000000000000' WHERE name = 'registry_id'")


def h_format_set_back(kit: Kit) -> None:
    kit.raw("UPDATE meta SET value = '1' WHERE name = 'format_version'")


def h_format_newer(kit: Kit) -> None:
    kit.raw("UPDATE meta SET value = '9' WHERE name = 'format_version'")


def h_manifest_deleted(kit: Kit) -> None:
    kit.raw("DELETE FROM meta WHERE name = 'manifest.inventory'")


def h_manifest_truncated(kit: Kit) -> None:
    text = kit.raw("SELECT value FROM meta WHERE name = 'manifest.escrow'")[0][0]
    kit.raw("UPDATE meta SET value = ? WHERE name = 'manifest.escrow'", (text[: len(text) // 2],))


def h_manifest_mac(kit: Kit) -> None:
    data = kit.manifest("escrow")
    data["mac"] = ("0" if data["mac"][0] != "0" else "1") + data["mac"][1:]
    kit.set_manifest("escrow", data)


def h_manifest_serial(kit: Kit) -> None:
    data = kit.manifest("inventory")
    data["serial"] += 5
    kit.set_manifest("inventory", data)


def _old_manifests(kit: Kit) -> None:
    for name, value in kit.old_rows("SELECT name, value FROM meta WHERE name LIKE 'manifest.%'"):
        kit.raw("UPDATE meta SET value = ? WHERE name = ?", (value, name))


def h_manifests_replayed(kit: Kit) -> None:
    _old_manifests(kit)


def h_manifests_replayed_new_machine(kit: Kit) -> None:
    _old_manifests(kit)
    shutil.rmtree(Path(os.environ["XDG_STATE_HOME"]) / "auditor", ignore_errors=True)


def _replay(kit: Kit, kind: str, record_id: str) -> None:
    version, lookup, blob, stamp = kit.old_rows(
        "SELECT version, lookup, CAST(blob AS BLOB), CAST(stamp AS BLOB) FROM records WHERE kind = ? AND id = ?",
        (kind, record_id),
    )[0]
    kit.raw(
        "UPDATE records SET version = ?, lookup = ?, blob = ?, stamp = ? WHERE kind = ? AND id = ?",
        (version, lookup, blob, stamp, kind, record_id),
    )


def r_person_replayed(kit: Kit) -> None:
    _replay(kit, "person", kit.info["person"])


def r_credential_meta_replayed(kit: Kit) -> None:
    _replay(kit, "credential-meta", kit.info["account"])


def r_token_replayed(kit: Kit) -> None:
    _replay(kit, "api-token", "x")


def r_setting_replayed(kit: Kit) -> None:
    _replay(kit, "setting", "tamper-kit")


def r_newest_credential_deleted(kit: Kit) -> None:
    kit.raw("DELETE FROM records WHERE kind = 'credential' AND id = ?", (f"{kit.info['account']}:v2",))


def r_person_deleted(kit: Kit) -> None:
    kit.raw("DELETE FROM records WHERE kind = 'person' AND id = ?", (kit.info["person"],))


def r_account_copied(kit: Kit) -> None:
    row = kit.raw(
        "SELECT version, blob, stamp FROM records WHERE kind = 'account' AND id = ?", (kit.info["account"],)
    )[0]
    kit.raw(
        "INSERT INTO records(kind, id, version, lookup, blob, stamp) VALUES ('account', 'a_copied00001', ?, NULL, ?, ?)",
        (row[0], bytes(row[1]), bytes(row[2])),
    )


def r_account_blobs_swapped(kit: Kit) -> None:
    rows = kit.raw("SELECT id, blob FROM records WHERE kind = 'account' ORDER BY id")
    (id1, b1), (id2, b2) = rows[0], rows[1]
    kit.raw("UPDATE records SET blob = ? WHERE kind = 'account' AND id = ?", (bytes(b2), id1))
    kit.raw("UPDATE records SET blob = ? WHERE kind = 'account' AND id = ?", (bytes(b1), id2))


def r_account_version(kit: Kit) -> None:
    kit.raw(
        "UPDATE records SET version = version + 1 WHERE kind = 'account' AND id = ?", (kit.info["account"],)
    )


def r_account_lookup(kit: Kit) -> None:
    kit.raw(
        "UPDATE records SET lookup = ? WHERE kind = 'account' AND id = ?", ("f" * 32, kit.info["account"])
    )


def r_account_stamp(kit: Kit) -> None:
    kit.raw(
        "UPDATE records SET stamp = ? WHERE kind = 'account' AND id = ?", (b"\x01" * 12, kit.info["account"])
    )


def r_undeclared_kind(kit: Kit) -> None:
    kit.raw(
        "INSERT INTO records(kind, id, version, lookup, blob, stamp) VALUES ('zz-planted', 'z1', 1, NULL, ?, ?)",
        (b"\x00" * 40, b"\x00" * 12),
    )


def r_credential_meta_deleted(kit: Kit) -> None:
    kit.raw("DELETE FROM records WHERE kind = 'credential-meta'")


def r_attestations_deleted(kit: Kit) -> None:
    kit.raw("DELETE FROM records WHERE kind = 'attestation'")


def r_task_deleted(kit: Kit) -> None:
    kit.raw("DELETE FROM records WHERE kind = 'rotation-task'")


def r_identity_record_deleted(kit: Kit) -> None:
    kit.raw("DELETE FROM records WHERE kind = 'identity' AND id = ?", (kit.ident(BOB),))


def _last_seq(kit: Kit) -> int:
    return int(kit.raw("SELECT max(seq) FROM log")[0][0])


def l_last_deleted(kit: Kit) -> None:
    kit.raw("DELETE FROM log WHERE seq = ?", (_last_seq(kit),), bypass_log_guard=True)


def l_cut_with_head(kit: Kit) -> None:
    last = _last_seq(kit)
    kit.raw("DELETE FROM log WHERE seq >= ?", (last - 1,), bypass_log_guard=True)
    data = kit.manifest("inventory")
    data["log"] = f"{last - 2}:" + "0" * 64
    kit.set_manifest("inventory", data)


def l_middle_deleted(kit: Kit) -> None:
    kit.raw("DELETE FROM log WHERE seq = 3", bypass_log_guard=True)


def l_reordered(kit: Kit) -> None:
    kit.raw("UPDATE log SET seq = 1000 WHERE seq = 3", bypass_log_guard=True)
    kit.raw("UPDATE log SET seq = 3 WHERE seq = 4", bypass_log_guard=True)
    kit.raw("UPDATE log SET seq = 4 WHERE seq = 1000", bypass_log_guard=True)


def l_edited(kit: Kit) -> None:
    blob = bytes(kit.raw("SELECT blob FROM log WHERE seq = 3")[0][0])
    kit.raw(
        "UPDATE log SET blob = ? WHERE seq = 3",
        (blob.replace(b'"ct": "', b'"ct": "AAAA'),),
        bypass_log_guard=True,
    )


def l_appended(kit: Kit) -> None:
    kit.raw("INSERT INTO log(seq, blob) VALUES (?, ?)", (_last_seq(kit) + 1, b'{"v": 1}'))


def l_emptied(kit: Kit) -> None:
    kit.raw("DELETE FROM log", bypass_log_guard=True)


def l_last_replaced(kit: Kit) -> None:
    last = _last_seq(kit)
    other = bytes(kit.raw("SELECT blob FROM log WHERE seq = ?", (last - 1,))[0][0])
    kit.raw("UPDATE log SET blob = ? WHERE seq = ?", (other, last), bypass_log_guard=True)


def l_older_copy(kit: Kit) -> None:
    kit.raw("DELETE FROM log", bypass_log_guard=True)
    for seq, blob in kit.old_rows("SELECT seq, CAST(blob AS BLOB) FROM log ORDER BY seq"):
        kit.raw("INSERT INTO log(seq, blob) VALUES (?, ?)", (seq, blob))


def w_whole_registry_older(kit: Kit) -> None:
    if kit.backend_kind == "sqlite":
        for suffix in ("-wal", "-shm"):
            Path(kit.location + suffix).unlink(missing_ok=True)
        shutil.copy(kit.template.old, kit.location)
        return
    from tests.vault.conftest import load_into_postgres

    load_into_postgres(kit.template.old, kit.location, replace=True)


# How a vector is caught in normal use.
def use_unlock(kit: Kit) -> None:
    kit.open().close()


def use_unlock_auditor(kit: Kit) -> None:
    kit.open(NIGHTLY, NIGHTLY_PASS).close()


def _with_admin(fn: Callable[[Registry], object]) -> Callable[[Kit], None]:
    def use(kit: Kit) -> None:
        reg = kit.open()
        try:
            fn(reg)
        finally:
            reg.close()

    use.__name__ = f"use_{getattr(fn, '__name__', 'admin')}"
    return use


def _people(reg: Registry) -> None:
    from vault.stores.inventory import Inventory

    inv = Inventory(reg)
    inv.people()
    if inv.damaged:
        raise inv.damaged[0]


def _accounts(reg: Registry) -> None:
    from vault.stores.inventory import Inventory

    inv = Inventory(reg)
    inv.accounts()
    if inv.damaged:
        raise inv.damaged[0]


def _find_account(reg: Registry) -> None:
    from vault.stores.inventory import Inventory

    if Inventory(reg).find_account(Platform.INSTAGRAM, "lhs_athletics") is None:
        raise AssertionError("the account vanished without an error")


def _reveal(reg: Registry) -> None:
    from vault.escrow.store import Escrow

    Escrow(reg).reveal(str(_KIT_INFO["account"]), "tamper kit")


def _token(reg: Registry) -> None:
    from vault.stores.tokens import RegistryTokenStore

    RegistryTokenStore(reg).get("x")


def _setting(reg: Registry) -> None:
    reg.setting("tamper-kit")


def _attestation(reg: Registry) -> None:
    from vault.stores.attestations import RegistryAttestationStore

    RegistryAttestationStore(reg).get(Platform.SNAPCHAT, "lhs_spirit")


def _tasks(reg: Registry) -> None:
    from vault.stores.tasks import all_tasks

    all_tasks(reg)


def _rekey(reg: Registry) -> None:
    from vault.rekey import remove_identity

    remove_identity(reg, NIGHTLY, backup=False)


def _log_verify(reg: Registry) -> None:
    from vault.revealog import RevealLog

    result = RevealLog(reg).verify()
    if not result.ok:
        raise RollbackError(result.message)


_KIT_INFO: dict[str, Any] = {}


def use_breakglass(kit: Kit) -> None:
    from vault.rekey import breakglass_session, breakglass_unlock

    reg = Registry.open(kit.new_backend())
    try:
        session = breakglass_session(reg)
        for words in kit.info["shares"][:2]:
            session.add(words)
        breakglass_unlock(reg, session.finish(), reason="tamper kit")
    finally:
        reg.close()


def use_open(kit: Kit) -> None:
    Registry.open(kit.new_backend()).close()


def use_upgrade(kit: Kit) -> None:
    from vault import upgrades
    from vault.registry import FORMAT_VERSION

    reg = Registry.open(kit.new_backend(), allow_older=True)
    try:
        reg.unlock(ADMIN, Secret(ADMIN_PASS))
        upgrades.upgrade(reg, reg.format_version, FORMAT_VERSION)
    finally:
        reg.close()


@dataclass(frozen=True)
class Vector:
    id: str
    tamper: Callable[[Kit], None]
    use: Callable[[Kit], None]
    error: type[Exception]
    message: str
    checked: bool = True  # `registry check` can unlock and report it
    substitutes_key: bool = False
    check_message: str = ""  # what `registry check` says, when it is not `message`


V = Vector
VECTORS = [
    # Key substitution: keys planted for the next re-key, or wrapped to an identity by the attacker.
    V(
        "bg-public-key-escrow",
        k_bg_public_key,
        use_unlock,
        KeyMetadataTamperedError,
        "escrow manifest fails its MAC",
        substitutes_key=True,
    ),
    V(
        "bg-public-key-both",
        k_bg_public_key_both,
        use_unlock,
        KeyMetadataTamperedError,
        "inventory manifest fails its MAC",
        substitutes_key=True,
    ),
    V(
        "bg-stanza",
        k_bg_stanza,
        use_unlock,
        KeyMetadataTamperedError,
        "escrow manifest fails its MAC",
        substitutes_key=True,
    ),
    V(
        "bg-forged-under-own-keys",
        k_bg_forged,
        use_breakglass,
        KeyMetadataTamperedError,
        "is not endorsed by this break-glass set",
        substitutes_key=True,
        check_message="inventory manifest fails its MAC",
    ),
    V(
        "planted-identity-with-wraps",
        k_planted_identity_with_wraps,
        use_unlock,
        KeyMetadataTamperedError,
        "identity id_planted0001 is in the identities table but not in the authenticated manifest",
        substitutes_key=True,
    ),
    V(
        "planted-identity-alone",
        k_planted_identity_alone,
        use_unlock_auditor,
        KeyMetadataTamperedError,
        "identity id_planted0001 is in the identities table but not in the authenticated manifest",
        substitutes_key=True,
    ),
    V(
        "auditor-plants-identity",
        k_auditor_plants_identity,
        use_unlock,
        KeyMetadataTamperedError,
        "the inventory and escrow manifests list different identities",
        substitutes_key=True,
    ),
    V(
        "planted-escrow-wrap",
        k_planted_wrap,
        use_unlock,
        KeyMetadataTamperedError,
        "a escrow key wrapped for identity",
        substitutes_key=True,
    ),
    V(
        "auditor-public-key",
        k_auditor_public_key,
        use_unlock,
        KeyMetadataTamperedError,
        "public key in the identities table differ",
        substitutes_key=True,
    ),
    V(
        "other-admin-public-key",
        k_other_admin_public_key,
        _with_admin(_rekey),
        KeyMetadataTamperedError,
        "public key in the identities table differ",
        substitutes_key=True,
    ),
    V(
        "own-public-key",
        k_own_public_key,
        use_unlock,
        KeyMetadataTamperedError,
        "public key in the identities table differ",
        substitutes_key=True,
    ),
    V(
        "role-raised",
        k_role_raised,
        use_unlock,
        KeyMetadataTamperedError,
        "role in the identities table differ",
    ),
    V(
        "wrap-to-admin-same-version",
        k_wrap_to_admin_same_version,
        use_unlock,
        KeyMetadataTamperedError,
        "is not the key it opened before at version 1",
        checked=False,
        substitutes_key=True,
    ),
    V(
        "wrap-to-admin-next-version",
        k_wrap_to_admin_next_version,
        use_unlock,
        KeyMetadataTamperedError,
        "is not endorsed by the version 1 key it opened before",
        checked=False,
        substitutes_key=True,
    ),
    V(
        "wrap-to-auditor",
        k_wrap_to_auditor,
        use_unlock_auditor,
        KeyMetadataTamperedError,
        "is not the key it opened before at version 1",
        checked=False,
        substitutes_key=True,
    ),
    V("wrap-deleted", k_wrap_deleted, use_unlock, RollbackError, "was deleted outside auditor"),
    V("wrap-version", k_wrap_version, use_unlock, KeyMetadataTamperedError, "was replaced outside auditor"),
    V(
        "identity-created-at",
        k_created_at,
        use_unlock,
        KeyMetadataTamperedError,
        "creation time in the identities table differ",
    ),
    V(
        "identity-names-swapped",
        k_names_swapped,
        use_unlock,
        KeyMetadataTamperedError,
        "name in the identities table differ",
    ),
    V(
        "identity-deleted",
        k_identity_deleted,
        use_unlock,
        RollbackError,
        "was deleted from the identities table outside auditor",
    ),
    V(
        "kdf-hostile",
        k_kdf_hostile,
        use_unlock,
        RegistryDamagedError,
        "key-derivation parameters of an identity are unacceptable",
        checked=False,
    ),
    V("sealed-key-swapped", k_sealed_key_swapped, use_unlock, Exception, "wrong passphrase", checked=False),
    # The header and the manifests themselves.
    V(
        "registry-id",
        h_registry_id,
        use_open,
        KeyMetadataTamperedError,
        "the header was edited",
        checked=False,
    ),
    V(
        "format-set-back",
        h_format_set_back,
        use_upgrade,
        KeyMetadataTamperedError,
        "its header says format 1: the header was set back",
        checked=False,
    ),
    V(
        "format-newer",
        h_format_newer,
        use_open,
        Exception,
        "written by a newer version of auditor",
        checked=False,
    ),
    V(
        "manifest-deleted",
        h_manifest_deleted,
        use_unlock,
        KeyMetadataTamperedError,
        "inventory manifest is missing",
    ),
    V(
        "manifest-truncated",
        h_manifest_truncated,
        use_unlock,
        KeyMetadataTamperedError,
        "escrow manifest is malformed",
    ),
    V("manifest-mac", h_manifest_mac, use_unlock, KeyMetadataTamperedError, "escrow manifest fails its MAC"),
    V(
        "manifest-serial",
        h_manifest_serial,
        use_unlock_auditor,
        KeyMetadataTamperedError,
        "inventory manifest fails its MAC",
    ),
    V(
        "manifests-replayed",
        h_manifests_replayed,
        use_unlock,
        RollbackError,
        "is older than the one this machine last opened",
    ),
    V(
        "manifests-replayed-new-machine",
        h_manifests_replayed_new_machine,
        use_unlock,
        RollbackError,
        "The log continues past the recorded head",
        check_message="person records do not match the registry's authenticated head",
    ),
    # Records.
    V(
        "person-replayed",
        r_person_replayed,
        _with_admin(_people),
        RollbackError,
        "person records do not match the registry's authenticated head: at least one record was replaced",
    ),
    V(
        "credential-meta-replayed",
        r_credential_meta_replayed,
        _with_admin(_reveal),
        RollbackError,
        "credential-meta records do not match",
    ),
    V(
        "token-replayed",
        r_token_replayed,
        _with_admin(_token),
        RollbackError,
        "api-token records do not match",
    ),
    V(
        "setting-replayed",
        r_setting_replayed,
        _with_admin(_setting),
        RollbackError,
        "setting records do not match",
    ),
    V(
        "newest-credential-deleted",
        r_newest_credential_deleted,
        _with_admin(_reveal),
        RollbackError,
        "credential records do not match the registry's authenticated head: 1 of its 2 records were deleted",
    ),
    V(
        "person-deleted",
        r_person_deleted,
        _with_admin(_people),
        RollbackError,
        "1 of its 3 records were deleted",
    ),
    V(
        "account-copied",
        r_account_copied,
        _with_admin(_accounts),
        RollbackError,
        "account records do not match the registry's authenticated head: 1 record(s) were inserted",
    ),
    V(
        "account-blobs-swapped",
        r_account_blobs_swapped,
        _with_admin(_accounts),
        RecordTamperedError,
        "failed its integrity check",
    ),
    V(
        "account-version",
        r_account_version,
        _with_admin(_accounts),
        RollbackError,
        "account records do not match",
    ),
    V(
        "account-lookup",
        r_account_lookup,
        _with_admin(_find_account),
        RollbackError,
        "account records do not match",
    ),
    V(
        "account-stamp",
        r_account_stamp,
        _with_admin(_accounts),
        RollbackError,
        "account records do not match",
    ),
    V("undeclared-kind", r_undeclared_kind, _with_admin(_rekey), VaultError, "which auditor never writes"),
    V(
        "credential-meta-deleted",
        r_credential_meta_deleted,
        _with_admin(_reveal),
        RollbackError,
        "credential-meta records do not match",
    ),
    V(
        "attestations-deleted",
        r_attestations_deleted,
        _with_admin(_attestation),
        RollbackError,
        "attestation records do not match the registry's authenticated head: 1 of its 1 records were deleted",
    ),
    V(
        "task-deleted",
        r_task_deleted,
        _with_admin(_tasks),
        RollbackError,
        "rotation-task records do not match",
    ),
    V(
        "identity-record-deleted",
        r_identity_record_deleted,
        use_unlock,
        RollbackError,
        "identity records do not match",
    ),
    # The log.
    V("log-last-deleted", l_last_deleted, use_unlock, RollbackError, "were removed from the end"),
    V(
        "log-cut-with-head",
        l_cut_with_head,
        use_unlock,
        KeyMetadataTamperedError,
        "inventory manifest fails its MAC",
    ),
    V("log-middle-deleted", l_middle_deleted, _with_admin(_log_verify), RollbackError, "Event 3 is missing"),
    V(
        "log-reordered",
        l_reordered,
        _with_admin(_log_verify),
        RollbackError,
        "appears before event 3: the log is out of order",
    ),
    V(
        "log-edited",
        l_edited,
        _with_admin(_log_verify),
        RollbackError,
        "Event 3 cannot be trusted: it does not decrypt",
    ),
    V("log-appended", l_appended, use_unlock, RollbackError, "continues past the recorded head"),
    V("log-emptied", l_emptied, use_unlock, RollbackError, "The log is empty but the recorded head is event"),
    V(
        "log-last-replaced",
        l_last_replaced,
        use_unlock,
        RollbackError,
        "is not the event the registry's head records: it was replaced",
    ),
    V("log-older-copy", l_older_copy, use_unlock, RollbackError, "were removed from the end"),
    # The whole registry put back from an older copy, at the same place.
    V(
        "whole-registry-older",
        w_whole_registry_older,
        use_unlock,
        RollbackError,
        "is older than the one this machine last opened",
    ),
]


def test_the_kit_has_at_least_fifty_distinct_vectors() -> None:
    assert len(VECTORS) >= 50
    assert len({v.id for v in VECTORS}) == len(VECTORS)


def _attacker_opens_something(kit: Kit) -> bool:
    """Whether any stored wrapped key (an identity's or break-glass) opens with the attacker's key."""
    stanzas = [bytes(r[0]) for r in kit.raw("SELECT stanza FROM wraps")]
    for domain in ("inventory", "escrow"):
        rows = kit.raw("SELECT value FROM meta WHERE name = ?", (f"manifest.{domain}",))
        if rows:
            try:
                bg = json.loads(rows[0][0]).get("breakglass") or {}
                if bg.get("wrap"):
                    stanzas.append(bytes.fromhex(bg["wrap"]["stanza"]))
            except ValueError:
                pass
    for stanza in stanzas:
        for label_domain in ("inventory", "escrow"):
            for version in range(1, 4):
                label = f"{kit.info['registry_id']}\x00{label_domain}\x00{version}".encode()
                for suffix in (b"", b"\x00breakglass"):
                    try:
                        key = crypto.unwrap(stanza, ATTACKER_PRIVATE, label + suffix)
                    except crypto.CryptoError:
                        continue
                    if key != ATTACKER_KEY:
                        return True
    return False


@pytest.mark.parametrize("vector", VECTORS, ids=[v.id for v in VECTORS])
def test_tamper_vector_is_named_and_nothing_is_written(kit: Kit, vector: Vector) -> None:
    from vault.maintenance import check_registry

    _KIT_INFO.update(kit.info)
    vector.tamper(kit)
    before = kit.snapshot() if vector.use is not use_open else None
    with pytest.raises(vector.error) as caught:
        vector.use(kit)
    message = caught.value.message if isinstance(caught.value, VaultError) else str(caught.value)
    assert vector.message in message, message
    assert "Traceback" not in message
    if vector.checked:
        reg = kit.open(tolerant=True)
        try:
            report = check_registry(reg)
        finally:
            reg.close()
        assert not report.healthy
        found = [p.message for p in report.problems] + [t.message for t in report.tampered]
        assert any((vector.check_message or vector.message) in m for m in found), found
    if before is not None:
        assert kit.snapshot() == before, "the registry was written to after the tampering"
    if vector.substitutes_key:
        assert not _attacker_opens_something(kit)


def test_a_restore_on_purpose_is_accepted_where_a_silent_copy_is_not(kit: Kit, tmp_path: Path) -> None:
    """The positive control for whole-registry rollback: `registry restore` records itself."""
    from vault.maintenance import restore_sqlite

    if kit.backend_kind != "sqlite":
        pytest.skip("restore replaces an SQLite file")
    restore_sqlite(
        kit.template.old,
        Path(kit.location),
        allow_other_registry=False,
        unlock=lambda copy: copy.unlock(ADMIN, Secret(ADMIN_PASS)),
    )
    reg = kit.open()
    from vault.revealog import RevealLog

    assert RevealLog(reg).events()[-1].action == "restore"
    reg.close()
