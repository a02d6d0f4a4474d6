"""Factories for registries on real SQLite files in the test's temporary directory."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from auditor.models import Secret
from vault.registry import Registry
from vault.sqlite import SQLiteBackend

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def registry_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "registry.db"


@pytest.fixture
def make_registry(registry_path: Path) -> Iterator[Callable[..., Registry]]:
    opened: list[Registry] = []

    def factory(admin: str = "admin", passphrase: str = PASSPHRASE) -> Registry:
        reg = Registry.create(SQLiteBackend(registry_path), admin, Secret(passphrase), kdf_profile="floor")
        opened.append(reg)
        return reg

    yield factory
    for reg in opened:
        reg.close()


@pytest.fixture
def reopen(registry_path: Path) -> Iterator[Callable[..., Registry]]:
    opened: list[Registry] = []

    def factory(identity: str | None = None, passphrase: str = PASSPHRASE, **kw: object) -> Registry:
        reg = Registry.open(SQLiteBackend(registry_path))
        opened.append(reg)
        reg.unlock(identity, Secret(passphrase), **kw)  # type: ignore[arg-type]
        return reg

    yield factory
    for reg in opened:
        reg.close()


def mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777
