"""Build the protected-name list from the inventory and the policy's protected roles.

A bare role word ("superintendent", "board") is a common word: protecting it alone would flag
every superintendent in the country. What the Naperville 203 guideline forbids is a name that
claims *this district's* official ("@TheReal203Superintendent"), so each role is protected in
combination with each district token ("203", "d203", "naperville203"), in both orders; affix and
containment tiers then catch `TheReal203Superintendent` and `superintendent_d203`.
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.engine.impersonation.scoring import ProtectedKind, ProtectedName
from auditor.model.types import Account, AccountStatus


def role_names(district_tokens: Iterable[str], roles: Iterable[str]) -> list[ProtectedName]:
    """`{token}{role}` and `{role}{token}` for every pair, labelled with the role they protect."""
    out: list[ProtectedName] = []
    seen: set[str] = set()
    tokens = [t.strip() for t in district_tokens if t.strip()]
    for role in (r.strip() for r in roles):
        if not role:
            continue
        compact_role = "".join(role.split())
        for token in tokens:
            compact = "".join(token.split())
            for name in (compact + compact_role, compact_role + compact):
                if name.casefold() not in seen:
                    seen.add(name.casefold())
                    label = f"the {role} of {token} (protected role)"
                    out.append(ProtectedName(name, kind=ProtectedKind.ROLE, label=label))
    return out


def inventory_names(accounts: Iterable[Account]) -> list[ProtectedName]:
    """One protected name per live inventory account (retired accounts protect nothing)."""
    out: list[ProtectedName] = []
    for account in accounts:
        if account.status is AccountStatus.RETIRED:
            continue
        out.append(ProtectedName(account.handle, platform=account.platform))
    return out
