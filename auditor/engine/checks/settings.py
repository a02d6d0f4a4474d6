"""Account settings recorded in the inventory: login address, two-step login, comment monitoring.

Naperville 203: an account "created using a Naperville 203 email account" (Social Media
Representation 3); "If a site is open to public/student commentary, the site managers should monitor
the site throughout the day and on weekends" (Site Manager Responsibilities 7). Two-step login is a
district-independent best practice (auditor/engine/policy/presets/best-practice.toml).
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.engine.checks.base import AccountCheck, CheckContext, Coverage, join_words
from auditor.model.types import Account, Finding, PersonStatus, Severity


class LoginNonDistrictEmail(AccountCheck):
    id = "login.non_district_email"
    title = "Every account logs in with a district email address"
    severity = Severity.MEDIUM
    risk = "An account tied to a personal mailbox leaves with its owner and cannot be recovered by IT."
    remediation = (
        "Change the login email on the platform to a district address, then record it with "
        "`auditor account edit ACCOUNT --login-email EMAIL`."
    )

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        email = account.login_email.strip()
        if not email:
            yield self.finding(
                ctx,
                f"{account.label} has no login email on record, so its district address cannot be confirmed.",
                account=account,
                severity=Severity.LOW,
            )
        elif not ctx.policy.is_district_email(email):
            yield self.finding(
                ctx,
                f"{account.label} logs in with {email}, which is not a district email address.",
                account=account,
            )


class LoginTwoFactorOff(AccountCheck):
    id = "login.two_factor_off"
    title = "Every account has two-step login turned on"
    severity = Severity.MEDIUM
    risk = "A leaked or guessed password alone is enough to take the account."
    remediation = (
        "Turn on two-step login on the platform, escrow the TOTP seed with `auditor secret set ACCOUNT`, "
        "and record it with `auditor account edit ACCOUNT --two-factor`."
    )
    best_practice = True

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        cred = ctx.credentials.get(account.id)
        if account.two_factor is True or (cred is not None and cred.has_totp):
            return
        if account.two_factor is False:
            yield self.finding(
                ctx, f"{account.label} does not have two-step login turned on.", account=account
            )
        else:
            yield self.finding(
                ctx,
                f"{account.label} has no record of whether two-step login is turned on.",
                account=account,
                severity=Severity.LOW,
            )


class CommentsUnmonitored(AccountCheck):
    id = "comments.unmonitored"
    title = "Every account open to public comments has an active comment monitor"
    severity = Severity.MEDIUM
    risk = "Harmful or threatening comments stay up unseen, including on weekends."
    remediation = "Assign a monitor with `auditor account edit ACCOUNT --monitor EMAIL`."

    def applies(self, ctx: CheckContext, account: Account) -> Coverage:
        base = super().applies(ctx, account)
        if base is Coverage.APPLIES and account.public_comments is not True:
            return Coverage.NOT_APPLICABLE
        return base

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        monitors = [p for pid in account.comment_monitor_ids if (p := ctx.person(pid)) is not None]
        if any(p.status is PersonStatus.ACTIVE for p in monitors):
            return
        if monitors:
            message = (
                f"{account.label} is open to public comments but none of its comment monitors is active "
                f"({join_words(p.name for p in monitors)})."
            )
        else:
            message = f"{account.label} is open to public comments but has no comment monitor assigned."
        yield self.finding(ctx, message, account=account)
