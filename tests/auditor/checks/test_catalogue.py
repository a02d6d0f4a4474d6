"""The registry and its metadata: every check implemented, referenced by a preset or best practice,
with a passing-state title and a remediation naming an `auditor` command."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.engine.checks import CHECK_ERROR_ID, CHECKS, default_check_ids, expand_ids, select_checks
from auditor.engine.checks.base import Check, account_ref, person_ref
from auditor.engine.policy import PRESETS, best_practice_framework, load_preset
from auditor.model.errors import UsageError
from auditor.model.types import Account, Person, Platform, Severity

from ..factories import make_context, preset


def test_every_registry_key_is_the_checks_own_id_and_the_issue_list_is_covered() -> None:
    for key, cls in CHECKS.items():
        assert issubclass(cls, Check) and cls.id == key
        assert re.fullmatch(r"[a-z_]+\.[a-z0-9_]+", key)
    required = {
        "affiliation.missing",
        "impersonation.suspected",
        "account.unlisted",
        "owner.departed",
        "owner.role_changed",
        "managers.no_adult_employee",
        "student.under_13",
        "approval.missing",
        "approval.expiring",
        "approval.lapsed",
        "training.lapsed",
        "agreement.missing",
        "escrow.missing",
        "escrow.no_secondary_admin",
        "escrow.stale",
        "escrow.rotation_pending",
        "escrow.rotation_overdue",
        "platform.not_approved",
        "platform.condition_unmet",
        "login.non_district_email",
        "comments.unmonitored",
        "profile.not_found",
        "profile.suspended",
        "profile.renamed",
        "profile.inactive",
        "profile.unknown",
        "login.two_factor_off",
    }
    assert required <= set(CHECKS)
    assert CHECK_ERROR_ID not in CHECKS


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_metadata(check_id: str) -> None:
    cls = CHECKS[check_id]
    assert isinstance(cls.severity, Severity)
    assert cls.title and not cls.title.endswith(".")
    assert cls.risk.endswith(".")
    assert "`auditor " in cls.remediation, "remediation must name the command that fixes it"


def test_every_preset_reference_exists_and_every_check_is_referenced_or_best_practice() -> None:
    referenced: set[str] = set()
    for name in PRESETS:
        ids = load_preset(name).framework.check_ids()
        assert set(ids) <= set(CHECKS), f"{name} references unknown checks: {set(ids) - set(CHECKS)}"
        referenced |= set(ids)
    best = set(best_practice_framework().check_ids())
    assert best <= set(CHECKS)
    assert best == {cid for cid, cls in CHECKS.items() if cls.best_practice}
    unreferenced = set(CHECKS) - referenced - best
    assert unreferenced == set(), f"checks no preset references and not best practice: {unreferenced}"


def test_default_selection_follows_the_policy() -> None:
    naperville = default_check_ids(preset())
    assert "managers.no_adult_employee" in naperville and "training.lapsed" not in naperville
    assert "login.two_factor_off" in naperville  # best practice is on by default
    moline = default_check_ids(preset("moline-coal-valley"))
    assert "training.lapsed" in moline and "comments.unmonitored" not in moline


def test_select_by_family_and_offline() -> None:
    assert expand_ids(["profile"]) == [
        "profile.not_found",
        "profile.suspended",
        "profile.renamed",
        "profile.handle_unverified",
        "profile.inactive",
        "profile.unknown",
    ]
    assert expand_ids(["escrow.*", "escrow.stale"]) == [
        "escrow.missing",
        "escrow.no_secondary_admin",
        "escrow.stale",
        "escrow.rotation_pending",
        "escrow.rotation_overdue",
    ]
    offline = {c.id for c in select_checks(preset(), offline=True)}
    assert "affiliation.missing" not in offline and "impersonation.suspected" not in offline
    assert "escrow.missing" in offline
    with pytest.raises(UsageError, match=r"unknown check 'escrow\.nope'"):
        expand_ids(["escrow.nope"])


@pytest.mark.parametrize("name", PRESETS)
def test_the_default_compliant_account_passes_every_check(name: str) -> None:
    # The factories' default account is compliant under Naperville 203; under Moline-Coal Valley only the
    # Instagram platform and the district domain differ.
    from auditor.model.types import Platform

    from ..factories import make_account, make_profile

    if name == "moline-coal-valley":
        account = make_account(
            platform=Platform.FACEBOOK, handle="mhs.maroons", login_email="maroons@molineschools.org"
        )
        profile = make_profile(account, bio="Official page of Moline High School athletics.", website="")
        ctx = make_context(policy=name, accounts=[account], profiles={account.id: profile})
    else:
        ctx = make_context(policy=name)
    found = [f.message for c in select_checks(ctx.policy) for f in c.run(ctx)]
    assert found == []


def test_the_catalogue_lists_every_check_with_its_severity() -> None:
    """The catalogue has one home, the checks themselves: `auditor check list` prints it and
    docs/checks.md sends readers there (it used to keep a hand-written copy of the table)."""
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from auditor.cli import app

    result = CliRunner().invoke(app, ["check", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert listed["schema"] == "auditor/checks"
    rows = {row["id"]: row for row in listed["items"]}
    for check_id, cls in CHECKS.items():
        assert (rows[check_id]["severity"], rows[check_id]["title"]) == (cls.severity.value, cls.title), (
            check_id
        )
    page = (Path(__file__).resolve().parents[3] / "docs" / "checks.md").read_text(encoding="utf-8")
    assert "auditor check list" in page


@given(
    text=st.lists(
        st.sampled_from(
            ["ACCOUNT", "PERSON", " ", "run ", "`auditor account edit ", "ACCOUNTS", "xACCOUNT", "\\1", "."]
        ),
        max_size=8,
    ).map("".join),
    handle=st.text(alphabet=st.sampled_from("ab_\\&g<0>1 PERSONACCOUNT@"), max_size=12),
    email=st.text(alphabet=st.sampled_from("ab.\\&g<0>@ PERSON"), max_size=12),
)
def test_remediation_puts_the_references_in_as_written_at_each_whole_word(
    text: str, handle: str, email: str
) -> None:
    """The remediation text with each whole word ACCOUNT, then PERSON, replaced by the reference as
    it is (a backslash or `\\g<0>` in a handle is text, never a substitution template): what the
    regular-expression substitution per finding gave, now made by joining pieces split once."""

    class Demo(Check):
        id = "demo.check"
        remediation = text

    account = Account(id="a1", platform=Platform.X, handle=handle or "h")
    person = Person(id="p1", name="P", email=email)
    ref, who = account_ref(account), person_ref(person)
    expected = re.sub(r"\bACCOUNT\b", lambda _: ref, text)
    expected = re.sub(r"\bPERSON\b", lambda _: who, expected)
    assert Demo.remediation_for(account, person) == expected
    assert Demo.remediation_for(account) == re.sub(r"\bACCOUNT\b", lambda _: ref, text)
    assert Demo.remediation_for(None, person) == re.sub(r"\bPERSON\b", lambda _: who, text)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_check_s_clauses_are_the_requirements_citing_it_asked_once_or_often(name: str) -> None:
    framework = load_preset(name).framework
    for check_id in [*CHECKS, "no.such_check"]:
        expected = tuple(r for r in framework.requirements if check_id in r.checks)
        assert framework.for_check(check_id) == expected
        assert framework.for_check(check_id) is framework.for_check(check_id)  # worked out once
