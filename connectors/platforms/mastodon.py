"""Mastodon account lookup on the account's HOME instance (reference §5).

A handle is `user@instance` (a leading @ is fine). `GET {base}/api/v1/accounts/lookup?acct=user` is
sent to that instance, where `base` is the template `https://{instance}` (AUDITOR_MASTODON_BASE_URL
may point elsewhere, e.g. `http://127.0.0.1:8080/_i/{instance}` for the test fakes). Lookup skips
WebFinger, so only the home instance knows the account. Anonymous by default; a token (for
instances in secure mode) is only ever sent to the one instance named in `token_instance`. The
`note` and profile fields are HTML and are turned into plain text and links. 404 `Record not found`
is NOT_FOUND, `suspended: true` SUSPENDED, `moved`/`memorial` DEACTIVATED. `locked: true` only means
that follow requests need approval: the profile and public posts stay visible, so it is FOUND (not
PROTECTED). Mentions and hashtags in the bio (`class="u-url mention"`) are not links; a server that
hides its counts sends `followers_count: -1`, which is "hidden" (None), not a count.
Search uses `/api/v2/search?type=accounts` on `search_instance` (default mastodon.social).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from auditor.model.errors import ConnectorError
from auditor.model.types import Platform, Profile, ProfileStatus
from connectors.base import Connector, ConnectorSettings
from connectors.htmltext import html_to_text
from connectors.http import Doc, HttpResponse, MastodonRateLimits, RetryAfterRateLimits


def split_handle(handle: str) -> tuple[str, str]:
    """('user', 'instance') of `@user@instance`; instance '' when absent."""
    user, _, instance = handle.strip().lstrip("@").partition("@")
    return user, instance.lower()


class MastodonConnector(Connector):
    platform: ClassVar[Platform] = Platform.MASTODON
    default_settings: ClassVar[ConnectorSettings] = ConnectorSettings(
        base_url="https://{instance}", extra={"search_instance": "mastodon.social"}
    )
    needs_token: ClassVar[bool] = False
    token_optional: ClassVar[bool] = True
    credential_help: ClassVar[str] = "optional: a read:accounts user token for an instance in secure mode"
    extra_keys: ClassVar[tuple[str, ...]] = ("search_instance", "token_instance")
    test_handle: ClassVar[str] = "Gargron@mastodon.social"

    def rate_limit_style(self) -> RetryAfterRateLimits:
        return MastodonRateLimits()

    def _base(self, instance: str) -> str:
        template = self.settings.base_url or "https://{instance}"
        return template.replace("{instance}", instance).rstrip("/")

    def _headers(self, instance: str) -> dict[str, str]:
        # A token belongs to one server: never hand it to the other instances we look up.
        if self.token and instance == self.settings.extra.get("token_instance", "").lower():
            return self.bearer()
        return {}

    def _get(self, instance: str, path: str, params: dict[str, Any]) -> HttpResponse:
        return self.http.get(self._base(instance) + path, params=params, headers=self._headers(instance))

    def _lookup(self, handle: str) -> Profile:
        user, instance = split_handle(handle)
        if not user or not instance:
            return self._unknown(handle, "a Mastodon handle needs its home instance: user@instance")
        resp = self._get(instance, "/api/v1/accounts/lookup", {"acct": user})
        if resp.status == 404:
            return self.profile(handle, ProfileStatus.NOT_FOUND, f"{instance} has no account {user}")
        if resp.status == 401:
            return self._unknown(handle, f"{instance} requires an authenticated user (secure mode)")
        if resp.status != 200:
            error = Doc.loose(resp.json()).text("error")[:120]  # an HTML page raises UnparseableResponse
            return self._unknown(
                handle, f"{instance} answered HTTP {resp.status}" + (f": {error}" if error else "")
            )
        account = resp.doc()
        if "id" not in account:
            return self._unknown(handle, f"unparseable answer from {instance}")
        return self._profile(handle, account, instance)

    def _profile(self, handle: str, account: Doc, instance: str) -> Profile:
        acct = account.text("acct") or account.text("username")
        platform_handle = acct if "@" in acct else f"{acct}@{instance}"
        common: dict[str, Any] = {
            "platform_handle": platform_handle,
            "platform_id": account.ident("id"),
            "url": account.text("url"),
        }
        if account.flag("suspended"):
            return self.profile(handle, ProfileStatus.SUSPENDED, f"suspended by {instance}", **common)
        bio, links = html_to_text(account.text("note"))
        website = ""
        verified = False
        for field in account.objs("fields"):
            _, field_links = html_to_text(field.text("value"))
            links += field_links
            if field.text("verified_at") and field_links:
                verified = True
                website = website or field_links[0]
        website = website or (links[0] if links else "")
        last = account.day("last_status_at")
        status, reason = ProfileStatus.FOUND, ""
        if account.get("moved") not in (None, False):  # an Account, or null (some servers: false)
            moved = account.obj("moved")
            status, reason = ProfileStatus.DEACTIVATED, f"moved to {moved.text('acct') or moved.text('url')}"
        elif account.flag("memorial"):
            status, reason = ProfileStatus.DEACTIVATED, "memorialised"
        return self.profile(
            handle,
            status,
            reason,
            display_name=account.text("display_name"),
            bio=bio,
            website=website,
            links=tuple(dict.fromkeys(links)),
            verified=verified,
            verified_kind="rel-me link" if verified else "",
            created_at=account.when("created_at"),
            followers=_count(account.count("followers_count")),
            last_post_at=datetime(last.year, last.month, last.day, tzinfo=UTC) if last else None,
            **common,
        )

    def _search(self, query: str, limit: int) -> list[Profile]:
        instance = self.settings.extra.get("search_instance") or "mastodon.social"
        params = {"q": query, "type": "accounts", "limit": max(1, min(limit, 40)), "resolve": "false"}
        resp = self._get(instance, "/api/v2/search", params)
        if resp.status != 200:
            raise ConnectorError(f"Mastodon search on {instance} failed: HTTP {resp.status}")
        results = []
        for account in resp.doc().objs("accounts"):
            acct = account.text("acct")
            full = acct if "@" in acct else f"{acct}@{instance}"
            results.append(self._profile(full, account, instance))
        return results


def _count(value: int | None) -> int | None:
    """A count, or None where the server hides it (Mastodon's `hide_collections` servers send -1)."""
    return None if value is None or value < 0 else value
