"""Whole-policy validation: what needs the policy and the check catalogue together.

It sits beside `policy/` and `checks/`, not inside either: checks read the policy model, and the
policy package knows no check (so the two never import each other).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from auditor.engine.checks.registry import CHECKS
from auditor.engine.policy.loader import load_policy
from auditor.engine.policy.model import Policy
from auditor.model.errors import PolicyError


def validate(policy: Policy, known_checks: Iterable[str] | None = None) -> list[str]:
    """Problems that need the whole policy in view; an empty list means the policy is usable.

    `known_checks` defaults to the check registry.
    """
    if known_checks is None:
        known_checks = CHECKS
    known = set(known_checks)
    problems: list[str] = []
    if not policy.email_domains:
        problems.append(
            "district.email_domains is empty: login.non_district_email cannot tell district addresses"
        )
    for label, ids in (
        ("buildings", [b.id for b in policy.buildings]),
        ("protected.roles", [p.id for p in policy.protected_roles]),
        ("framework.requirements", [q.id for q in policy.framework.requirements]),
        ("platforms", [p.platform.value for p in policy.platforms]),
    ):
        for dup in sorted(i for i, n in Counter(ids).items() if n > 1):
            problems.append(f"{label}: id {dup!r} is used more than once")
    building_ids = {b.id for b in policy.buildings}
    for role in policy.protected_roles:
        if role.building and role.building not in building_ids:
            problems.append(
                f"protected.roles {role.id!r}: building {role.building!r} is not in [[buildings]]"
            )
    for q in policy.framework.requirements:
        if not q.checks:
            problems.append(f"framework requirement {q.id!r} names no checks")
        for c in q.checks:
            if c not in known:
                problems.append(f"framework requirement {q.id!r} names unknown check {c!r}")
    for c in (*policy.checks.extra, *policy.checks.disabled):
        if c not in known:
            problems.append(f"checks: unknown check {c!r}")
    for entry in policy.allowlist:
        if not entry.reason.strip():
            problems.append(f"allowlist {entry.platform.value}:{entry.handle}: give a reason")
    referenced = set(policy.framework.check_ids())
    if "platform.condition_unmet" in referenced and not any(
        r.allowed_purposes or r.requires for r in policy.platforms
    ):
        problems.append("platform.condition_unmet is referenced but no platform has conditions")
    if "agreement.missing" in referenced and not policy.agreement.required:
        problems.append("agreement.missing is referenced but agreement.required is empty")
    if "training.lapsed" in referenced and policy.renewal.training is None:
        problems.append("training.lapsed is referenced but renewal.training is not set")
    return problems


def policy_problems(source: str | Path, *, origin: str = "") -> list[str]:
    """Every problem in a policy, for `auditor policy check`: load errors (all of them, with line and
    key) or, when it loads, what `validate` finds. An empty list means the policy is usable."""
    try:
        policy = load_policy(source, origin=origin)
    except PolicyError as exc:
        return list(getattr(exc, "problems", None) or [exc.message])
    return validate(policy)
