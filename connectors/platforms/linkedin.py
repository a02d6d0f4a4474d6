"""LinkedIn company pages through the Community Management organization lookup (reference §7.3).

`GET /rest/organizations?q=vanityName&vanityName={name}` with a 3-legged member token and the
versioned REST headers `LinkedIn-Version: YYYYMM` (setting `api_version`, default 202601) and
`X-Restli-Protocol-Version: 2.0.0`. An empty `elements` list is NOT_FOUND. Without the
ADMINISTRATOR role only id, name, website and vanity name come back: no bio, followers or dates.
"""

from __future__ import annotations

from typing import ClassVar

from auditor.model.types import Platform, Profile, ProfileStatus
from connectors.base import Connector, ConnectorSettings
from connectors.http import Doc


class LinkedInConnector(Connector):
    platform: ClassVar[Platform] = Platform.LINKEDIN
    default_settings: ClassVar[ConnectorSettings] = ConnectorSettings(
        base_url="https://api.linkedin.com", api_version="202601"
    )
    credential_help: ClassVar[str] = "a 3-legged member token with rw_organization_admin"

    def _lookup(self, handle: str) -> Profile:
        name = handle.strip().lstrip("@").lower()
        headers = {
            **self.bearer(),
            "LinkedIn-Version": self.settings.api_version or "202601",
            "X-Restli-Protocol-Version": "2.0.0",
        }
        resp = self.http.get(
            "/rest/organizations", params={"q": "vanityName", "vanityName": name}, headers=headers
        )
        if resp.status != 200:
            code = Doc.loose(resp.json() if resp.body else {}).get("code")
            code = code if isinstance(code, str) else ""
            return self._unknown(
                handle, f"LinkedIn answered HTTP {resp.status}" + (f" ({code})" if code else "")
            )
        elements = resp.doc().objs("elements")
        if not elements:
            return self.profile(
                handle, ProfileStatus.NOT_FOUND, "LinkedIn has no organization with this vanity name"
            )
        org = elements[0]
        vanity = org.text("vanityName") or name
        return self.profile(
            handle,
            ProfileStatus.FOUND,
            platform_handle=vanity,
            platform_id=org.ident("id"),
            display_name=org.text("localizedName"),
            website=org.text("localizedWebsite"),
            url=f"https://www.linkedin.com/company/{vanity}/",
        )
