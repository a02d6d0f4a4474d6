"""`account list` writes each account's times as `account show` does, also when a whole list shares
the remembered texts (`instants`): equal instants in different zones keep their own offsets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from auditor.cli.account import account_row
from auditor.model.types import Account, Platform


def test_shared_instants_give_each_account_its_own_text() -> None:
    at = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    chicago = at.astimezone(timezone(timedelta(hours=-6)))
    assert at == chicago  # the same instant, written differently
    accounts = [
        Account(id="a1", platform=Platform.X, handle="one", created_at=at, updated_at=at),
        Account(id="a2", platform=Platform.X, handle="two", created_at=chicago, updated_at=None),
        Account(id="a3", platform=Platform.X, handle="three", created_at=at, updated_at=chicago),
    ]
    instants: dict[tuple[object, object], str] = {}
    shared = [account_row(a, {}, instants) for a in accounts]
    assert shared == [account_row(a, {}) for a in accounts]
    assert [r["created_at"] for r in shared] == [
        "2026-12-04T12:00:00+00:00",
        "2026-12-04T06:00:00-06:00",
        "2026-12-04T12:00:00+00:00",
    ]
    assert [r["updated_at"] for r in shared] == [
        "2026-12-04T12:00:00+00:00",
        None,
        "2026-12-04T06:00:00-06:00",
    ]
