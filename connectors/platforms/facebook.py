"""Facebook Pages through the Graph API (reference §2).

`GET /{version}/{page-username-or-id}?fields=...&access_token=...`, version configurable (default
v25.0, the official SDK's current value; set AUDITOR_FACEBOOK_API_VERSION for v26.0). Error code 803
(alias does not exist) is NOT_FOUND; 100/33 ("does not exist, cannot be loaded due to missing
permissions") is reported NOT_FOUND with that caveat in the reason, since unpublished or restricted
Pages look exactly like this to outsiders; 10 (missing PPMA), 190 (token) and anything else are
UNKNOWN. Throttling (codes 4/17/32/613/80001+) is waited out by the HTTP layer from Meta's headers.
Graph has no Page creation date and the last post needs PPCA, so both stay empty. Fields Graph leaves
out are unknown, not false: without `is_verified` and `verification_status` (older versions, or a
token that may not read them) `verified` is None; without `link` the Page address is built from its
username (or id). URLs in the plain-text `about`/`description` are picked out into `links`.
"""

from __future__ import annotations

from typing import ClassVar

from auditor.model.types import Platform, Profile, ProfileStatus
from connectors.base import Connector, ConnectorSettings
from connectors.htmltext import find_urls
from connectors.http import HttpResponse, MetaRateLimits, RetryAfterRateLimits
from connectors.platforms.meta import NOT_FOUND_ALIAS, UNSUPPORTED_GET, describe, graph_error

FIELDS = (
    "id,name,username,about,description,link,website,category,fan_count,followers_count,"
    "verification_status,is_verified"
)


class FacebookConnector(Connector):
    platform: ClassVar[Platform] = Platform.FACEBOOK
    default_settings: ClassVar[ConnectorSettings] = ConnectorSettings(
        base_url="https://graph.facebook.com", api_version="v25.0"
    )
    credential_help: ClassVar[str] = "a Page access token, or an app token with Page Public Metadata Access"
    test_handle: ClassVar[str] = "facebook"

    def rate_limit_style(self) -> RetryAfterRateLimits:
        return MetaRateLimits()

    def _get(self, node: str) -> HttpResponse:
        assert self.token is not None  # missing_configuration() ran first
        version = self.settings.api_version or "v25.0"
        params = {"fields": FIELDS, "access_token": self.token.reveal_str()}
        return self.http.get(f"/{version}/{node}", params=params)

    def _lookup(self, handle: str) -> Profile:
        return self._parse(handle, self._get(handle.strip().lstrip("@")))

    def _lookup_by_id(self, platform_id: str) -> Profile:
        return self._parse(platform_id, self._get(platform_id))

    def _parse(self, handle: str, resp: HttpResponse) -> Profile:
        error = graph_error(resp)
        if error is not None:
            if error.code == NOT_FOUND_ALIAS:
                return self.profile(
                    handle, ProfileStatus.NOT_FOUND, "no Facebook Page has this username (803)"
                )
            if error.code == UNSUPPORTED_GET and error.subcode == 33:
                return self.profile(
                    handle,
                    ProfileStatus.NOT_FOUND,
                    "Facebook: the Page does not exist, is unpublished or restricted, or the token may not "
                    "see it (Graph error 100/33)",
                )
            return self._unknown(handle, describe(error))
        page = resp.doc()
        status_text = page.text("verification_status")
        flag = page.flag("is_verified")
        verified: bool | None = None
        if flag or status_text in ("blue_verified", "gray_verified"):
            verified = True
        elif flag is False or status_text:
            verified = False
        about = page.text("about")
        description = page.text("description")
        bio = about if not description or description == about else f"{about}\n{description}".strip()
        website = page.text("website")
        username = page.text("username")
        page_id = page.ident("id")
        link = page.text("link") or (
            f"https://www.facebook.com/{username or page_id}" if username or page_id else ""
        )
        return self.profile(
            handle,
            ProfileStatus.FOUND,
            platform_handle=username,
            platform_id=page_id,
            display_name=page.text("name"),
            bio=bio,
            website=website,
            links=tuple(u for u in find_urls(bio) if u != website),
            verified=verified,
            verified_kind=status_text if status_text not in ("", "not_verified") else "",
            followers=page.count("followers_count") if "followers_count" in page else page.count("fan_count"),
            url=link,
        )
