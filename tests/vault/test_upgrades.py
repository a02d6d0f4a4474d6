"""Format and schema upgrades, on a registry written by the previous release (tests/vault/data/).

`format1.db` was written by auditor at commit 529e478 (registry format 1, database schema 1) with
`format1.json` beside it: an admin and a nightly auditor identity, a person, an account with an
escrowed password, a Snapchat attestation and a 2-of-3 break-glass set (test passphrases and
shares, nothing real). On PostgreSQL the same rows are loaded into the old schema (no `stamp`
column), as a district's server registry from that release would hold them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.model.types import Secret
from vault import upgrades
from vault.backends.storage import Backend
from vault.errors import KeyMetadataTamperedError, NeedsUpgradeError
from vault.registry import FORMAT_VERSION, Registry

DATA = Path(__file__).parent / "data"
FIXTURE = json.loads((DATA / "format1.json").read_text())


def test_a_missing_step_is_an_error_not_a_silent_skip() -> None:
    with pytest.raises(
        LookupError, match=f"no upgrade step from format {FORMAT_VERSION} to {FORMAT_VERSION + 1}"
    ):
        upgrades.pending(FORMAT_VERSION, FORMAT_VERSION + 1)


def test_database_schema_steps_are_versioned_on_both_backends(  # type: ignore[no-untyped-def]
    make_registry, new_backend, backend_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    make_registry().close()
    module = importlib.import_module(f"vault.backends.{backend_kind}")
    current = module.SCHEMA_VERSION
    table = "auditor.reviews" if backend_kind == "postgres" else "reviews"
    monkeypatch.setattr(module, "SCHEMA_VERSION", current + 1)
    monkeypatch.setitem(
        module.SCHEMA_STEPS, current, ("a table for reviews", f"CREATE TABLE {table} (id text)")
    )
    with pytest.raises(NeedsUpgradeError, match=f"uses database schema {current}"):
        Registry.open(new_backend())
    backend = new_backend()
    backend.allow_older_schema = True
    reg = Registry.open(backend)
    assert backend.schema_pending()
    assert backend.upgrade_schema() == [f"database schema {current} → {current + 1}: a table for reviews"]
    reg.close()
    reopened = Registry.open(new_backend())
    assert reopened.backend.schema_version() == current + 1 and not reopened.backend.schema_pending()
    reopened.close()


@pytest.fixture
def format1(backend_kind: str, registry_location: str, new_backend: Callable[[], Backend]) -> str:
    """The previous release's registry at `registry_location`, on either backend."""
    if backend_kind == "sqlite":
        Path(registry_location).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DATA / "format1.db", registry_location)
        return registry_location
    from tests.vault.conftest import load_into_postgres

    load_into_postgres(DATA / "format1.db", registry_location, schema1=True)
    return registry_location


def _upgrade(new_backend: Callable[[], Backend]) -> list[str]:
    backend = new_backend()
    backend.allow_older_schema = True
    reg = Registry.open(backend, allow_older=True)
    try:
        done = backend.upgrade_schema()
        reg.unlock(FIXTURE["admin"], Secret(FIXTURE["admin_passphrase"]))
        done += upgrades.upgrade(reg, reg.format_version, FORMAT_VERSION)
    finally:
        reg.close()
    return done


def test_the_previous_release_is_refused_then_upgraded_with_everything_readable(
    format1: str, new_backend: Callable[[], Backend], reopen: Callable[..., Registry]
) -> None:
    from auditor.model.types import Platform
    from connectors.platforms.manual import Attestation  # noqa: F401  (the record's shape)
    from vault.escrow.breakglass import RecoverySession  # noqa: F401
    from vault.escrow.store import Escrow
    from vault.maintenance import check_registry
    from vault.stores.attestations import RegistryAttestationStore
    from vault.stores.inventory import Inventory

    with pytest.raises(NeedsUpgradeError):
        Registry.open(new_backend())
    done = _upgrade(new_backend)
    assert done[0].startswith("database schema 1 → 2") and done[1].startswith("format 1 → 2: authenticated")
    assert done[2].startswith("format 2 → 3: escrow scopes")

    admin = reopen(FIXTURE["admin"], FIXTURE["admin_passphrase"])
    assert [p.email for p in Inventory(admin).people()] == ["ann@d203.org"]
    bundle = Escrow(admin).reveal(FIXTURE["account"], "upgrade test")
    assert bundle.password is not None and bundle.password.reveal_str() == FIXTURE["password"]
    # Issue 19: the administrator is a district administrator; every credential is sealed under its
    # account's scope, none is left in the single-key layout.
    from auditor.model.types import Role
    from vault.scopes import Scopes

    assert admin.identity is not None and admin.identity.role is Role.ADMIN
    sealed = [r for r in admin.scan("credential") if not isinstance(r, Exception)]
    assert sealed and all("bundle" not in r.data and r.data["scope"] for r in sealed)
    assert Scopes(admin).held()
    assert RegistryAttestationStore(admin).get(Platform.SNAPCHAT, "nchs_spirit") is not None
    report = check_registry(admin)
    assert report.healthy, [p.message for p in report.problems]
    # No legacy header rows are left to be trusted by mistake.
    assert admin.backend.meta_get("breakglass") is None and admin.backend.meta_get("log_head") is None

    nightly = reopen(FIXTURE["auditor"], FIXTURE["auditor_passphrase"])
    assert Escrow(nightly).refs()[FIXTURE["account"]].escrowed
    nightly.close()


def test_after_the_upgrade_a_reykey_with_an_attestation_and_break_glass_both_work(
    format1: str, new_backend: Callable[[], Backend], reopen: Callable[..., Registry]
) -> None:
    """The release before could not re-key once an attestation existed (issue 11)."""
    from vault.escrow import breakglass as bg
    from vault.rekey import breakglass_finish, breakglass_session, breakglass_unlock, remove_identity

    _upgrade(new_backend)
    admin = reopen(FIXTURE["admin"], FIXTURE["admin_passphrase"])
    result = remove_identity(admin, FIXTURE["auditor"], backup=False)
    assert result.key_versions == {"inventory": 2}
    admin.close()

    locked = Registry.open(new_backend())
    session: bg.RecoverySession = breakglass_session(locked)
    for words in FIXTURE["shares"][:2]:
        session.add(words)
    breakglass_unlock(locked, session.finish(), reason="upgrade test")
    breakglass_finish(locked, backup=False)
    locked.close()
    again = Registry.open(new_backend())
    with pytest.raises(Exception, match="no break-glass set"):
        breakglass_session(again)
    again.close()


def test_a_key_planted_after_the_upgrade_is_refused(
    format1: str, new_backend: Callable[[], Backend], reopen: Callable[..., Registry], raw
) -> None:  # type: ignore[no-untyped-def]
    from vault import crypto

    _upgrade(new_backend)
    _private, public = crypto.new_identity_keypair()
    raw("UPDATE identities SET public_key = ? WHERE role = 'auditor'", (public,))
    with pytest.raises(KeyMetadataTamperedError, match="public key in the identities table differ"):
        reopen(FIXTURE["admin"], FIXTURE["admin_passphrase"])
