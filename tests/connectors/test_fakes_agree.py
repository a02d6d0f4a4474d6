"""Issue 15: our loopback fakes (connectors/fakes, connectors/roster/fakes.py) answer like the real
services recorded in /work/shared/fixtures/real-api, for the cases no recording covers.

Each platform's fake is asked exactly what the real connector asks (the connector's own request,
sent again over HTTP to the fake), for a profile with every field set. Its answer must not hold a
field the recorded answers lack (a fake must not invent a field the real API does not send; the few
fields newer than the recordings are named with their reason), every field both hold must have the
recorded JSON type (recursively; null on either side is a nullable field), and it must hold every
field the connector reads. Per platform the comparison is a subset (the recordings carry fields
nobody models: avatars, banners, pinned posts) except where the request names the fields: there the
fake answers exactly those (Graph `$select`, Instagram's field expansion, Facebook `fields=`).

Then, for each switch a fake gained here, the real connector reads the fake the way it reads the
recording it imitates (tests/connectors/test_real_answers.py holds the recording-side tests).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from auditor.model.types import ProfileStatus, Secret
from connectors.fakes import FakeAccount, FakeBluesky, FakeMastodon, FakeServer, FakeX
from connectors.fakes.platforms import IG_DISCOVERY_FIELDS
from connectors.platforms.bluesky import UNVERIFIED_REASON
from connectors.platforms.instagram import TARGET_FIELDS
from connectors.platforms.x import NOT_ENROLLED_REASON, USAGE_CAP_REASON
from connectors.roster.fakes import DEMO_TENANT, FakeGoogleDirectory, FakeGraph, FakeOneRoster
from connectors.roster.google_directory import GoogleDirectorySource
from connectors.roster.msgraph import SELECT, GraphUsersSource
from connectors.roster.oneroster_rest import OneRosterRestSource

from .helpers import CASES, TOKEN, connect, start
from .roster.helpers import FakeClock, settings
from .test_recordings import REAL, _cassette, _load

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"recordings not found at {REAL}")

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


# -- comparing shapes ----------------------------------------------------------------------------


def merged(*samples: Any) -> Any:
    """The union of several recorded objects (key by key, recursively; lists by their items)."""
    dicts = [s for s in samples if isinstance(s, dict)]
    if dicts:
        out: dict[str, Any] = {}
        for d in dicts:
            for k, v in d.items():
                out[k] = merged(out[k], v) if k in out else v
        return out
    lists = [s for s in samples if isinstance(s, list)]
    if lists:
        items = [i for lst in lists for i in lst]
        return [merged(*items)] if items else []
    real = [s for s in samples if s is not None]
    return real[0] if real else None


def disagreements(fake: Any, real: Any, where: str = "", newer: frozenset[str] = frozenset()) -> list[str]:
    """Where `fake` holds a field `real` lacks, or a value of another JSON type. `newer`: dotted
    paths of fields the recordings predate (allowed, with a reason at the call)."""
    if fake is None or real is None:
        return []
    if isinstance(real, dict):
        if not isinstance(fake, dict):
            return [f"{where or '(top)'}: the fake sends {type(fake).__name__}, recorded is an object"]
        out = []
        for key, value in fake.items():
            path = f"{where}.{key}" if where else key
            if key not in real:
                if path not in newer:
                    out.append(f"{path}: the fake sends it; no recorded answer has it")
                continue
            out.extend(disagreements(value, real[key], path, newer))
        return out
    if isinstance(real, list):
        if not isinstance(fake, list):
            return [f"{where}: the fake sends {type(fake).__name__}, recorded is a list"]
        if fake and real:
            return disagreements(merged(*fake), merged(*real), where + "[]", newer)
        return []
    if type(fake) is not type(real):  # bool is not int, "12" is not 12
        return [f"{where}: the fake sends {type(fake).__name__}, recorded is {type(real).__name__}"]
    return []


def missing(fake: Any, paths: list[str]) -> list[str]:
    """The dotted paths (a `[]` step means: in the list's first item) the fake does not send."""
    out = []
    for path in paths:
        node: Any = fake
        for step in path.split("."):
            if step.endswith("[]"):
                node = node.get(step[:-2]) if isinstance(node, dict) else None
                node = node[0] if isinstance(node, list) and node else None
            else:
                node = node.get(step) if isinstance(node, dict) else None
        if node is None:
            out.append(path)
    return out


def answer_to_last_request(server: FakeServer, path: str) -> Any:
    """The fake's JSON answer to the connector's last request to `path`, asked again over HTTP."""
    req = [r for r in server.requests if r.path == path][-1]
    headers = {k: v for k, v in req.headers.items() if k == "authorization"}
    resp = requests.get(server.url + req.path, params=req.query, headers=headers, timeout=5)
    assert resp.status_code == 200, resp.text
    return resp.json()


def full_account(platform: str) -> FakeAccount:
    handle = {"mastodon": "lincolnhs@k12.social", "bluesky": "lincolnhs.bsky.social"}.get(
        platform, "lincolnhs"
    )
    return FakeAccount(
        handle,
        id="UCxlincolnhs00000000000" if platform == "youtube" else "4242",
        name="Lincoln High School",
        bio="Official account of Lincoln HS. News: https://lincoln.k12.example/news",
        website="https://lincoln.k12.example",
        links=["https://lincoln.k12.example/news"],
        verified=True,
        verified_kind="business" if platform == "x" else "",
        last_post_at="2026-11-18T15:00:00.000Z",
    )


def fake_answer(platform: str, path: str, at: tuple[str | int, ...] = (), **kw: Any) -> Any:
    case = CASES[platform]
    with start(case, full_account(platform), with_default=False, **kw) as server:
        with connect(case, server) as connector:
            profile = connector.lookup(case.handle)
        assert profile.status is ProfileStatus.FOUND, profile.reason
        body = answer_to_last_request(server, path)
    for step in at:
        body = body[step]
    return body


# -- each platform's found profile ---------------------------------------------------------------


def test_x_fake_user_is_shaped_like_the_recorded_users() -> None:
    [(_, _, single)] = _cassette("x/tweepy_test_client_get_user.yaml")
    [(_, _, batch)] = _cassette("x/tweepy_test_client_get_users.yaml")
    twarc = _load("x/twarc_users_lookup_subset.json")
    real = merged(
        json.loads(single)["data"], *json.loads(batch)["data"], *twarc["data"],
        _load("x/twarc_verified_type_TwitterDev.json")["user"],
    )  # fmt: skip
    fake = fake_answer("x", "/2/users/by/username/lincolnhs", ("data",))
    # most_recent_tweet_id (2023) is newer than every recording; the connector asks for it.
    assert disagreements(fake, real, newer=frozenset({"most_recent_tweet_id"})) == []
    assert missing(fake, [
        "id", "username", "name", "description", "created_at", "protected", "verified", "verified_type",
        "public_metrics.followers_count", "url", "entities.url.urls[].expanded_url",
        "entities.description.urls[].expanded_url", "most_recent_tweet_id",
    ]) == []  # fmt: skip


def test_x_fake_without_links_sends_no_entities_and_an_empty_url_like_the_recordings() -> None:
    case = CASES["x"]
    with start(case, FakeAccount("plainhs", id="77", name="Plain"), with_default=False) as server:
        with connect(case, server) as x:
            assert x.lookup("plainhs").found
        fake = answer_to_last_request(server, "/2/users/by/username/plainhs")["data"]
    assert "entities" not in fake and fake["url"] == ""


def test_mastodon_fake_account_is_shaped_like_the_recorded_accounts() -> None:
    lookups = [json.loads(b) for uri, status, b in _cassette("mastodon/mastodonpy_test_account_lookup.yaml")]
    search = _load("mastodon/mastodon_social_search_v2_accounts.json")["accounts"]
    real = merged(*(d for d in lookups if "id" in d), *search)
    fake = fake_answer("mastodon", "/_i/k12.social/api/v1/accounts/lookup")
    assert disagreements(fake, real) == []
    assert missing(fake, [
        "id", "username", "acct", "display_name", "note", "url", "fields[].value", "fields[].verified_at",
        "followers_count", "created_at", "last_status_at", "locked",
    ]) == []  # fmt: skip


def test_bluesky_fake_profile_is_shaped_like_the_recorded_view() -> None:
    wired = _load("bluesky/wired_com_getProfile.json")["body"]
    actors = _load("bluesky/marshalx_search_actors_typeahead_subset.json")["body"]["actors"]
    fake = fake_answer("bluesky", "/xrpc/app.bsky.actor.getProfile")
    # `website` is no recorded view's: it is written from the reference (§6), and read if sent.
    assert disagreements(fake, merged(wired, *actors), newer=frozenset({"website"})) == []
    assert missing(fake, [
        "did", "handle", "displayName", "description", "createdAt", "followersCount", "labels",
        "verification.verifiedStatus", "verification.trustedVerifierStatus",
    ]) == []  # fmt: skip


def test_youtube_fake_channel_and_upload_are_shaped_like_the_recorded_ones() -> None:
    channels = _load("youtube/groww_channels_list.json")["body"]
    fake = fake_answer("youtube", "/youtube/v3/channels")
    assert disagreements(fake, channels) == []
    assert missing(fake, [
        "items[].id", "items[].snippet.title", "items[].snippet.description", "items[].snippet.customUrl",
        "items[].snippet.publishedAt", "items[].statistics.subscriberCount",
        "items[].statistics.hiddenSubscriberCount", "items[].contentDetails.relatedPlaylists.uploads",
    ]) == []  # fmt: skip
    uploads = _load("youtube/playlist_items_contentDetails.json")["body"]
    fake_uploads = fake_answer("youtube", "/youtube/v3/playlistItems")
    assert disagreements(fake_uploads, uploads) == []
    assert missing(fake_uploads, ["items[].contentDetails.videoPublishedAt"]) == []


def test_facebook_fake_page_answers_the_asked_fields_with_the_recorded_types() -> None:
    page = _load("facebook/facebookapp_page.json")["body"]
    fake = fake_answer("facebook", "/v25.0/lincolnhs")
    from connectors.platforms.facebook import FIELDS

    # Only asked fields come back, and those the recording shares have its types (fan_count int).
    assert set(fake) <= set(FIELDS.split(","))
    # Asked, and newer than (or not asked by) the recorded Page's query: Page fields per Meta's reference.
    newer = frozenset(
        {"link", "website", "category", "description", "followers_count", "verification_status"}
    )
    assert disagreements(fake, page, newer=newer) == []
    assert "is_verified" not in fake  # deprecated for verification_status; the connector reads either
    assert missing(fake, ["id", "name", "username", "about", "link", "verification_status"]) == []


def test_facebook_fake_leaves_out_a_field_the_page_has_no_value_for_like_graph() -> None:
    case = CASES["facebook"]
    with start(case, FakeAccount("plainpage", id="99", name="Plain"), with_default=False) as server:
        with connect(case, server) as fb:
            got = fb.lookup("plainpage")
        fake = answer_to_last_request(server, "/v25.0/plainpage")
    assert "website" not in fake and "about" not in fake
    assert (got.website, got.bio) == ("", "")


def test_instagram_fake_answers_only_the_asked_public_fields() -> None:
    recorded = _load("instagram/business_discovery.json")
    real = merged(recorded["doc_example"]["business_discovery"], recorded["nike"]["business_discovery"])
    fake = fake_answer("instagram", "/v25.0/17841405309211844", ("business_discovery",))
    # id and username are asked by the connector, not by the recorded queries.
    assert (
        disagreements(fake, real, newer=frozenset({"id", "username", "website", "media.data[].permalink"}))
        == []
    )
    asked = {
        f.split(".", 1)[0].split("{", 1)[0]
        for f in TARGET_FIELDS.replace("{timestamp,permalink}", "").split(",")
    }
    assert set(fake) == asked  # every asked field answered, nothing more
    assert len(fake["media"]["data"]) == 1 and set(fake["media"]["data"][0]) == {
        "id",
        "timestamp",
        "permalink",
    }
    assert fake["media"]["data"][0]["timestamp"] == "2026-11-18T15:00:00+0000"  # IG's recorded spelling


def test_instagram_fake_leaves_out_fields_business_discovery_does_not_show() -> None:
    case = CASES["instagram"]
    with start(case, full_account("instagram"), with_default=False) as server:
        url = f"{server.url}/v25.0/17841405309211844"
        fields = "business_discovery.username(lincolnhs){name,profile_picture_url,followers_count}"
        body = requests.get(url, params={"fields": fields, "access_token": TOKEN}, timeout=5).json()
    assert body["business_discovery"] == {"name": "Lincoln High School", "followers_count": 1200}
    # So the connector asks only what the fake (like Graph) answers: nothing it asks is dropped.
    asked = {
        f.split(".", 1)[0].split("{", 1)[0]
        for f in TARGET_FIELDS.replace("{timestamp,permalink}", "").split(",")
    }
    assert asked <= IG_DISCOVERY_FIELDS


# -- roster fakes --------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def graph_source(server: FakeGraph, clock: FakeClock, **kw: Any) -> GraphUsersSource:
    return GraphUsersSource(
        tenant=DEMO_TENANT, client_id="demo-client", client_secret=Secret("demo-secret"), login_url=server.url,
        graph_url=server.url, now=lambda: NOW, http=settings(clock), **kw,
    )  # fmt: skip


def test_graph_fake_token_and_users_have_the_recorded_key_sets(clock: FakeClock) -> None:
    recorded = _load("msgraph/users_pages.json")
    with FakeGraph() as server:
        assert isinstance(server, FakeGraph)
        graph_source(server, clock).fetch()
        token = requests.post(
            f"{server.url}/{DEMO_TENANT}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "demo-client",
                "client_secret": "demo-secret",
            },
            timeout=5,
        ).json()
        page = answer_to_graph(server)
    assert set(token) == set(recorded["token"]) and disagreements(token, recorded["token"]) == []
    real_users = merged(*recorded["page1"]["value"], *recorded["page2_no_lifecycle_permission"]["value"])
    for user in page["value"]:
        assert set(user) == set(SELECT.split(","))  # $select: exactly these, null where unset
        assert disagreements(user, real_users) == []
    assert set(page) <= set(recorded["page1"])


