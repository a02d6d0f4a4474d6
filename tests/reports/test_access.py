"""The access review (`reports/kinds/access.py`) on the sample district at a fixed clock: who can
reveal each account's credentials, through which scope, granted when and by whom, the last reveal,
and the three flags (a grant to someone who left or changed role, an unused identity, an account
only its owner can recover), read from a real registry through `auditor.services.reporting`.

Identities are added with the registry's clock set to the day each is created, and their use is
written to the real reveal log at fixed times, so every date in the report is known.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

import reports
from auditor.engine.policy import dump_preset
from auditor.model.types import Role, Secret
from auditor.services.policy import save_policy
from auditor.services.reporting import build_report
from reports.input import DISTRICT, EVERY, Grant
from reports.model import Report
from tests.reports.conftest import NOW, District
from vault.escrow import breakglass as bg
from vault.registry import Registry
from vault.rekey import add_identity as add_scoped_identity
from vault.rekey import breakglass_setup, remove_identity
from vault.revealog import RevealLog
from vault.stores.inventory import Inventory

ATHLETICS = "X account @nnhs_athletics"
X203 = "X account @naperville203"
BAND = "Bluesky account nchsband.bsky.social"


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def add_identity(
    reg: Registry,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    created: datetime,
    *,
    email: str = "",
    role: Role = Role.ADMIN,
) -> None:
    with monkeypatch.context() as mp:
        mp.setattr("vault.registry.utcnow", lambda: created)
        add_scoped_identity(
            reg, name, role, Secret(f"a long passphrase for {name}"), kdf_profile="floor", email=email
        )


@pytest.fixture
def staffed(district: District, monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    """The sample district plus four identities: Tom Okafor's (he left on 2026-03-01; his email in
    other capitals), Priya Raman's (her role changed after it was made; she revealed the athletics
    password), Dana Whitfield's (never used) and a compliance officer's (role auditor)."""
    reg = district.open()
    try:
        add_identity(reg, monkeypatch, "tokafor", at("2026-02-01"), email="TOkafor@Naperville203.ORG")
        add_identity(reg, monkeypatch, "praman", at("2026-01-10"), email="praman@naperville203.org")
        add_identity(reg, monkeypatch, "dwhitfield", at("2026-02-15"), email="dwhitfield@naperville203.org")
        add_identity(
            reg,
            monkeypatch,
            "compliance",
            at("2026-05-01"),
            email="compliance@naperville203.org",
            role=Role.AUDITOR,
        )
        inv = Inventory(reg)
        priya = inv.person_by_email("praman@naperville203.org")
        assert priya is not None
        inv.save_person(
            dataclasses.replace(priya, role="Assistant Principal", role_changed_on=date(2026, 4, 1))
        )
        athletics = inv.resolve_account("x:nnhs_athletics")
        log = RevealLog(reg)
        log.append(
            "reveal",
            account_id=athletics.id,
            reason="Friday's game",
            identity="praman",
            at=at("2026-05-20", 15),
        )
        log.append(
            "totp", account_id=athletics.id, reason="sign-in", identity="praman", at=at("2026-05-21", 15)
        )
        # After the report's clock: not seen by a report made at NOW.
        log.append("reveal", account_id=athletics.id, reason="later", identity="praman", at=at("2026-07-01"))
        yield reg
    finally:
        reg.close()


def rows(report: Report, section: str, key: str) -> dict[str, dict[str, Any]]:
    return {r[key]: dict(r) for r in report.section(section).rows}


def grants(report: Report, account: str) -> dict[str, dict[str, Any]]:
    return {r["who"]: dict(r) for r in report.section("grants").rows if r["account"] == account}


def test_every_grant_with_its_scope_date_and_last_reveal(staffed: Registry) -> None:
    report = build_report("access", staffed, now=NOW)
    athletics = grants(report, ATHLETICS)
    assert list(athletics) == ["dwhitfield", "it-admin", "praman", "tokafor"]  # the admins; not the auditor
    praman = athletics["praman"]
    assert (praman["role"], praman["through"], praman["granted"], praman["granted_by"]) == (
        "district-admin",
        "every scope",
        "2026-01-10 09:00 UTC",
        "it-admin",
    )
    # The TOTP code of the 21st is the last reveal; the one of July is after the report's clock.
    assert praman["last_revealed"] == "2026-05-21 15:00 UTC"
    assert praman["person"] == "Priya Raman"
    assert athletics["it-admin"]["granted_by"] == "(created with the registry)"
    assert athletics["it-admin"]["granted"] == "2026-01-02 08:00 UTC"
    assert {r["last_revealed"] for w, r in athletics.items() if w != "praman"} == {"never"}
    assert grants(report, X203)["praman"]["last_revealed"] == "never"  # per account, not per identity
    accounts = rows(report, "accounts", "account")
    assert accounts[ATHLETICS]["can_reveal"] == ["dwhitfield", "it-admin", "praman", "tokafor"]
    assert accounts[ATHLETICS]["scope"] == "nnhs" and accounts[ATHLETICS]["break_glass"] == "none"
    assert accounts[X203]["escrow"] == "escrowed" and accounts[BAND]["escrow"] == "missing"
    # Priya's role changed after the athletics password was stored: stale, as the audit says.
    assert accounts[ATHLETICS]["escrow"] == "stale"
    # Tom left: he can still reveal, but he is no one's way to recover an account.
    assert accounts[BAND]["recoverable_by"] == ["dwhitfield", "it-admin", "praman"]


def test_flags_departed_role_changed_and_unused_identities(staffed: Registry) -> None:
    report = build_report("access", staffed, now=NOW)
    idents = rows(report, "identities", "identity")
    tom = idents["tokafor"]
    # Tom left, and his identity has not been used since it was made on 2026-02-01 (120 days).
    assert tom["flags"] == ["departed", "unused"] and tom["person"] == "Tom Okafor (departed)"
    assert tom["why"] == (
        "tokafor is the identity of Tom Okafor, who left the district on 2026-03-01. tokafor was never used "
        "since it was created on 2026-02-01: 120 days, more than the policy's 90 days."
    )
    priya = idents["praman"]
    assert priya["flags"] == ["role changed"]
    assert priya["why"] == (
        "The role of Priya Raman changed on 2026-04-01 (now Assistant Principal), after praman was created "
        "on 2026-01-10."
    )
    assert (priya["last_used"], priya["last_action"]) == ("2026-05-21 15:00 UTC", "totp")
    dana = idents["dwhitfield"]
    assert dana["flags"] == ["unused"] and dana["last_used"] == "never"
    assert dana["why"] == (
        "dwhitfield was never used since it was created on 2026-02-15: 106 days, more than the policy's 90 days."
    )
    # Created a month ago and never used: within the 90 days. An auditor reveals nothing.
    officer = idents["compliance"]
    assert officer["flags"] == [] and officer["reveals_through"] == "none (inventory key only)"
    assert officer["role"] == "auditor" and officer["person"] == "not in the roster"
    # The first administrator ran the nightly audits: that is its use, not the log alone.
    admin = idents["it-admin"]
    assert (admin["last_used"], admin["last_action"], admin["flags"]) == ("2026-06-01 02:00 UTC", "audit", [])
    # The grants carry their identity's flags.
    athletics = grants(report, ATHLETICS)
    assert athletics["tokafor"]["flags"] == ["departed", "unused"]
    assert athletics["dwhitfield"]["flags"] == ["unused"] and athletics["praman"]["flags"] == ["role changed"]
    assert report.scope == {"unused_after": "90 days"}
    figures = {f.key: f.value for f in report.figures}
    assert figures == {
        "accounts": 4,
        "identities": 5,
        "can_reveal": 4,
        "breakglass": "none",
        "departed": 1,
        "role_changed": 1,
        "unused": 2,
        "no_other_recoverer": 0,
        "no_building_admin": 4,
    }
    assert report.summary.startswith(
        "4 of 5 identities can reveal escrowed credentials through district-wide grants, which open every "
        "account's credentials; there is no break-glass set. To review: 1 identity of someone who "
        "left the district, 1 identity of someone whose role changed after the grant and 2 identities "
        "unused for more than 90 days."
    )


def test_the_unused_window_is_the_policys(staffed: Registry) -> None:
    text = dump_preset("naperville-203")
    save_policy(
        staffed, text.replace('identity_unused_after = "90d"', 'identity_unused_after = "200d"'), "test"
    )
    report = build_report("access", staffed, now=NOW)
    assert rows(report, "identities", "identity")["dwhitfield"]["flags"] == []
    assert report.scope == {"unused_after": "200 days"}
    save_policy(staffed, text.replace('identity_unused_after = "90d"', 'identity_unused_after = ""'), "test")
    off = build_report("access", staffed, now=NOW)
    assert {f.key: f.value for f in off.figures}["unused"] == 0 and off.scope == {
        "unused_after": "not checked"
    }
    assert "unused identities not checked" in off.summary


def test_an_account_only_its_owner_or_departed_staff_can_recover(staffed: Registry) -> None:
    """Dana owns the district's X account; once the first administrator and Priya's identity are
    removed, only Dana (its owner) and Tom (who left) can reveal it: no one else can recover it."""
    dana = Registry.open(type(staffed.backend)(staffed.backend.location))  # type: ignore[call-arg]
    dana.unlock("dwhitfield", Secret("a long passphrase for dwhitfield"))
    try:
        remove_identity(dana, "it-admin", backup=False)
        remove_identity(dana, "praman", backup=False)
        report = build_report("access", dana, now=NOW)
    finally:
        dana.close()
    accounts = rows(report, "accounts", "account")
    x203 = accounts[X203]
    assert x203["flags"] == ["no other recoverer", "no building admin"] and x203["recoverable_by"] == []
    assert x203["why"].startswith(
        "Only its owner's identity (dwhitfield) and the identity of someone who left the district (tokafor) "
        f"can reveal the credentials of {X203}. No building administrator is granted the "
    )
    # Dana recovers the accounts she does not own, Tom's band account included.
    assert accounts[ATHLETICS]["recoverable_by"] == ["dwhitfield"]
    assert accounts[BAND]["flags"] == ["no building admin"]
    assert {f.key: f.value for f in report.figures}["no_other_recoverer"] == 1
    assert "1 active account has no active identity other than the owner's to recover it." in report.summary


def test_break_glass_is_listed_for_every_account_with_who_set_it_up(
    staffed: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as mp:
        mp.setattr("vault.rekey.utcnow", lambda: at("2026-03-03"))
        split = breakglass_setup(staffed, bg.single_group(2, 3))
    report = build_report("access", staffed, now=NOW)
    row = grants(report, BAND)[f"break-glass set {split.set_id}"]
    assert (row["role"], row["through"], row["granted"], row["last_revealed"]) == (
        "break-glass (2 of 3 shares)",
        "every scope",
        "2026-03-03 09:00 UTC",
        "never",
    )
    # Set up by it-admin: the log's `breakglass-setup` event says who.
    assert row["granted_by"] == "it-admin"
    assert rows(report, "accounts", "account")[BAND]["break_glass"] == f"set {split.set_id} (2 of 3 shares)"
    assert {f.key: f.value for f in report.figures}["breakglass"] == f"set {split.set_id}"
    assert f"break-glass set {split.set_id} (2 of 3 shares) opens them all in an emergency" in report.summary
    # Break-glass is for emergencies: it is no one's way to recover an account.
    assert (
        f"break-glass set {split.set_id}" not in rows(report, "accounts", "account")[BAND]["recoverable_by"]
    )


def test_the_auditor_identity_builds_it_and_no_secret_reaches_it(
    staffed: Registry, district: District
) -> None:
    officer = district.open("compliance", "a long passphrase for compliance")
    try:
        report = build_report("access", officer, now=NOW)
    finally:
        officer.close()
    assert report.to_dict() == build_report("access", staffed, now=NOW).to_dict()
    for fmt in ("table", "csv", "json", "html", "xlsx"):
        data = reports.render(report, fmt)
        if fmt == "xlsx":  # a zip: look inside every part
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                data = b"".join(zf.read(n) for n in zf.namelist())
        assert b"correct horse" not in data and b"tokafor" in data, fmt  # the fixture's escrowed password
    assert json.loads(reports.render(report, "json"))["schema"] == "auditor/report/access"


def test_a_grant_through_a_scope_reaches_that_scope_and_a_district_grant_every_scope() -> None:
    building = Grant("nnhs", None, "it-admin")
    office = Grant(DISTRICT, None, "it-admin")  # the scope of the accounts that have no building
    every = Grant(EVERY, None, "it-admin")
    assert building.reaches("nnhs") and building.reaches("NNHS") and not building.reaches("nchs")
    assert not building.reaches(DISTRICT) and office.reaches(DISTRICT) and not office.reaches("nnhs")
    assert every.reaches("nnhs") and every.reaches(DISTRICT)
