"""Escrow scopes (vault/scopes.py, issue 19): an identity unwraps exactly the scope keys it was
granted, before and after grants, revocations, identity removal and account moves; the keys a
revoked identity held (say, from an old backup) open nothing current."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.model.types import Account, Platform, Role, Secret
from vault import crypto
from vault.backends.sqlite import SQLiteBackend
from vault.escrow.bundle import CredentialBundle
from vault.escrow.store import Escrow
from vault.registry import Registry, StoredRecord
from vault.rekey import add_identity, grant_scopes, remove_identity, revoke_scopes
from vault.scopes import DISTRICT, SCOPED_KINDS, ScopeDeniedError, Scopes, _aad, _wrap_label, scope_key
from vault.stores.inventory import Inventory

BUILDINGS = ("North High", "Central High", "")  # "" is the district scope
PRINCIPALS = ("b1", "b2")
ADMIN_PASS = "district admin passphrase"


def _pass(name: str) -> str:
    return f"passphrase of {name} 12345"


def _scope(building: str) -> str:
    return building or DISTRICT


class District:
    """A registry with an account (and escrowed credential) per building and two principals."""

    def __init__(self, path: Path) -> None:
        self.reg = Registry.create(SQLiteBackend(str(path)), "admin", Secret(ADMIN_PASS), kdf_profile="floor")
        inv = Inventory(self.reg)
        self.accounts = {}
        for n, building in enumerate(BUILDINGS):
            account = inv.add_account(
                Account(id="", platform=Platform.X, handle=f"school{n}", building=building)
            )
            Escrow(self.reg).store(account.id, CredentialBundle.create(password=f"pw-{n}"))
            self.accounts[account.id] = building
        self.private: dict[str, bytes] = {}
        self.model: dict[str, set[str]] = {}  # live building admin -> folded scope names it holds
        for name, building in zip(PRINCIPALS, BUILDINGS, strict=False):
            add_identity(
                self.reg,
                name,
                Role.BUILDING_ADMIN,
                Secret(_pass(name)),
                scopes=[building],
                kdf_profile="floor",
            )
            self.model[name] = {scope_key(building)}
            probe = Registry.open(SQLiteBackend(str(path)))
            probe.unlock(name, Secret(_pass(name)))
            assert probe.scope_holder is not None
            self.private[name] = probe.scope_holder[1]
            probe.close()

    def unwrappable(self, name: str) -> set[str]:
        """The scopes whose current key `name`'s private key unwraps from the stored wraps."""
        ident = self.reg.identity_row(name).id if name in self.model else ""
        out = set()
        for rec in Scopes(self.reg).records():
            for holder, wrap in rec.data["wraps"].items():
                try:
                    key = crypto.unwrap(
                        bytes.fromhex(wrap["stanza"]),
                        self.private[name],
                        _wrap_label(self.reg, rec.id, int(rec.data["version"])),
                    )
                except crypto.DecryptError:
                    continue
                assert holder == ident, "a wrap opened for someone other than its holder"
                assert crypto.key_check(key, f"escrow-scope\x00{rec.id}".encode()).hex() == rec.data["check"]
                out.add(scope_key(str(rec.data["name"])))
        return out

    def check(self) -> None:
        for name in PRINCIPALS:
            expected = self.model.get(name, set())
            assert self.unwrappable(name) & {scope_key(_scope(b)) for b in BUILDINGS} == expected, name
        # Every credential opens for the district administrator, sealed in its account's scope.
        scopes = Scopes(self.reg)
        for account_id, building in self.accounts.items():
            ref = Escrow(self.reg).ref(account_id)
            assert ref is not None
            rec = self.reg.get("credential", f"{account_id}:v{ref.version}")
            assert rec is not None
            assert scope_key(scopes.scope_of_record(rec.data)) == scope_key(_scope(building))
            assert Escrow(self.reg)._load(account_id).password is not None

    def boxes_open_with(self, key: bytes, sid: str) -> bool:
        for kind in SCOPED_KINDS:
            for rec in self.reg.scan(kind):
                assert not isinstance(rec, Exception)
                if rec.data.get("scope") != sid:
                    continue
                try:
                    crypto.open_sealed(
                        key,
                        bytes.fromhex(rec.data["box"]),
                        _aad(self.reg, kind, rec.id, sid, int(rec.data["scope_version"])),
                    )
                    return True
                except crypto.DecryptError:
                    continue
        return False

    def held_keys(self, name: str) -> dict[str, bytes]:
        out = {}
        for rec in Scopes(self.reg).records():
            for wrap in rec.data["wraps"].values():
                try:
                    out[rec.id] = crypto.unwrap(
                        bytes.fromhex(wrap["stanza"]),
                        self.private[name],
                        _wrap_label(self.reg, rec.id, int(rec.data["version"])),
                    )
                except crypto.DecryptError:
                    continue
        return out


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("grant"), st.sampled_from(PRINCIPALS), st.sampled_from(BUILDINGS)),
        st.tuples(st.just("revoke"), st.sampled_from(PRINCIPALS), st.sampled_from(BUILDINGS)),
        st.tuples(st.just("move"), st.integers(0, len(BUILDINGS) - 1), st.sampled_from(BUILDINGS)),
        st.tuples(st.just("remove"), st.sampled_from(PRINCIPALS), st.just("")),
    ),
    max_size=6,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS)
