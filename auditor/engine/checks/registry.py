"""The explicit registry of checks: permanent id -> class, and which checks a run selects.

Ids are permanent (waivers, history and old reports refer to them): rename a class freely, never an
id. A test asserts every id here is referenced by a preset's framework or flagged best practice, and
every id a preset references exists here.
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.engine.checks.affiliation import AffiliationMissing
from auditor.engine.checks.approval import (
    AgreementMissing,
    ApprovalExpiring,
    ApprovalLapsed,
    ApprovalMissing,
    TrainingLapsed,
)
from auditor.engine.checks.base import Check
from auditor.engine.checks.claims import AccountUnlisted, ImpersonationSuspected
from auditor.engine.checks.escrow import (
    EscrowMissing,
    EscrowNoSecondaryAdmin,
    EscrowRotationOverdue,
    EscrowRotationPending,
    EscrowStale,
)
from auditor.engine.checks.handle import ProfileHandleUnverified
from auditor.engine.checks.ownership import (
    ManagersNoAdultEmployee,
    OwnerDeparted,
    OwnerRoleChanged,
    StudentUnder13,
)
from auditor.engine.checks.platform import PlatformConditionUnmet, PlatformNotApproved
from auditor.engine.checks.profile import (
    ProfileInactive,
    ProfileNotFound,
    ProfileRenamed,
    ProfileSuspended,
    ProfileUnknown,
)
from auditor.engine.checks.settings import CommentsUnmonitored, LoginNonDistrictEmail, LoginTwoFactorOff
from auditor.engine.policy.model import Policy
from auditor.model.errors import UsageError

# The id the engine gives a check that crashed (not a check itself: nothing to register).
CHECK_ERROR_ID = "check.error"

CHECKS: dict[str, type[Check]] = {
    cls.id: cls
    for cls in (
        AffiliationMissing,
        ImpersonationSuspected,
        AccountUnlisted,
        OwnerDeparted,
        OwnerRoleChanged,
        ManagersNoAdultEmployee,
        StudentUnder13,
        ApprovalMissing,
        ApprovalExpiring,
        ApprovalLapsed,
        TrainingLapsed,
        AgreementMissing,
        EscrowMissing,
        EscrowNoSecondaryAdmin,
        EscrowStale,
        EscrowRotationPending,
        EscrowRotationOverdue,
        PlatformNotApproved,
        PlatformConditionUnmet,
        LoginNonDistrictEmail,
        LoginTwoFactorOff,
        CommentsUnmonitored,
        ProfileNotFound,
        ProfileSuspended,
        ProfileRenamed,
        ProfileHandleUnverified,
        ProfileInactive,
        ProfileUnknown,
    )
}


def get_check(check_id: str) -> Check:
    try:
        return CHECKS[check_id]()
    except KeyError:
        raise UsageError(
            f"unknown check {check_id!r}", hint="`auditor check list` shows every check id."
        ) from None


def expand_ids(patterns: Iterable[str]) -> list[str]:
    """Check ids from exact ids or families ("profile" or "profile.*" selects every profile check)."""
    out: list[str] = []
    for pattern in patterns:
        family = pattern[:-2] if pattern.endswith(".*") else pattern
        if pattern in CHECKS:
            matched = [pattern]
        else:
            matched = [cid for cid in CHECKS if cid.split(".", 1)[0] == family]
        if not matched:
            get_check(pattern)  # raises the UsageError naming it
        out.extend(m for m in matched if m not in out)
    return out


def default_check_ids(policy: Policy) -> list[str]:
    """What a policy asks for: framework references, `[checks] extra`, best practice (unless turned
    off), minus `[checks] disabled`; in registry order."""
    wanted = set(policy.framework.check_ids()) | set(policy.checks.extra)
    if policy.checks.best_practice:
        wanted |= {cid for cid, cls in CHECKS.items() if cls.best_practice}
    wanted -= set(policy.checks.disabled)
    return [cid for cid in CHECKS if cid in wanted]


def select_checks(policy: Policy, ids: Iterable[str] | None = None, *, offline: bool = False) -> list[Check]:
    """Check instances for a run: the given ids/families (or the policy's default set); `offline`
    drops those that need the network."""
    chosen = expand_ids(ids) if ids else default_check_ids(policy)
    checks = [CHECKS[cid]() for cid in chosen]
    if offline:
        checks = [c for c in checks if not c.needs_network]
    return checks
