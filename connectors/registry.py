"""The explicit registry: which connector class serves each platform (STYLE.md "Plugins").

Import-light: the connector modules import only the standard library and our own code at module
level (`requests` is imported when a request is made). Snapchat and "other" have no usable API for
district audits, so they map to the manual (attestation) connector.
"""

from __future__ import annotations

from auditor.models import Platform

from .base import Connector
from .bluesky import BlueskyConnector
from .facebook import FacebookConnector
from .instagram import InstagramConnector
from .linkedin import LinkedInConnector
from .manual import ManualConnector, SnapchatConnector
from .mastodon import MastodonConnector
from .threads import ThreadsConnector
from .tiktok import TikTokConnector
from .x import XConnector
from .youtube import YouTubeConnector

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
