"""What a report reads, as one value: `ReportInput`, read from the registry by
auditor/services/reporting.py.

Every kind (reports/kinds/) is a pure function of a `ReportInput` plus the run, period, person and
clock it is asked for, so `reports` knows no registry, no vault and no network (the import-linter
contract "Reports know no vault and no network"). The snapshot is the audit's own
(auditor/engine/snapshot.py: policy, people, accounts, escrow metadata, rotation tasks, the ledger,
waivers), read under the inventory key only, so the nightly `auditor` identity can build every report
and none can see a secret. What a kind reads besides the snapshot it says in its `Kind.reads`, so
the service reads the stored runs or the reveal log only for the kinds that need them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from auditor.engine.policy.stored import StoredPolicy
from auditor.engine.snapshot import Snapshot
from auditor.model.log import Event, VerifyResult
from auditor.model.types import AuditRun, Finding


class Reads(enum.Enum):
    """What a kind reads besides the snapshot."""

    RUNS = "runs"  # every stored audit run (the findings of a run, trends)
    LOG = "log"  # the reveal log's events and the verification of its whole chain
    PERSON = "person"  # the person named by `--person`, resolved in the registry


@dataclass(frozen=True)
class ReportInput:
    """The registry as a report sees it. A part a kind does not read is None."""

    snapshot: Snapshot
    # Every stored run, oldest first (Reads.RUNS). Read from a registry they are headers only (no
    # findings: runs are stored by change, issue 17) and `ledger_after(i)` gives the ledger as run i
    # left it, `tallies[i]` its summary counts ("states", "open_after" by severity); without them
    # the runs carry their findings and a kind folds them.
    runs: tuple[AuditRun, ...] | None = None
    tallies: tuple[Mapping[str, Mapping[str, int]], ...] | None = None
    ledger_after: Callable[[int], Sequence[Finding]] | None = None
    events: tuple[Event, ...] | None = None  # the reveal log's readable events, in order (Reads.LOG)
    log_check: VerifyResult | None = None  # the whole log chain verified (Reads.LOG)
    policy: StoredPolicy | None = None  # the policy in force as stored (evidence packs)
    registry_id: str = ""  # (evidence packs)
