"""Bluesky profiles from the public AppView, without authentication (reference §6).

`getProfiles?actors=a&actors=b` takes up to 25 actors and silently drops the ones it cannot show,
so every handle missing from a batch is asked again with `getProfile`, whose 400 errors tell
`InvalidRequest` "Profile not found" (NOT_FOUND), `AccountTakedown` (SUSPENDED) and
`AccountDeactivated` (DEACTIVATED) apart. A DID works as an actor, which gives lookup by id (a
renamed handle keeps its DID). Search is `searchActors`. Rate limits: `RateLimit-*` headers.

A domain handle stops verifying when its `_atproto` DNS record or `/.well-known/atproto-did` file
stops pointing at the account (the domain lapsed, a DNS change): the AppView then shows the account
with the sentinel handle `handle.invalid` and no longer finds it by the old handle. That is not a
rename and not a missing account: the profile is FOUND with `handle_unverified` set, `platform_handle`
is the handle it was known by (never `handle.invalid`) and the profile link uses the DID. Looked up
by a domain handle the AppView does not know, the handle is resolved once more
(`com.atproto.identity.resolveHandle`) and, if it still names a DID, that account is read by its
DID. The bio is plain text, so its URLs are picked out into `links` (`htmltext.find_urls`).
"""

from __future__ import annotations

from typing import ClassVar

from auditor.model.errors import ConnectorError
from auditor.model.types import Platform, Profile, ProfileStatus, normalise_handle
from connectors.base import Connector, ConnectorSettings
from connectors.htmltext import find_urls
from connectors.http import BlueskyRateLimits, Doc, HttpFailure, HttpResponse, RetryAfterRateLimits

_ERRORS = {
    "AccountTakedown": (ProfileStatus.SUSPENDED, "Bluesky reports the account taken down"),
    "AccountDeactivated": (ProfileStatus.DEACTIVATED, "the account is deactivated"),
}
# What the AppView shows for a handle that no longer verifies (atproto packages/syntax handle.ts).
INVALID_HANDLE = "handle.invalid"
UNVERIFIED_REASON = "the handle no longer verifies (Bluesky shows it as handle.invalid)"


