"""X (Twitter) API v2 user lookup (reference §1).

Single `GET /2/users/by/username/{u}`, batch `GET /2/users/by?usernames=` (up to 100 per call) and
`GET /2/users/{id}` for renamed-handle detection, with an app-only `Authorization: Bearer` token.
Not-found and suspended users come back as HTTP 200 with `errors[]` (the docs say 404: both are
accepted); both carry type `.../resource-not-found`, so suspension is told apart by `title`
"Forbidden" / `detail` "User has been suspended". The classic field names are sent and both the 2.165
and the 2.167 spellings (`includes.tweets|posts`, `tweet_count|post_count`) are parsed.

A 429 (or 403) of problem type `usage-capped` is the app's monthly cap, not throttling: nothing
within a run lifts it, so the connector stops asking X at once and every further lookup of the run
is UNKNOWN "X usage cap reached" without a request or a wait. A 403 `client-not-enrolled` means the
developer app is not attached to a project: the token was accepted, so it is not called refused.
A field X leaves out (`verified`, say) is unknown, never false.
"""

from __future__ import annotations

import re
import threading
from typing import Any, ClassVar

from auditor.model.platforms import PLATFORMS
from auditor.model.types import Platform, Profile, ProfileStatus, normalise_handle
from connectors.base import Connector, ConnectorSettings
from connectors.http import Doc, HttpResponse, RetryAfterRateLimits, XRateLimits, x_problem

# The openapi.json parameter pattern ^[A-Za-z0-9_]{1,15}$: the platform row's, in either case.
USERNAME = re.compile(PLATFORMS[Platform.X].handle_pattern, re.IGNORECASE | re.ASCII)
USER_FIELDS = (
    "created_at,description,entities,id,name,protected,public_metrics,url,username,verified,"
    "verified_type,most_recent_tweet_id,withheld"
)
PARAMS = {"user.fields": USER_FIELDS, "expansions": "most_recent_tweet_id", "tweet.fields": "created_at"}
USAGE_CAP_REASON = "X usage cap reached"
NOT_ENROLLED_REASON = (
    "X: the developer app is not attached to a project (client-not-enrolled); the token itself is "
    "fine: attach the app to a project in the X developer portal"
)


def _problem_kind(error: Doc) -> str:
    """'suspended', 'not_found' or '' for an X problem object (compare the type suffix only)."""
    kind = error.text("type").rsplit("/2/problems/", 1)[-1]
    title = error.text("title")
    detail = error.text("detail")
    if "suspended" in detail.lower() or (title == "Forbidden" and kind == "resource-not-found"):
        return "suspended"
    if kind == "resource-not-found" or title == "Not Found Error":
        return "not_found"
    return ""


