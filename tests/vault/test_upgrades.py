"""The format upgrade steps themselves (the CLI path is in tests/e2e/test_registry_upgrade.py)."""

from __future__ import annotations

import pytest

from vault import upgrades


def test_a_missing_step_is_an_error_not_a_silent_skip() -> None:
    with pytest.raises(LookupError, match="no upgrade step from format 1 to 2"):
        upgrades.pending(1, 2)


def test_database_schema_steps_are_versioned_on_both_backends(  # type: ignore[no-untyped-def]
    make_registry, new_backend, backend_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    from vault.errors import NeedsUpgradeError
    from vault.registry import Registry

    make_registry().close()
    module = importlib.import_module(f"vault.{backend_kind}")
    table = "auditor.reviews" if backend_kind == "postgres" else "reviews"
    monkeypatch.setattr(module, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(module.SCHEMA_STEPS, 1, ("a table for reviews", f"CREATE TABLE {table} (id text)"))
    with pytest.raises(NeedsUpgradeError, match="uses database schema 1"):
        Registry.open(new_backend())
    backend = new_backend()
    backend.allow_older_schema = True
    reg = Registry.open(backend)
    assert backend.schema_pending()
    assert backend.upgrade_schema() == ["database schema 1 → 2: a table for reviews"]
    reg.close()
    reopened = Registry.open(new_backend())
    assert reopened.backend.schema_version() == 2 and not reopened.backend.schema_pending()
    reopened.close()
