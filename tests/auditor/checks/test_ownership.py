"""owner.departed, owner.role_changed, managers.no_adult_employee, student.under_13."""

from __future__ import annotations

from datetime import date

from auditor.engine.checks.base import Coverage
from auditor.model.types import Account, AccountStatus, PersonKind, PersonStatus

from ..factories import coverage, make_account, make_context, make_person, messages, run_check, with_people

RETIRED = make_account(status=AccountStatus.RETIRED)

# -- owner.departed ---------------------------------------------------------------------------------


def test_owner_departed_passes_for_active_owners() -> None:
    assert messages("owner.departed", make_context()) == []


def test_owner_departed_reports_an_orphaned_account() -> None:
    ctx = with_people(
        make_context(), make_person(status=PersonStatus.DEPARTED, departed_on=date(2026, 4, 30))
    )
    [finding] = run_check("owner.departed", ctx)
    assert finding.message == (
        "Instagram account @nnhs_athletics is owned by Alex Rivera, who left the district on 2026-04-30; "
        "it is orphaned until it is reassigned."
    )
    assert finding.subject == "account:acc-athletics:person:p-owner"
    assert finding.remediation.startswith(
        "Reassign the account with `auditor offboard alex.rivera@naperville203.org"
    )
    assert "`auditor secret set instagram:nnhs_athletics`" in finding.remediation


def test_owner_departed_reports_missing_owner_and_departed_co_manager() -> None:
    ctx = with_people(
        make_context(accounts=[make_account(owner_id="")]),
        make_person(id="p-comanager", name="Jordan Lee", status=PersonStatus.DEPARTED),
    )
    assert messages("owner.departed", ctx) == [
        "Instagram account @nnhs_athletics has no owner on record; "
        "it is orphaned until an owner is assigned.",
        "Instagram account @nnhs_athletics still lists Jordan Lee, who left the district, as a co-manager.",
    ]


def test_owner_on_leave_is_not_departed_and_retired_accounts_are_skipped() -> None:
    ctx = with_people(make_context(), make_person(status=PersonStatus.ON_LEAVE))
    assert messages("owner.departed", ctx) == []
    ctx = with_people(make_context(accounts=[RETIRED]), make_person(status=PersonStatus.DEPARTED))
    assert messages("owner.departed", ctx) == []
    assert coverage("owner.departed", ctx, RETIRED) is Coverage.NOT_APPLICABLE


# -- owner.role_changed -----------------------------------------------------------------------------


def test_role_change_before_approval_passes() -> None:
    ctx = with_people(make_context(), make_person(role_changed_on=date(2025, 12, 1)))
    assert messages("owner.role_changed", ctx) == []


def test_role_change_after_approval_fails() -> None:
    ctx = with_people(make_context(), make_person(role="Dean of Students", role_changed_on=date(2026, 3, 2)))
    assert messages("owner.role_changed", ctx) == [
        "Instagram account @nnhs_athletics is owned by Alex Rivera, whose role changed on 2026-03-02 "
        "(now Dean of Students), after the account was approved on 2026-01-15; it is orphaned until the "
        "owner is confirmed or replaced."
    ]


def test_role_change_not_applicable_when_owner_departed_or_account_retired() -> None:
    departed = make_person(status=PersonStatus.DEPARTED, role_changed_on=date(2026, 3, 2))
    assert messages("owner.role_changed", with_people(make_context(), departed)) == []
    changed = make_person(role_changed_on=date(2026, 3, 2))
    assert messages("owner.role_changed", with_people(make_context(accounts=[RETIRED]), changed)) == []


# -- managers.no_adult_employee ---------------------------------------------------------------------

STUDENT = make_person(
    id="p-student",
    name="Sam Park",
    email="sam.park@students.naperville203.org",
    kind=PersonKind.STUDENT,
    adult=False,
    grade="11",
    role="",
)


