"""What the platforms say about each inventoried account: gone, suspended, renamed, dormant, unknown.

A profile a connector could not see is `ProfileStatus.UNKNOWN` with a reason. `profile.unknown` reports
it on its own (severity info) and every other profile check treats it as "cannot tell", so an
unchecked account never looks compliant and an earlier finding is never marked resolved by it.
Policy grounds: Naperville 203 shares "names of sites" with administration for continuity (Site
Security) and requires following "any policies from the social media platform" (District Policies);
Moline-Coal Valley asks users to "follow their printed terms and conditions".
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.engine.checks.base import AccountCheck, CheckContext, Coverage, ProfileCheck
from auditor.model.types import (
    Account,
    Finding,
    Profile,
    ProfileStatus,
    Severity,
    display_handle,
    normalise_handle,
)


class ProfileNotFound(ProfileCheck):
    id = "profile.not_found"
    title = "Every account in the inventory exists on its platform"
    severity = Severity.HIGH
    risk = (
        "The inventory lists an account that is gone "
        "(deleted, or the handle mistyped): the real one is unaudited."
    )
    remediation = (
        "Correct the handle with `auditor account edit ACCOUNT --handle HANDLE`, or retire the account with "
        "`auditor account retire ACCOUNT`."
    )

    def check_profile(self, ctx: CheckContext, account: Account, profile: Profile) -> Iterable[Finding]:
        if profile.status is ProfileStatus.NOT_FOUND:
            yield self.finding(
                ctx, f"{account.label} was not found on {account.platform.label}.", account=account
            )
        elif profile.status is ProfileStatus.DEACTIVATED:
            yield self.finding(
                ctx, f"{account.label} has been deactivated on {account.platform.label}.", account=account
            )


class ProfileSuspended(ProfileCheck):
    id = "profile.suspended"
    title = "No account is suspended by its platform"
    severity = Severity.HIGH
    risk = (
        "A suspension means the platform found a breach of its terms, and the district has lost its channel."
    )
    remediation = (
        "Appeal the suspension with the platform; if the account is no longer needed, retire it with "
        "`auditor account retire ACCOUNT`."
    )

    def check_profile(self, ctx: CheckContext, account: Account, profile: Profile) -> Iterable[Finding]:
        if profile.status is ProfileStatus.SUSPENDED:
            yield self.finding(
                ctx, f"{account.label} has been suspended by {account.platform.label}.", account=account
            )


class ProfileRenamed(ProfileCheck):
    id = "profile.renamed"
    title = "Every account still answers to the handle in the inventory"
    severity = Severity.MEDIUM
    risk = "After a rename the old handle is free: anyone can register it and inherit links to it."
    remediation = "Record the new handle with `auditor account edit ACCOUNT --handle HANDLE`."

    def applies_to_profile(self, ctx: CheckContext, account: Account, profile: Profile) -> Coverage:
        return Coverage.APPLIES if profile.found else Coverage.NOT_APPLICABLE

    def check_profile(self, ctx: CheckContext, account: Account, profile: Profile) -> Iterable[Finding]:
        now = profile.platform_handle.strip()
        if profile.renamed_from or (now and normalise_handle(now) != normalise_handle(account.handle)):
            if not now:
                message = f"{account.label} now answers to a different handle on {account.platform.label}."
            else:
                message = (
                    f"{account.label} has been renamed to {display_handle(account.platform, now)} "
                    f"on {account.platform.label}."
                )
            yield self.finding(ctx, message, account=account, evidence={"new_handle": now})


class ProfileInactive(ProfileCheck):
    id = "profile.inactive"
    title = "Every account has posted within the policy's inactivity window"
    severity = Severity.LOW
    risk = "A dormant account confuses the community and is easy to take over unnoticed."
    remediation = "Post from the account or retire it with `auditor account retire ACCOUNT`."
    best_practice = True

    def applies_to_profile(self, ctx: CheckContext, account: Account, profile: Profile) -> Coverage:
        if not profile.found or ctx.policy.inactive_after is None:
            return Coverage.NOT_APPLICABLE
        if profile.last_post_at is None:
            return Coverage.CANNOT_TELL  # the platform did not say when it last posted
        return Coverage.APPLIES

    def check_profile(self, ctx: CheckContext, account: Account, profile: Profile) -> Iterable[Finding]:
        window = ctx.policy.inactive_after
        assert window is not None and profile.last_post_at is not None
        last = profile.last_post_at.date()
        if window.add_to(last) < ctx.today:
            yield self.finding(
                ctx,
                f"{account.label} has not posted since {last.isoformat()}, more than {window} ago.",
                account=account,
                evidence={"last_post": last.isoformat()},
            )


class ProfileUnknown(AccountCheck):
    id = "profile.unknown"
    title = "Every account's profile could be checked this run"
    severity = Severity.INFO
    risk = "An account the audit could not see may be out of policy without anyone knowing."
    remediation = (
        "Check the platform's connector with `auditor connector test PLATFORM` (token, rate limit) and run "
        "the audit again."
    )
    needs_network = True
    best_practice = True

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        profile = ctx.profile(account)
        if profile is None:
            message = f"{account.label} could not be checked this run: no profile lookup was made."
        elif profile.status is ProfileStatus.UNKNOWN:
            reason = f" ({profile.reason})" if profile.reason else ""
            message = f"{account.label} could not be checked this run{reason}."
        else:
            return
        yield self.finding(
            ctx, message, account=account, evidence={"reason": profile.reason if profile else ""}
        )