def answer_to_graph(server: FakeGraph) -> Any:
    req = [r for r in server.requests if r.path == "/v1.0/users"][-1]
    resp = requests.get(
        f"{server.url}/v1.0/users?{req.raw_query}",
        headers={"Authorization": req.headers["authorization"]},
        timeout=5,
    )
    return resp.json()


def test_google_and_oneroster_fake_users_are_shaped_like_the_recorded_ones(clock: FakeClock) -> None:
    google = _load("google/users_list.json")
    with FakeGoogleDirectory() as server:
        GoogleDirectorySource(
            access_token=Secret("demo-google-token"), base_url=server.url, http=settings(clock)
        ).fetch()
        req = server.requests[-1]
        body = requests.get(
            f"{server.url}{req.path}?{req.raw_query}",
            headers={"Authorization": "Bearer demo-google-token"},
            timeout=5,
        ).json()
    real = merged(*google["page1"]["users"], *google["page2"]["users"])
    assert [d for u in body["users"] for d in disagreements(u, real)] == []
    assert set(body) <= set(google["page1"])

    recorded = _load("oneroster/v1p1_rest.json")
    with FakeOneRoster() as server:
        assert isinstance(server, FakeOneRoster)
        OneRosterRestSource(
            base_url=server.url, token_url=server.token_url, client_id="demo-client",
            client_secret=Secret("demo-secret"), http=settings(clock),
        ).fetch()  # fmt: skip
        req = [r for r in server.requests if r.path.endswith("/users")][-1]
        body = requests.get(
            f"{server.url}{req.path}?{req.raw_query}",
            headers={"Authorization": req.headers["authorization"]},
            timeout=5,
        ).json()
    real = merged(*recorded["users_spec"]["users"])
    assert [d for u in body["users"] for d in disagreements(u, real)] == []