def _student_account(**overrides: object) -> Account:
    return make_account(student_manager_ids=("p-student",), **overrides)


def test_adult_employee_present_passes() -> None:
    ctx = with_people(make_context(accounts=[_student_account()]), STUDENT)
    assert messages("managers.no_adult_employee", ctx) == []


def test_no_adult_employee_among_managers_fails() -> None:
    volunteer = make_person(id="p-volunteer", name="Pat Doe", kind=PersonKind.VOLUNTEER, adult=True)
    account = _student_account(owner_id="p-volunteer", co_manager_ids=())
    ctx = with_people(make_context(accounts=[account]), STUDENT, volunteer)
    assert messages("managers.no_adult_employee", ctx) == [
        "Instagram account @nnhs_athletics has no adult employee among its managers."
    ]
    [finding] = run_check("managers.no_adult_employee", ctx)
    assert finding.remediation == (
        "Add an adult employee as co-manager with "
        "`auditor account edit instagram:nnhs_athletics --co-manager EMAIL`."
    )


def test_adult_employee_on_leave_does_not_count() -> None:
    account = _student_account(co_manager_ids=())
    ctx = with_people(make_context(accounts=[account]), STUDENT, make_person(status=PersonStatus.ON_LEAVE))
    assert messages("managers.no_adult_employee", ctx) == [
        "Instagram account @nnhs_athletics has no active adult employee among its managers; "
        "Alex Rivera is on leave."
    ]


def test_no_adult_employee_not_applicable_without_students() -> None:
    volunteer = make_person(id="p-volunteer", name="Pat Doe", kind=PersonKind.VOLUNTEER, adult=True)
    account = make_account(owner_id="p-volunteer", co_manager_ids=())
    ctx = with_people(make_context(accounts=[account]), volunteer)
    assert messages("managers.no_adult_employee", ctx) == []
    assert coverage("managers.no_adult_employee", ctx, account) is Coverage.NOT_APPLICABLE


# -- student.under_13 -------------------------------------------------------------------------------


def test_student_13_or_older_passes() -> None:
    ctx = with_people(make_context(accounts=[_student_account()]), STUDENT)
    assert messages("student.under_13", ctx) == []


def test_student_under_13_by_birth_date_and_by_grade() -> None:
    young = make_person(
        id="p-young",
        name="Kim Ito",
        kind=PersonKind.STUDENT,
        adult=None,
        birth_date=date(2013, 6, 2),
        grade="",
    )
    sixth = make_person(id="p-sixth", name="Lee Wu", kind=PersonKind.STUDENT, adult=None, grade="6")
    account = make_account(student_manager_ids=("p-young", "p-sixth"))
    ctx = with_people(make_context(accounts=[account]), young, sixth)
    assert messages("student.under_13", ctx) == [
        "Instagram account @nnhs_athletics has a student manager under 13: Kim Ito (age 12).",
        "Instagram account @nnhs_athletics has a student manager under 13: Lee Wu (grade 6).",
    ]
    # On the 13th birthday the first finding disappears.
    older = make_person(id="p-young", name="Kim Ito", kind=PersonKind.STUDENT, birth_date=date(2013, 6, 1))
    assert len(messages("student.under_13", with_people(ctx, older))) == 1


def test_under_13_not_applicable_without_student_managers() -> None:
    ctx = make_context()
    assert messages("student.under_13", ctx) == []
    assert coverage("student.under_13", ctx, make_account()) is Coverage.NOT_APPLICABLE


def test_owner_missing_from_the_people_records_is_orphaned() -> None:
    ctx = make_context(accounts=[make_account(owner_id="p-ghost")])
    [finding] = run_check("owner.departed", ctx)
    assert finding.message == (
        "Instagram account @nnhs_athletics names an owner who is not among the district's people records; "
        "it is orphaned until an owner is assigned."
    )
    assert finding.evidence["owner_id"] == "p-ghost"
