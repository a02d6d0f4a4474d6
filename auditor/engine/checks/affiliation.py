"""Does the live profile say whose account it is?

Naperville 203 asks that an account "clearly state one's affiliation with and role at the school
district on the account profile" (Social Media Representation 3); Moline-Coal Valley asks to "Be open
about your affiliation with the school/District and the role/position you hold" (Guidelines 5). The
matcher here is shared with `account.unlisted`, which looks for the same statements on profiles
that are *not* in the inventory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from auditor.engine.checks.base import CheckContext, Coverage, ProfileCheck
from auditor.engine.policy.model import Policy
from auditor.model.types import Account, Finding, Profile, ProfileStatus, Severity


def _normalise(text: str) -> str:
    return " ".join(text.casefold().split())


def _contains(text: str, phrase: str) -> bool:
    """Whole-word, case-insensitive: "D203" must not match inside "ND2031"."""
    phrase = _normalise(phrase)
    if not phrase:
        return False
    return re.search(rf"(?<![0-9a-z]){re.escape(phrase)}(?![0-9a-z])", text) is not None


def _host(url: str) -> str:
    url = url.strip()
    if not url:
        return ""
    if "://" not in url:
        url = "https://" + url
    try:
        return (urlsplit(url).hostname or "").casefold()
    except ValueError:
        return ""


def affiliation_claims(profile: Profile, policy: Policy) -> list[str]:
    """What in the profile states the district affiliation: phrases found, district links, handle.

    Empty when nothing does. Domains count in links, in the text, and as a Bluesky handle on the
    district's own domain (which proves control of the domain).
    """
    text = _normalise(profile.text())
    found: list[str] = []
    for phrase in policy.affiliation_phrases():
        if _contains(text, phrase) and phrase not in found:
            found.append(phrase)
    domains = tuple(d.casefold() for d in (*policy.website_domains, *policy.email_domains))
    for link in (profile.website, *profile.links):
        host = _host(link)
        if host and any(host == d or host.endswith("." + d) for d in domains):
            entry = f"link to {host}"
            if entry not in found:
                found.append(entry)
    handle = (profile.platform_handle or profile.handle).casefold().lstrip("@")
    if profile.platform.info.handle_is_domain and any(handle.endswith("." + d) for d in domains):
        found.append(f"handle on {handle.split('.', 1)[1]}")
    return found


def role_stated(profile: Profile, policy: Policy, owner_role: str) -> bool:
    text = _normalise(profile.text())
    phrases = [*policy.affiliation.role_phrases]
    if owner_role.strip():
        phrases.append(owner_role)
    return any(_contains(text, p) for p in phrases)


class AffiliationMissing(ProfileCheck):
    id = "affiliation.missing"
    title = "Every account's profile states its affiliation with the district (and its role, where required)"
    severity = Severity.MEDIUM
    risk = "Followers cannot tell an official account from a fan page or an impostor."
    remediation = (
        "Edit the profile on the platform so its name or bio names the district or school and the "
        "account's role, then re-check with `auditor audit --check affiliation.missing`."
    )

    def applies_to_profile(self, ctx: CheckContext, account: Account, profile: Profile) -> Coverage:
        # A vanished or suspended profile has nothing to read: profile.not_found and
        # profile.suspended report those.
        if profile.status in (ProfileStatus.NOT_FOUND, ProfileStatus.SUSPENDED, ProfileStatus.DEACTIVATED):
            return Coverage.NOT_APPLICABLE
        return Coverage.APPLIES

    def check_profile(self, ctx: CheckContext, account: Account, profile: Profile) -> Iterable[Finding]:
        policy = ctx.policy
        claims = affiliation_claims(profile, policy)
        if not claims:
            yield self.finding(
                ctx,
                f"{account.label} does not state its affiliation with {policy.name} in its profile.",
                account=account,
            )
            return
        if not policy.affiliation.require_role:
            return
        owner = ctx.person(account.owner_id)
        if not role_stated(profile, policy, owner.role if owner else ""):
            yield self.finding(
                ctx,
                f"{account.label} states its affiliation with {policy.name} but not its role in its profile.",
                account=account,
                severity=Severity.LOW,
                evidence={"affiliation": claims},
            )
