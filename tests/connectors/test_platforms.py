"""Facebook, Instagram, YouTube, Mastodon, Bluesky, TikTok, Threads, LinkedIn: exact requests and
the statuses each platform's real answers map to."""

from __future__ import annotations

from datetime import UTC, datetime

from auditor.model.types import ProfileStatus
from connectors.fakes import FakeAccount, FakeClock

from .helpers import CASES, IG_OWN, TOKEN, connect, start

# -- Facebook ----------------------------------------------------------------------------------------


def test_facebook_request_carries_version_fields_and_access_token() -> None:
    case = CASES["facebook"]
    with start(case) as server:
        profile = connect(case, server).lookup("lincolnhs")
    req = server.requests[0]
    assert req.path == "/v25.0/lincolnhs"
    assert req.param("access_token") == TOKEN
    assert req.param("fields") == (
        "id,name,username,about,description,link,website,category,fan_count,followers_count,"
        "verification_status,is_verified"
    )
    assert req.header("Authorization") is None
    assert profile.status is ProfileStatus.FOUND
    assert profile.website == "https://lincoln.k12.example" and profile.followers == 1200


def test_facebook_version_comes_from_the_environment(monkeypatch: object) -> None:
    from auditor.model.types import Secret
    from connectors.fakes import FakeFacebook
    from connectors.platforms.facebook import FacebookConnector

    with FakeFacebook([FakeAccount("lincolnhs", id="9")], token=TOKEN, version="v26.0") as server:
        env = {"AUDITOR_FACEBOOK_BASE_URL": server.url, "AUDITOR_FACEBOOK_API_VERSION": "v26.0"}
        profile = FacebookConnector.from_environment(Secret(TOKEN), env=env).lookup("lincolnhs")
    assert server.requests[0].path == "/v26.0/lincolnhs"
    assert profile.status is ProfileStatus.FOUND


def test_facebook_803_is_not_found_and_100_33_says_why() -> None:
    case = CASES["facebook"]
    with start(case, FakeAccount("hidden_page", status="restricted")) as server:
        connector = connect(case, server)
        missing = connector.lookup("nosuchpage")
        hidden = connector.lookup("hidden_page")
    assert missing.status is ProfileStatus.NOT_FOUND and "803" in missing.reason
    assert hidden.status is ProfileStatus.NOT_FOUND and "100/33" in hidden.reason


def test_facebook_missing_feature_is_unknown() -> None:
    case = CASES["facebook"]
    with start(case) as server:
        server.fail(
            "status",
            status=400,
            body={
                "error": {
                    "message": "(#10) This endpoint requires the 'pages_read_engagement' permission",
                    "type": "OAuthException",
                    "code": 10,
                }
            },
        )
        profile = connect(case, server).lookup("lincolnhs")
    assert profile.status is ProfileStatus.UNKNOWN and "Page Public Metadata Access" in profile.reason


def test_facebook_throttle_code_4_waits_the_business_use_case_minutes() -> None:
    case = CASES["facebook"]
    clock = FakeClock()
    with start(case, clock=clock) as server:
        server.fail("rate_limit", seconds=240)
        profile = connect(case, server, clock=clock, budget_seconds=3600).lookup("lincolnhs")
    assert profile.status is ProfileStatus.FOUND
    assert 239 <= clock.sleeps[0] <= 241  # estimated_time_to_regain_access: 4 minutes


# -- Instagram ---------------------------------------------------------------------------------------


def test_instagram_business_discovery_runs_on_our_own_ig_user() -> None:
    case = CASES["instagram"]
    acct = FakeAccount(
        "lynx_athletics", name="Lynx", bio="Athletics", last_post_at="2026-09-01T10:00:00+0000", id="77"
    )
    with start(case, acct) as server:
        profile = connect(case, server).lookup("@Lynx_Athletics")
    req = server.requests[0]
    assert req.path == f"/v25.0/{IG_OWN}"
    assert req.param("access_token") == TOKEN
    assert req.param(
        "fields",
    ) == (
        "business_discovery.username(Lynx_Athletics){id,username,name,biography,website,followers_count,"
        "media_count,media.limit(1){timestamp,permalink}}"  # no field Meta keeps private (issue 15)
    )
    assert profile.status is ProfileStatus.FOUND and profile.platform_id == "77"
    assert profile.last_post_at == datetime(2026, 9, 1, 10, 0, tzinfo=UTC)


