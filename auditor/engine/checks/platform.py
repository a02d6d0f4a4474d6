"""Is each account on a platform the district approved, and does it meet that platform's conditions?

Naperville 203 approves Facebook, Instagram, Twitter and Snapchat, the last "approved to be used by
activities, athletics and school sponsored events only permission to use is required by the building
administrator" (Approved Social Media Tools). Moline-Coal Valley approves "district-approved Social
Media channels, such as Facebook and Twitter. Any online communication outside of these channels is
prohibited." (Approval item 5). The policy models conditions as `allowed_purposes` plus `requires`
flags (see auditor/engine/policy/model.py REQUIREMENT_FLAGS).
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.engine.checks.base import AccountCheck, CheckContext, Coverage, is_adult_employee, join_words
from auditor.model.types import Account, Finding, PersonStatus, Severity


class PlatformNotApproved(AccountCheck):
    id = "platform.not_approved"
    title = "Every account is on a platform the district approved"
    severity = Severity.HIGH
    risk = "The district has not weighed this platform's privacy, data and moderation terms."
    remediation = (
        "Retire the account with `auditor account retire ACCOUNT`, or have the platform approved and "
        "add it under [platforms] in the policy."
    )

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        rule = ctx.policy.platform_rule(account.platform)
        if rule is not None and rule.approved:
            return
        yield self.finding(
            ctx,
            f"{account.label} is on {account.platform.label}, which is not an approved platform under "
            f"the policy of {ctx.policy.name}.",
            account=account,
        )


class PlatformConditionUnmet(AccountCheck):
    id = "platform.condition_unmet"
    title = "Every account meets the conditions the district attached to its platform"
    severity = Severity.MEDIUM
    risk = "The platform is approved only for some uses or with a permission the account lacks."
    remediation = (
        "Record the permission or correct the purpose with `auditor account edit ACCOUNT --purpose PURPOSE "
        "--approved-by EMAIL`, or retire the account with `auditor account retire ACCOUNT`."
    )

    def applies(self, ctx: CheckContext, account: Account) -> Coverage:
        base = super().applies(ctx, account)
        rule = ctx.policy.platform_rule(account.platform)
        if base is Coverage.APPLIES and (
            rule is None or not rule.approved or not (rule.allowed_purposes or rule.requires)
        ):
            return Coverage.NOT_APPLICABLE  # unapproved platforms are platform.not_approved's finding
        return base

    def _building_admin_permission(self, ctx: CheckContext, account: Account) -> str:
        """'' when the building administrator's permission is on record, else what is missing."""
        building = ctx.policy.building(account.building)
        if building is None:
            return (
                "no building is recorded for the account, so the building administrator's permission "
                "cannot be confirmed"
            )
        who = f"the {building.administrator_role} of {building.name}"
        approver = ctx.person(account.approval.approved_by)
        if (
            account.approval.is_approved
            and approver is not None
            and approver.role.strip().casefold() == building.administrator_role.strip().casefold()
            # An approver with no building recorded, or one of whose buildings is this one (an
            # administrator of two schools approves for both).
            and (not approver.building or building.id in approver.all_buildings)
        ):
            return ""
        return f"no permission from {who} is on record"

    def check_account(self, ctx: CheckContext, account: Account) -> Iterable[Finding]:
        rule = ctx.policy.platform_rule(account.platform)
        assert rule is not None
        label = account.platform.label
        unmet: list[str] = []
        if rule.allowed_purposes and account.purpose not in rule.allowed_purposes:
            allowed = join_words([p.value for p in rule.allowed_purposes], "or")
            unmet.append(
                f"it is used for {account.purpose.value} purposes, but {label} is approved only "
                f"for {allowed} purposes"
            )
        for flag in rule.requires:
            if flag == "building_admin_permission":
                why = self._building_admin_permission(ctx, account)
                if why:
                    unmet.append(why)
            elif flag == "approval" and not account.approval.is_approved:
                unmet.append("no approval is on record")
            elif flag == "adult_employee_manager" and not any(
                (p := ctx.person(pid)) is not None
                and p.status is PersonStatus.ACTIVE
                and is_adult_employee(p, ctx.today)
                for pid in account.manager_ids()
            ):
                unmet.append("no active adult employee manages it")
            elif flag == "district_email_login" and not ctx.policy.is_district_email(account.login_email):
                unmet.append("it does not log in with a district email address")
        if unmet:
            yield self.finding(
                ctx,
                f"{account.label} does not meet the district's conditions for {label}: {'; '.join(unmet)}.",
                account=account,
                evidence={"unmet": unmet},
            )
