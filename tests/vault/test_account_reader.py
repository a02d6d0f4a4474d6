"""Accounts are read by msgspec straight into `Account` (vault/stores/inventory.py); what does not
fit those types exactly is read by `Account.from_dict` as before. Both readers must give the same
account, and the typed one must never read a record the generic one would refuse."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.model.types import Account, AccountStatus, Approval, Platform, Purpose
from vault import kinds
from vault.errors import NewerFormatError
from vault.registry import Registry, TypedRecord
from vault.stores.inventory import _ACCOUNT_DECODER, Inventory

_text = st.text(max_size=12)
_ids = st.lists(st.text(min_size=1, max_size=6), max_size=3).map(tuple)
_instant = st.none() | st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, None]),
)
_day = st.none() | st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))

_account = st.builds(
    Account,
    id=st.text(min_size=1, max_size=8),
    platform=st.sampled_from(Platform),
    handle=st.text(min_size=1, max_size=12),
    profile_url=_text,
    platform_id=_text,
    display_name=_text,
    building=_text,
    purpose=st.sampled_from(Purpose),
    owner_id=_text,
    co_manager_ids=_ids,
    student_manager_ids=_ids,
    login_email=_text,
    two_factor=st.none() | st.booleans(),
    public_comments=st.none() | st.booleans(),
    comment_monitor_ids=_ids,
    approval=st.builds(
        Approval, requested_on=_day, approved_on=_day, approved_by=_text, renewal_due=_day, reference=_text
    ),
    status=st.sampled_from(AccountStatus),
    notes=_text,
    tags=_ids,
    created_at=_instant,
    updated_at=_instant | st.just(datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=-6)))),
    managers_changed_at=_instant,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_account)
def test_the_typed_reader_reads_what_from_dict_reads(account: Account) -> None:
    stored = json.dumps(account.to_dict()).encode()
    typed = _ACCOUNT_DECODER.decode(stored)
    slow = Account.from_dict(json.loads(stored))
    assert typed == slow == account
    assert [type(getattr(typed, f.name)) for f in dataclasses.fields(Account)] == [
        type(getattr(slow, f.name)) for f in dataclasses.fields(Account)
    ]


ODD: list[dict[str, Any]] = [
    {"display_name": None, "notes": None},  # nulls where text belongs
    {"purpose": "", "status": ""},  # empty enumerations: from_dict's defaults
    {"platform": "Twitter"},  # another spelling of X, if the enum takes it; else the same error
    {"created_at": "2026-01-02", "approval": None},  # a date where an instant belongs; no approval
    {"approval": {"approved_on": "2026-01-02T10:00:00+00:00"}},  # an instant where a date belongs
    {"co_manager_ids": None, "tags": ["a", 3]},  # a null list; a number among texts
    {"two_factor": "yes"},
]


@pytest.mark.parametrize("odd", ODD, ids=[",".join(o) for o in ODD])
def test_a_record_only_from_dict_accepts_is_read_by_from_dict(
    make_registry: Callable[..., Registry], odd: dict[str, Any]
) -> None:
    """A record stored by an earlier release or edited by hand within the rules reads exactly as
    `Account.from_dict` reads it, on both backends, with the registry's version."""
    reg = make_registry()
    base = Account(id="a_odd", platform=Platform.X, handle="oddschool", display_name="Odd School").to_dict()
    data = {**base, **odd}
    try:
        expected: Account | None = Account.from_dict(json.loads(json.dumps(data)))
    except ValueError:
        expected = None
    with reg.transaction():
        reg.put("account", "a_odd", data, expected_version=0)
    if expected is None:
        with pytest.raises(ValueError):
            Inventory(reg).accounts()
        return
    (got,) = Inventory(reg).accounts()
    assert got == dataclasses.replace(expected, version=1)
    assert got.version == 1


def test_typed_accounts_carry_the_registry_version(make_registry: Callable[..., Registry]) -> None:
    reg = make_registry()
    inv = Inventory(reg)
    with reg.transaction():
        inv.upsert_accounts([Account(id="", platform=Platform.INSTAGRAM, handle="lincolnhs")])
    (first,) = inv.accounts()
    inv.save_account(dataclasses.replace(first, notes="edited"))
    (again,) = inv.accounts()
    assert again.version == first.version + 1 and again.notes == "edited"
    typed = [r for r in reg.scan_typed_rows("account", _ACCOUNT_DECODER) if isinstance(r, TypedRecord)]
    assert [(r.id, r.version) for r in typed] == [(again.id, again.version)]


def test_an_account_written_by_a_newer_auditor_is_refused_not_read_typed(
    make_registry: Callable[..., Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Account` has no format field, so the typed reader takes only unmarked (format 1) records:
    one a later release marked as format 2 is refused by the generic reader, never misread."""
    reg = make_registry()
    spec = kinds.KINDS["account"]
    monkeypatch.setitem(
        kinds.KINDS, "account", dataclasses.replace(spec, format=2, upgrades={1: lambda d: d})
    )
    with reg.transaction():
        reg.put(
            "account",
            "a_new",
            Account(id="a_new", platform=Platform.X, handle="n").to_dict(),
            expected_version=0,
        )
    monkeypatch.undo()
    with pytest.raises(NewerFormatError, match="written by a newer auditor"):
        Inventory(reg).accounts()


def test_a_text_saying_format_reads_the_same(make_registry: Callable[..., Registry]) -> None:
    """The format mark is looked for in the plaintext: a note or a name that says `"format"`
    only sends the record to the generic reader, which reads the same account."""
    reg = make_registry()
    acc = Account(id="a_f", platform=Platform.X, handle="fmt", notes='"format": 2', display_name="format")
    with reg.transaction():
        reg.put("account", "a_f", acc.to_dict(), expected_version=0)
    (got,) = Inventory(reg).accounts()
    assert got == dataclasses.replace(acc, version=1)