def test_instagram_110_2207013_is_not_found_or_not_business() -> None:
    case = CASES["instagram"]
    with start(case, FakeAccount("personal_kid", status="personal")) as server:
        connector = connect(case, server)
        personal = connector.lookup("personal_kid")
        missing = connector.lookup("nobody")
    for profile in (personal, missing):
        assert profile.status is ProfileStatus.NOT_FOUND
        assert "not a business/creator account" in profile.reason


def test_instagram_without_ig_user_id_is_unknown_without_calling() -> None:
    case = CASES["instagram"]
    with start(case) as server:
        profile = connect(case, server, extra={"ig_user_id": ""}).lookup("lincolnhs")
    assert profile.status is ProfileStatus.UNKNOWN and "ig_user_id" in profile.reason
    assert server.requests == []


# -- YouTube -----------------------------------------------------------------------------------------


def test_youtube_for_handle_with_key_and_last_upload() -> None:
    case = CASES["youtube"]
    acct = FakeAccount("LynxTV", name="Lynx TV", last_post_at="2026-10-02T12:00:00Z", followers=2390000)
    with start(case, acct) as server:
        profile = connect(case, server).lookup("LynxTV")
    first, second = server.requests
    assert first.path == "/youtube/v3/channels"
    assert first.param("forHandle") == "@LynxTV" and first.param("key") == TOKEN
    assert first.param("part") == "snippet,statistics,contentDetails"
    assert second.path == "/youtube/v3/playlistItems" and second.param(
        "playlistId",
    ).startswith("UU")
    assert profile.platform_handle == "lynxtv" and profile.followers == 2390000
    assert profile.last_post_at == datetime(2026, 10, 2, 12, tzinfo=UTC)


def test_youtube_200_without_items_is_not_found_and_quota_is_unknown_at_once() -> None:
    case = CASES["youtube"]
    clock = FakeClock()
    with start(case, FakeAccount("closed", status="suspended"), clock=clock) as server:
        connector = connect(case, server, clock=clock)
        assert connector.lookup("nobody").status is ProfileStatus.NOT_FOUND
        assert connector.lookup("closed").status is ProfileStatus.NOT_FOUND
        server.fail("rate_limit", seconds=60)
        quota = connector.lookup("lincolnhs")
    assert quota.status is ProfileStatus.UNKNOWN and "quota exceeded" in quota.reason
    assert clock.sleeps == []


def test_youtube_429_with_retry_after_is_waited_out() -> None:
    case = CASES["youtube"]
    clock = FakeClock()
    with start(case, clock=clock) as server:
        server.fail(
            "status",
            status=429,
            body={"error": {"code": 429, "message": "RATE_LIMIT_EXCEEDED"}},
            headers={"Retry-After": "7"},
        )
        profile = connect(case, server, clock=clock).lookup("lincolnhs")
    assert profile.status is ProfileStatus.FOUND
    assert 7 <= clock.sleeps[0] < 7.1


def test_youtube_search_lists_channels() -> None:
    case = CASES["youtube"]
    with start(case, FakeAccount("lincolnhs_fake", name="Lincoln HS (fan)")) as server:
        results = connect(case, server).search("lincoln", limit=5)
    req = server.requests[0]
    assert req.path == "/youtube/v3/search" and req.param("type") == "channel" and req.param("q") == "lincoln"
    assert req.param("maxResults") == "5" and req.param("key") == TOKEN
    assert {p.display_name for p in results} == {"Lincoln High School", "Lincoln HS (fan)"}
    assert all(p.platform_id.startswith("UC") for p in results)


# -- Mastodon ----------------------------------------------------------------------------------------