class XConnector(Connector):
    platform: ClassVar[Platform] = Platform.X
    default_settings: ClassVar[ConnectorSettings] = ConnectorSettings(base_url="https://api.x.com")
    credential_help: ClassVar[str] = "an app-only Bearer token (developer portal, or POST /oauth2/token)"
    batch_size: ClassVar[int] = 100
    test_handle: ClassVar[str] = "XDevelopers"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Set by the first usage-capped answer; one connector serves one run.
        self._capped = threading.Event()

    def rate_limit_style(self) -> RetryAfterRateLimits:
        return XRateLimits()

    @property
    def usage_capped(self) -> bool:
        """X answered `usage-capped` this run: no further request is made."""
        return self._capped.is_set()

    def _invalid(self, handle: str) -> Profile:
        # A name outside the pattern makes X reject a whole batch with 400, so it is never sent.
        return self._unknown(handle, "not a valid X username (letters, digits and _, at most 15)")

    def _lookup(self, handle: str) -> Profile:
        name = handle.strip().lstrip("@")
        if not USERNAME.fullmatch(name):
            return self._invalid(handle)
        if self.usage_capped:
            return self._unknown(handle, USAGE_CAP_REASON)
        resp = self.http.get(f"/2/users/by/username/{name}", params=PARAMS, headers=self.bearer())
        return self._parse(resp, [handle])[handle]

    def _lookup_batch(self, handles: list[str]) -> dict[str, Profile]:
        valid = [h for h in handles if USERNAME.fullmatch(h.strip().lstrip("@"))]
        results = {h: self._invalid(h) for h in handles if h not in valid}
        if valid and self.usage_capped:
            results.update({h: self._unknown(h, USAGE_CAP_REASON) for h in valid})
        elif valid:
            names = ",".join(h.strip().lstrip("@") for h in valid)
            resp = self.http.get("/2/users/by", params={"usernames": names, **PARAMS}, headers=self.bearer())
            results.update(self._parse(resp, valid))
        return results

    def _lookup_by_id(self, platform_id: str) -> Profile:
        if self.usage_capped:
            return self._unknown(platform_id, USAGE_CAP_REASON)
        resp = self.http.get(f"/2/users/{platform_id}", params=PARAMS, headers=self.bearer())
        return self._parse(resp, [platform_id], by_id=True)[platform_id]

    # -- parsing ---------------------------------------------------------------------------------

    def _parse(self, resp: HttpResponse, asked: list[str], by_id: bool = False) -> dict[str, Profile]:
        problem = x_problem(resp.body) if resp.status >= 400 else ""
        if problem == "usage-capped":  # 429 as a rule, 403 seen too (reference §1)
            self._capped.set()
            return {h: self._unknown(h, USAGE_CAP_REASON) for h in asked}
        if resp.status in (401, 403):
            # json() raises UnparseableResponse for an HTML page (a proxy's), as before.
            if Doc.loose(resp.json() if resp.body else {}).get("reason") == "client-not-enrolled":
                return {h: self._unknown(h, NOT_ENROLLED_REASON) for h in asked}
            return {h: self._unknown(h, f"X rejected the token (HTTP {resp.status})") for h in asked}
        if resp.status not in (200, 404):
            return {h: self._unknown(h, f"X answered HTTP {resp.status}") for h in asked}
        body = resp.doc()
        # `data` is one user (single lookups) or a list of them (batch).
        users = body.objs("data") if isinstance(body.get("data"), list) else [body.obj("data")]
        includes = body.obj("includes")
        posts = {p.ident("id"): p for p in (includes.objs("tweets") or includes.objs("posts"))}
        by_key: dict[str, Doc] = {}
        for user in users:
            if user:
                by_key[user.ident("id") if by_id else normalise_handle(user.text("username"))] = user
        problems: dict[str, Doc] = {}
        for error in body.objs("errors"):
            value = error.ident("value") or error.ident("resource_id")
            problems[value if by_id else normalise_handle(value)] = error
        results: dict[str, Profile] = {}
        for handle in asked:
            wanted = handle if by_id else normalise_handle(handle)
            if wanted in by_key:
                results[handle] = self._profile(handle, by_key[wanted], posts)
            elif wanted in problems:
                kind = _problem_kind(problems[wanted])
                if kind == "suspended":
                    results[handle] = self.profile(
                        handle, ProfileStatus.SUSPENDED, "X reports the user suspended"
                    )
                elif kind == "not_found":
                    results[handle] = self.profile(
                        handle,
                        ProfileStatus.NOT_FOUND,
                        f"X has no user {'with that id' if by_id else 'by that name'}",
                    )
                else:
                    detail = problems[wanted].text("detail") or problems[wanted].text("title")
                    results[handle] = self._unknown(handle, f"X error: {detail[:120]}")
            else:
                results[handle] = self._unknown(handle, "X's answer did not mention this handle")
        return results

    def _profile(self, handle: str, user: Doc, posts: dict[str, Doc]) -> Profile:
        entities = user.obj("entities")
        url_entities = entities.obj("url").objs("urls")
        website = url_entities[0].text("expanded_url") if url_entities else user.text("url")
        links = tuple(
            link
            for link in (
                u.text("expanded_url") or u.text("url") for u in entities.obj("description").objs("urls")
            )
            if link
        )
        post_id = user.ident("most_recent_tweet_id") or user.ident("most_recent_post_id")
        last_post = posts[post_id].when("created_at") if post_id in posts else None
        verified_type = user.text("verified_type")
        protected = bool(user.flag("protected"))
        username = user.text("username")
        return self.profile(
            handle,
            ProfileStatus.PROTECTED if protected else ProfileStatus.FOUND,
            platform_handle=username,
            platform_id=user.ident("id"),
            display_name=user.text("name"),
            bio=user.text("description"),
            website=website,
            links=links,
            verified=_verified(user.flag("verified"), verified_type),
            verified_kind="" if verified_type == "none" else verified_type,
            created_at=user.when("created_at"),
            followers=user.obj("public_metrics").count("followers_count"),
            last_post_at=last_post,
            url=f"https://x.com/{username}",
        )


def _verified(flag: bool | None, verified_type: str) -> bool | None:
    """True for any verification X reports; None when the answer carries neither field."""
    if verified_type not in ("", "none") or flag:
        return True
    if flag is False or verified_type == "none":
        return False
    return None
