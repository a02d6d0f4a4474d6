"""The explicit registry: which connector class serves each platform (STYLE.md "Plugins").

Import-light: the connector modules import only the standard library and our own code at module
level (`requests` is imported when a request is made). Snapchat and "other" have no usable API for
district audits, so they map to the manual (attestation) connector.
"""

from __future__ import annotations

from auditor.model.types import Platform
from connectors.base import Connector
from connectors.platforms.bluesky import BlueskyConnector
from connectors.platforms.facebook import FacebookConnector
from connectors.platforms.instagram import InstagramConnector
from connectors.platforms.linkedin import LinkedInConnector
from connectors.platforms.manual import ManualConnector, SnapchatConnector
from connectors.platforms.mastodon import MastodonConnector
from connectors.platforms.threads import ThreadsConnector
from connectors.platforms.tiktok import TikTokConnector
from connectors.platforms.x import XConnector
from connectors.platforms.youtube import YouTubeConnector

CONNECTORS: dict[Platform, type[Connector]] = {
    Platform.X: XConnector,
    Platform.FACEBOOK: FacebookConnector,
    Platform.INSTAGRAM: InstagramConnector,
    Platform.YOUTUBE: YouTubeConnector,
    Platform.MASTODON: MastodonConnector,
    Platform.BLUESKY: BlueskyConnector,
    Platform.TIKTOK: TikTokConnector,
    Platform.THREADS: ThreadsConnector,
    Platform.LINKEDIN: LinkedInConnector,
    Platform.SNAPCHAT: SnapchatConnector,
    Platform.OTHER: ManualConnector,
}


def connector_class(platform: Platform | str) -> type[Connector]:
    return CONNECTORS[Platform.parse(platform)]
