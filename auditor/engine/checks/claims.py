"""Accounts outside the inventory: impostors and unregistered accounts that claim the district.

Naperville 203: "Do not claim to represent a District official unless authorized. For example,
@TheReal203Superintendent on Twitter is not allowed." (Social Media Representation 4) and "must
inform school/building administration" (item 1). Moline-Coal Valley: requests to represent the
District "must be done online via the Social Media Approval Application" (Approval item 1).
Allowlisted accounts (neighbouring districts, PTA, police, boosters) are never reported.
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.engine.checks.affiliation import affiliation_claims
from auditor.engine.checks.base import Check, CheckContext, Coverage, handle_label
from auditor.model.types import Finding, Platform, ProfileStatus, Severity, display_handle, normalise_handle


def _coverage_by_platform(ctx: CheckContext, platform: Platform | None) -> Coverage:
    if ctx.searched_platforms is None or platform is None:
        return Coverage.APPLIES
    return Coverage.APPLIES if platform in ctx.searched_platforms else Coverage.CANNOT_TELL


class ImpersonationSuspected(Check):
    id = "impersonation.suspected"
    title = "No account outside the inventory imitates a district account or a protected official"
    severity = Severity.HIGH
    risk = "An impostor can mislead families, collect data or post in the district's name."
    remediation = (
        "Report the account to the platform as impersonation. If it is legitimate, add an [[allowlist]] "
        "entry (platform, handle, reason) to the policy and run `auditor policy check`."
    )
    needs_network = True

    def run(self, ctx: CheckContext) -> Iterable[Finding]:
        threshold = ctx.policy.impersonation_threshold
        seen: set[tuple[str, str]] = set()
        for c in sorted(ctx.candidates, key=lambda c: -c.score):
            if c.score < threshold or c.key in seen:
                continue
            seen.add(c.key)
            if ctx.in_inventory(c.platform, c.handle) or ctx.policy.is_allowlisted(c.platform, c.handle):
                continue
            target = f" imitates {c.target}" if c.target else " imitates a district account"
            why = f"score {c.score:.0f}" + (f": {'; '.join(c.reasons)}" if c.reasons else "")
            yield self.finding(
                ctx,
                f"{handle_label(c.platform, c.handle)} is not in the inventory and{target} ({why}).",
                subject=f"candidate:{c.platform.value}:{normalise_handle(c.handle)}",
                platform=c.platform,
                evidence={
                    "handle": display_handle(c.platform, c.handle),
                    "display_name": c.display_name,
                    "score": c.score,
                    "target": c.target,
                    "reasons": list(c.reasons),
                    "url": c.url,
                },
            )
        # A watched or reported handle the platform says does not exist is no impostor (yet).
        for (platform_value, handle), status in sorted(ctx.looked_up.items()):
            platform = Platform.parse(platform_value)
            if status is not ProfileStatus.NOT_FOUND or (platform_value, handle) in seen:
                continue
            if ctx.in_inventory(platform, handle) or ctx.policy.is_allowlisted(platform, handle):
                continue
            what = "watched" if (platform_value, handle) in ctx.watched else "reported"
            yield self.finding(
                ctx,
                f"{handle_label(platform, handle)}: {what} handle does not exist (yet); the platform found "
                "no such account. Every audit looks again and reports it if it appears and imitates the district.",
                subject=f"absent:{platform_value}:{handle}",
                severity=Severity.INFO,
                platform=platform,
                evidence={"handle": display_handle(platform, handle), "watched": what == "watched"},
            )

    def coverage(self, ctx: CheckContext, finding: Finding) -> Coverage:
        """A handle looked up by name is judged by that lookup: gone (or changed) resolves, unknown
        keeps the finding open; a watched handle is never resolved by not being looked at."""
        kind, _, rest = finding.subject.partition(":")
        platform_value, _, handle = rest.partition(":")
        key = (platform_value, handle)
        status = ctx.looked_up.get(key)
        if status is ProfileStatus.UNKNOWN:
            return Coverage.CANNOT_TELL
        if status is not None:
            return Coverage.APPLIES
        if key in ctx.watched:
            return Coverage.CANNOT_TELL
        if kind == "absent":
            return Coverage.APPLIES  # reported once, no longer asked about
        return _coverage_by_platform(ctx, finding.platform)


class AccountUnlisted(Check):
    id = "account.unlisted"
    title = "Every account that claims to represent the district is in the inventory"
    severity = Severity.MEDIUM
    risk = "An account nobody registered has no approval, no escrowed credentials and no accountable owner."
    remediation = (
        "If the account is the district's, register it with `auditor account add` and record its "
        "approval; otherwise ask the platform to remove the claim or add it to the policy's [[allowlist]]."
    )
    needs_network = True

    def run(self, ctx: CheckContext) -> Iterable[Finding]:
        policy = ctx.policy
        # Impostors are impersonation.suspected's business: one finding per account, not two.
        flagged = {c.key for c in ctx.candidates if c.score >= policy.impersonation_threshold}
        seen: set[tuple[str, str]] = set()
        for profile in ctx.claimants:
            handle = profile.platform_handle or profile.handle
            key = (profile.platform.value, normalise_handle(handle))
            if key in seen or key in flagged:
                continue
            seen.add(key)
            if ctx.in_inventory(profile.platform, handle) or ctx.in_inventory(
                profile.platform, profile.handle
            ):
                continue
            if policy.is_allowlisted(profile.platform, handle):
                continue
            claims = affiliation_claims(profile, policy)
            if not claims:
                continue
            yield self.finding(
                ctx,
                f"{handle_label(profile.platform, handle)} claims to represent {policy.name} "
                f'("{claims[0]}" in its profile) but is not in the inventory.',
                subject=f"claimant:{profile.platform.value}:{normalise_handle(handle)}",
                platform=profile.platform,
                evidence={"claims": claims, "url": profile.url, "display_name": profile.display_name},
            )

    def coverage(self, ctx: CheckContext, finding: Finding) -> Coverage:
        return _coverage_by_platform(ctx, finding.platform)
