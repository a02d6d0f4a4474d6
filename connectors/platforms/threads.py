"""Threads: the district's own profile (`/me`) and, with advanced access, `profile_lookup` (§7.2).

`GET /v1.0/me?fields=...&access_token=...` answers for the token's own user; when the handle asked
for is that user, that is the answer. Otherwise `GET /v1.0/profile_lookup?username=...` is tried,
which needs the `threads_profile_discovery` permission (standard access only sees a few Meta
accounts); a permission error makes the profile UNKNOWN with that explanation. Errors use the Meta
Graph error object; how an unknown username is reported is unconfirmed, so it is UNKNOWN too.
"""

from __future__ import annotations

from typing import ClassVar

from auditor.model.types import Platform, Profile, ProfileStatus
from connectors.base import Connector, ConnectorSettings, match_handle
from connectors.http import Doc, HttpResponse, MetaRateLimits, RetryAfterRateLimits
from connectors.platforms.meta import MISSING_FEATURE, describe, graph_error

ME_FIELDS = "id,username,name,threads_profile_picture_url,threads_biography,is_verified"
LOOKUP_FIELDS = "username,name,profile_picture_url,biography,is_verified,follower_count"


class ThreadsConnector(Connector):
    platform: ClassVar[Platform] = Platform.THREADS
    default_settings: ClassVar[ConnectorSettings] = ConnectorSettings(
        base_url="https://graph.threads.net", api_version="v1.0"
    )
    credential_help: ClassVar[str] = "a Threads user access token (threads_basic) of the district account"

    def rate_limit_style(self) -> RetryAfterRateLimits:
        return MetaRateLimits()

    def _get(self, path: str, params: dict[str, str]) -> HttpResponse:
        assert self.token is not None
        version = self.settings.api_version or "v1.0"
        return self.http.get(f"/{version}/{path}", params={**params, "access_token": self.token.reveal_str()})

    def _lookup(self, handle: str) -> Profile:
        name = handle.strip().lstrip("@")
        resp = self._get("me", {"fields": ME_FIELDS})
        error = graph_error(resp)
        if error is not None:
            return self._unknown(handle, describe(error))
        me = resp.doc()
        if match_handle(name, me.text("username")):
            return self._make(handle, me, me.text("threads_biography"))
        resp = self._get("profile_lookup", {"username": name, "fields": LOOKUP_FIELDS})
        error = graph_error(resp)
        if error is not None:
            if error.code == MISSING_FEATURE or "permission" in error.message.lower():
                return self._unknown(
                    handle,
                    "Threads shows other accounts only with the threads_profile_discovery permission "
                    "(record a manual check instead)",
                )
            return self._unknown(handle, describe(error))
        found = resp.doc()
        return self._make(handle, found, found.text("biography"))

    def _make(self, handle: str, data: Doc, bio: str) -> Profile:
        username = data.text("username")
        return self.profile(
            handle,
            ProfileStatus.FOUND,
            platform_handle=username,
            platform_id=data.ident("id"),
            display_name=data.text("name"),
            bio=bio,
            verified=data.flag("is_verified"),
            followers=data.count("follower_count"),
            url=f"https://www.threads.net/@{username}",
        )