def test_mastodon_asks_the_home_instance_anonymously_and_converts_html() -> None:
    case = CASES["mastodon"]
    acct = FakeAccount(
        "lynx@k12.social",
        name="Lynx",
        bio="Official <Lynx> & friends",
        website="https://lynx.k12.example",
        links=["https://district.k12.example/social"],
        verified=True,
        last_post_at="2026-10-03T09:00:00Z",
    )
    with start(case, acct) as server:
        profile = connect(case, server, token=None).lookup("@lynx@k12.social")
    req = server.requests[0]
    assert req.path == "/_i/k12.social/api/v1/accounts/lookup"
    assert req.param("acct") == "lynx"
    assert req.header("Authorization") is None
    assert profile.status is ProfileStatus.FOUND
    assert profile.bio == "Official <Lynx> & friends https://district.k12.example/social"
    assert profile.links == ("https://district.k12.example/social", "https://lynx.k12.example")
    assert profile.website == "https://lynx.k12.example" and profile.verified is True
    assert profile.platform_handle == "lynx@k12.social"
    assert profile.last_post_at == datetime(2026, 10, 3, tzinfo=UTC)


def test_mastodon_token_only_goes_to_its_own_instance() -> None:
    case = CASES["mastodon"]
    with start(case, FakeAccount("other@elsewhere.social")) as server:
        connector = connect(case, server)
        connector.lookup("lincolnhs@k12.social")
        connector.lookup("other@elsewhere.social")
    assert server.requests[0].header("Authorization") == f"Bearer {TOKEN}"
    assert server.requests[1].header("Authorization") is None


def test_mastodon_not_found_suspended_locked_moved() -> None:
    case = CASES["mastodon"]
    accounts = [
        FakeAccount("banned@k12.social", status="suspended"),
        FakeAccount("locked@k12.social", status="protected"),
        FakeAccount(
            "old@k12.social",
            extra={"moved": {"acct": "new@other.social", "url": "https://other.social/@new"}},
        ),
    ]
    with start(case, *accounts) as server:
        got = connect(case, server).lookup_many(
            ["nobody@k12.social", "banned@k12.social", "locked@k12.social", "old@k12.social", "nohost"]
        )
    assert got["nobody@k12.social"].status is ProfileStatus.NOT_FOUND
    assert got["banned@k12.social"].status is ProfileStatus.SUSPENDED
    # `locked` only means follow requests need approval: profile and public posts are visible.
    assert got["locked@k12.social"].status is ProfileStatus.FOUND
    assert got["old@k12.social"].status is ProfileStatus.DEACTIVATED
    assert got["old@k12.social"].reason == "moved to new@other.social"
    assert got["nohost"].status is ProfileStatus.UNKNOWN and "user@instance" in got["nohost"].reason


def test_mastodon_search_uses_v2_accounts() -> None:
    case = CASES["mastodon"]
    with start(case, FakeAccount("lincoln_fans@fans.example", name="Lincoln fans")) as server:
        results = connect(case, server, extra={"search_instance": "k12.social"}).search("lincoln", 10)
    req = server.requests[0]
    assert req.path == "/_i/k12.social/api/v2/search"
    assert (req.param("type"), req.param("q"), req.param("limit")) == ("accounts", "lincoln", "10")
    assert {p.platform_handle for p in results} == {"lincolnhs@k12.social", "lincoln_fans@fans.example"}


# -- Bluesky -----------------------------------------------------------------------------------------


def test_bluesky_batches_of_25_then_get_profile_for_the_dropped() -> None:
    case = CASES["bluesky"]
    accounts = [FakeAccount(f"school{i}.bsky.social", id=f"s{i}") for i in range(30)]
    accounts += [
        FakeAccount("banned.bsky.social", status="suspended"),
        FakeAccount("quiet.bsky.social", status="deactivated"),
    ]
    with start(case, *accounts) as server:
        handles = [a.handle for a in accounts] + ["ghost.bsky.social", "LincolnHS.bsky.social"]
        got = connect(case, server, max_concurrency=1).lookup_many(handles)
    batches = [r for r in server.requests if r.path.endswith("getProfiles")]
    singles = [r.param("actor") for r in server.requests if r.path.endswith("getProfile")]
    assert [len(r.query["actors"]) for r in batches] == [25, 9]
    assert batches[0].header("Authorization") is None
    assert sorted(singles) == ["banned.bsky.social", "ghost.bsky.social", "quiet.bsky.social"]
    assert got["school7.bsky.social"].status is ProfileStatus.FOUND
    assert got["banned.bsky.social"].status is ProfileStatus.SUSPENDED
    assert got["quiet.bsky.social"].status is ProfileStatus.DEACTIVATED
    assert got["ghost.bsky.social"].status is ProfileStatus.NOT_FOUND
    assert got["LincolnHS.bsky.social"].status is ProfileStatus.FOUND  # handles compare lower-case