# -- the new switches, read by the real connectors like the recordings ---------------------------


@pytest.mark.parametrize("status", [429, 403])
def test_fake_x_usage_cap_stops_the_connector_after_one_request(status: int) -> None:
    clock = FakeClock()
    accounts = [FakeAccount(f"school{i}", id=str(100 + i)) for i in range(150)]
    with FakeX(accounts, token=TOKEN, usage_capped=status, clock=clock) as server:
        x = connect(CASES["x"], server, clock=clock)
        first = x.lookup("school1")
        got = x.lookup_many([a.handle for a in accounts])  # two batches of up to 100, never sent
        by_id = x.lookup_by_id("101")
        sent = len(server.requests)
        # Asked directly: the cap carries no reset header (waiting would not lift it).
        assert "x-rate-limit-reset" not in {k.lower() for k in server_reply_headers(server, "/2/users/by")}
    assert sent == 1  # the first answer is the cap: no batch, no lookup by id, no wait after it
    assert clock.sleeps == []
    assert {p.status for p in [first, *got.values(), by_id]} == {ProfileStatus.UNKNOWN}
    assert {p.reason for p in [first, *got.values(), by_id]} == {USAGE_CAP_REASON}


def server_reply_headers(server: FakeServer, path: str) -> dict[str, str]:
    resp = requests.get(
        server.url + path,
        params={"usernames": "school1"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    return dict(resp.headers)


def test_fake_x_client_not_enrolled_is_not_a_refused_token() -> None:
    with FakeX([FakeAccount("lincolnhs", id="1")], token=TOKEN, client_not_enrolled=True) as server:
        got = connect(CASES["x"], server).lookup("lincolnhs")
    assert (got.status, got.reason) == (ProfileStatus.UNKNOWN, NOT_ENROLLED_REASON)
    assert "rejected the token" not in got.reason


def test_fake_bluesky_handle_invalid_reads_as_an_unverified_handle() -> None:
    account = FakeAccount(
        "news.lincoln.k12.example", id="did:plc:lincolnnews", status="handle_invalid", name="News"
    )
    with FakeBluesky([account]) as server, connect(CASES["bluesky"], server) as bsky:
        by_handle = bsky.lookup("news.lincoln.k12.example")
        asked = [r.path for r in server.requests]
        by_account = bsky.lookup_account("news.lincoln.k12.example", "did:plc:lincolnnews")
        resolve = requests.get(
            server.url + "/xrpc/com.atproto.identity.resolveHandle", params={"handle": "news.lincoln.k12.example"},
            timeout=5,
        )  # fmt: skip
        by_did = requests.get(
            server.url + "/xrpc/app.bsky.actor.getProfile", params={"actor": "did:plc:lincolnnews"}, timeout=5
        ).json()
    # By handle: the AppView's 400 "Profile not found", the handle no longer resolves.
    assert by_handle.status is ProfileStatus.NOT_FOUND
    assert asked == ["/xrpc/app.bsky.actor.getProfile", "/xrpc/com.atproto.identity.resolveHandle"]
    assert (resolve.status_code, resolve.json()) == (
        400, {"error": "InvalidRequest", "message": "Unable to resolve handle"},
    )  # fmt: skip
    # By DID: the account, shown as handle.invalid; the connector keeps the recorded handle.
    assert by_did["handle"] == "handle.invalid"
    assert (by_account.status, by_account.handle_unverified, by_account.reason) == (
        ProfileStatus.FOUND, True, UNVERIFIED_REASON,
    )  # fmt: skip
    assert (by_account.platform_handle, by_account.renamed_from) == ("news.lincoln.k12.example", "")


def test_fake_bluesky_resolves_a_handle_the_appview_shows() -> None:
    with FakeBluesky([FakeAccount("lincoln.k12.example", id="did:plc:lincoln")]) as server:
        resolve = requests.get(
            server.url + "/xrpc/com.atproto.identity.resolveHandle", params={"handle": "lincoln.k12.example"},
            timeout=5,
        )  # fmt: skip
    assert (resolve.status_code, resolve.json()) == (200, {"did": "did:plc:lincoln"})


def test_fake_mastodon_locked_hidden_counts_and_mentions_read_like_the_recordings() -> None:
    account = FakeAccount(
        "lincolnhs@k12.social", id="109", status="protected", followers=-1, name="Lincoln HS",
        bio="Run by @comms@district.example for Lincoln HS",
    )  # fmt: skip
    with FakeMastodon([account]) as server, connect(CASES["mastodon"], server) as masto:
        got = masto.lookup("lincolnhs@k12.social")
        found = masto.search("Lincoln")
        raw = answer_to_last_request(server, "/_i/k12.social/api/v1/accounts/lookup")
    assert raw["locked"] is True and raw["followers_count"] == -1
    assert 'class="u-url mention"' in raw["note"]
    # locked: follow requests need approval, the profile is visible (and searchable).
    assert got.status is ProfileStatus.FOUND and [p.handle for p in found] == ["lincolnhs@k12.social"]
    assert got.followers is None  # hidden, not -1
    assert got.links == () and got.website == ""  # a mention is not a link
    assert got.bio == "Run by @comms for Lincoln HS"  # as Mastodon shows a remote mention
