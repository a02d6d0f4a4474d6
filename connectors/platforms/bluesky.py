"""Bluesky profiles from the public AppView, without authentication (reference §6).

`getProfiles?actors=a&actors=b` takes up to 25 actors and silently drops the ones it cannot show,
so every handle missing from a batch is asked again with `getProfile`, whose 400 errors tell
`InvalidRequest` "Profile not found" (NOT_FOUND), `AccountTakedown` (SUSPENDED) and
`AccountDeactivated` (DEACTIVATED) apart. A DID works as an actor, which gives lookup by id (a
renamed handle keeps its DID). Search is `searchActors`. Rate limits: `RateLimit-*` headers.
"""

from __future__ import annotations

from typing import ClassVar

from auditor.model.errors import ConnectorError
from auditor.model.types import Platform, Profile, ProfileStatus, normalise_handle
from connectors.base import Connector, ConnectorSettings
from connectors.http import BlueskyRateLimits, Doc, HttpResponse, RetryAfterRateLimits

_ERRORS = {
    "AccountTakedown": (ProfileStatus.SUSPENDED, "Bluesky reports the account taken down"),
    "AccountDeactivated": (ProfileStatus.DEACTIVATED, "the account is deactivated"),
}


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
        return self._single(handle, resp)

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
        return self.profile(
            handle,
            status,
            reason,
            platform_handle=platform_handle,
            platform_id=did,
            display_name=view.text("displayName"),
            bio=view.text("description"),
            website=view.text("website"),
            verified=bool(verified_kind),
            verified_kind=verified_kind,
            created_at=view.when("createdAt"),
            followers=view.count("followersCount"),
            url=f"https://bsky.app/profile/{platform_handle or did}",
        )

    def _search(self, query: str, limit: int) -> list[Profile]:
        params = {"q": query, "limit": max(1, min(limit, 100))}
        resp = self.http.get("/xrpc/app.bsky.actor.searchActors", params=params)
        if resp.status != 200:
            raise ConnectorError(f"Bluesky search failed: {self._error_reason(resp)}")
        return [self._profile(v.text("handle") or v.text("did"), v) for v in resp.doc().objs("actors")]
