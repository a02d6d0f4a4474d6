"""Real recorded platform answers (/work/shared/fixtures/real-api, other projects' captures of the live
services) replayed from a loopback server through each connector and the real requests stack.

What each connector makes of them is pinned in `recordings_expected.json`, written from the parsing
as it was before the shape validation at the connector boundary (issue 11), so stricter validation
can never change what a real answer means. Regenerate only on purpose:
`AUDITOR_TEST_REGENERATE_RECORDINGS=1 .venv/bin/python -m pytest tests/connectors/test_recordings.py`.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor.model.types import Profile, Secret
from connectors.base import Connector, ConnectorSettings
from connectors.fakes.server import FakeServer, RecordedRequest, Reply
from connectors.platforms.bluesky import BlueskyConnector
from connectors.platforms.facebook import FacebookConnector
from connectors.platforms.instagram import InstagramConnector
from connectors.platforms.mastodon import MastodonConnector
from connectors.platforms.x import XConnector
from connectors.platforms.youtube import YouTubeConnector

REAL = Path(os.environ.get("AUDITOR_TEST_REAL_API", "/work/shared/fixtures/real-api"))
EXPECTED = Path(__file__).with_name("recordings_expected.json")
TOKEN = "tok-SECRET-1234567890"
IG_OWN = "17841405309211844"

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"recordings not found at {REAL}")


def _load(name: str) -> Any:
    return json.loads((REAL / name).read_text(encoding="utf-8"))


def _cassette(name: str) -> list[tuple[str, int, bytes]]:
    """(uri, status, body) of each interaction of a VCR cassette (the two shapes these files use:
    a gzip `!!binary` block, or a single-quoted folded string). No YAML library is needed."""
    text = (REAL / name).read_text(encoding="utf-8")
    out: list[tuple[str, int, bytes]] = []
    for chunk in text.split("\n- request:")[1:]:
        uri = re.search(r"^\s+uri: (\S+)$", chunk, re.M)
        code = re.search(r"^\s+code: (\d+)$", chunk, re.M)
        assert uri and code
        binary = re.search(r"string: !!binary \|\n((?:\s{8}\S+\n)+)", chunk)
        if binary:
            body = gzip.decompress(base64.b64decode("".join(binary.group(1).split())))
        else:
            quoted = re.search(r"string: '(.*?)'\n\s+headers:", chunk, re.S)
            assert quoted
            folded = re.sub(r"\n\s+", " ", quoted.group(1))
            body = folded.replace("''", "'").encode("utf-8")
        out.append((uri.group(1), int(code.group(1)), body))
    return out


class Replay(FakeServer):
    """Answers recorded bodies by path (and optionally one query parameter)."""

    def __init__(self, routes: dict[tuple[str, str], tuple[int, Any]]) -> None:
        super().__init__()
        self.routes = routes

    def route(self, req: RecordedRequest) -> Reply:
        for (path, query), (status, body) in self.routes.items():
            if req.path != path:
                continue
            if query:
                key, _, value = query.partition("=")
                if req.param(key) != value:
                    continue
            return Reply(status, body)
        return Reply(404, {"error": f"no recording for {req.path}"})


def _connector(cls: type[Connector], server: FakeServer, **extra: str) -> Connector:
    base = server.url + "/_i/{instance}" if cls is MastodonConnector else server.url
    settings = ConnectorSettings(
        base_url=base,
        api_version=cls.default_settings.api_version,
        timeout=5.0,
        retries=0,
        extra=extra,
    )
    return cls(settings, Secret(TOKEN))


def _shown(profile: Profile) -> dict[str, Any]:
    data = profile.to_dict()
    data.pop("fetched_at", None)
    return data


# Each scenario: routes to serve, the connector, and what to ask it -> {label: Profile}.
Scenario = tuple[
    dict[tuple[str, str], tuple[int, Any]],
    type[Connector],
    dict[str, str],
    Callable[[Connector], dict[str, Profile]],
]


def _scenarios() -> dict[str, Scenario]:
    s: dict[str, Scenario] = {}
    # -- X
    [(_, status, body)] = _cassette("x/tweepy_test_client_get_user.yaml")
    s["x/tweepy get_user"] = (
        {("/2/users/by/username/Twitter", ""): (status, body)},
        XConnector,
        {},
        lambda c: {"Twitter": c.lookup("Twitter")},
    )
    [(_, status, body)] = _cassette("x/tweepy_test_client_get_users.yaml")
    s["x/tweepy get_users"] = (
        {("/2/users/by", ""): (status, body)},
        XConnector,
        {},
        lambda c: c.lookup_many(["Twitter", "TwitterDev"]),
    )
    twarc = {k: v for k, v in _load("x/twarc_users_lookup_subset.json").items() if not k.startswith("__")}
    names = [u["username"] for u in twarc["data"]]
    s["x/twarc users lookup"] = (
        {("/2/users/by", ""): (200, twarc)},
        XConnector,
        {},
        lambda c: c.lookup_many(names),
    )
    user = _load("x/twarc_verified_type_TwitterDev.json")["user"]
    s["x/twarc verified_type"] = (
        {("/2/users/by/username/TwitterDev", ""): (200, {"data": user})},
        XConnector,
        {},
        lambda c: {"TwitterDev": c.lookup("TwitterDev")},
    )
    errors = _load("x/x_error_bodies.json")
    s["x/error bodies"] = (
        {
            ("/2/users/by/username/justin_littman", ""): (200, errors["not_found_username"]),
            ("/2/users/by/username/adfldf", ""): (200, errors["suspended_username"]),
            ("/2/users/481186914", ""): (200, errors["suspended_id"]),
            ("/2/users/481186915", ""): (
                200,
                {
                    "errors": [
                        {**e, "value": "481186915", "resource_id": "481186915"}
                        for e in errors["not_found_id"]["errors"]
                    ]
                },
            ),
        },
        XConnector,
        {},
        lambda c: {
            "justin_littman": c.lookup("justin_littman"),
            "adfldf": c.lookup("adfldf"),
            "id 481186914": c.lookup_by_id("481186914"),
            "id 481186915": c.lookup_by_id("481186915"),
        },
    )
    # -- Bluesky
    wired = _load("bluesky/wired_com_getProfile.json")["body"]
    appview = _load("bluesky/appview_errors.json")
    search = _load("bluesky/marshalx_search_actors_typeahead_subset.json")["body"]
    s["bluesky/getProfile and errors"] = (
        {
            ("/xrpc/app.bsky.actor.getProfile", "actor=wired.com"): (200, wired),
            ("/xrpc/app.bsky.actor.getProfile", "actor=gone.bsky.social"): (400, appview["not_found"]),
            ("/xrpc/app.bsky.actor.getProfile", "actor=banned.bsky.social"): (400, appview["takedown"]),
            ("/xrpc/app.bsky.actor.getProfile", "actor=quiet.bsky.social"): (400, appview["deactivated"]),
            ("/xrpc/app.bsky.actor.getProfiles", ""): (200, {"profiles": [wired]}),
            ("/xrpc/app.bsky.actor.searchActors", ""): (200, search),
        },
        BlueskyConnector,
        {},
        lambda c: {
            "wired.com": c.lookup("wired.com"),
            "gone.bsky.social": c.lookup("gone.bsky.social"),
            "banned.bsky.social": c.lookup("banned.bsky.social"),
            "quiet.bsky.social": c.lookup("quiet.bsky.social"),
            **{f"batch {k}": v for k, v in c.lookup_many(["wired.com", "gone.bsky.social"]).items()},
            **{f"search {p.handle}": p for p in c.search("bsky")},
        },
    )
    # -- Facebook
    page = _load("facebook/facebookapp_page.json")["body"]
    fb = _load("facebook/errors.json")
    s["facebook/page and errors"] = (
        {
            ("/v25.0/facebookapp", ""): (200, page),
            ("/v25.0/dummyalias", ""): (404, fb["alias_not_found"]),
            ("/v25.0/12345", ""): (400, fb["unsupported_get"]),
            ("/v25.0/expired", ""): (400, fb["token_expired"]),
        },
        FacebookConnector,
        {},
        lambda c: {h: c.lookup(h) for h in ("facebookapp", "dummyalias", "12345", "expired")},
    )
    # -- Instagram
    ig = _load("instagram/business_discovery.json")

    def ig_route(name: str) -> tuple[str, str]:
        return (f"/v25.0/{IG_OWN}", f"fields=business_discovery.username({name}){{{_ig_fields()}}}")

    s["instagram/business discovery"] = (
        {
            ig_route("bluebottle"): (200, ig["doc_example"]),
            ig_route("nike"): (200, ig["nike"]),
            ig_route("nosuchuser"): (400, ig["not_found"]),
        },
        InstagramConnector,
        {"ig_user_id": IG_OWN},
        lambda c: {h: c.lookup(h) for h in ("bluebottle", "nike", "nosuchuser")},
    )
    # -- YouTube
    groww = _load("youtube/groww_channels_list.json")["body"]
    playlist = _load("youtube/playlist_items_contentDetails.json")["body"]
    yt = _load("youtube/errors.json")
    s["youtube/channels and errors"] = (
        {
            ("/youtube/v3/channels", "forHandle=@tradingwithgroww"): (200, groww),
            ("/youtube/v3/channels", "forHandle=@nosuchchannel"): (200, yt["no_channel"]),
            ("/youtube/v3/channels", "forHandle=@quota"): (403, yt["quota_exceeded"]),
            ("/youtube/v3/channels", "forHandle=@badkey"): (400, yt["key_invalid"]),
            ("/youtube/v3/playlistItems", ""): (200, playlist),
        },
        YouTubeConnector,
        {},
        lambda c: {h: c.lookup(h) for h in ("tradingwithgroww", "nosuchchannel", "quota", "badkey")},
    )
    # -- Mastodon
    interactions = _cassette("mastodon/mastodonpy_test_account_lookup.yaml")
    routes: dict[tuple[str, str], tuple[int, Any]] = {}
    for uri, status, body in interactions:
        if "/accounts/lookup?acct=" in uri:
            acct = uri.split("acct=", 1)[1].replace("%40", "@").replace("%3A", ":")
            routes[("/_i/localhost:3000/api/v1/accounts/lookup", f"acct={acct}")] = (status, body)
    found = json.loads(routes[("/_i/localhost:3000/api/v1/accounts/lookup", "acct=mastodonpy_test")][1])
    v2 = _load("mastodon/mastodon_social_search_v2_accounts.json")
    routes[("/_i/mastodon.social/api/v2/search", "")] = (200, {"accounts": v2["accounts"]})
    s["mastodon/lookup and search"] = (
        routes,
        MastodonConnector,
        {"search_instance": "mastodon.social"},
        lambda c: {
            "found": c.lookup("mastodonpy_test@localhost:3000"),
            "missing": c.lookup("kljadklajsdkljlkjlkjlkjasdasd@localhost:3000"),
            **{f"search {p.handle}": p for p in c.search("halcy")},
        },
    )
    assert found["locked"] is True  # the recording is the locked-account case
    return s


def _ig_fields() -> str:
    from connectors.platforms.instagram import TARGET_FIELDS

    return TARGET_FIELDS


SCENARIOS = _scenarios() if REAL.is_dir() else {}


def _run(name: str) -> dict[str, Any]:
    routes, cls, extra, ask = SCENARIOS[name]
    with Replay(routes) as server:
        connector = _connector(cls, server, **extra)
        with connector:
            got = ask(connector)
    return {label: _shown(p) for label, p in sorted(got.items())}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_recorded_answers_parse_as_pinned(name: str) -> None:
    got = _run(name)
    if os.environ.get("AUDITOR_TEST_REGENERATE_RECORDINGS"):
        expected = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
        expected[name] = got
        EXPECTED.write_text(json.dumps(expected, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))[name]
    assert got == expected


def test_the_recordings_cover_found_and_not_found_on_every_replayed_platform() -> None:
    """The pinned file is not vacuous: each platform has a found profile with an id and a name."""
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    statuses: dict[str, set[str]] = {}
    for scenario in expected.values():
        for shown in scenario.values():
            statuses.setdefault(shown["platform"], set()).add(shown["status"])
            if shown["status"] == "found":
                assert shown["platform_id"] or shown["platform_handle"]
    for platform in ("x", "bluesky", "facebook", "instagram", "youtube", "mastodon"):
        assert "found" in statuses[platform], platform
        assert statuses[platform] & {"not_found", "suspended", "deactivated", "unknown"}, platform
