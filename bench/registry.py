"""Registry benchmark: import 10,000 accounts, then open and list them.

Targets (issue 2, on a 2-core machine): import under 10 s; open and list under 1 s beyond the
passphrase key derivation, which is reported separately because it is deliberately slow.

    python bench/registry.py [--accounts 10000] [--kdf default|floor]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.models import Account, Person, Platform, Secret
from vault.inventory import Inventory
from vault.registry import Registry
from vault.sqlite import SQLiteBackend

PLATFORMS = [Platform.X, Platform.INSTAGRAM, Platform.FACEBOOK, Platform.YOUTUBE, Platform.BLUESKY]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--kdf", default="default", choices=["default", "floor"])
    args = parser.parse_args()
    passphrase = Secret("benchmark passphrase 0123")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "registry.db"
        reg = Registry.create(SQLiteBackend(path), "bench", passphrase, kdf_profile=args.kdf)
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
            for i in range(args.accounts)
        ]
        t0 = time.perf_counter()
        with reg.transaction():
            result = inv.upsert_accounts(accounts)
        t_import = time.perf_counter() - t0
        assert len(result.created) == args.accounts
        t0 = time.perf_counter()
        with reg.transaction():
            again = inv.upsert_accounts(accounts)
        t_reimport = time.perf_counter() - t0
        assert len(again.unchanged) == args.accounts
        reg.close()

        t0 = time.perf_counter()
        reg = Registry.open(SQLiteBackend(path))
        t_open = time.perf_counter() - t0
        t0 = time.perf_counter()
        reg.unlock(None, passphrase)
        t_kdf = time.perf_counter() - t0
        t0 = time.perf_counter()
        listed = Inventory(reg).accounts()
        t_list = time.perf_counter() - t0
        reg.close()
        assert len(listed) == args.accounts
    print(f"backend                      sqlite ({args.kdf} Argon2id)")
    print(f"import {args.accounts:>6} accounts        {t_import:6.2f} s   (target < 10 s)")
    print(f"re-import (all unchanged)    {t_reimport:6.2f} s")
    print(f"open                         {t_open:6.3f} s")
    print(f"unlock (Argon2id, by design) {t_kdf:6.3f} s")
    print(f"list {args.accounts:>6} accounts          {t_list:6.3f} s")
    print(f"open + list beyond the KDF   {t_open + t_list:6.3f} s   (target < 1 s)")


if __name__ == "__main__":
    main()
