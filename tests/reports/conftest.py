"""A sample district on a real SQLite registry, built the way IT builds it, with a fixed clock.

`auditor init`, `person import`, `account import` and `policy init --preset naperville-203` run
through the CLI; escrow goes through `vault.escrow.store.Escrow.store`, rotation tasks through
`vault.stores.tasks.open_task`, waivers through `auditor.services.audit.waive`, and three audit runs through
`auditor.services.audit.run_audit(offline=True)`. Record ids and run ids come from counters (the real ones are
random), every clock the library accepts is fixed, and so is the creation time of the registry and
its identity (`vault.registry.utcnow`), so reports built at `NOW` are byte-stable and can be
compared with golden files. The registry is built once per session and copied per test.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from auditor.model.types import Secret
from tests.e2e.conftest import PASSPHRASE, Cli

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RUN_TIMES = (
    datetime(2026, 5, 1, 2, 0, tzinfo=UTC),
    datetime(2026, 5, 15, 2, 0, tzinfo=UTC),
    datetime(2026, 6, 1, 2, 0, tzinfo=UTC),
)
ESCROWED_AT = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
CREATED_AT = datetime(2026, 1, 2, 8, 0, tzinfo=UTC)  # the registry and its first identity (access report)

PEOPLE = (
    "name,email,kind,role,building,status\n"
    "Dana Whitfield,dwhitfield@naperville203.org,employee,Executive Director of Communications,"
    "district-office,active\n"
    "Priya Raman,praman@naperville203.org,employee,Athletic Director,nnhs,active\n"
    "Tom Okafor,tokafor@naperville203.org,employee,Band Director,nchs,active\n"
)
ACCOUNTS = (
    "platform,handle,display_name,profile_url,building,purpose,owner_email,co_manager_emails,login_email,"
    "two_factor,public_comments,comment_monitor_emails,approved_on,approved_by,renewal_due\n"
    "x,naperville203,Naperville 203,https://x.com/naperville203,district-office,district,"
    "dwhitfield@naperville203.org,,naperville203@gmail.com,yes,yes,dwhitfield@naperville203.org,"
    "2025-08-05,dwhitfield@naperville203.org,2026-08-05\n"
    "x,nnhs_athletics,NNHS Athletics,https://x.com/nnhs_athletics,nnhs,athletics,praman@naperville203.org,,"
    "athletics@naperville203.org,yes,no,,2026-01-12,praman@naperville203.org,2026-05-01\n"
    "instagram,nchs_theatre,NCHS Theatre,https://www.instagram.com/nchs_theatre,nchs,activity,"
    "praman@naperville203.org,tokafor@naperville203.org,theatre@naperville203.org,yes,no,,2026-01-12,"
    "praman@naperville203.org,\n"
    "bluesky,nchsband.bsky.social,NCHS Band,,nchs,activity,tokafor@naperville203.org,,"
    "band@naperville203.org,yes,no,,2026-02-03,praman@naperville203.org,\n"
)


class District:
    """The built registry and how to open it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self, identity: str = "it-admin", passphrase: str = PASSPHRASE):  # type: ignore[no-untyped-def]
        from vault.backends.sqlite import SQLiteBackend
        from vault.registry import Registry

        reg = Registry.open(SQLiteBackend(str(self.path)))
        reg.unlock(identity, Secret(passphrase))
        return reg


def _counter_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    counters: dict[str, itertools.count[int]] = {}

    def new_id(prefix: str) -> str:
        return f"{prefix}_{next(counters.setdefault(prefix, itertools.count(1))):04d}"

    for module in ("vault.registry", "vault.stores.inventory", "vault.stores.tasks"):
        monkeypatch.setattr(f"{module}.new_id", new_id)
    runs = itertools.count(1)
    monkeypatch.setattr(
        "auditor.services.audit.new_run_id", lambda started: f"run-{started:%Y%m%d}-{next(runs)}"
    )


def build_district(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> District:
    from auditor.services.audit import AuditOptions, run_audit, waive
    from vault.escrow.bundle import CredentialBundle
    from vault.escrow.store import Escrow
    from vault.stores import tasks
    from vault.stores.inventory import Inventory

    monkeypatch.setenv("AUDITOR_KDF_PROFILE", "floor")
    _counter_ids(monkeypatch)
    monkeypatch.setattr("vault.registry.utcnow", lambda: CREATED_AT)
    cli = Cli(tmp)
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS)))
    cli.ok("policy", "init", "--preset", "naperville-203")
    district = District(cli.registry)
    reg = district.open()
    try:
        inv = Inventory(reg)
        accounts = {f"{a.platform.value}:{a.handle}": a for a in inv.accounts()}
        escrow = Escrow(reg, clock=lambda: ESCROWED_AT)
        for ref in ("x:naperville203", "x:nnhs_athletics", "instagram:nchs_theatre"):
            escrow.store(accounts[ref].id, CredentialBundle.create(password="correct horse 1 battery staple"))
        tasks.open_task(
            reg,
            accounts["instagram:nchs_theatre"].id,
            "Tom Okafor left the band programme and knew the credentials",
            opened_by="it-admin",
            now=datetime(2026, 4, 1, 8, 0, tzinfo=UTC),
        )
        tom = inv.person_by_email("tokafor@naperville203.org")
        assert tom is not None
        inv.save_person(dataclasses.replace(tom, status="departed", departed_on=date(2026, 3, 1)))  # type: ignore[arg-type]
        offline = AuditOptions(offline=True)
        run_audit(reg, offline, now=RUN_TIMES[0])
        # IT fixes the personal login address between runs: resolved in the second run.
        x203 = accounts["x:naperville203"]
        current = inv.get_account(x203.id)
        assert current is not None
        inv.save_account(dataclasses.replace(current, login_email="social@naperville203.org"))
        run_audit(reg, offline, now=RUN_TIMES[1])
        from auditor.engine.ledger import finding_id, ledger
        from auditor.services.audit import load_runs

        not_approved = next(f for f in ledger(load_runs(reg)) if f.check_id == "platform.not_approved")
        waive(
            reg,
            finding_id(not_approved.fingerprint),
            "Band boosters move to Instagram in the autumn",
            date(2026, 9, 1),
            today=date(2026, 5, 20),
        )
        run_audit(reg, offline, now=RUN_TIMES[2])
    finally:
        reg.close()
    return district


@pytest.fixture(scope="session")
def _built_district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("district")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
            mp.setenv(name, str(tmp / "home"))
        mp.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
        district = build_district(tmp, mp)
    yield district.path


@pytest.fixture
def district(_built_district: Path, tmp_path: Path) -> District:
    """A private copy of the sample district (tests may change it)."""
    target = tmp_path / "district.db"
    shutil.copy2(_built_district, target)
    return District(target)
