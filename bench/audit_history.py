"""Benchmark: what an audit pays for history after years of nightly runs.

Run `python bench/audit_history.py` (`--runs N`, `--findings N`, `--accounts N` to resize). It stores
N synthetic runs (default 1,100: three years of nightly audits) of a district, each with its
findings and the profiles it read, in a real SQLite registry, then times what the next audit reads
before it starts (`read_snapshot`: the stored ledger, one record) against folding every stored run
(what the audit did before the ledger record, and what `audit history` and reports' trends still
read on demand).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1100)
    parser.add_argument("--findings", type=int, default=60)
    parser.add_argument("--accounts", type=int, default=150)
    args = parser.parse_args()

    from auditor.engine.ledger import advance_ledger, ledger
    from auditor.engine.policy import dump_preset
    from auditor.model.types import (
        AuditRun,
        Finding,
        FindingState,
        Platform,
        Profile,
        ProfileStatus,
        Secret,
        Severity,
    )
    from auditor.services.audit import load_runs, read_snapshot
    from auditor.services.policy import save_policy
    from vault.backends.sqlite import SQLiteBackend
    from vault.registry import INVENTORY, Registry
    from vault.stores.audits import LEDGER_FORMAT, LEDGER_ID, LEDGER_KIND, RUN_FORMAT, RUN_KIND

    with tempfile.TemporaryDirectory() as tmp:
        reg = Registry.create(
            SQLiteBackend(Path(tmp) / "r.db"), "admin", Secret("bench passphrase"), kdf_profile="floor"
        )
        save_policy(reg, dump_preset("naperville-203"), "preset")
        start = datetime(2023, 11, 1, 2, 0, tzinfo=UTC)
        checks = ("escrow.missing", "affiliation.missing", "profile.inactive", "training.lapsed")
        profiles = {
            f"a_{i:06d}": Profile(
                platform=Platform.X,
                handle=f"school{i}",
                status=ProfileStatus.FOUND,
                display_name=f"School {i}",
                bio="Official account of a school of Naperville 203. " * 3,
            ).to_dict()
            for i in range(args.accounts)
        }
        t0 = time.perf_counter()
        state: list[Finding] = []
        rows = []
        for n in range(args.runs):
            findings = tuple(
                Finding(
                    check_id=checks[i % len(checks)],
                    severity=Severity.MEDIUM,
                    subject=f"account:a_{i:06d}",
                    message=f"X account @school{i} has a problem number {i}.",
                    account_id=f"a_{i:06d}",
                    platform=Platform.X,
                    clauses=("N203-SECURITY",),
                    state=FindingState.OPEN,
                )
                for i in range((n * 7) % 13, (n * 7) % 13 + args.findings)
            )
            run = AuditRun(
                id=f"run-{n:06d}", started_at=start + timedelta(days=n), checks=checks, findings=findings
            )
            data = {"format": RUN_FORMAT, "run": run.to_dict(), "profiles": profiles, "notes": []}
            rows.append(reg.seal_row(RUN_KIND, run.id, 1, data, None, INVENTORY))
            state = advance_ledger(state, run)
        reg.put_rows(rows)
        reg.put(
            LEDGER_KIND,
            LEDGER_ID,
            {"format": LEDGER_FORMAT, "after_run": run.id, "findings": [f.to_dict() for f in state]},
            expected_version=None,
        )
        print(
            f"stored {args.runs} runs x {args.findings} findings, {args.accounts} profiles each "
            f"in {time.perf_counter() - t0:.1f} s; registry {(Path(tmp) / 'r.db').stat().st_size / 1e6:.0f} MB"
        )

        t0 = time.perf_counter()
        snap = read_snapshot(reg)
        with_ledger = time.perf_counter() - t0
        t0 = time.perf_counter()
        folded = ledger(load_runs(reg))
        fold_all = time.perf_counter() - t0
        assert sorted(f.fingerprint for f in folded) == sorted(f.fingerprint for f in snap.previous)
        print(f"audit start (read_snapshot, stored ledger): {with_ledger * 1000:8.0f} ms")
        print(
            f"folding every stored run (before):          {fold_all * 1000:8.0f} ms  "
            f"({fold_all / max(with_ledger, 1e-9):.0f}x)"
        )
        reg.close()


if __name__ == "__main__":
    main()
