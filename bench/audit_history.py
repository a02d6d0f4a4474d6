"""Benchmark: what stored audit history costs, in registry bytes and in the commands users run.

    python bench/audit_history.py [--accounts 10000] [--runs 6] [--churn 20] [--commands]

Builds a real SQLite registry (the naperville-203 preset, `--accounts` accounts), then stores
`--runs` nightly runs through the audit's own storage path (`auditor.services.audit._store_run`,
the code `auditor audit` runs after evaluating): every run reads a profile of every account and has
about one finding per two accounts; between runs `--churn` accounts change their profile and
`--churn` findings open, resolve or change severity. It prints the registry's size after each run
(bytes added per nightly run), then, with `--commands`, times the commands a district runs on that
history through the real CLI in a subprocess each (`audit history`, `audit diff`, `finding list`,
`report findings --format html`, `report inventory --format xlsx`, `registry check`), with CPU and
wall time, peak RSS and the machine's load.

It drives only interfaces that exist before and after issue 17 (runs stored by change), so the same
script measures the old layout too: `PYTHONPATH=/path/to/old/checkout python bench/audit_history.py`.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# bench/ itself is not on the path (its connectors.py would hide the package); the checkout is,
# unless PYTHONPATH names another one.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
if "PYTHONPATH" not in os.environ:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PASSPHRASE = "bench passphrase for audit history"  # noqa: S105 (a throwaway registry)
CHECKS = ("escrow.missing", "training.lapsed", "profile.inactive", "affiliation.missing")
COMMANDS = (
    ("audit history", ("audit", "history", "--limit", "0")),
    ("audit diff previous latest", ("audit", "diff", "previous", "latest")),
    ("finding list", ("finding", "list", "--format", "json")),
    (
        "report findings --format html",
        ("report", "findings", "--format", "html", "-o", "{tmp}/f.html", "--force"),
    ),
    (
        "report inventory --format xlsx",
        ("report", "inventory", "--format", "xlsx", "-o", "{tmp}/i.xlsx", "--force"),
    ),
    ("registry check", ("registry", "check")),
)


def build(where: Path, accounts_n: int, runs: int, churn: int) -> list[int]:
    """The registry at `where`, and its size in bytes after each stored run."""
    from auditor.engine.policy import dump_preset
    from auditor.engine.snapshot import Gathered
    from auditor.model.types import (
        Account,
        AuditRun,
        Finding,
        FindingState,
        Person,
        Platform,
        Profile,
        ProfileStatus,
        Secret,
        Severity,
    )
    from auditor.services import audit as audit_mod
    from auditor.services.policy import save_policy
    from vault.backends.sqlite import SQLiteBackend
    from vault.registry import Registry
    from vault.stores.inventory import Inventory

    reg = Registry.create(SQLiteBackend(where), "bench", Secret(PASSPHRASE), kdf_profile="floor")
    save_policy(reg, dump_preset("naperville-203"), "preset")
    inv = Inventory(reg)
    with reg.transaction():
        inv.upsert_people([Person(id="", name=f"Staff {i}", email=f"staff{i}@d203.org") for i in range(200)])
    owners = [p.id for p in inv.people()]
    with reg.transaction():
        inv.upsert_accounts(
            [
                Account(
                    id="",
                    platform=Platform.X,
                    handle=f"school_{i:06d}",
                    owner_id=owners[i % 200],
                    building=f"Building {i % 40}",
                    display_name=f"School {i}",
                )
                for i in range(accounts_n)
            ]
        )
    accounts = sorted(inv.accounts(), key=lambda a: a.handle)
    start = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    sizes: list[int] = []
    previous: list[Finding] = []
    for n in range(runs):
        moved = {(n * 7919 + k * 104729) % accounts_n for k in range(churn)} if n else set()
        profiles = {
            a.id: Profile(
                platform=Platform.X,
                handle=a.handle,
                status=ProfileStatus.FOUND,
                display_name=a.display_name,
                bio=f"Official account of {a.display_name}, Naperville 203."
                + (f" Update {n}." if i in moved else ""),
                followers=1000 + i,
                platform_id=f"x{i}",
            )
            for i, a in enumerate(accounts)
        }
        findings: list[Finding] = []
        for i, a in enumerate(accounts):
            if i % 2:
                continue
            resolved = i in moved and n % 2 == 0
            findings.append(
                Finding(
                    check_id=CHECKS[i % len(CHECKS)],
                    severity=Severity.HIGH if i in moved else Severity.MEDIUM,
                    subject=f"account:{a.id}",
                    message=f"X account @{a.handle} has problem {i % 17}.",
                    account_id=a.id,
                    platform=Platform.X,
                    building=a.building,
                    clauses=("N203-SECURITY",),
                    remediation="Fix it.",
                    state=FindingState.RESOLVED
                    if resolved
                    else (FindingState.NEW if n == 0 else FindingState.OPEN),
                )
            )
        started = start + timedelta(days=n)
        run = AuditRun(
            id=f"run-{started:%Y%m%dT%H%M%SZ}-{n:04x}",
            started_at=started,
            finished_at=started + timedelta(minutes=3),
            identity="bench",
            policy="naperville-203",
            checks=CHECKS,
            accounts_checked=accounts_n,
            findings=tuple(findings),
        )
        with reg.transaction():
            audit_mod._store_run(
                reg,
                run,
                Gathered(profiles=profiles, searched={Platform.X}),
                [],
                audit_mod.AuditOptions(),
                previous,
            )
        previous = audit_mod.current_ledger(reg)
        sizes.append(_size(where))
    reg.close()
    return sizes


def _size(where: Path) -> int:
    import sqlite3

    con = sqlite3.connect(where)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return sum(p.stat().st_size for p in where.parent.glob(where.name + "*"))


# The command, then its own peak RSS on stderr (the children's rusage keeps the maximum of all of them).
_CHILD = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: sys.stderr.write('\\nMAXRSS %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
    "sys.argv[0] = 'auditor'\n"
    "from auditor.cli import main\n"
    "main()\n"
)


def time_command(where: Path, passfile: Path, tmp: Path, args: tuple[str, ...]) -> dict[str, float]:
    argv = [
        sys.executable,
        "-c",
        _CHILD,
        "--registry",
        str(where),
        "--passphrase-file",
        str(passfile),
        *(a.replace("{tmp}", str(tmp)) for a in args),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=dict(os.environ))
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return {
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "rss_mb": int(done.stderr.rsplit("MAXRSS ", 1)[-1].split()[0]) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--churn", type=int, default=20)
    parser.add_argument("--commands", action="store_true", help="time the CLI commands afterwards")
    args = parser.parse_args()
    print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp_text:
        tmp = Path(tmp_text)
        where = tmp / "registry.db"
        t0 = time.perf_counter()
        sizes = build(where, args.accounts, args.runs, args.churn)
        print(f"built {args.runs} runs at {args.accounts} accounts in {time.perf_counter() - t0:.1f} s")
        for n, size in enumerate(sizes):
            added = size - sizes[n - 1] if n else size
            print(f"  after run {n + 1:3d}: registry {size / 1e6:8.2f} MB  (+{added / 1e3:9.1f} KB)")
        if len(sizes) > 2:
            steady = (sizes[-1] - sizes[1]) / (len(sizes) - 2)
            print(f"bytes per nightly run after the first two: {steady / 1e3:.1f} KB")
        if not args.commands:
            return
        passfile = tmp / "pass"
        passfile.write_text(PASSPHRASE + "\n")
        passfile.chmod(0o600)
        os.environ["AUDITOR_IDENTITY"] = "bench"
        for label, argv in COMMANDS:
            f: dict[str, Any] = time_command(where, passfile, tmp, argv)
            print(
                f"{label:34s} wall {f['wall']:6.2f} s  cpu {f['cpu']:6.2f} s  peak RSS {f['rss_mb']:6.0f} MB"
            )


if __name__ == "__main__":
    main()
