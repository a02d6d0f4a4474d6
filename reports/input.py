"""What a report reads, as one value: `ReportInput`, read from the registry by
auditor/services/reporting.py.

Every kind (reports/kinds/) is a pure function of a `ReportInput` plus the run, period, person and
clock it is asked for, so `reports` knows no registry, no vault and no network (the import-linter
contract "Reports know no vault and no network"). The snapshot is the audit's own
(auditor/engine/snapshot.py: policy, people, accounts, escrow metadata, rotation tasks, the ledger,
waivers), read under the inventory key only, so the nightly `auditor` identity can build every report
and none can see a secret. What a kind reads besides the snapshot it says in its `Kind.reads`, so
the service reads the stored runs or the reveal log only for the kinds that need them.

Identities (`Reads.IDENTITIES`) come as `IdentityInfo`, the report's own view of a vault identity
(name, role, email, when and by whom it was made) with the escrow scopes it can reveal through
(`Grant`): today one key opens every credential, so an admin's one grant is `DISTRICT`; when escrow is
scoped per building (issue 19) the service fills a grant per scope and the kinds need no change.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from auditor.engine.policy.stored import StoredPolicy
from auditor.engine.snapshot import Snapshot
from auditor.model.log import Event, VerifyResult
from auditor.model.types import DISTRICT_SCOPE, AuditRun, Finding, Role, escrow_scope

# A district-wide grant (a district administrator's, the break-glass set's) reaches every scope.
EVERY = "every scope"
# The scope of an account with no building (vault/scopes.py `scope_name`).
DISTRICT = DISTRICT_SCOPE
scope_of = escrow_scope  # the escrow scope of an account in a building: the building, or `district`


class Reads(enum.Enum):
    """What a kind reads besides the snapshot."""

    RUNS = "runs"  # every stored audit run (the findings of a run, trends)
    LOG = "log"  # the reveal log's events and the verification of its whole chain
    PERSON = "person"  # the person named by `--person`, resolved in the registry
    IDENTITIES = "identities"  # every identity and the break-glass set (who can reveal what)


@dataclass(frozen=True)
class Grant:
    """Reveal access to the credentials of one escrow scope: through which scope, since when, given
    by whom. Today an identity's only grant is its role's, made when the identity was created."""

    scope: str  # EVERY, or one scope: a building's, or DISTRICT
    granted_at: datetime | None
    granted_by: str  # the identity that made it; "" for the registry's first administrator

    def reaches(self, scope: str) -> bool:
        """The grant opens the credentials of an account in `scope`."""
        return self.scope == EVERY or self.scope.casefold() == scope.casefold()


@dataclass(frozen=True)
class IdentityInfo:
    """An identity as reports see it (never a key): `vault.registry.Identity` plus its grants."""

    name: str
    role: Role
    email: str
    created_at: datetime | None
    created_by: str
    grants: tuple[Grant, ...] = ()  # () for an identity that holds no escrow key (role auditor)


@dataclass(frozen=True)
class BreakGlassSet:
    """The current break-glass set's public metadata: K of N shares open every escrow key it wraps."""

    set_id: int
    layout: str  # "3 of 5 shares", "2 of 3 groups (IT: 2 of 3, ...)"
    created_at: datetime | None
    scopes: tuple[str, ...] = (EVERY,)


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
    # Every identity, by name (Reads.IDENTITIES), and the break-glass set, None when there is none.
    identities: tuple[IdentityInfo, ...] | None = None
    breakglass: BreakGlassSet | None = None
    policy: StoredPolicy | None = None  # the policy in force as stored (evidence packs)
    registry_id: str = ""  # (evidence packs)
