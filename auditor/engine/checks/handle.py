"""Handles the platform no longer vouches for: `profile.handle_unverified`.

Bluesky handles are domain names, verified both ways: the account's DID document names the handle,
and the domain names the DID (a `_atproto` DNS TXT record or `/.well-known/atproto-did`). When the
domain side lapses (the domain expired, a DNS change dropped the record) the AppView shows the
account as `handle.invalid`; the connector reports the account FOUND under the handle it was known
by with `handle_unverified` set (connectors/platforms/bluesky.py). It is not a rename: the account
is unchanged, but its public name is broken, and whoever controls that domain next can point the
handle at an account of their own. Under a district domain that is a takeover of the district's
name (severity high); elsewhere it is a broken official name (medium).
Policy grounds, as for `profile.renamed`: Naperville 203 shares "names of sites" with administration
for continuity (Site Security); Moline-Coal Valley approves each account as requested (Social Media
Account Approval Guidelines and Process, item 1).
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.engine.checks.base import CheckContext, Coverage, ProfileCheck
from auditor.model.types import Account, Finding, Profile, Severity, display_handle, normalise_handle


def _district_domain(ctx: CheckContext, handle: str) -> str:
    """The district domain `handle` sits under ('' when none): the handle is that domain's name."""
    name = normalise_handle(handle)
    for domain in (*ctx.policy.website_domains, *ctx.policy.email_domains):
        d = domain.strip().lower().lstrip(".")
        if d and (name == d or name.endswith("." + d)):
            return d
    return ""


class ProfileHandleUnverified(ProfileCheck):
    id = "profile.handle_unverified"
    title = "Every account's handle still verifies on its platform"
    severity = Severity.MEDIUM  # HIGH for a handle under a district domain (see check_profile)
    risk = (
        "A handle that no longer verifies is shown as handle.invalid and answers to nobody: whoever "
        "controls its domain next can point it at an account of their own and speak as the district."
    )
    remediation = (
        "Restore the handle's `_atproto` DNS TXT record (or its /.well-known/atproto-did file) with the "
        "account's DID, or set a new handle in the account's settings and record it with "
        "`auditor account edit ACCOUNT --handle HANDLE`."
    )

    def applies_to_profile(self, ctx: CheckContext, account: Account, profile: Profile) -> Coverage:
        return Coverage.APPLIES if profile.found else Coverage.NOT_APPLICABLE

    def check_profile(self, ctx: CheckContext, account: Account, profile: Profile) -> Iterable[Finding]:
        if not profile.handle_unverified:
            return
        handle = profile.platform_handle or account.handle
        shown = display_handle(account.platform, handle)
        domain = _district_domain(ctx, handle)
        label = f"{account.platform.label} account {shown}"
        message = f"{label} no longer has a verified handle ({account.platform.label} shows handle.invalid)."
        if domain:
            message += (
                f" The handle is a name under the district domain {domain}: whoever controls that name "
                "can claim the handle."
            )
        yield self.finding(
            ctx,
            message,
            account=account,
            severity=Severity.HIGH if domain else Severity.MEDIUM,
            evidence={"handle": handle, "platform_id": profile.platform_id, "district_domain": domain},
        )