def test_bluesky_renamed_handle_found_by_did_and_protected_label() -> None:
    case = CASES["bluesky"]
    with start(case, FakeAccount("shy.bsky.social", status="protected")) as server:
        connector = connect(case, server)
        did = connector.lookup("lincolnhs.bsky.social").platform_id
        renamed = connector.lookup_account("lincoln-old.bsky.social", platform_id=did)
        shy = connector.lookup("shy.bsky.social")
    assert did.startswith("did:plc:")
    assert renamed.status is ProfileStatus.FOUND and renamed.renamed_from == "lincoln-old.bsky.social"
    assert renamed.platform_handle == "lincolnhs.bsky.social"
    assert server.requests[-2].param("actor") == did
    assert shy.status is ProfileStatus.PROTECTED


def test_bluesky_search_actors() -> None:
    case = CASES["bluesky"]
    with start(case, FakeAccount("lincoln-hs.bsky.social", name="Lincoln HS")) as server:
        results = connect(case, server).search("lincoln", limit=10)
    req = server.requests[0]
    assert (
        req.path == "/xrpc/app.bsky.actor.searchActors"
        and req.param("q") == "lincoln"
        and req.param("limit") == "10"
    )
    assert {p.platform_handle for p in results} == {"lincolnhs.bsky.social", "lincoln-hs.bsky.social"}


# -- Own-account platforms ---------------------------------------------------------------------------


def test_tiktok_own_account_with_bearer_and_other_accounts_unknown() -> None:
    case = CASES["tiktok"]
    with start(case, FakeAccount("someone_else")) as server:
        connector = connect(case, server)
        own = connector.lookup("@LincolnHS")
        other = connector.lookup("someone_else")
    req = server.requests[0]
    assert req.path == "/v2/user/info/" and req.header("Authorization") == f"Bearer {TOKEN}"
    assert "username" in (req.param("fields") or "").split(",")
    assert own.status is ProfileStatus.FOUND and own.bio == "Official account of Lincoln HS"
    assert other.status is ProfileStatus.UNKNOWN and "belongs to @lincolnhs" in other.reason


def test_threads_me_then_profile_lookup_needs_discovery() -> None:
    case = CASES["threads"]
    with start(case, FakeAccount("rival")) as server:
        connector = connect(case, server)
        own = connector.lookup("lincolnhs")
        other = connector.lookup("rival")
    assert server.requests[0].path == "/v1.0/me" and server.requests[0].param("access_token") == TOKEN
    assert (
        server.requests[-1].path == "/v1.0/profile_lookup"
        and server.requests[-1].param("username") == "rival"
    )
    assert own.status is ProfileStatus.FOUND
    assert other.status is ProfileStatus.UNKNOWN and "threads_profile_discovery" in other.reason


def test_linkedin_vanity_name_lookup_with_versioned_headers() -> None:
    case = CASES["linkedin"]
    with start(case) as server:
        connector = connect(case, server)
        found = connector.lookup("LincolnHS")
        missing = connector.lookup("nobody")
    req = server.requests[0]
    assert req.path == "/rest/organizations"
    assert (req.param("q"), req.param("vanityName")) == ("vanityName", "lincolnhs")
    assert req.header("LinkedIn-Version") == "202601" and req.header("X-Restli-Protocol-Version") == "2.0.0"
    assert found.status is ProfileStatus.FOUND and found.website == "https://lincoln.k12.example"
    assert missing.status is ProfileStatus.NOT_FOUND
