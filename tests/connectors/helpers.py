"""Shared set-up for connector tests: one "case" per platform pairing a connector with its fake."""

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


@dataclass
class Case:
    name: str
    connector: type[Connector]
    server: Callable[..., FakeServer]
    handle: str  # an account that exists
    extra: dict[str, str] = field(default_factory=dict)
    base: Callable[[str], str] = lambda url: url
    needs_token: bool = True


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
    "x": Case("x", XConnector, FakeX, "lincolnhs"),
    "facebook": Case("facebook", FacebookConnector, FakeFacebook, "lincolnhs"),
    "instagram": Case(
        "instagram",
        InstagramConnector,
        lambda *a, **k: FakeInstagram(*a, own_id=IG_OWN, **k),
        "lincolnhs",
        {"ig_user_id": IG_OWN},
    ),
    "youtube": Case("youtube", YouTubeConnector, FakeYouTube, "lincolnhs"),
    "mastodon": Case(
        "mastodon",
        MastodonConnector,
        lambda *a, **k: FakeMastodon(*a, require_auth=k.pop("auth", False), **k),
        "lincolnhs@k12.social",
        {"token_instance": "k12.social"},
        lambda url: url + "/_i/{instance}",
        False,
    ),
    "bluesky": Case("bluesky", BlueskyConnector, FakeBluesky, "lincolnhs.bsky.social", needs_token=False),
    "tiktok": Case(
        "tiktok", TikTokConnector, lambda *a, **k: FakeTikTok(*a, owner="lincolnhs", **k), "lincolnhs"
    ),
    "threads": Case(
        "threads", ThreadsConnector, lambda *a, **k: FakeThreads(*a, owner="lincolnhs", **k), "lincolnhs"
    ),
    "linkedin": Case("linkedin", LinkedInConnector, FakeLinkedIn, "lincolnhs"),
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
