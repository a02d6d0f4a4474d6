"""Shared set-up for connector tests: one "case" per platform pairing a connector with its fake.

Every case runs the failure matrix (test_failures.py), the deadlines (test_deadlines.py) and the
hostile shapes (test_shapes.py, from `profile_at` and `username_key`): a new connector adds its case
here and its own platform tests in a file of its own (docs/connectors.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auditor.model.types import Secret
from connectors.base import Connector, ConnectorSettings
from connectors.fakes import (
    FakeAccount,
    FakeBluesky,
    FakeFacebook,
    FakeInstagram,
    FakeLinkedIn,
    FakeMastodon,
    FakeServer,
    FakeThreads,
    FakeTikTok,
    FakeX,
    FakeYouTube,
)
from connectors.http import Clock
from connectors.platforms.bluesky import BlueskyConnector
from connectors.platforms.facebook import FacebookConnector
from connectors.platforms.instagram import InstagramConnector
from connectors.platforms.linkedin import LinkedInConnector
from connectors.platforms.mastodon import MastodonConnector
from connectors.platforms.threads import ThreadsConnector
from connectors.platforms.tiktok import TikTokConnector
from connectors.platforms.x import XConnector
from connectors.platforms.youtube import YouTubeConnector

TOKEN = "tok-SECRET-1234567890"
IG_OWN = "17841405309211844"

# Where a value sits in a JSON answer: keys and list indexes from the top.
JsonPath = tuple[str | int, ...]


@dataclass
class Case:
    name: str
    connector: type[Connector]
    server: Callable[..., FakeServer]
    handle: str  # an account that exists
    extra: dict[str, str] = field(default_factory=dict)
    base: Callable[[str], str] = lambda url: url
    needs_token: bool = True
    # The request paths that answer the profile (single and batch lookups), where the profile
    # object sits in each answer, and its username key (test_shapes.py serves them hostile).
    profile_at: dict[str, JsonPath] = field(default_factory=dict)
    username_key: str = ""


def _account(case_name: str) -> FakeAccount:
    handle = {"mastodon": "lincolnhs@k12.social", "bluesky": "lincolnhs.bsky.social"}.get(
        case_name, "lincolnhs"
    )
    return FakeAccount(
        handle,
        name="Lincoln High School",
        bio="Official account of Lincoln HS",
        website="https://lincoln.k12.example",
        id="4242",
    )


CASES = {
    "x": Case(
        "x",
        XConnector,
        FakeX,
        "lincolnhs",
        profile_at={"/2/users/by/username/lincolnhs": ("data",), "/2/users/by": ("data", 0)},
        username_key="username",
    ),
    "facebook": Case(
        "facebook",
        FacebookConnector,
        FakeFacebook,
        "lincolnhs",
        profile_at={"/v25.0/lincolnhs": ()},
        username_key="username",
    ),
    "instagram": Case(
        "instagram",
        InstagramConnector,
        lambda *a, **k: FakeInstagram(*a, own_id=IG_OWN, **k),
        "lincolnhs",
        {"ig_user_id": IG_OWN},
        profile_at={"/v25.0/17841405309211844": ("business_discovery",)},
        username_key="username",
    ),
    "youtube": Case(
        "youtube",
        YouTubeConnector,
        FakeYouTube,
        "lincolnhs",
        profile_at={"/youtube/v3/channels": ("items", 0)},
        username_key="snippet.customUrl",
    ),
    "mastodon": Case(
        "mastodon",
        MastodonConnector,
        lambda *a, **k: FakeMastodon(*a, require_auth=k.pop("auth", False), **k),
        "lincolnhs@k12.social",
        {"token_instance": "k12.social"},
        lambda url: url + "/_i/{instance}",
        False,
        profile_at={"/_i/k12.social/api/v1/accounts/lookup": ()},
        username_key="acct",
    ),
    "bluesky": Case(
        "bluesky",
        BlueskyConnector,
        FakeBluesky,
        "lincolnhs.bsky.social",
        needs_token=False,
        profile_at={
            "/xrpc/app.bsky.actor.getProfile": (),
            "/xrpc/app.bsky.actor.getProfiles": ("profiles", 0),
        },
        username_key="handle",
    ),
    "tiktok": Case(
        "tiktok",
        TikTokConnector,
        lambda *a, **k: FakeTikTok(*a, owner="lincolnhs", **k),
        "lincolnhs",
        profile_at={"/v2/user/info/": ("data", "user")},
        username_key="username",
    ),
    "threads": Case(
        "threads",
        ThreadsConnector,
        lambda *a, **k: FakeThreads(*a, owner="lincolnhs", **k),
        "lincolnhs",
        profile_at={"/v1.0/me": ()},
        username_key="username",
    ),
    "linkedin": Case(
        "linkedin",
        LinkedInConnector,
        FakeLinkedIn,
        "lincolnhs",
        profile_at={"/rest/organizations": ("elements", 0)},
        username_key="vanityName",
    ),
}


def start(case: Case, *accounts: FakeAccount, with_default: bool = True, **kw: Any) -> FakeServer:
    server = case.server(list(accounts) + ([_account(case.name)] if with_default else []), token=TOKEN, **kw)
    return server.start()


def connect(
    case: Case, server: FakeServer, *, token: str | None = TOKEN, clock: Clock | None = None, **settings: Any
) -> Connector:
    options: dict[str, Any] = {"timeout": 2.0, "retries": 1, "budget_seconds": 60.0}
    options.update(settings)
    extra = {**case.extra, **options.pop("extra", {})}
    config = ConnectorSettings(
        base_url=case.base(server.url),
        api_version=case.connector.default_settings.api_version,
        extra=extra,
        **options,
    )
    return case.connector(config, Secret(token) if token else None, clock=clock)