class BlueskyConnector(Connector):
    platform: ClassVar[Platform] = Platform.BLUESKY
    default_settings: ClassVar[ConnectorSettings] = ConnectorSettings(base_url="https://public.api.bsky.app")
    needs_token: ClassVar[bool] = False
    credential_help: ClassVar[str] = "none: the public AppView needs no authentication"
    batch_size: ClassVar[int] = 25
    test_handle: ClassVar[str] = "bsky.app"

    def rate_limit_style(self) -> RetryAfterRateLimits:
        return BlueskyRateLimits()

    @staticmethod
    def _actor(handle: str) -> str:
        actor = handle.strip().lstrip("@")
        return actor if actor.startswith("did:") else actor.lower()

    def _lookup(self, handle: str) -> Profile:
        resp = self.http.get("/xrpc/app.bsky.actor.getProfile", params={"actor": self._actor(handle)})
        profile = self._single(handle, resp)
        if profile.status is ProfileStatus.NOT_FOUND:
            return self._still_resolves(handle) or profile
        return profile

    def _still_resolves(self, handle: str) -> Profile | None:
        """A domain handle the AppView no longer finds, but which still resolves to a DID: that
        account, read by its DID. None when it does not resolve (or cannot be asked this run)."""
        actor = self._actor(handle)
        if actor.startswith("did:") or actor.endswith(".bsky.social") or "." not in actor:
            return None  # a PDS-hosted handle is released with the account: nothing to resolve
        try:
            resp = self.http.get("/xrpc/com.atproto.identity.resolveHandle", params={"handle": actor})
            did = Doc.loose(resp.json()).text("did") if resp.status == 200 else ""
            if not did.startswith("did:"):
                return None
            by_did = self.http.get("/xrpc/app.bsky.actor.getProfile", params={"actor": did})
            profile = self._single(handle, by_did)
        except HttpFailure:
            return None  # the AppView's own "not found" stands
        return profile if profile.found or profile.status is ProfileStatus.SUSPENDED else None

    def _lookup_by_id(self, platform_id: str) -> Profile:
        return self._lookup(platform_id)

    def _lookup_batch(self, handles: list[str]) -> dict[str, Profile]:
        params = [("actors", self._actor(h)) for h in handles]
        resp = self.http.get("/xrpc/app.bsky.actor.getProfiles", params=params)
        if resp.status != 200:
            reason = self._error_reason(resp)
            return {h: self._unknown(h, reason) for h in handles}
        seen: dict[str, Doc] = {}
        for view in resp.doc().objs("profiles"):
            seen[normalise_handle(view.text("handle"))] = view
            seen[view.text("did")] = view
        results: dict[str, Profile] = {}
        for handle in handles:
            shown = seen.get(normalise_handle(handle)) or seen.get(handle.strip())
            # Dropped silently by getProfiles: only getProfile says why.
            results[handle] = self._profile(handle, shown) if shown else self.lookup(handle)
        return results

    def _error_reason(self, resp: HttpResponse) -> str:
        name = Doc.loose(resp.json()).text("error")
        return f"Bluesky answered HTTP {resp.status}" + (f" ({name})" if name else "")

    def _single(self, handle: str, resp: HttpResponse) -> Profile:
        if resp.status == 400:
            body = Doc.loose(resp.json())
            name, message = body.text("error"), body.text("message")
            if name in _ERRORS:
                status, reason = _ERRORS[name]
                return self.profile(handle, status, reason)
            if name == "InvalidRequest" and "not found" in message.lower():
                return self.profile(handle, ProfileStatus.NOT_FOUND, "Bluesky has no profile for this handle")
            return self._unknown(handle, f"Bluesky error {name}: {message[:120]}")
        if resp.status != 200:
            return self._unknown(handle, self._error_reason(resp))
        view = resp.doc()
        if "did" not in view:
            return self._unknown(handle, "unparseable answer from Bluesky")
        return self._profile(handle, view)

    def _profile(self, handle: str, view: Doc) -> Profile:
        labels = {label.text("val") for label in view.objs("labels")}
        verification = view.obj("verification")
        verified_kind = ""
        if verification.text("trustedVerifierStatus") == "valid":
            verified_kind = "trusted verifier"
        elif verification.text("verifiedStatus") == "valid":
            verified_kind = "verified"
        status = ProfileStatus.FOUND
        reason = ""
        if "!takedown" in labels:
            status, reason = ProfileStatus.SUSPENDED, "labelled !takedown"
        elif "!no-unauthenticated" in labels:
            status = ProfileStatus.PROTECTED  # the owner asked not to be shown to logged-out viewers
        platform_handle = view.text("handle")
        did = view.text("did")
        unverified = normalise_handle(platform_handle) == INVALID_HANDLE
        if unverified:
            # Keep the handle we know the account by (asked by DID, there is none to keep); the
            # DID is the only profile address that still works.
            asked = handle.strip().lstrip("@")
            platform_handle = "" if asked.startswith("did:") else asked.lower()
            reason = reason or UNVERIFIED_REASON
        bio = view.text("description")
        website = view.text("website")
        links = tuple(u for u in find_urls(bio) if u != website)
        return self.profile(
            handle,
            status,
            reason,
            platform_handle=platform_handle,
            platform_id=did,
            display_name=view.text("displayName"),
            bio=bio,
            website=website,
            links=links,
            verified=bool(verified_kind),
            verified_kind=verified_kind,
            created_at=view.when("createdAt"),
            followers=view.count("followersCount"),
            url=f"https://bsky.app/profile/{did if unverified or not platform_handle else platform_handle}",
            handle_unverified=unverified,
        )

    def _search(self, query: str, limit: int) -> list[Profile]:
        params = {"q": query, "limit": max(1, min(limit, 100))}
        resp = self.http.get("/xrpc/app.bsky.actor.searchActors", params=params)
        if resp.status != 200:
            raise ConnectorError(f"Bluesky search failed: {self._error_reason(resp)}")
        results = []
        for view in resp.doc().objs("actors"):
            shown = view.text("handle")
            results.append(
                self._profile(
                    view.text("did") if shown == INVALID_HANDLE else shown or view.text("did"), view
                )
            )
        return results
