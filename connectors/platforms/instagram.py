"""Instagram through Graph API business discovery (reference §3).

`GET /{version}/{OWN-ig-user-id}?fields=business_discovery.username(TARGET){...}&access_token=...`:
the call runs on the district's own Instagram business account (setting `ig_user_id`, env
AUDITOR_INSTAGRAM_IG_USER_ID) and names the target. Error 110 with subcode 2207013 means the target
does not exist *or* is not a business/creator account; Meta does not tell these apart, so the status
is NOT_FOUND with a reason saying so. IG exposes no verified flag and no creation date. Only fields
business discovery shows other accounts are asked for (Meta lists `follows_count` and
`profile_picture_url` as not public there, and `name` is missing from some answers: an absent field is
empty, never an error). URLs in the plain-text `biography` are picked out into `links`.
"""

from __future__ import annotations

from typing import ClassVar

from auditor.model.types import Platform, Profile, ProfileStatus
from connectors.base import Connector, ConnectorSettings
from connectors.htmltext import find_urls
from connectors.http import Doc, MetaRateLimits, RetryAfterRateLimits
from connectors.platforms.meta import IG_NOT_FOUND, IG_NOT_FOUND_SUBCODES, describe, graph_error

TARGET_FIELDS = (
    "id,username,name,biography,website,followers_count,media_count,media.limit(1){timestamp,permalink}"
)


def _ig_offset(text: str) -> str:
    # IG writes "2026-09-01T10:00:00+0000"; fromisoformat needs the colon in the offset.
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    return text


class InstagramConnector(Connector):
    platform: ClassVar[Platform] = Platform.INSTAGRAM
    default_settings: ClassVar[ConnectorSettings] = ConnectorSettings(
        base_url="https://graph.facebook.com", api_version="v25.0"
    )
    credential_help: ClassVar[str] = "a Facebook user or system-user token with instagram_basic"
    extra_keys: ClassVar[tuple[str, ...]] = ("ig_user_id",)
    required_extra: ClassVar[tuple[str, ...]] = ("ig_user_id",)
    test_handle: ClassVar[str] = "instagram"

    def rate_limit_style(self) -> RetryAfterRateLimits:
        return MetaRateLimits()

    def _lookup(self, handle: str) -> Profile:
        assert self.token is not None
        name = handle.strip().lstrip("@")
        version = self.settings.api_version or "v25.0"
        params = {
            "fields": f"business_discovery.username({name}){{{TARGET_FIELDS}}}",
            "access_token": self.token.reveal_str(),
        }
        resp = self.http.get(f"/{version}/{self.settings.extra['ig_user_id']}", params=params)
        error = graph_error(resp)
        if error is not None:
            if error.code == IG_NOT_FOUND and error.subcode in IG_NOT_FOUND_SUBCODES:
                return self.profile(
                    handle,
                    ProfileStatus.NOT_FOUND,
                    "Instagram: no such user, or not a business/creator account (Graph error 110/2207013)",
                )
            return self._unknown(handle, describe(error))
        found = resp.doc().obj("business_discovery")
        if not found:
            return self._unknown(handle, "unparseable answer from Instagram (no business_discovery)")
        media = (found.obj("media").objs("data") or [Doc({})])[0]
        username = found.text("username") or name
        return self.profile(
            handle,
            ProfileStatus.FOUND,
            platform_handle=username,
            platform_id=found.ident("id"),
            display_name=found.text("name"),
            bio=found.text("biography"),
            website=found.text("website"),
            links=tuple(u for u in find_urls(found.text("biography")) if u != found.text("website")),
            followers=found.count("followers_count"),
            last_post_at=media.when("timestamp", _ig_offset),
            url=f"https://www.instagram.com/{username}/",
        )
