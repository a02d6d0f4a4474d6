"""Benchmark: what the commands cost as the inventory and its history grow (issue 17).

    python bench/scale.py                        # 1,000 and 10,000 accounts, 3 runs (a few minutes)
    python bench/scale.py --full                 # adds 100,000 accounts
    python bench/scale.py --sizes 10000 --runs 365   # the issue's simulated year at 10k
    python bench/scale.py --keep /tmp/scale          # and keep the registries to look at after

For each size it builds a real SQLite registry: the naperville-203 preset, one person per 20
accounts (at least 200; some departed, some with lapsed training), and the accounts spread over
six platforms with a mix of approvals, two-factor, login emails and comment monitors, so the
offline checks find what a district's would (about three findings per account). Then it stores
`--runs` nightly runs: all but the last by the service call `auditor audit --offline` makes
(`auditor.services.audit.run_audit` with `AuditOptions(offline=True)`, `now` advanced a day each
run, `--churn` accounts edited between runs), the last by the real command in a child process,
timed. After each run it prints the registry's size and the bytes that run added.

Then it runs the commands a district runs through the real CLI (bench/benchlib.py: the venv's
`auditor`, the registry and passphrase file given through AUDITOR_REGISTRY and
AUDITOR_PASSPHRASE_FILE), each in a child process with its wall time, CPU time and peak RSS
(`os.wait4` of that child): `audit --offline` (the last nightly run), `account list --format json`,
`report findings --format html`, `report inventory --format xlsx`, `audit history`, `finding list`
and `registry check`. `report findings --format html` and `audit history` are also timed after the
first night, to show whether history slows them. Between sizes it prints the growth exponent of
each command's time and peak RSS (log(t2/t1) / log(n2/n1): 1.0 is linear), and at the end the
issue's targets, each met or MISSED, with the machine's load. The key derivation (Argon2id unlock,
`--kdf`, default `floor` to keep the bench quick) is measured apart and subtracted where a target
says "beyond the key derivation".

It drives only interfaces that exist before and after runs are stored by change (run_audit, the
inventory store, the CLI), so it measures whatever storage the checkout has.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import Cli, Run, machine

from auditor.engine.policy import dump_preset
from auditor.model.types import Account, Approval, Person, PersonStatus, Platform, Purpose, Secret
from auditor.services.audit import AuditOptions, run_audit
from auditor.services.policy import save_policy
from vault.backends.sqlite import SQLiteBackend
from vault.registry import Registry
from vault.stores.inventory import Inventory

PASSPHRASE = "bench passphrase for scale"  # noqa: S105 (a throwaway registry)
ADMIN = "bench"
PLATFORMS = [
    Platform.X,
    Platform.INSTAGRAM,
    Platform.FACEBOOK,
    Platform.YOUTUBE,
    Platform.BLUESKY,
    Platform.MASTODON,
]
PURPOSES = [Purpose.SCHOOL, Purpose.ATHLETICS, Purpose.ACTIVITY, Purpose.CLASSROOM, Purpose.DEPARTMENT]

# (label, argv, counts as a report for the 10k target, unlocks the registry)
COMMANDS: list[tuple[str, tuple[str, ...]]] = [
    ("account list --format json", ("account", "list", "--format", "json")),
    (
        "report findings --format html",
        ("report", "findings", "--format", "html", "-o", "{tmp}/findings.html", "--force"),
    ),
    (
        "report inventory --format xlsx",
        ("report", "inventory", "--format", "xlsx", "-o", "{tmp}/inventory.xlsx", "--force"),
    ),
    ("audit history", ("audit", "history")),
    ("finding list", ("finding", "list")),
    ("registry check", ("registry", "check")),
]
FIRST_NIGHT = ("report findings --format html", "audit history")
AUDIT = "audit --offline"
# The 10k targets cover "every report, audit history and finding list".
READERS = ("report findings --format html", "report inventory --format xlsx", "audit history", "finding list")


@dataclass
class SizeResult:
    accounts: int
    findings: int = 0
    sizes: list[int] = field(default_factory=list)  # registry bytes after each run
    build_s: float = 0.0
    kdf_s: float = 0.0
    runs: dict[str, Run] = field(default_factory=dict)
    first_night: dict[str, Run] = field(default_factory=dict)

    def added_per_run(self) -> float:
        """Bytes a nightly run adds once the first runs are in (the median of the later ones)."""
        steps = [b - a for a, b in itertools.pairwise(self.sizes)]
        later = steps[1:] or steps
        return sorted(later)[len(later) // 2] if later else 0.0


# --------------------------------------------------------------------------------------------------
# Building


def registry_bytes(where: Path) -> int:
    """The bytes the database holds once its write-ahead log is folded in: (page count - free pages)
    x page size, read from a connection of its own (the file itself only grows: SQLite reuses the
    pages a replaced record frees, and a checkpoint cannot truncate the log while the registry is
    open)."""
    con = sqlite3.connect(where)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (pages,) = con.execute("PRAGMA page_count").fetchone()
        (free,) = con.execute("PRAGMA freelist_count").fetchone()
        (size,) = con.execute("PRAGMA page_size").fetchone()
    finally:
        con.close()
    return (int(pages) - int(free)) * int(size)


def build(where: Path, n: int, kdf: str, today: date) -> Registry:
    reg = Registry.create(SQLiteBackend(str(where)), ADMIN, Secret(PASSPHRASE), kdf_profile=kdf)
    save_policy(reg, dump_preset("naperville-203"), "preset")
    inv = Inventory(reg)
    n_people = max(200, n // 20)
    people = [
        Person(
            id="",
            name=f"Staff {i}",
            email=f"staff{i}@naperville203.org",
            role="Teacher" if i % 10 else "Principal",
            building=f"Building {i % 40}",
            status=PersonStatus.DEPARTED if i % 97 == 0 else PersonStatus.ACTIVE,
            departed_on=today - timedelta(days=30) if i % 97 == 0 else None,
            training_completed_on=today - timedelta(days=200 if i % 3 else 500),
            procedure_signed_on=today - timedelta(days=200),
            aup_signed_on=today - timedelta(days=200) if i % 5 else None,
        )
        for i in range(n_people)
    ]
    with reg.transaction():
        inv.upsert_people(people)
    ids = [p.id for p in sorted(inv.people(), key=lambda p: int(p.name.split()[1]))]
    accounts = []
    for i in range(n):
        platform = PLATFORMS[i % len(PLATFORMS)]
        handle = f"school_{i:06d}" + ("@k12.social" if platform is Platform.MASTODON else "")
        if platform is Platform.BLUESKY:
            handle = f"school-{i:06d}.bsky.social"
        accounts.append(
            Account(
                id="",
                platform=platform,
                handle=handle,
                display_name=f"School {i}",
                building=f"Building {i % 40}",
                purpose=PURPOSES[i % len(PURPOSES)],
                owner_id=ids[i % len(ids)],
                co_manager_ids=(ids[(i + 7) % len(ids)],) if i % 4 == 0 else (),
                login_email=f"social{i}@naperville203.org" if i % 6 else f"school{i}@gmail.com",
                two_factor=None if i % 7 == 0 else i % 2 == 0,
                public_comments=i % 3 == 0,
                comment_monitor_ids=(ids[i % len(ids)],) if i % 9 == 0 else (),
                approval=Approval(approved_on=today - timedelta(days=100), approved_by="Principal")
                if i % 3
                else Approval(),
            )
        )
    with reg.transaction():
        inv.upsert_accounts(accounts)
    return reg


def churn(reg: Registry, night: int, count: int) -> None:
    """`count` accounts change a little between nights (a note, two-factor turned on)."""
    if count <= 0:
        return
    inv = Inventory(reg)
    accounts = inv.accounts()
    picked = [accounts[(night * 7919 + k * 104729) % len(accounts)] for k in range(count)]
    with reg.transaction():
        for a in {a.id: a for a in picked}.values():
            inv.save_account(replace(a, notes=f"reviewed night {night}", two_factor=True))


def key_derivation_seconds(where: Path) -> float:
    reg = Registry.open(SQLiteBackend(str(where)))
    try:
        t0 = time.perf_counter()
        reg.unlock(None, Secret(PASSPHRASE))
        return time.perf_counter() - t0
    finally:
        reg.close()


# --------------------------------------------------------------------------------------------------
# Measuring


def succeeded(run: Run) -> bool:
    return run.exit_code in (0, 3)  # 3: the audit found something at or above --fail-on


def command(cli: Cli, tmp: Path, argv: tuple[str, ...], label: str) -> Run:
    """One command, its figures printed at once (a later failure keeps them); a failure is printed
    and kept (its targets are MISSED), and the benchmark goes on."""
    run = cli(*(a.replace("{tmp}", str(tmp)) for a in argv), check=False)
    if succeeded(run):
        print(f"    {label:32}{run.wall:8.2f} s wall{run.cpu:8.2f} s CPU{run.peak_mb:7.0f} MB peak")
    else:
        lines = run.stderr.decode(errors="replace").strip().splitlines() or ["(no output)"]
        print(f"    {label:32}FAILED, exit {run.exit_code}: {lines[-1][:160]}")
        run.wall = run.cpu = run.peak_mb = math.nan  # every target on it is MISSED
    return run


def measure(n: int, runs: int, churn_n: int, kdf: str, log: bool, keep: str = "") -> SizeResult:
    result = SizeResult(n)
    now = datetime.now(UTC).replace(microsecond=0)
    first = now - timedelta(days=runs - 1)
    if keep:  # the registry stays for a later look (`--keep DIR`): DIR/<n>/registry.db, bench.pass
        (Path(keep) / str(n)).mkdir(parents=True, exist_ok=False)
    kept: contextlib.AbstractContextManager[str] = (
        contextlib.nullcontext(str(Path(keep) / str(n))) if keep else tempfile.TemporaryDirectory()
    )
    with kept as tmp_text:
        tmp = Path(tmp_text)
        where = tmp / "registry.db"
        t0 = time.perf_counter()
        reg = build(where, n, kdf, now.date())
        result.build_s = time.perf_counter() - t0
        print(
            f"  built {n} accounts in {result.build_s:.1f} s; registry {registry_bytes(where) / 1e6:.2f} MB"
        )
        cli = Cli(str(where), PASSPHRASE, tmp, kdf_profile=kdf)
        t0 = time.perf_counter()
        try:
            for night in range(runs - 1):
                if night:
                    churn(reg, night, churn_n)
                outcome = run_audit(reg, AuditOptions(offline=True), now=first + timedelta(days=night))
                result.findings = len(outcome.run.findings)
                result.sizes.append(registry_bytes(where))
                if night == 0:
                    reg.close()
                    for label, argv in COMMANDS:
                        if label in FIRST_NIGHT:
                            result.first_night[label] = command(cli, tmp, argv, label + " (night 1)")
                    reg = Registry.open(SQLiteBackend(str(where)))
                    reg.unlock(None, Secret(PASSPHRASE))
                if log or night < 2 or night == runs - 2:
                    added = result.sizes[-1] - (result.sizes[-2] if len(result.sizes) > 1 else 0)
                    print(f"  run {night + 1:4d} (service call): registry {result.sizes[-1] / 1e6:9.2f} MB"
                          f"  (+{added / 1e6:.3f} MB), {result.findings} findings")  # fmt: skip
                elif night == 2:
                    print("  ...")
            if runs > 1:
                churn(reg, runs - 1, churn_n)
        finally:
            reg.close()
        if runs > 1:
            print(f"  {runs - 1} runs by the service call in {time.perf_counter() - t0:.1f} s")
        # The last night through the real command, then the readers.
        result.runs[AUDIT] = command(cli, tmp, ("audit", "--offline"), AUDIT)
        result.sizes.append(registry_bytes(where))
        added = result.sizes[-1] - (result.sizes[-2] if len(result.sizes) > 1 else 0)
        print(f"  run {runs:4d} (auditor audit --offline): registry {result.sizes[-1] / 1e6:9.2f} MB"
              f"  (+{added / 1e6:.3f} MB)")  # fmt: skip
        if runs == 1 and "report findings --format html" not in result.first_night:
            for label, argv in COMMANDS:
                if label in FIRST_NIGHT:
                    result.first_night[label] = command(cli, tmp, argv, label + " (night 1)")
        for label, argv in COMMANDS:
            result.runs[label] = command(cli, tmp, argv, label)
        result.kdf_s = key_derivation_seconds(where)
    print(f"  key derivation (unlock, in-process, {kdf} profile): {result.kdf_s:.3f} s")
    print(f"  {'command':34}{'wall s':>8}{'CPU s':>8}{'peak MB':>9}")
    for label, r in [*result.runs.items(), *((k + " (night 1)", v) for k, v in result.first_night.items())]:
        figures = (
            f"{r.wall:8.2f}{r.cpu:8.2f}{r.peak_mb:9.0f}" if succeeded(r) else f"  FAILED (exit {r.exit_code})"
        )
        print(f"  {label:34}{figures}")
    print(
        f"  bytes added per nightly run (median after the first two): {result.added_per_run() / 1e6:.3f} MB"
    )
    return result


def by_cpu(cpu: float, limit: float, memory_ok: bool) -> str:
    """The verdict by CPU time, which the machine's load hardly changes (wall time is judged above)."""
    return f"CPU {cpu:.2f} s: {'met' if cpu < limit and memory_ok else 'MISSED'} by CPU time"


