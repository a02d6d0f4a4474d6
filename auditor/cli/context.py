"""What every command shares: global options, and opening and unlocking the registry on demand.

The root callback stores an `AppContext` in `ctx.obj`. Commands call `app_context(ctx).registry()`
(or `.inventory()`), which opens the registry named by `--registry` / `AUDITOR_REGISTRY` (default:
the platform's user data directory), finds the passphrase in the documented order, and unlocks.
The root imports this module, so it alone imports the vault inside its functions (cryptography,
sqlite3 and psycopg cost 0.2 s): `auditor --help` and every command's help stay fast. Everything
else imports at module top.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from auditor.model.errors import UsageError
from auditor.model.types import Role, Secret

if TYPE_CHECKING:
    from vault.backends.storage import Backend
    from vault.registry import Registry
    from vault.stores.inventory import Inventory


def default_registry_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("auditor", appauthor=False)) / "registry.db"


def is_server_url(location: str) -> bool:
    """A registry on a database server (PostgreSQL) rather than an SQLite file."""
    return location.startswith(("postgresql://", "postgres://"))


def make_backend(location: str) -> Backend:
    """The storage for a location: a PostgreSQL URL (docs/postgres.md) or an SQLite file path."""
    if is_server_url(location):
        from vault.backends.postgres import PostgresBackend, check_url

        check_url(location)  # refuses a password in the URL before anything connects
        return PostgresBackend(location)
    from vault.backends.sqlite import SQLiteBackend

    return SQLiteBackend(location)


def prompt_secret(label: str, *, confirm: bool = False) -> Secret:
    if not sys.stdin.isatty():
        raise UsageError(
            f"{label} is needed but there is no terminal to ask on",
            "Use --passphrase-file FILE (mode 0600) or AUDITOR_PASSPHRASE_FILE.",
        )
    value = typer.prompt(label, hide_input=True, confirmation_prompt=confirm)
    return Secret(value)


def new_passphrase(path: Path | str | None, who: str = "") -> Secret:
    """A new passphrase: from a 0600 file when one is named, else asked twice on the terminal."""
    if path:
        from vault.unlock import read_passphrase_file

        return read_passphrase_file(path)
    label = f"New passphrase for {who}" if who else "New passphrase"
    return prompt_secret(f"{label} (12+ characters)", confirm=True)


@dataclass
class AppContext:
    registry_location: str | None = None
    identity: str | None = None
    passphrase_file: str | None = None
    verbose: int = 0
    _registry: Registry | None = field(default=None, repr=False)

    @property
    def location(self) -> str:
        if self.registry_location:
            return self.registry_location
        return str(default_registry_path())

    def registry(
        self,
        *,
        as_role: Role | None = None,
        admin: bool = False,
        escrow: bool = False,
        tolerant: bool = False,
    ) -> Registry:
        """The unlocked registry. `admin`: a district administrator; `escrow`: a district or building
        administrator (which accounts it may touch is its escrow scopes' say). `tolerant` (only
        `registry check`) reports tampered key metadata afterwards instead of refusing to unlock."""
        if self._registry is not None:
            return self._registry
        from vault.registry import Registry

        reg = Registry.open(make_backend(self.location))
        try:
            identity, secret = self.passphrase(reg)
            reg.unlock(identity, secret, as_role=as_role, tolerant=tolerant)
            if admin:
                reg.require_admin("This command")
            if escrow:
                reg.require_escrow("This command")
        except BaseException:
            reg.close()
            raise
        self._registry = reg
        return reg

    def passphrase(self, reg: Registry) -> tuple[str | None, Secret]:
        """Who unlocks `reg` and with which passphrase, from the documented sources in order."""
        from vault.unlock import find_passphrase

        identity = self.identity or _guess_identity(reg)
        source = find_passphrase(
            passphrase_file=self.passphrase_file,
            registry_id=reg.registry_id,
            identity=identity,
            prompt=(lambda: prompt_secret(f"Passphrase for {identity or 'the registry'}"))
            if sys.stdin.isatty()
            else None,
        )
        return identity, source.secret

    def registry_exists(self) -> bool:
        """Whether there is a registry to open (for a server: our schema is in the database; a
        server that cannot be reached raises its own error rather than answering "no")."""
        if is_server_url(self.location):
            return make_backend(self.location).exists()
        return Path(self.location).exists()

    def inventory(self, **kwargs: Any) -> Inventory:
        from vault.stores.inventory import Inventory

        return Inventory(self.registry(**kwargs))

    def close(self) -> None:
        if self._registry is not None:
            self._registry.close()
            self._registry = None


def _guess_identity(reg: Registry) -> str | None:
    """With one identity there is nothing to choose; otherwise try the login name."""
    rows = reg.identity_rows()
    if len(rows) <= 1:
        return None
    user = os.environ.get("USER") or os.environ.get("USERNAME")
    if user:
        wanted = reg.name_hash(user)
        if any(r.name == wanted for r in rows):
            return user
    return None


def app_context(ctx: typer.Context) -> AppContext:
    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):
        root.obj = AppContext()
        root.call_on_close(root.obj.close)
    return root.obj