def test_an_identity_unwraps_exactly_the_scopes_it_was_granted(ops: list[tuple[str, object, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = District(Path(tmp) / "registry.db")
        try:
            d.check()
            for op, who, building in ops:
                scope = _scope(building)
                if op == "grant" and who in d.model:
                    grant_scopes(d.reg, str(who), [scope])
                    d.model[str(who)].add(scope_key(scope))
                elif op == "revoke" and who in d.model and scope_key(scope) in d.model[str(who)]:
                    before = d.held_keys(str(who))
                    revoke_scopes(d.reg, str(who), [scope], backup=False)
                    d.model[str(who)].discard(scope_key(scope))
                    sid = Scopes(d.reg).find(scope).id  # type: ignore[union-attr]
                    # What it held (an old backup holds the same wraps) opens nothing of that scope now.
                    assert not d.boxes_open_with(before[sid], sid)
                elif op == "move":
                    account_id = list(d.accounts)[int(str(who))]
                    inv = Inventory(d.reg)
                    account = inv.get_account(account_id)
                    assert account is not None
                    inv.save_account(dataclasses.replace(account, building=building))
                    d.accounts[account_id] = building
                elif op == "remove" and who in d.model:
                    before = d.held_keys(str(who))
                    remove_identity(d.reg, str(who), backup=False)
                    del d.model[str(who)]
                    for sid, key in before.items():
                        assert not d.boxes_open_with(key, sid)
                else:
                    continue
                d.check()
        finally:
            d.reg.close()


def test_a_principal_reads_its_scope_and_is_refused_another(tmp_path: Path) -> None:
    d = District(tmp_path / "registry.db")
    d.reg.close()
    b1 = Registry.open(SQLiteBackend(str(tmp_path / "registry.db")))
    b1.unlock("b1", Secret(_pass("b1")))
    try:
        north, central, district = list(d.accounts)
        assert Escrow(b1).reveal(north, "game day").password.reveal_str() == "pw-0"  # type: ignore[union-attr]
        for other in (central, district):
            with pytest.raises(ScopeDeniedError, match="not granted") as err:
                Escrow(b1).reveal(other, "curious")
            assert "pw-" not in str(err.value) and "pw-" not in err.value.hint
            with pytest.raises(ScopeDeniedError):
                Escrow(b1)._load(other)  # even the unlogged read cannot open it
        with pytest.raises(ScopeDeniedError):
            Escrow(b1).store(central, CredentialBundle.create(password="planted"))
    finally:
        b1.close()


def test_a_principal_writes_only_its_own_schools_people_and_accounts(tmp_path: Path) -> None:
    """The vault, not only the CLI, keeps a building administrator to reading the inventory; inside
    an offboarding (`scoped_writes`) it may edit an account or a person of its school, and still not
    another school's, not move one out of its school or into it, not write them in bulk, not delete."""
    from auditor.model.types import Person
    from vault.errors import AccessDeniedError

    d = District(tmp_path / "registry.db")
    inv = Inventory(d.reg)
    here = inv.add_person(Person(id="", name="Coach", email="coach@d.org", building="North High"))
    both = inv.add_person(
        Person(
            id="",
            name="Nurse",
            email="nurse@d.org",
            building="North High",
            buildings=("North High", "Central High"),
        )
    )
    d.reg.close()
    b1 = Registry.open(SQLiteBackend(str(tmp_path / "registry.db")))
    b1.unlock("b1", Secret(_pass("b1")))
    try:
        mine = Inventory(b1)
        north, central, district = (mine.get_account(a) for a in d.accounts)
        assert north is not None and central is not None and district is not None
        with pytest.raises(
            AccessDeniedError, match="building-admin identity and may not change accounts"
        ) as err:
            mine.save_account(dataclasses.replace(north, purpose="athletics"))  # not offboarding
        assert "building administrators read the inventory" in err.value.hint
        with b1.scoped_writes():
            saved = mine.save_account(dataclasses.replace(north, purpose="athletics"), by="offboard")
            assert saved.purpose == "athletics"
            person = mine.get_person(here.id)
            assert person is not None
            mine.save_person(dataclasses.replace(person, notes="leaving in June"), by="offboard")
            nurse = mine.get_person(both.id)
            assert nurse is not None
            refusals = (
                lambda: mine.save_account(dataclasses.replace(central, purpose="x")),
                lambda: mine.save_account(dataclasses.replace(district, purpose="x")),
                lambda: mine.save_account(dataclasses.replace(saved, building="Central High")),  # out
                lambda: mine.save_account(dataclasses.replace(central, building="North High")),  # in
                lambda: mine.save_person(dataclasses.replace(nurse, notes="x")),  # works at Central too
                lambda: mine.upsert_accounts([dataclasses.replace(saved, purpose="bulk")]),
                lambda: b1.delete("account", north.id),
            )
            for attempt in refusals:
                with pytest.raises(AccessDeniedError, match="building-admin identity"):
                    attempt()
        assert mine.get_account(central.id) == central and mine.get_account(north.id) == saved
        assert mine.get_person(both.id) == nurse
    finally:
        b1.close()


def test_a_refusal_stays_in_the_log_when_the_work_around_it_is_undone(tmp_path: Path) -> None:
    """A caller that refuses inside its own transaction (an import, a script) rolls back its work,
    not the record that a principal tried to open another school's credentials."""
    from vault.revealog import RevealLog

    d = District(tmp_path / "registry.db")
    north, central, _ = list(d.accounts)
    d.reg.close()
    b1 = Registry.open(SQLiteBackend(str(tmp_path / "registry.db")))
    b1.unlock("b1", Secret(_pass("b1")))
    try:
        before = len(RevealLog(b1).events())
        with pytest.raises(ScopeDeniedError), b1.transaction():
            Escrow(b1).store(north, CredentialBundle.create(password="mine"))  # undone with the rest
            Escrow(b1).store(central, CredentialBundle.create(password="planted"))
        events = RevealLog(b1).events()[before:]
        assert [(e.action, e.account_id) for e in events] == [("scope-refused", central)]
        assert Escrow(b1).reveal(north, "check").password.reveal_str() == "pw-0"  # type: ignore[union-attr]
        assert RevealLog(b1).verify().ok
    finally:
        b1.close()


# ---- scope keys pinned by the identities that opened them ---------------------------------------


def _open(path: Path, name: str, passphrase: str, *, tolerant: bool = False) -> Registry:
    reg = Registry.open(SQLiteBackend(str(path)))
    try:
        reg.unlock(name, Secret(passphrase), tolerant=tolerant)
    except BaseException:
        reg.close()
        raise
    return reg


def _as_insider(path: Path, change: Callable[[Registry, StoredRecord], None]) -> None:
    """North's principal, with write access to the database: it holds the escrow key, so it can seal
    any escrow record and keep the kind's head consistent; the library's role check does not bind
    someone who writes the database directly, which `_authorize` stands in for here."""
    reg = _open(path, "b1", _pass("b1"))
    try:
        reg._authorize = lambda *a, **k: None  # type: ignore[method-assign]
        central = Scopes(reg).find("Central High")
        assert central is not None
        with reg.transaction():
            change(reg, central)
    finally:
        reg.close()


def _forged(reg: Registry, rec: StoredRecord, version: int) -> dict[str, Any]:
    """Central's scope record with a key of the insider's own, wrapped to every holder and itself."""
    key = crypto.random_key()
    scopes = Scopes(reg)
    recipients = scopes._recipients(keep=[*rec.data["wraps"], reg.identity_row("b1").id])
    return {
        **rec.data,
        "version": version,
        "check": crypto.key_check(key, f"escrow-scope\x00{rec.id}".encode()).hex(),
        "wraps": scopes._wraps(rec.id, version, key, recipients, rec.data["wraps"]),
    }


INSIDER_CHANGES: dict[str, Callable[[Registry, StoredRecord], None]] = {
    "replaced at the same version": lambda reg, rec: reg.put(
        "escrow-scope", rec.id, _forged(reg, rec, int(rec.data["version"])), expected_version=rec.version
    ),
    "replaced by an unendorsed newer version": lambda reg, rec: reg.put(
        "escrow-scope", rec.id, _forged(reg, rec, int(rec.data["version"]) + 1), expected_version=rec.version
    ),
    "deleted": lambda reg, rec: reg.delete("escrow-scope", rec.id),
}


@pytest.mark.parametrize("how", sorted(INSIDER_CHANGES))
def test_another_schools_principal_cannot_swap_a_scope_key_unnoticed(tmp_path: Path, how: str) -> None:
    """Central's key, once opened by the district administrator and Central's principal, cannot be
    replaced, bumped without an endorsement or deleted by North's principal writing the database:
    both refuse to unlock (so nothing is sealed under the insider's key), and `registry check`
    names the scope."""
    from vault.errors import KeyMetadataTamperedError

    path = tmp_path / "registry.db"
    d = District(path)
    d.reg.close()
    for name, passphrase in (("admin", ADMIN_PASS), ("b2", _pass("b2"))):
        _open(path, name, passphrase).close()  # each pins Central's key as it opens it
    probe = _open(path, "admin", ADMIN_PASS)
    central_sid = next(r.id for r in Scopes(probe).records() if r.data["name"] == "Central High")
    probe.close()
    _as_insider(path, INSIDER_CHANGES[how])
    for name, passphrase in (("admin", ADMIN_PASS), ("b2", _pass("b2"))):
        with pytest.raises(KeyMetadataTamperedError, match="escrow scope"):
            _open(path, name, passphrase)
    from vault.maintenance import check_registry

    checked = _open(path, "admin", ADMIN_PASS, tolerant=True)  # as `auditor registry check` does
    try:
        report = check_registry(checked)
        named = ("'Central High'", central_sid)  # a deleted scope is known by its id alone
        assert not report.healthy
        assert any(n in str(p) for p in report.problems for n in named), report.problems
    finally:
        checked.close()


def test_a_scope_key_rolled_back_to_an_older_version_is_refused(tmp_path: Path) -> None:
    from vault.errors import RollbackError

    path = tmp_path / "registry.db"
    d = District(path)
    old = Scopes(d.reg).find("Central High")
    assert old is not None
    revoke_scopes(d.reg, "b2", ["Central High"], backup=False)  # Central's key is now version 2
    d.reg.close()
    _open(path, "admin", ADMIN_PASS).close()  # pins version 2, endorsed by version 1
    _as_insider(
        path,
        lambda reg, rec: reg.put("escrow-scope", rec.id, dict(old.data), expected_version=rec.version),
    )
    with pytest.raises(RollbackError, match="escrow scope 'Central High' is version 1, older than version 2"):
        _open(path, "admin", ADMIN_PASS)


def test_rotations_are_endorsed_so_every_holder_follows_them(tmp_path: Path) -> None:
    """A district administrator who opened version 1 unlocks after two rotations it took no part
    in (each endorsed by every retired version) and reads the credentials sealed under version 3."""
    path = tmp_path / "registry.db"
    d = District(path)
    d.reg.close()
    _open(path, "admin", ADMIN_PASS).close()
    first = _open(path, "admin", ADMIN_PASS)
    add_identity(first, "other", Role.ADMIN, Secret("other admin pass 123"), kdf_profile="floor")
    first.close()
    other = _open(path, "other", "other admin pass 123")
    try:
        grant_scopes(other, "b1", ["Central High"])
        revoke_scopes(other, "b1", ["Central High"], backup=False)
        revoke_scopes(other, "b2", ["Central High"], backup=False)
        central = Scopes(other).find("Central High")
        assert central is not None and int(central.data["version"]) == 3
    finally:
        other.close()
    admin = _open(path, "admin", ADMIN_PASS)  # pinned version 1; version 3 is endorsed by 1 and 2
    try:
        central_account = next(a for a, b in d.accounts.items() if b == "Central High")
        assert Escrow(admin).reveal(central_account, "check").password.reveal_str() == "pw-1"  # type: ignore[union-attr]
    finally:
        admin.close()
