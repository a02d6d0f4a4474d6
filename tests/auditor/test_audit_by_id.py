"""What the audit makes of a handle lookup and a lookup by id (issue 15), through the real Bluesky and X
connectors against replayed recordings.

A Bluesky handle that stopped verifying (the AppView no longer finds it by handle, and shows the
account as `handle.invalid` by id) is reported as unverified, not renamed or missing; an X handle not
found whose recorded id is suspended is reported suspended (`connectors.base.resolve_by_id`, called
by `auditor/services/audit.py` `_renamed`).
"""

from __future__ import annotations

import pytest

from auditor.model.types import Platform, ProfileStatus
from auditor.services.audit import _renamed
from connectors.platforms.bluesky import BlueskyConnector
from connectors.platforms.x import XConnector

from ..connectors.test_real_answers import GETPROFILE, RESOLVE, UNRESOLVABLE, WIRED, connector, invalid_view
from ..connectors.test_recordings import REAL, Replay, _load
from .factories import make_account

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"recordings not found at {REAL}")


def test_audit_reports_an_unverified_bluesky_handle_not_a_rename_or_a_missing_account() -> None:
    account = make_account(platform=Platform.BLUESKY, handle="wired.com", platform_id=WIRED)
    routes = {
        (GETPROFILE, "actor=wired.com"): (400, _load("bluesky/appview_errors.json")["not_found"]),
        (RESOLVE, "handle=wired.com"): (400, UNRESOLVABLE),
        (GETPROFILE, f"actor={WIRED}"): (200, invalid_view()),
    }
    with Replay(routes) as server, connector(BlueskyConnector, server) as bsky:
        got = _renamed(bsky, account, bsky.lookup("wired.com"))
    assert (got.status, got.platform_handle, got.handle_unverified, got.renamed_from) == (
        ProfileStatus.FOUND,
        "wired.com",
        True,
        "",
    )


def test_audit_reports_an_x_handle_whose_id_is_suspended_as_suspended() -> None:
    account = make_account(platform=Platform.X, handle="justin_littman", platform_id="481186914")
    errors = _load("x/x_error_bodies.json")
    routes = {
        ("/2/users/by/username/justin_littman", ""): (200, errors["not_found_username"]),
        ("/2/users/481186914", ""): (200, errors["suspended_id"]),
    }
    with Replay(routes) as server, connector(XConnector, server) as x:
        got = _renamed(x, account, x.lookup("justin_littman"))
    assert got.status is ProfileStatus.SUSPENDED
