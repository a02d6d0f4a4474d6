"""escrow.*, platform.*, login.*, comments.unmonitored: pass, fail, not applicable."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

from auditor.engine.checks.base import Coverage
from auditor.engine.policy import Period
from auditor.model.types import (
    EVERY_SCOPE,
    AccountStatus,
    Approval,
    EscrowHolder,
    ItemState,
    PersonStatus,
    Platform,
    Purpose,
    Role,
    TaskItem,
)

from ..factories import (
    coverage,
    make_account,
    make_context,
    make_credential,
    make_person,
    make_task,
    messages,
    preset,
    run_check,
    with_people,
)

RETIRED = make_account(status=AccountStatus.RETIRED)
MCV_ACCOUNT = make_account(
    platform=Platform.FACEBOOK, handle="mhs.maroons", login_email="maroons@molineschools.org"
)

# -- escrow.missing ---------------------------------------------------------------------------------


def test_escrowed_credentials_pass() -> None:
    assert messages("escrow.missing", make_context()) == []


def test_escrow_missing_in_naperville_even_with_a_secondary_admin() -> None:
    ctx = make_context(credentials={})
    [finding] = run_check("escrow.missing", ctx)
    assert finding.message == "Instagram account @nnhs_athletics has no escrowed credentials."
    assert finding.remediation.startswith(
        "Escrow the credentials with `auditor secret set instagram:nnhs_athletics`"
    )
    assert finding.clauses == ("N203-SECURITY",)


def test_moline_accepts_a_secondary_administrator_instead_of_escrow() -> None:
    ctx = make_context(policy="moline-coal-valley", accounts=[MCV_ACCOUNT], credentials={})
    assert messages("escrow.missing", ctx) == []
    alone = dataclasses.replace(MCV_ACCOUNT, co_manager_ids=())
    ctx = make_context(policy="moline-coal-valley", accounts=[alone], credentials={})
    assert messages("escrow.missing", ctx) == [
        "Facebook account mhs.maroons has no escrowed credentials and no secondary administrator."
    ]


def test_escrow_missing_skips_retired_accounts() -> None:
    ctx = make_context(accounts=[RETIRED], credentials={})
    assert messages("escrow.missing", ctx) == []
    assert coverage("escrow.missing", ctx, RETIRED) is Coverage.NOT_APPLICABLE


# -- escrow.no_secondary_admin ---------------------------------------------------------------------

OWNER_ADMIN = EscrowHolder("arivera", Role.ADMIN, "Alex.Rivera@naperville203.org ", (EVERY_SCOPE,))
PRINCIPAL = EscrowHolder("mhale", Role.BUILDING_ADMIN, "morgan.hale@naperville203.org", ("NNHS",))
OTHER_SCHOOL = EscrowHolder("nchs-principal", Role.BUILDING_ADMIN, "", ("nchs",))


def test_no_secondary_admin_when_only_the_owner_holds_the_scope() -> None:
    ctx = make_context(holders=(OWNER_ADMIN, OTHER_SCHOOL))
    [finding] = run_check("escrow.no_secondary_admin", ctx)
    assert finding.message == (
        "Instagram account @nnhs_athletics's escrowed credentials (escrow scope nnhs) can be opened by no "
        "active identity other than its owner's: arivera (the owner)."
    )
    assert (finding.evidence["scope"], finding.evidence["identities"]) == ("nnhs", ["arivera"])
    assert finding.clauses == ("N203-SECURITY",)
    assert "auditor identity grant" in finding.remediation
    # Moline-Coal Valley's item 4 asks for the secondary administrator in so many words.
    mcv = make_context(policy="moline-coal-valley", accounts=[MCV_ACCOUNT], holders=())
    [finding] = run_check("escrow.no_secondary_admin", mcv)
    assert finding.message.endswith("(escrow scope nnhs) can be opened by no identity at all.")
    assert finding.clauses == ("MCV-APPROVAL-4",)


def test_a_building_admin_of_the_scope_or_any_other_district_admin_is_a_secondary_admin() -> None:
    assert messages("escrow.no_secondary_admin", make_context(holders=(OWNER_ADMIN, PRINCIPAL))) == []
    nameless = EscrowHolder("it-admin", Role.ADMIN, "", (EVERY_SCOPE,))  # no email: nothing says it left
    assert messages("escrow.no_secondary_admin", make_context(holders=(OWNER_ADMIN, nameless))) == []


def test_a_departed_or_absent_holder_is_no_secondary_admin() -> None:
    ctx = make_context(holders=(OWNER_ADMIN, PRINCIPAL))
    for status in (PersonStatus.DEPARTED, PersonStatus.ON_LEAVE):
        gone = with_people(ctx, dataclasses.replace(ctx.people["p-principal"], status=status))
        [message] = messages("escrow.no_secondary_admin", gone)
        assert message.endswith("other than its owner's: arivera (the owner); mhale (not active).")


def test_no_secondary_admin_leaves_unescrowed_and_unknown_alone() -> None:
    lone = (OWNER_ADMIN,)
    account = make_context().accounts[0]
    # No escrowed credential: escrow.missing says so; the identities unread: no verdict either way.
    assert coverage("escrow.no_secondary_admin", make_context(credentials={}, holders=lone), account) is (
        Coverage.NOT_APPLICABLE
    )
    assert coverage("escrow.no_secondary_admin", make_context(), account) is Coverage.CANNOT_TELL
    assert coverage("escrow.no_secondary_admin", make_context(accounts=[RETIRED], holders=lone), RETIRED) is (
        Coverage.NOT_APPLICABLE
    )


# -- escrow.stale -----------------------------------------------------------------------------------


def test_fresh_escrow_passes() -> None:
    assert messages("escrow.stale", make_context()) == []


def test_escrow_stale_after_a_co_manager_left() -> None:
    ctx = with_people(
        make_context(),
        make_person(
            id="p-comanager", name="Jordan Lee", status=PersonStatus.DEPARTED, departed_on=date(2026, 3, 1)
        ),
    )
    assert messages("escrow.stale", ctx) == [
        "Instagram account @nnhs_athletics's escrowed credentials were last changed on 2026-01-20, before "
        "Jordan Lee left the district on 2026-03-01."
    ]


def test_escrow_stale_after_a_recorded_manager_change_or_by_age() -> None:
    ctx = make_context(managers_changed_at={"acc-athletics": datetime(2026, 2, 3, 9, 0, tzinfo=UTC)})
    assert messages("escrow.stale", ctx) == [
        "Instagram account @nnhs_athletics's escrowed credentials were last changed on 2026-01-20, before "
        "the account's managers changed on 2026-02-03."
    ]
    policy = dataclasses.replace(
        preset(), escrow=dataclasses.replace(preset().escrow, max_age=Period(days=90))
    )
    assert messages("escrow.stale", make_context(policy=policy)) == [
        "Instagram account @nnhs_athletics's escrowed credentials were last changed on 2026-01-20, more than "
        "90 days ago."
    ]
    rotated = make_credential(rotated_at=datetime(2026, 5, 1, tzinfo=UTC))
    assert messages("escrow.stale", make_context(policy=policy, credentials={"acc-athletics": rotated})) == []


def test_a_manager_change_the_same_day_as_the_credential_change_gives_both_times() -> None:
    """The date alone would read 'changed on 2026-12-01, before the managers changed on 2026-12-01'
    (issue 21): on the same day the message says at what time each happened."""
    set_at = datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
    ctx = make_context(
        credentials={"acc-athletics": make_credential(set_at=set_at)},
        managers_changed_at={"acc-athletics": datetime(2026, 12, 1, 14, 30, tzinfo=UTC)},
    )
    assert messages("escrow.stale", ctx) == [
        "Instagram account @nnhs_athletics's escrowed credentials were last changed on 2026-12-01 at "
        "09:05 UTC, before the account's managers changed on 2026-12-01 at 14:30 UTC."
    ]


def test_escrow_stale_not_applicable_without_escrow() -> None:
    ctx = make_context(credentials={})
    assert messages("escrow.stale", ctx) == []
    assert coverage("escrow.stale", ctx, make_account()) is Coverage.NOT_APPLICABLE


# -- escrow.rotation_overdue ------------------------------------------------------------------------


def test_rotation_task_within_deadline_or_closed_passes() -> None:
    ctx = make_context(
        rotation_tasks=(
            make_task(opened_at=datetime(2026, 5, 25, tzinfo=UTC)),
            make_task(id="task-0", closed_at=datetime(2026, 5, 3, tzinfo=UTC), closed_by_version=3),
        )
    )
    assert messages("escrow.rotation_overdue", ctx) == []


def test_rotation_task_past_its_deadline_fails() -> None:
    ctx = make_context(
        rotation_tasks=(
            make_task(),
            make_task(id="task-2", reason="break-glass recovery", due_on=date(2026, 5, 31)),
        )
    )
    findings = run_check("escrow.rotation_overdue", ctx)
    assert [f.message for f in findings] == [
        "Instagram account @nnhs_athletics has a credential rotation task opened on 2026-05-01 (offboarding) "
        "that was due on 2026-05-15.",
        "Instagram account @nnhs_athletics has a credential rotation task opened on 2026-05-01 (break-glass "
        "recovery) that was due on 2026-05-31.",
    ]
    assert [f.subject for f in findings] == [
        "account:acc-athletics:task:task-1",
        "account:acc-athletics:task:task-2",
    ]


def test_rotation_overdue_not_applicable_to_retired_accounts() -> None:
    ctx = make_context(accounts=[RETIRED], rotation_tasks=(make_task(),))
    assert messages("escrow.rotation_overdue", ctx) == []


def test_an_open_task_within_its_deadline_is_pending_with_its_steps_to_confirm() -> None:
    confirmed = ItemState(TaskItem.PASSWORD, datetime(2026, 5, 26, tzinfo=UTC), "it-admin", "version 4")
    ctx = make_context(
        rotation_tasks=(
            make_task(
                opened_at=datetime(2026, 5, 25, tzinfo=UTC),
                items=(confirmed, ItemState(TaskItem.TOTP), ItemState(TaskItem.SESSIONS)),
                pending_fields=("totp",),
            ),
            make_task(id="task-0", closed_at=datetime(2026, 5, 3, tzinfo=UTC), closed_by_version=3),
            make_task(id="task-late"),  # past its deadline: escrow.rotation_overdue, not this
        )
    )
    findings = run_check("escrow.rotation_pending", ctx)
    assert [f.message for f in findings] == [
        "Instagram account @nnhs_athletics has a credential rotation task opened on 2026-05-25, due on "
        "2026-06-08: a new credential is pending; 2 of 3 steps to confirm (totp, sessions)."
    ]
    assert findings[0].evidence["outstanding"] == ["totp", "sessions"]
    assert [f.subject for f in run_check("escrow.rotation_overdue", ctx)] == [
        "account:acc-athletics:task:task-late"
    ]


# -- platform.not_approved / platform.condition_unmet -----------------------------------------------


def test_approved_platform_passes() -> None:
    assert messages("platform.not_approved", make_context()) == []


def test_unapproved_platform_fails() -> None:
    tiktok = make_account(platform=Platform.TIKTOK, handle="nnhs_hype")
    assert messages("platform.not_approved", make_context(accounts=[tiktok])) == [
        "TikTok account @nnhs_hype is on TikTok, which is not an approved platform under the policy of "
        "Naperville Community Unit School District 203."
    ]
    # Moline-Coal Valley approves Facebook and Twitter only.
    assert len(messages("platform.not_approved", make_context(policy="moline-coal-valley"))) == 1


def test_platform_not_approved_skips_retired_accounts() -> None:
    retired = make_account(platform=Platform.TIKTOK, status=AccountStatus.RETIRED)
    assert messages("platform.not_approved", make_context(accounts=[retired])) == []


SNAP = make_account(
    platform=Platform.SNAPCHAT,
    handle="nnhs_spirit",
    purpose=Purpose.ACTIVITY,
    approval=Approval(approved_on=date(2026, 2, 1), approved_by="morgan.hale@naperville203.org"),
)


def test_snapchat_for_an_activity_with_the_principals_permission_passes() -> None:
    assert messages("platform.condition_unmet", make_context(accounts=[SNAP])) == []


def test_snapchat_conditions_unmet() -> None:
    account = dataclasses.replace(
        SNAP,
        purpose=Purpose.SCHOOL,
        approval=Approval(approved_on=date(2026, 2, 1), approved_by="alex.rivera@naperville203.org"),
    )
    [finding] = run_check("platform.condition_unmet", make_context(accounts=[account]))
    assert finding.message == (
        "Snapchat account @nnhs_spirit does not meet the district's conditions for Snapchat: it is used for "
        "school purposes, but Snapchat is approved only for activity, athletics or event purposes; no "
        "permission from the Principal of Naperville North High School is on record."
    )
    assert finding.clauses == ("N203-TOOLS-SNAPCHAT",)


def test_snapchat_without_a_known_building_cannot_show_permission() -> None:
    account = dataclasses.replace(SNAP, building="")
    assert messages("platform.condition_unmet", make_context(accounts=[account])) == [
        "Snapchat account @nnhs_spirit does not meet the district's conditions for Snapchat: no building is "
        "recorded for the account, so the building administrator's permission cannot be confirmed."
    ]


def test_conditions_not_applicable_to_unconditioned_or_unapproved_platforms() -> None:
    ctx = make_context()
    assert coverage("platform.condition_unmet", ctx, make_account()) is Coverage.NOT_APPLICABLE
    snap_in_moline = dataclasses.replace(SNAP, purpose=Purpose.SCHOOL)
    ctx = make_context(policy="moline-coal-valley", accounts=[snap_in_moline])
    assert messages("platform.condition_unmet", ctx) == []


# -- login.non_district_email -----------------------------------------------------------------------


def test_district_login_and_subdomain_pass() -> None:
    sub = make_account(login_email="club@students.naperville203.org")
    assert messages("login.non_district_email", make_context(accounts=[make_account(), sub])) == []


def test_personal_or_missing_login_fails() -> None:
    gmail = make_account(id="a1", handle="one", login_email="coach.alex@gmail.com")
    lookalike = make_account(id="a2", handle="two", login_email="x@naperville203.org.evil.com")
    blank = make_account(id="a3", handle="three", login_email="")
    findings = run_check("login.non_district_email", make_context(accounts=[gmail, lookalike, blank]))
    assert [f.message for f in findings] == [
        "Instagram account @one logs in with coach.alex@gmail.com, which is not a district email address.",
        "Instagram account @two logs in with x@naperville203.org.evil.com, "
        "which is not a district email address.",
        "Instagram account @three has no login email on record, so its district address cannot be confirmed.",
    ]
    assert [f.severity.value for f in findings] == ["medium", "medium", "low"]


def test_login_email_skips_retired_accounts() -> None:
    retired = make_account(status=AccountStatus.RETIRED, login_email="a@gmail.com")
    assert messages("login.non_district_email", make_context(accounts=[retired])) == []


# -- login.two_factor_off (best practice) -----------------------------------------------------------


def test_two_factor_on_or_totp_escrowed_passes() -> None:
    unknown = make_account(two_factor=None)
    assert messages("login.two_factor_off", make_context(accounts=[unknown])) == []  # TOTP is escrowed


def test_two_factor_off_or_unrecorded_fails() -> None:
    off = make_account(id="a1", handle="one", two_factor=False)
    unknown = make_account(id="a2", handle="two", two_factor=None)
    ctx = make_context(accounts=[off, unknown], credentials={})
    findings = run_check("login.two_factor_off", ctx)
    assert [f.message for f in findings] == [
        "Instagram account @one does not have two-step login turned on.",
        "Instagram account @two has no record of whether two-step login is turned on.",
    ]
    assert findings[0].clauses == ("BP-TWO-FACTOR",)


def test_two_factor_skips_retired_accounts() -> None:
    retired = make_account(status=AccountStatus.RETIRED, two_factor=False)
    assert messages("login.two_factor_off", make_context(accounts=[retired], credentials={})) == []


# -- comments.unmonitored ---------------------------------------------------------------------------


def test_comments_with_an_active_monitor_pass() -> None:
    assert messages("comments.unmonitored", make_context()) == []


def test_comments_without_an_active_monitor_fail() -> None:
    none = make_account(id="a1", handle="one", comment_monitor_ids=())
    gone = make_account(id="a2", handle="two")
    ctx = with_people(
        make_context(accounts=[none, gone]),
        make_person(id="p-comanager", name="Jordan Lee", status=PersonStatus.DEPARTED),
    )
    assert messages("comments.unmonitored", ctx) == [
        "Instagram account @one is open to public comments but has no comment monitor assigned.",
        "Instagram account @two is open to public comments but none of its comment monitors is active "
        "(Jordan Lee).",
    ]


def test_comments_not_applicable_when_closed_or_unknown() -> None:
    closed = make_account(public_comments=False, comment_monitor_ids=())
    ctx = make_context(accounts=[closed])
    assert messages("comments.unmonitored", ctx) == []
    assert coverage("comments.unmonitored", ctx, closed) is Coverage.NOT_APPLICABLE


def test_a_clause_about_one_platform_is_cited_only_for_that_platform() -> None:
    """Naperville's Snapchat paragraph is cited for an unapproved Snapchat account, not for a
    Bluesky one (issue 21); the general 'Approved Social Media Tools' clause for both."""
    from auditor.engine.policy.loader import load_preset
    from auditor.model.types import Platform

    policy = load_preset("naperville-203")
    for_check = policy.clauses_for
    assert [r.id for r in for_check("platform.not_approved", Platform.BLUESKY)] == ["N203-TOOLS"]
    assert [r.id for r in for_check("platform.not_approved", Platform.SNAPCHAT)] == [
        "N203-TOOLS",
        "N203-TOOLS-SNAPCHAT",
    ]
    assert [r.id for r in for_check("platform.not_approved")] == ["N203-TOOLS", "N203-TOOLS-SNAPCHAT"]
