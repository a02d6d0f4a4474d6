"""`auditor demo`: a sample district built in a temporary directory, end to end through the real code.

The demo creates a registry with a generated passphrase (kept in a 0600 file inside the demo
directory, never printed), imports the sample people and accounts shipped in `data/` through the
same import path users take, and lists them. Nothing outside the demo directory is touched.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from auditor.models import Secret

DISTRICT = "Naperville Community Unit School District 203 (sample data)"


@dataclass(frozen=True)
class DemoResult:
    directory: Path
    registry: Path
    passphrase_file: Path
    people: int
    accounts: int
    summary: str


def data_file(name: str) -> Path:
    return Path(str(resources.files("auditor.demo").joinpath("data", name)))


def build_demo(directory: Path | None = None) -> DemoResult:
    from auditor.cli.account import ACCOUNT_COLUMNS, account_row
    from auditor.cli.output import OutputFormat, render_rows
    from auditor.importing import parse_accounts, parse_people
    from auditor.inventory_ops import import_accounts, import_people
    from vault.inventory import Inventory
    from vault.registry import Registry
    from vault.sqlite import SQLiteBackend

    base = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="auditor-demo-"))
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    registry_path = base / "registry.db"
    pass_file = base / "passphrase"
    passphrase = secrets.token_urlsafe(24)
    fd = os.open(pass_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(passphrase + "\n")
    reg = Registry.create(
        SQLiteBackend(registry_path),
        "demo-admin",
        Secret(passphrase),
        kdf_profile=os.environ.get("AUDITOR_KDF_PROFILE", "floor"),
    )
    try:
        inv = Inventory(reg)
        import_people(inv, parse_people(data_file("people.csv")), dry_run=False)
        by_email = {p.email: p for p in inv.people()}
        import_accounts(inv, parse_accounts(data_file("accounts.csv"), by_email), dry_run=False)
        people = inv.people()
        accounts = inv.accounts()
        by_id = {p.id: p for p in people}
        table = render_rows(
            [account_row(a, by_id) for a in accounts],
            ACCOUNT_COLUMNS,
            OutputFormat.TABLE,
            schema="auditor/accounts",
        )
    finally:
        reg.close()
    summary = "\n".join(
        [
            f"Sample district: {DISTRICT}",
            f"Registry:        {registry_path}",
            f"Passphrase file: {pass_file} (mode 0600)",
            f"Imported {len(people)} people and {len(accounts)} accounts.",
            "",
            table,
            "",
            "Explore it yourself:",
            f"  export AUDITOR_REGISTRY={registry_path} AUDITOR_PASSPHRASE_FILE={pass_file}",
            "  auditor account list",
            "  auditor person list --format json",
        ]
    )
    return DemoResult(base, registry_path, pass_file, len(people), len(accounts), summary)