def _nan_last(item: tuple[float, str]) -> float:
    """Sort key: an exponent that could not be computed (a failed command) counts as the worst."""
    return math.inf if math.isnan(item[0]) else item[0]


def exponent(a: float, b: float, n_a: int, n_b: int) -> float:
    if not (a > 0 and b > 0):  # also a failed command (its figures are NaN)
        return float("nan")
    if a <= 0 or b <= 0 or n_a == n_b:
        return float("nan")
    return math.log(b / a) / math.log(n_b / n_a)


# --------------------------------------------------------------------------------------------------


def targets(results: dict[int, SizeResult], runs: int) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for the issue's targets that these sizes can speak to (None: n/a)."""
    out: list[tuple[str, str, bool | None]] = []
    if 10_000 in results:
        r = results[10_000]
        added = r.added_per_run()
        out.append(("10k: a nightly run adds at most 1 MB", f"{added / 1e6:.3f} MB per run", added <= 1e6))
        note = "" if runs >= 365 else f" (measured after {runs} runs; the target is after 365: --runs 365)"
        for label in READERS:
            c = r.runs[label]
            out.append((f"10k: {label} under 2 s and 300 MB{note}",
                        f"{c.wall:.2f} s, {c.peak_mb:.0f} MB; {by_cpu(c.cpu, 2, c.peak_mb < 300)}",
                        c.wall < 2 and c.peak_mb < 300))  # fmt: skip
        if runs >= 365:
            size = r.sizes[-1]
            out.append(("10k after 365 runs: registry under 1 GB", f"{size / 1e9:.2f} GB", size < 1e9))
        for label, first in r.first_night.items():
            last = r.runs[label]
            # CPU time: the two are minutes apart, and wall time then mostly compares the load.
            out.append((f"10k: {label} as fast after {runs} runs as on the first night (CPU time within 1.2x)",
                        f"CPU {last.cpu:.2f} s vs {first.cpu:.2f} s (wall {last.wall:.2f} vs {first.wall:.2f} s)",
                        last.cpu <= 1.2 * first.cpu))  # fmt: skip
    if 100_000 in results:
        r = results[100_000]
        a = r.runs[AUDIT]
        out.append(("100k: audit --offline under 20 s and 1 GB",
                    f"{a.wall:.2f} s, {a.peak_mb:.0f} MB; {by_cpu(a.cpu, 20, a.peak_mb < 1024)}",
                    a.wall < 20 and a.peak_mb < 1024))  # fmt: skip
        listing = r.runs["account list --format json"]
        beyond = listing.wall - r.kdf_s
        out.append(("100k: open + list under 3 s beyond the key derivation",
                    f"{beyond:.2f} s (+ KDF {r.kdf_s:.2f} s); {by_cpu(listing.cpu - r.kdf_s, 3, True)}",
                    beyond < 3))  # fmt: skip
        if 10_000 in results:
            small = results[10_000]
            # CPU time: wall time between two sizes measured minutes apart mostly measures the load.
            worst = max(((exponent(small.runs[k].cpu, r.runs[k].cpu, 10_000, 100_000), k) for k in r.runs),
                        key=_nan_last)  # fmt: skip
            out.append(("100k: growth exponents (CPU time) at most 1.05 from 10k",
                        f"worst {worst[0]:.2f} ({worst[1]})", worst[0] <= 1.05))  # fmt: skip
            worst_m = max(((exponent(small.runs[k].peak_mb, r.runs[k].peak_mb, 10_000, 100_000), k) for k in r.runs),
                          key=_nan_last)  # fmt: skip
            out.append(("100k: growth exponents (peak RSS) at most 1.05 from 10k",
                        f"worst {worst_m[0]:.2f} ({worst_m[1]})", worst_m[0] <= 1.05))  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="", help="comma-separated account counts (default 1000,10000)")
    parser.add_argument("--full", action="store_true", help="also 100,000 accounts")
    parser.add_argument(
        "--runs", type=int, default=3, help="nightly runs stored before the commands are timed"
    )
    parser.add_argument("--churn", type=int, default=20, help="accounts edited between nights")
    parser.add_argument("--kdf", default="floor", choices=["default", "floor"], help="Argon2id profile")
    parser.add_argument(
        "--keep", default="", metavar="DIR", help="keep each registry in DIR/<size>/ (a new directory)"
    )
    parser.add_argument("--log", action="store_true", help="print the registry size after every run")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()] or [1000, 10_000]
    if args.full and 100_000 not in sizes:
        sizes.append(100_000)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    print(f"machine: {machine()}")
    print(
        f"python {sys.version.split()[0]}; sizes {sizes}; {args.runs} runs; churn {args.churn}; kdf {args.kdf}"
    )
    results: dict[int, SizeResult] = {}
    for n in sorted(sizes):
        print(f"\n{n} accounts")
        results[n] = measure(n, args.runs, args.churn, args.kdf, args.log, args.keep)
        print(f"  machine: {machine()}")

    ordered = sorted(results)
    if len(ordered) > 1:
        print("\ngrowth exponents (log(t2/t1) / log(n2/n1); 1.0 is linear): CPU time / wall time / peak RSS")
        print("  (each includes the fixed start-up, ~1 s of CPU, which pulls small sizes' exponents down)")
        labels = list(results[ordered[0]].runs)
        header = "".join(f"{f'{a // 1000}k->{b // 1000}k':>20}" for a, b in itertools.pairwise(ordered))
        print(f"  {'command':34}{header}")
        for label in labels:
            cells = ""
            for a, b in itertools.pairwise(ordered):
                ra, rb = results[a].runs[label], results[b].runs[label]
                cells += (
                    f"{exponent(ra.cpu, rb.cpu, a, b):6.2f} /{exponent(ra.wall, rb.wall, a, b):5.2f}"
                    f" /{exponent(ra.peak_mb, rb.peak_mb, a, b):5.2f}"
                )
            print(f"  {label:34}{cells}")
        cells = "".join(
            f"{exponent(results[a].added_per_run(), results[b].added_per_run(), a, b):20.2f}"
            for a, b in itertools.pairwise(ordered)
        )
        print(f"  {'bytes added per run':34}{cells}")

    print("\ntargets (issue 17)")
    checked = targets(results, args.runs)
    for name, measured, met in checked:
        print(f"  {'met   ' if met else 'MISSED'}  {name}: {measured}")
    if not checked:
        print("  none of the targets' sizes (10,000 / 100,000) was measured")
    print(f"\nmachine after: {machine()}")
    return 0 if checked and all(m for _, _, m in checked) else 1


if __name__ == "__main__":
    sys.exit(main())
