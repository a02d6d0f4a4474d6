"""X API v2: exact requests, 200-with-errors not-found/suspended, protected, batches, spellings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auditor.model.types import ProfileStatus
from connectors.fakes import FakeAccount, FakeX

from .helpers import CASES, TOKEN, connect

CASE = CASES["x"]


def _server(**kw: object) -> FakeX:
    accounts = [
        FakeAccount(
            "LincolnHS",
            id="100",
            name="Lincoln High",
            bio="Official. Go Lynx!",
            website="https://lincoln.k12.example",
            links=["https://district.k12.example"],
            verified=True,
            verified_kind="government",
            last_post_at="2026-10-01T08:30:00.000Z",
        ),
        FakeAccount("gone_hs", status="suspended", id="101"),
        FakeAccount("private_hs", status="protected", id="102", name="Private"),
    ]
    return FakeX(accounts, token=TOKEN, **kw).start()  # type: ignore[arg-type]


def test_single_lookup_sends_the_documented_request_and_maps_every_field() -> None:
    with _server() as server:
        profile = connect(CASE, server).lookup("@lincolnhs")
    req = server.requests[0]
    assert req.path == "/2/users/by/username/lincolnhs"
    assert req.header("Authorization") == f"Bearer {TOKEN}"
    assert req.param("user.fields") == (
        "created_at,description,entities,id,name,protected,public_metrics,url,username,verified,"
        "verified_type,most_recent_tweet_id,withheld"
    )
    assert req.param("expansions") == "most_recent_tweet_id"
    assert req.param("tweet.fields") == "created_at"
    assert profile.status is ProfileStatus.FOUND
    assert profile.platform_handle == "LincolnHS" and profile.platform_id == "100"
    assert profile.website == "https://lincoln.k12.example"  # the expanded URL, not t.co
    assert profile.links == ("https://district.k12.example",)
    assert profile.verified is True and profile.verified_kind == "government"
    assert profile.followers == 1200
    assert profile.last_post_at == datetime(2026, 10, 1, 8, 30, tzinfo=UTC)
    assert profile.url == "https://x.com/LincolnHS"


@pytest.mark.parametrize("status", [200, 404])
def test_not_found_comes_as_errors_with_200_or_404(status: int) -> None:
    with _server(not_found_status=status) as server:
        profile = connect(CASE, server).lookup("nobody_here")
    assert profile.status is ProfileStatus.NOT_FOUND


def test_suspended_is_told_apart_from_not_found_by_title_and_detail() -> None:
    with _server() as server:
        profile = connect(CASE, server).lookup("gone_hs")
    assert profile.status is ProfileStatus.SUSPENDED


def test_protected_account_is_protected_not_found() -> None:
    with _server() as server:
        profile = connect(CASE, server).lookup("private_hs")
    assert profile.status is ProfileStatus.PROTECTED
    assert profile.found and profile.display_name == "Private"


def test_batch_of_250_uses_three_calls_of_at_most_100_and_handles_partial_errors() -> None:
    with _server() as server:
        handles = ["LincolnHS", "gone_hs", "private_hs", "nobody"] + [f"user{i}" for i in range(246)]
        result = connect(CASE, server).lookup_many(handles)
    calls = [r for r in server.requests if r.path == "/2/users/by"]
    assert len(calls) == 3 and len(server.requests) == 3
    sizes = sorted(len((r.param("usernames") or "").split(",")) for r in calls)
    assert sizes == [50, 100, 100]
    assert list(result) == handles  # keyed by the handle asked for, in order
    assert result["LincolnHS"].status is ProfileStatus.FOUND
    assert result["gone_hs"].status is ProfileStatus.SUSPENDED
    assert result["private_hs"].status is ProfileStatus.PROTECTED
    assert result["nobody"].status is ProfileStatus.NOT_FOUND
    assert result["LincolnHS"].last_post_at is not None


def test_invalid_username_is_never_sent_and_does_not_spoil_the_batch() -> None:
    with _server() as server:
        result = connect(CASE, server).lookup_many(["LincolnHS", "way_too_long_for_x_names", "bad-dash"])
    assert result["LincolnHS"].status is ProfileStatus.FOUND
    assert result["bad-dash"].status is ProfileStatus.UNKNOWN
    assert "not a valid X username" in result["way_too_long_for_x_names"].reason
    assert server.requests[0].param("usernames") == "LincolnHS"


def test_newest_spec_spellings_are_parsed() -> None:
    with _server(spelling="2.167") as server:
        result = connect(CASE, server).lookup_many(["LincolnHS", "private_hs"])
    body_user = result["LincolnHS"]
    assert body_user.status is ProfileStatus.FOUND
    assert body_user.last_post_at == datetime(2026, 10, 1, 8, 30, tzinfo=UTC)  # from includes.posts
    assert result["private_hs"].last_post_at is None


def test_renamed_handle_is_found_by_id_with_renamed_from() -> None:
    with _server() as server:
        profile = connect(CASE, server).lookup_account("lincoln_old", platform_id="100")
    assert [r.path for r in server.requests] == ["/2/users/by/username/lincoln_old", "/2/users/100"]
    assert profile.status is ProfileStatus.FOUND
    assert profile.handle == "lincoln_old" and profile.renamed_from == "lincoln_old"
    assert profile.platform_handle == "LincolnHS"


def test_handle_now_owned_by_someone_else_reports_the_rename() -> None:
    with _server() as server:
        server.add(FakeAccount("lincoln_old", id="555"))  # a squatter took the old name
        profile = connect(CASE, server).lookup_account("lincoln_old", platform_id="100")
    assert profile.renamed_from == "lincoln_old" and profile.platform_id == "100"


def test_search_is_not_supported_on_x() -> None:
    from connectors.base import NotSupportedError

    with _server() as server, pytest.raises(NotSupportedError):
        connect(CASE, server).search("lincoln")
