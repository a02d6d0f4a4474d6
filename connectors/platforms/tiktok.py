"""TikTok: the district's OWN account through the Display API (reference §7.1).

`GET /v2/user/info/?fields=...` with `Authorization: Bearer act.<user token>` returns only the
profile of the user who authorised the app, so `lookup(handle)` succeeds only when the stored token
belongs to that handle; any other handle is UNKNOWN (use the manual connector). Errors come in an
`error.code` envelope (`access_token_invalid`, `scope_not_authorized`, `rate_limit_exceeded`, ...).
The Research API (any account) is limited to approved researchers and is not used.
"""

from __future__ import annotations

from typing import ClassVar

from auditor.model.types import Platform, Profile, ProfileStatus
from connectors.base import Connector, ConnectorSettings, match_handle
from connectors.http import Doc

FIELDS = (
    "open_id,union_id,avatar_url,display_name,bio_description,profile_deep_link,is_verified,username,"
    "follower_count,following_count,likes_count,video_count"
)


class TikTokConnector(Connector):
    platform: ClassVar[Platform] = Platform.TIKTOK
    default_settings: ClassVar[ConnectorSettings] = ConnectorSettings(base_url="https://open.tiktokapis.com")
    credential_help: ClassVar[str] = "the account owner's user access token (act.…) from Login Kit"

    def _lookup(self, handle: str) -> Profile:
        resp = self.http.get("/v2/user/info/", params={"fields": FIELDS}, headers=self.bearer())
        if resp.status != 200:
            code = Doc.loose(resp.json()).obj("error").text("code")
            return self._unknown(handle, f"TikTok error {code or resp.status}")
        body = resp.doc()
        code = body.obj("error").text("code")
        if code not in ("", "ok"):
            return self._unknown(handle, f"TikTok error {code}")
        user = body.obj("data").obj("user")
        username = user.text("username")
        if not match_handle(handle, username):
            return self._unknown(
                handle,
                f"the stored TikTok token belongs to @{username}; TikTok shows other accounts only to "
                "approved researchers (record a manual check instead)",
            )
        return self.profile(
            handle,
            ProfileStatus.FOUND,
            platform_handle=username,
            platform_id=user.ident("open_id"),
            display_name=user.text("display_name"),
            bio=user.text("bio_description"),
            verified=user.flag("is_verified"),
            followers=user.count("follower_count"),
            url=f"https://www.tiktok.com/@{username}",
        )
