"""YouTube Data API v3 channels (reference §4).

`GET /youtube/v3/channels?part=snippet,statistics,contentDetails&forHandle=@x&key=K` (1 quota unit);
HTTP 200 without `items` means no such channel (terminated channels look the same). The last upload
comes from `playlistItems.list` on the uploads playlist (1 more unit). `search(query)` uses
`search.list?type=channel` (its own bucket of 100 calls a day). A 403 `quotaExceeded` is not waited
for: the daily quota resets at midnight Pacific Time, so the profile is UNKNOWN at once. The channel
description is plain text: its URLs are picked out into `links` (`htmltext.find_urls`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from auditor.model.errors import ConnectorError
from auditor.model.types import Platform, Profile, ProfileStatus
from connectors.base import Connector, ConnectorSettings
from connectors.htmltext import find_urls
from connectors.http import Doc, HttpResponse, UnexpectedShape

PARTS = "snippet,statistics,contentDetails"


def _google_reason(resp: HttpResponse) -> tuple[str, str]:
    """(reason, message) of a Google JSON error; ('', '') for a body without one."""
    error = Doc.loose(resp.json()).get("error")
    if not isinstance(error, dict):
        return "", ""
    doc = Doc(error, "error", host=resp.host)
    errors = doc.objs("errors")
    return (errors[0].text("reason") if errors else ""), doc.text("message")


class YouTubeConnector(Connector):
    platform: ClassVar[Platform] = Platform.YOUTUBE
    default_settings: ClassVar[ConnectorSettings] = ConnectorSettings(base_url="https://www.googleapis.com")
    credential_help: ClassVar[str] = "a YouTube Data API v3 key (Google Cloud console)"
    test_handle: ClassVar[str] = "GoogleDevelopers"

    def _get(self, path: str, params: dict[str, Any]) -> HttpResponse:
        assert self.token is not None
        return self.http.get(f"/youtube/v3/{path}", params={**params, "key": self.token.reveal_str()})

    def _failure(self, resp: HttpResponse) -> str:
        reason, message = _google_reason(resp)
        if reason in ("quotaExceeded", "dailyLimitExceeded"):
            return "YouTube API quota exceeded (it resets at midnight Pacific Time)"
        if reason in ("keyInvalid", "badRequest") and "key" in message.lower():
            return "YouTube rejected the API key"
        return f"YouTube answered HTTP {resp.status}" + (f" ({reason})" if reason else "")

    def _lookup(self, handle: str) -> Profile:
        name = handle.strip().lstrip("@")
        return self._channel(handle, {"part": PARTS, "forHandle": "@" + name})

    def _lookup_by_id(self, platform_id: str) -> Profile:
        return self._channel(platform_id, {"part": PARTS, "id": platform_id})

    def _channel(self, handle: str, params: dict[str, Any]) -> Profile:
        resp = self._get("channels", params)
        if resp.status != 200:
            return self._unknown(handle, self._failure(resp))
        items = resp.doc().objs("items")
        if not items:
            return self.profile(handle, ProfileStatus.NOT_FOUND, "YouTube has no channel with this handle")
        channel = items[0]
        snippet = channel.obj("snippet")
        stats = channel.obj("statistics")
        uploads = channel.obj("contentDetails").obj("relatedPlaylists").text("uploads")
        custom = snippet.text("customUrl")
        subscribers = stats.ident("subscriberCount")  # uint64 sent as a string, rounded to 3 figures
        followers = None
        if not stats.flag("hiddenSubscriberCount") and subscribers.isdigit():
            followers = int(subscribers)
        channel_id = channel.ident("id")
        return self.profile(
            handle,
            ProfileStatus.FOUND,
            platform_handle=custom.lstrip("@"),
            platform_id=channel_id,
            display_name=snippet.text("title"),
            bio=snippet.text("description"),
            links=tuple(find_urls(snippet.text("description"))),
            created_at=snippet.when("publishedAt"),
            followers=followers,
            last_post_at=self._last_upload(uploads) if uploads else None,
            url=f"https://www.youtube.com/{custom}"
            if custom
            else f"https://www.youtube.com/channel/{channel_id}",
        )

    def _last_upload(self, playlist: str) -> datetime | None:
        resp = self._get("playlistItems", {"part": "contentDetails", "playlistId": playlist, "maxResults": 1})
        if resp.status != 200:
            return None  # the profile itself was seen; a missing date is not a failure
        try:
            items = resp.doc().objs("items")
            return items[0].obj("contentDetails").when("videoPublishedAt") if items else None
        except UnexpectedShape:
            return None  # likewise: the channel answer was sound, only the date is missing

    def _search(self, query: str, limit: int) -> list[Profile]:
        params = {"part": "snippet", "type": "channel", "q": query, "maxResults": max(1, min(limit, 50))}
        resp = self._get("search", params)
        if resp.status != 200:
            raise ConnectorError(f"YouTube search failed: {self._failure(resp)}")
        results = []
        for item in resp.doc().objs("items"):
            snippet = item.obj("snippet")
            cid = item.obj("id").text("channelId") or snippet.text("channelId")
            results.append(
                self.profile(
                    cid,
                    ProfileStatus.FOUND,
                    platform_id=cid,
                    display_name=snippet.text("title") or snippet.text("channelTitle"),
                    bio=snippet.text("description"),
                    created_at=snippet.when("publishedAt"),
                    url=f"https://www.youtube.com/channel/{cid}",
                )
            )
        return results
