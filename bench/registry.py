"""Registry benchmark on SQLite and PostgreSQL: import 10,000 accounts, open and list them, and 100
concurrent edits from 4 processes.

Targets (issue 2, on a 2-core machine): import under 10 s; open and list under 1 s beyond the
passphrase key derivation, which is reported separately because it is deliberately slow. Issue 7
asks for the same figures on both backends; for PostgreSQL a throwaway cluster is started in a
temporary directory (tests/pgcluster.py, needs Debian's `postgresql` package) and removed after.

The concurrent-edit figure: 4 processes each make 25 edits to accounts drawn from a pool of 10
(so they collide); an edit that meets ConcurrentEditError re-reads the account and tries again.
Reported: edits per second, conflicts met, and retries needed. No edit may be lost: the run
checks that every account's version equals 1 + the edits made to it.

    python bench/registry.py [--backend sqlite|postgres|both] [--accounts 10000] [--kdf default|floor]
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.model.types import Account, Person, Platform, Secret
from vault.backends.storage import Backend
from vault.errors import ConcurrentEditError
from vault.registry import Registry
from vault.stores.inventory import Inventory

PLATFORMS = [Platform.X, Platform.INSTAGRAM, Platform.FACEBOOK, Platform.YOUTUBE, Platform.BLUESKY]
PASSPHRASE = "benchmark passphrase 0123"  # noqa: S105 (a throwaway benchmark registry)
WORKERS, EDITS_EACH, HOT_ACCOUNTS = 4, 25, 10


def backend_factory(kind: str, where: str) -> Callable[[], Backend]:
    def make() -> Backend:
        if kind == "postgres":
            from vault.backends.postgres import PostgresBackend

            return PostgresBackend(where)
        from vault.backends.sqlite import SQLiteBackend

        return SQLiteBackend(where)

    return make


def _edit_worker(kind: str, where: str, worker: int, ids: list[str], out: Any) -> None:
    reg = Registry.open(backend_factory(kind, where)())
    reg.unlock(None, Secret(PASSPHRASE))
    inv = Inventory(reg)
    conflicts = retries = 0
    made: dict[str, int] = {}
    for n in range(EDITS_EACH):
        account_id = ids[(worker * 7 + n * 3) % len(ids)]
        while True:
            current = inv.get_account(account_id)
            assert current is not None
            try:
                inv.save_account(dataclasses.replace(current, notes=f"worker {worker} edit {n}"))
                break
            except ConcurrentEditError:
                conflicts += 1
                retries += 1
        made[account_id] = made.get(account_id, 0) + 1
    reg.close()
    out.put((conflicts, retries, made))


def run(kind: str, where: str, accounts_n: int, kdf: str) -> dict[str, float]:
    make = backend_factory(kind, where)
    passphrase = Secret(PASSPHRASE)
    reg = Registry.create(make(), "bench", passphrase, kdf_profile=kdf)
    inv = Inventory(reg)
    people = [Person(id="", name=f"Staff {i}", email=f"staff{i}@district.org") for i in range(200)]
    with reg.transaction():
        inv.upsert_people(people)
    owners = [p.id for p in inv.people()]
    accounts = [
        Account(
            id="",
            platform=PLATFORMS[i % len(PLATFORMS)],
            handle=f"school_{i:05d}",
            owner_id=owners[i % 200],
            building=f"Building {i % 40}",
            display_name=f"School {i}",
        )
        for i in range(accounts_n)
    ]
    t0 = time.perf_counter()
    with reg.transaction():
        result = inv.upsert_accounts(accounts)
    t_import = time.perf_counter() - t0
    assert len(result.created) == accounts_n
    t0 = time.perf_counter()
    with reg.transaction():
        again = inv.upsert_accounts(accounts)
    t_reimport = time.perf_counter() - t0
    assert len(again.unchanged) == accounts_n
    reg.close()

    t0 = time.perf_counter()
    reg = Registry.open(make())
    t_open = time.perf_counter() - t0
    t0 = time.perf_counter()
    reg.unlock(None, passphrase)
    t_kdf = time.perf_counter() - t0
    t0 = time.perf_counter()
    listed = Inventory(reg).accounts()
    t_list = time.perf_counter() - t0
    assert len(listed) == accounts_n
    hot = [a.id for a in listed[:HOT_ACCOUNTS]]
    reg.close()

    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_edit_worker, args=(kind, where, w, hot, out)) for w in range(WORKERS)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    reports = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join()
    t_edits = time.perf_counter() - t0  # includes each worker's unlock (Argon2id), reported below
    conflicts = sum(r[0] for r in reports)
    retries = sum(r[1] for r in reports)
    made: dict[str, int] = {}
    for r in reports:
        for k, v in r[2].items():
            made[k] = made.get(k, 0) + v
    reg = Registry.open(make())
    reg.unlock(None, passphrase)
    final = {a.id: a.version for a in Inventory(reg).accounts() if a.id in made}
    reg.close()
    lost = sum(1 for k, v in made.items() if final[k] != 1 + v)
    return {
        "import": t_import,
        "reimport": t_reimport,
        "open": t_open,
        "kdf": t_kdf,
        "list": t_list,
        "edits_s": t_edits,
        "edits": float(WORKERS * EDITS_EACH),
        "conflicts": float(conflicts),
        "retries": float(retries),
        "lost": float(lost),
    }


def report(kind: str, accounts_n: int, kdf: str, f: dict[str, float]) -> None:
    print(f"backend                      {kind} ({kdf} Argon2id)")
    print(f"import {accounts_n:>6} accounts        {f['import']:6.2f} s   (target < 10 s)")
    print(f"re-import (all unchanged)    {f['reimport']:6.2f} s")
    print(f"open                         {f['open']:6.3f} s")
    print(f"unlock (Argon2id, by design) {f['kdf']:6.3f} s")
    print(f"list {accounts_n:>6} accounts          {f['list']:6.3f} s")
    print(f"open + list beyond the KDF   {f['open'] + f['list']:6.3f} s   (target < 1 s)")
    print(
        f"{int(f['edits'])} edits, {WORKERS} processes     {f['edits_s']:6.2f} s   "
        f"({f['edits'] / f['edits_s']:.0f} edits/s incl. {WORKERS} unlocks; {int(f['conflicts'])} conflicts, "
        f"{int(f['retries'])} retries, {int(f['lost'])} lost)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgres", "both"])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--kdf", default="default", choices=["default", "floor"])
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for i, kind in enumerate(kinds):
        if i:
            print()
        if kind == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                figures = run(kind, str(Path(tmp) / "registry.db"), args.accounts, args.kdf)
        else:
            from tests.pgcluster import start_cluster

            cluster = start_cluster(durable=True)  # fsync on, as in production
            try:
                figures = run(kind, cluster.url(cluster.new_database("bench")), args.accounts, args.kdf)
            finally:
                cluster.stop()
        report(kind, args.accounts, args.kdf, figures)


if __name__ == "__main__":
    main()
