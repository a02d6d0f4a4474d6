"""Loopback fakes of each platform's profile API, answering the real request and response shapes.

Every shape, error body and rate-limit header here follows /work/shared/reference/platform-apis.md
(section numbers cited per class). The fakes serve `auditor demo`, the benchmarks and the tests;
they are deliberately strict about what they accept (auth header or query parameter, batch sizes,
parameter spellings) so a connector that sends the wrong request fails visibly.
"""

from __future__ import annotations

import html
import math
import re
from datetime import UTC, datetime
from typing import Any

from auditor.model.types import normalise_handle
from connectors.fakes.server import FakeAccount, FakeServer, RecordedRequest, Reply, only

_X_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ig_time(iso: str) -> str:
    """Instagram's timestamp spelling (recorded: "2023-06-01T16:01:55+0000")."""
    if not iso:
        return ""
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _csv(value: str | None) -> list[str] | None:
    return None if value is None else [v for v in value.split(",") if v]


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")
# Words a search engine drops from a query (YouTube's relevance search matches on the rest).
_STOP = frozenset({"the", "of", "and", "a", "an", "at", "for", "dr", "mr", "mrs", "ms"})


def _words(text: str) -> list[str]:
    """Search words: split at anything not a letter or digit, at camelCase and at numbers' edges."""
    return [w.casefold() for w in re.split(r"[^0-9A-Za-z]+", _CAMEL.sub(" ", text)) if w]


def search_hits(
    accounts: Any,
    query: str,
    limit: int,
    *,
    any_word: bool = False,
    bio: bool = True,
    shown: tuple[str, ...] = ("found",),
) -> list[FakeAccount]:
    """Accounts a platform's account search returns for `query`, best first.

    Every word of the query must begin a word of the handle, display name or (with `bio`) the
    description, or occur in the handle; `any_word` (YouTube's relevance search) needs only one of
    them (stop words aside) and ranks by how many matched. Matches in the handle and display name
    rank above matches in the description only. Accounts with `searchable=False` are not indexed,
    nor accounts whose status is not in `shown` (Mastodon also shows locked accounts).
    The recorded searches (fixtures/real-api: Mastodon v2 search, Bluesky searchActors) return
    accounts whose handle does not contain the query: search is by words, not by handle.
    """
    wanted = _words(query)
    if any_word:
        wanted = [w for w in wanted if w not in _STOP] or wanted
    ranked: list[tuple[int, int, FakeAccount]] = []
    for i, a in enumerate(accounts):
        if a.status not in shown or not a.searchable:
            continue
        handle = a.handle.split("@")[0].casefold()
        strong = [*_words(a.handle.split("@")[0]), *_words(a.name)]
        weak = _words(a.bio) if bio else []
        score = 0
        hits = 0
        for w in wanted:
            if any(x.startswith(w) for x in strong) or w in re.sub(r"[^0-9a-z]", "", handle):
                score, hits = score + 2, hits + 1
            elif any(x.startswith(w) for x in weak):
                score, hits = score + 1, hits + 1
        if not wanted or not hits or (not any_word and hits < len(wanted)):
            continue
        ranked.append((-score, i, a))
    return [a for _, _, a in sorted(ranked, key=lambda r: (r[0], r[1]))][:limit]


# --------------------------------------------------------------------------------------------------
# X API v2 (reference §1)

X_USAGE_CAPPED = {
    "title": "UsageCapExceeded",
    "detail": "Usage cap exceeded: Monthly product cap",
    "type": "https://api.twitter.com/2/problems/usage-capped",
    "period": "Monthly",
    "scope": "Product",
}
X_NOT_ENROLLED = {
    "client_id": "12345678",
    "detail": (
        "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a "
        "Twitter developer App that is attached to a Project. You can create a project via the developer portal."
    ),
    "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
    "title": "Client Forbidden",
    "required_enrollment": "Appropriate Level of API Access",
    "reason": "client-not-enrolled",
    "type": "https://api.twitter.com/2/problems/client-forbidden",
}


class FakeX(FakeServer):
    """`/2/users/by/username/{u}`, `/2/users/by?usernames=`, `/2/users/{id}`; Bearer auth.

    `spelling="2.167"` answers with the newest spec's names (`includes.posts`, `post_count`,
    `most_recent_post_id`); `not_found_status=404` plays the documented (not the observed) status.
    Two switches answer every authorised request with an account-wide refusal (bodies as
    tests/connectors/test_real_answers.py replays them, shapes per reference §1): `usage_capped`
    (the monthly cap: problem type `usage-capped`, HTTP `usage_capped` = 429 or 403, and no
    `x-rate-limit-reset` header, since waiting does not lift it) and `client_not_enrolled` (403: the
    app is not attached to a project; the token is fine).
    """

    platform = "x"

    def __init__(
        self,
        *args: Any,
        spelling: str = "2.165",
        not_found_status: int = 200,
        usage_capped: int = 0,
        client_not_enrolled: bool = False,
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        self.spelling = spelling
        self.not_found_status = not_found_status
        self.usage_capped = usage_capped  # 0: not capped; else the HTTP status of the cap (429, 403)
        self.client_not_enrolled = client_not_enrolled

    def rate_headers(self, limit: int, remaining: int, reset: float) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(math.ceil(reset)),
        }

    def throttled_reply(self, limit: int, reset: float) -> Reply:
        body = {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        }
        return Reply(429, body, self.rate_headers(limit, 0, reset))

    def route(self, req: RecordedRequest) -> Reply:
        if not self.bearer_ok(req):
            return Reply(
                401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
            )
        if self.client_not_enrolled:
            return Reply(403, X_NOT_ENROLLED)
        if self.usage_capped:
            return Reply(self.usage_capped, X_USAGE_CAPPED)  # no rate-limit headers: nothing to wait for
        path = req.path
        if path.startswith("/2/users/by/username/"):
            name = path.rsplit("/", 1)[1]
            if not _X_USERNAME.match(name):
                return self._invalid([name])
            return self._single(req, self.find(name), name, "username")
        if path == "/2/users/by":
            names = _csv(req.param("usernames")) or []
            if not 1 <= len(names) <= 100 or not all(_X_USERNAME.match(n) for n in names):
                return self._invalid(names)
            return self._many(req, names)
        if path.startswith("/2/users/"):
            uid = path.rsplit("/", 1)[1]
            return self._single(req, self.find_id(uid), uid, "id")
        return Reply(
            404, {"title": "Not Found Error", "type": "about:blank", "status": 404, "detail": "Not Found"}
        )

    def _invalid(self, names: list[str]) -> Reply:
        body = {
            "errors": [
                {
                    "parameters": {"username": names},
                    "message": "The `username` query parameter value [...] does not match ^[A-Za-z0-9_]{1,15}$",
                }
            ],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }
        return Reply(400, body)

    def _problem(self, account: FakeAccount | None, value: str, parameter: str) -> dict[str, Any]:
        if account is not None and account.status == "suspended":
            return {
                "parameter": parameter,
                "resource_id": value,
                "value": value,
                "detail": f"User has been suspended: [{value}].",
                "title": "Forbidden",
                "resource_type": "user",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        return {
            "value": value,
            "detail": f"Could not find user with {parameter}: [{value}].",
            "title": "Not Found Error",
            "resource_type": "user",
            "parameter": parameter,
            "resource_id": value,
            "type": "https://api.twitter.com/2/problems/resource-not-found",
        }

    def _visible(self, account: FakeAccount | None) -> bool:
        return account is not None and account.status in ("found", "protected")

    def _user(self, a: FakeAccount, req: RecordedRequest) -> dict[str, Any]:
        new = self.spelling == "2.167"
        # The recorded users' metrics (twarc, tweepy): no like_count, which the connector never reads.
        metrics = {"followers_count": a.followers, "following_count": 12, "listed_count": 3}
        metrics["post_count" if new else "tweet_count"] = 420
        user: dict[str, Any] = {
            "id": a.id,
            "name": a.name or a.handle,
            "username": a.handle,
            "description": a.bio,
            "created_at": a.created_at,
            "protected": a.status == "protected",
            "verified": a.verified,
            "verified_type": a.verified_kind or "none",
            "public_metrics": metrics,
            "url": "",  # recorded users without a website send "url": ""
        }
        # `entities` only holds what the profile has (recorded: no `entities` key without urls).
        entities: dict[str, Any] = {}
        if a.links:
            entities["description"] = {
                "urls": [
                    {"start": 0, "end": 23, "url": "https://t.co/l" + str(i), "expanded_url": link,
                     "display_url": link.split("://", 1)[-1][:26]}
                    for i, link in enumerate(a.links)
                ]
            }  # fmt: skip
        if a.website:
            user["url"] = "https://t.co/w" + a.id
            entities["url"] = {
                "urls": [
                    {"start": 0, "end": 23, "url": user["url"], "expanded_url": a.website,
                     "display_url": a.website.split("://", 1)[-1][:26]}
                ]
            }  # fmt: skip
        if entities:
            user["entities"] = entities
        if a.last_post_at:
            user["most_recent_post_id" if new else "most_recent_tweet_id"] = "9" + a.id
        user.update(a.extra)
        asked = {"id", "name", "username", *(_csv(req.param("user.fields")) or [])}
        if new and "most_recent_tweet_id" in asked:
            asked.add("most_recent_post_id")
        return only(user, asked)

    def _includes(self, accounts: list[FakeAccount], req: RecordedRequest) -> dict[str, Any]:
        expansions = _csv(req.param("expansions")) or []
        key = "posts" if self.spelling == "2.167" else "tweets"
        # 2.167 renamed the expansion; whether production still accepts the old name is unconfirmed,
        # so the fake accepts both and answers in the new shape.
        wanted = (
            {"most_recent_post_id", "most_recent_tweet_id"}
            if self.spelling == "2.167"
            else {"most_recent_tweet_id"}
        )
        fields = _csv(req.param("post.fields")) or _csv(req.param("tweet.fields")) or []
        if not wanted & set(expansions):
            return {}
        posts = [
            only({"id": "9" + a.id, "text": "hello", "created_at": a.last_post_at}, {"id", "text", *fields})
            for a in accounts
            if a.last_post_at
        ]
        return {key: posts} if posts else {}

    def _single(self, req: RecordedRequest, account: FakeAccount | None, value: str, parameter: str) -> Reply:
        if not self._visible(account):
            status = 200 if account is not None else self.not_found_status
            return Reply(status, {"errors": [self._problem(account, value, parameter)]})
        assert account is not None
        body: dict[str, Any] = {"data": self._user(account, req)}
        includes = self._includes([account], req)
        if includes:
            body["includes"] = includes
        return Reply(200, body)

    def _many(self, req: RecordedRequest, names: list[str]) -> Reply:
        found: list[FakeAccount] = []
        for name in names:
            account = self.find(name)
            if account is not None and self._visible(account):
                found.append(account)
        body: dict[str, Any] = {}
        if found:
            body["data"] = [self._user(a, req) for a in found]
        errors = [
            self._problem(self.find(n), n, "usernames") for n in names if not self._visible(self.find(n))
        ]
        if errors:
            body["errors"] = errors
        includes = self._includes(found, req)
        if includes:
            body["includes"] = includes
        return Reply(200, body)


# --------------------------------------------------------------------------------------------------
# Meta Graph API: Facebook Pages (§2), Instagram business discovery (§3), Threads (§7.2)


class _FakeMeta(FakeServer):
    """Shared Meta behaviour: `access_token` query auth, error object, usage headers."""

    version = "v25.0"

    def __init__(self, *args: Any, version: str = "v25.0", **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.version = version

    @staticmethod
    def error(code: int, message: str, subcode: int | None = None, status: int = 400, **more: Any) -> Reply:
        err: dict[str, Any] = {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "AbCdEf",
        }
        if subcode is not None:
            err["error_subcode"] = subcode
        err.update(more)
        return Reply(status, {"error": err})

    def rate_headers(self, limit: int, remaining: int, reset: float) -> dict[str, str]:
        used = math.ceil(100 * (limit - remaining) / limit) if limit else 1
        return {
            "X-App-Usage": f'{{"call_count":{used},"total_time":{used // 2},"total_cputime":{used // 2}}}'
        }

    def throttled_reply(self, limit: int, reset: float) -> Reply:
        minutes = max(1, math.ceil((reset - self.clock.now()) / 60))
        reply = self.error(4, "(#4) Application request limit reached", status=403, is_transient=True)
        reply.headers = {
            "X-App-Usage": '{"call_count":100,"total_time":40,"total_cputime":30}',
            "X-Business-Use-Case-Usage": (
                '{"1234567890":[{"type":"pages","call_count":100,"total_cputime":20,"total_time":20,'
                f'"estimated_time_to_regain_access":{minutes}}}]}}'
            ),
        }
        return reply

    def authorised(self, req: RecordedRequest) -> Reply | None:
        if req.param("access_token") != self.token:
            return self.error(190, "Invalid OAuth access token - Cannot parse access token")
        if not req.path.startswith(f"/{self.version}/"):
            return self.error(2500, "Unknown path components: " + req.path.split("/")[1])
        return None


class FakeFacebook(_FakeMeta):
    """`GET /{version}/{page-username-or-id}?fields=...&access_token=...` (§2)."""

    platform = "facebook"

    def page(self, a: FakeAccount) -> dict[str, Any]:
        """The Page node. Graph leaves out a field the Page has no value for (the recorded
        `facebookapp` Page has no `website`), so empty strings are not sent; `is_verified` is
        deprecated in favour of `verification_status` and is only sent when `extra` says so."""
        data: dict[str, Any] = {
            "id": a.id,
            "name": a.name or a.handle,
            "username": a.handle,
            "about": a.bio,
            "description": a.bio,
            "link": f"https://www.facebook.com/{a.handle}",
            "website": a.website,
            "category": "School",
            "fan_count": a.followers - 100,
            "followers_count": a.followers,
            "verification_status": "blue_verified" if a.verified else "not_verified",
        }
        data = {k: v for k, v in data.items() if v != ""}
        data.update(a.extra)
        return data

    def route(self, req: RecordedRequest) -> Reply:
        denied = self.authorised(req)
        if denied:
            return denied
        node = req.path.split("/")[2] if req.path.count("/") >= 2 else ""
        account = self.find(node) or self.find_id(node)
        if account is None or account.status == "deactivated":
            if node.isdigit():
                return self.error(
                    100,
                    f"Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due to "
                    "missing permissions, or does not support this operation.",
                    33,
                )
            return self.error(803, f"(#803) Some of the aliases you requested do not exist: {node}")
        if account.status in ("restricted", "suspended"):
            return self.error(
                100,
                f"Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due to "
                "missing permissions, or does not support this operation.",
                33,
            )
        return Reply(200, only(self.page(account), {"id", *(_csv(req.param("fields")) or [])}))


_DISCOVERY = re.compile(r"^business_discovery\.username\(([^)]*)\)\{(.*)\}$")
# An IG User field in a field expansion: `name`, `media.limit(1){timestamp,permalink}`.
_FIELD = re.compile(r"([a-z_]+)(?:\.limit\((\d+)\))?(?:\{([^{}]*)\})?")
# What business discovery shows of ANOTHER account. Meta's IG User reference marks
# `profile_picture_url` (and more) as not public there; the recorded answers (nike, the docs
# example) hold only the fields below. An asked field outside them is left out of the answer, as
# Graph does, so a connector that relies on one sees it missing.
IG_DISCOVERY_FIELDS = frozenset(
    {
        "id",
        "username",
        "name",
        "biography",
        "website",
        "followers_count",
        "follows_count",
        "media_count",
        "media",
    }
)
IG_MEDIA_FIELDS = frozenset(
    {"id", "timestamp", "permalink", "media_type", "caption", "comments_count", "like_count", "media_url"}
)


def _expansion(text: str) -> list[tuple[str, int | None, list[str] | None]]:
    """`a,b.limit(2){c,d}` -> [(a, None, None), (b, 2, [c, d])]; commas inside {} do not split."""
    out: list[tuple[str, int | None, list[str] | None]] = []
    depth, start = 0, 0
    for i, ch in enumerate(text + ","):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            part = text[start:i].strip()
            start = i + 1
            m = _FIELD.fullmatch(part)
            if m is None:
                raise ValueError(part)
            limit = int(m.group(2)) if m.group(2) else None
            subs = [f for f in m.group(3).split(",") if f] if m.group(3) is not None else None
            out.append((m.group(1), limit, subs))
    return out


class FakeInstagram(_FakeMeta):
    """`GET /{version}/{own-ig-user-id}?fields=business_discovery.username(x){...}` (§3)."""

    platform = "instagram"

    def __init__(self, *args: Any, own_id: str = "17841405309211844", **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.own_id = own_id

    def route(self, req: RecordedRequest) -> Reply:
        denied = self.authorised(req)
        if denied:
            return denied
        node = req.path.split("/")[2]
        if node != self.own_id:
            return self.error(100, f"Unsupported get request. Object with ID '{node}' does not exist.", 33)
        match = _DISCOVERY.match(req.param("fields") or "")
        if not match:
            return self.error(100, "(#100) Tried accessing nonexisting field")
        name = match.group(1)
        try:
            asked = _expansion(match.group(2))
        except ValueError as exc:
            return self.error(100, f'(#100) Syntax error "Expected end of string instead of "{exc}"."')
        account = self.find(name)
        if account is None or account.status != "found":
            return self.error(
                110,
                "Invalid user id",
                2207013,
                is_transient=False,
                error_user_title="Cannot find User",
                error_user_msg=f"The user with username: {name} cannot be found.",
            )
        post = {
            "id": "17990014702890528",
            "timestamp": _ig_time(account.last_post_at),
            "permalink": "https://www.instagram.com/p/x",
            "media_type": "IMAGE",
            "comments_count": 3,
            "like_count": 40,
        }
        everything: dict[str, Any] = {
            "username": account.handle,
            "name": account.name,
            "biography": account.bio,
            "website": account.website,
            "followers_count": account.followers,
            "follows_count": 10,
            "media_count": 55,
            "id": account.id,
        }
        everything.update(account.extra)
        found: dict[str, Any] = {}
        for field_name, limit, subs in asked:
            if field_name not in IG_DISCOVERY_FIELDS:
                continue  # not public for business discovery: Graph leaves it out
            if field_name == "media":
                posts = [post] if account.last_post_at else []
                wanted = {"id", *(f for f in subs or ["id"] if f in IG_MEDIA_FIELDS)}
                found["media"] = {
                    "data": [only(p, wanted) for p in posts[: limit if limit is not None else 25]]
                }
            elif field_name in everything and everything[field_name] != "":
                found[field_name] = everything[field_name]  # Graph omits a field without a value
        return Reply(200, {"business_discovery": found, "id": self.own_id})


class FakeThreads(_FakeMeta):
    """`/v1.0/me` (the token's own profile) and `/v1.0/profile_lookup` (advanced access) (§7.2)."""

    platform = "threads"

    def __init__(self, *args: Any, owner: str = "", discovery: bool = False, **kw: Any) -> None:
        kw.setdefault("version", "v1.0")
        super().__init__(*args, **kw)
        self.owner = owner
        self.discovery = discovery

    def route(self, req: RecordedRequest) -> Reply:
        denied = self.authorised(req)
        if denied:
            return denied
        fields = _csv(req.param("fields"))
        if req.path == f"/{self.version}/me":
            a = self.find(self.owner)
            assert a is not None, "FakeThreads needs owner= naming an account"
            me = {
                "id": a.id,
                "username": a.handle,
                "name": a.name,
                "threads_biography": a.bio,
                "threads_profile_picture_url": "https://scontent.example/t.jpg",
                "is_verified": a.verified,
            }
            return Reply(200, only(me, {"id", *(fields or [])}))
        if req.path == f"/{self.version}/profile_lookup":
            if not self.discovery:
                return self.error(10, "(#10) Application does not have permission for this action")
            a = self.find(req.param("username") or "")
            if a is None or a.status != "found":
                return self.error(100, "Unsupported get request.", 33)
            profile = {
                "username": a.handle,
                "name": a.name,
                "biography": a.bio,
                "is_verified": a.verified,
                "follower_count": a.followers,
                "profile_picture_url": "https://scontent.example/t.jpg",
            }
            return Reply(200, only(profile, fields))
        return self.error(100, "Unsupported get request.", 33)


# --------------------------------------------------------------------------------------------------
# YouTube Data API v3 (§4)


class FakeYouTube(FakeServer):
    """`/youtube/v3/channels` (forHandle or id), `/youtube/v3/search`, `/youtube/v3/playlistItems`;
    `key=` query auth; quota exhaustion is a 403 `quotaExceeded` without headers."""

    platform = "youtube"

    @staticmethod
    def google_error(status: int, reason: str, message: str, domain: str = "global") -> Reply:
        return Reply(
            status,
            {
                "error": {
                    "code": status,
                    "message": message,
                    "errors": [{"message": message, "domain": domain, "reason": reason}],
                }
            },
        )

    def throttled_reply(self, limit: int, reset: float) -> Reply:
        return self.google_error(
            403,
            "quotaExceeded",
            'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.',
            "youtube.quota",
        )

    def channel(self, a: FakeAccount) -> dict[str, Any]:
        cid = a.id if a.id.startswith("UC") else "UC" + a.id.rjust(22, "x")
        return {
            "kind": "youtube#channel",
            "etag": "e",
            "id": cid,
            "snippet": {
                "title": a.name or a.handle,
                "description": a.bio,
                "customUrl": "@" + a.handle.lower(),
                "publishedAt": a.created_at,
                "country": "US",
            },
            "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU" + cid[2:]}},
            "statistics": {
                "viewCount": "12345",
                "subscriberCount": str(a.followers),
                "hiddenSubscriberCount": False,
                "videoCount": "61",
            },
        }

    def _by_channel_id(self, cid: str) -> FakeAccount | None:
        return next((a for a in self.accounts.values() if self.channel(a)["id"] == cid), None)

    def route(self, req: RecordedRequest) -> Reply:
        if req.param("key") != self.token and not self.bearer_ok(req):
            return self.google_error(400, "badRequest", "API key not valid. Please pass a valid API key.")
        if req.path == "/youtube/v3/channels":
            if req.param("forHandle"):
                found = [self.find(req.param("forHandle") or "")]
            elif req.param("id"):
                found = [self._by_channel_id(i) for i in _csv(req.param("id")) or []]
            else:
                return self.google_error(
                    400,
                    "missingRequiredParameter",
                    "No filter selected. Expected one of: forUsername, managedByMe, forHandle, id, mine, categoryId",
                )
            items = [self.channel(a) for a in found if a is not None and a.status == "found"]
            body: dict[str, Any] = {
                "kind": "youtube#channelListResponse",
                "etag": "e",
                "pageInfo": {"totalResults": len(items), "resultsPerPage": 5},
            }
            if items:
                body["items"] = items
            return Reply(200, body)
        if req.path == "/youtube/v3/search":
            limit = int(req.param("maxResults") or 5)
            # Relevance search over channel titles, handles and descriptions: any word may match.
            hits = search_hits(self.accounts.values(), req.param("q") or "", 10**6, any_word=True)
            items = [
                {
                    "kind": "youtube#searchResult",
                    "id": {"kind": "youtube#channel", "channelId": self.channel(a)["id"]},
                    "snippet": {
                        "channelId": self.channel(a)["id"],
                        "title": a.name or a.handle,
                        "description": a.bio,
                        "channelTitle": a.name or a.handle,
                        "publishedAt": a.created_at,
                    },
                }
                for a in hits[:limit]
            ]
            return Reply(
                200,
                {
                    "kind": "youtube#searchListResponse",
                    "pageInfo": {"totalResults": len(hits)},
                    "items": items,
                },
            )
        if req.path == "/youtube/v3/playlistItems":
            playlist = req.param("playlistId") or ""
            a = self._by_channel_id("UC" + playlist[2:])
            items = (
                [
                    {
                        "kind": "youtube#playlistItem",
                        "contentDetails": {"videoId": "v1", "videoPublishedAt": a.last_post_at},
                    }
                ]
                if a is not None and a.last_post_at
                else []
            )
            return Reply(200, {"kind": "youtube#playlistItemListResponse", "items": items})
        return self.google_error(404, "notFound", "Not Found")


# --------------------------------------------------------------------------------------------------
# Mastodon (§5)


_MENTION = re.compile(r"@([A-Za-z0-9_]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def _mastodon_link(url: str) -> str:
    """A plain link as Mastodon renders one (recorded: the scheme in an invisible span)."""
    scheme, _, rest = url.partition("://")
    return (
        f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{html.escape(scheme)}://</span><span class="">{html.escape(rest)}</span>'
        '<span class="invisible"></span></a>'
    )


def _mastodon_note(bio: str) -> str:
    """The bio as Mastodon's HTML: escaped text, `@user@host` as an h-card mention link."""

    def mention(m: re.Match[str]) -> str:
        user, host = m.group(1), m.group(2)
        return (
            f'<span class="h-card" translate="no"><a href="https://{host}/@{user}" class="u-url mention">'
            f"@<span>{user}</span></a></span>"
        )

    out, last = [], 0
    for m in _MENTION.finditer(bio):
        out.append(html.escape(bio[last : m.start()]))
        out.append(mention(m))
        last = m.end()
    out.append(html.escape(bio[last:]))
    return "".join(out)


class FakeMastodon(FakeServer):
    """Any number of instances behind one port: a path prefix `/_i/{instance}` picks the instance
    (the connector's base URL template `http://127.0.0.1:PORT/_i/{instance}`). Anonymous access
    unless `require_auth` (secure mode: 401). Rate limit headers carry an ISO 8601 reset.

    Rendered as the recordings show (fixtures/real-api/mastodon): a "protected" FakeAccount is
    `locked: true`, which only means follow requests need approval: it is looked up, searched and
    shown like any other. `followers < 0` plays a server hiding its counts (`followers_count` and
    `following_count` -1, `hide_collections`). `@user@host` in the bio becomes an h-card mention
    link (`class="u-url mention"`), other URLs in `links` plain links, both in Mastodon's markup."""

    platform = "mastodon"

    def __init__(self, *args: Any, require_auth: bool = False, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.require_auth = require_auth

    def account_key(self, account: FakeAccount) -> str:
        user, _, inst = account.handle.lstrip("@").partition("@")
        account.instance = account.instance or inst
        account.handle = user
        return f"{user.casefold()}@{account.instance.casefold()}"

    def rate_headers(self, limit: int, remaining: int, reset: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": _iso(reset),
        }

    def throttled_reply(self, limit: int, reset: float) -> Reply:
        return Reply(429, {"error": "Too many requests"}, self.rate_headers(limit, 0, reset))

    def render(self, a: FakeAccount) -> dict[str, Any]:
        base = {
            "id": a.id,
            "username": a.handle,
            "acct": a.handle,
            "url": f"https://{a.instance}/@{a.handle}",
            "uri": f"https://{a.instance}/users/{a.handle}",
            "created_at": a.created_at[:10] + "T00:00:00.000Z",
            "avatar": "",
            "header": "",
            "emojis": [],
            "roles": [],
            "bot": False,
            "group": False,
        }
        if a.status == "suspended":
            return {
                **base,
                "display_name": "",
                "note": "",
                "locked": False,
                "fields": [],
                "followers_count": 0,
                "following_count": 0,
                "statuses_count": 0,
                "last_status_at": None,
                "suspended": True,
            }
        links = "".join(f" {_mastodon_link(u)}" for u in a.links)
        fields = []
        if a.website:
            fields.append(
                {
                    "name": "Website",
                    "value": f'<a href="{html.escape(a.website)}" rel="me nofollow noopener noreferrer" '
                    f'target="_blank"><span class="invisible">https://</span>{html.escape(a.website[8:])}</a>',
                    "verified_at": "2024-07-15T18:29:57.191+00:00" if a.verified else None,
                }
            )
        hidden = a.followers < 0
        account = {
            **base,
            "display_name": a.name,
            "locked": a.status == "protected",
            "discoverable": True,
            "note": f"<p>{_mastodon_note(a.bio)}{links}</p>",
            "fields": fields,
            "followers_count": -1 if hidden else a.followers,
            "following_count": -1 if hidden else 50,
            "statuses_count": 900,
            "last_status_at": a.last_post_at[:10] if a.last_post_at else None,
        }
        if hidden:
            account["hide_collections"] = True
        account.update(a.extra)
        return account

    def route(self, req: RecordedRequest) -> Reply:
        path, instance = req.path, ""
        if path.startswith("/_i/"):
            _, _, instance, rest = path.split("/", 3)
            path = "/" + rest
        if self.require_auth and not self.bearer_ok(req):
            return Reply(401, {"error": "This API requires an authenticated user"})
        here = [
            a for a in self.accounts.values() if not instance or a.instance.casefold() == instance.casefold()
        ]
        if path == "/api/v1/accounts/lookup":
            acct = (req.param("acct") or "").lstrip("@")
            user, _, domain = acct.partition("@")
            if domain and instance and domain.casefold() != instance.casefold():
                return Reply(404, {"error": "Record not found"})  # lookup skips WebFinger: remote unknown
            match = [a for a in here if a.handle.casefold() == user.casefold() and a.status != "deactivated"]
            if not match:
                return Reply(404, {"error": "Record not found"})
            return Reply(200, self.render(match[0]))
        if path.startswith("/api/v1/accounts/"):
            match = [a for a in here if a.id == path.rsplit("/", 1)[1] and a.status != "deactivated"]
            return Reply(200, self.render(match[0])) if match else Reply(404, {"error": "Record not found"})
        if path == "/api/v2/search":
            if req.param("type") != "accounts":
                return Reply(200, {"accounts": [], "statuses": [], "hashtags": []})
            hits = search_hits(
                self.accounts.values(), req.param("q") or "", 10**6, shown=("found", "protected")
            )
            rendered = []
            for a in hits[: int(req.param("limit") or 20)]:
                r = self.render(a)
                if not instance or a.instance.casefold() != instance.casefold():
                    r["acct"] = f"{a.handle}@{a.instance}"
                rendered.append(r)
            return Reply(200, {"accounts": rendered, "statuses": [], "hashtags": []})
        return Reply(404, {"error": "Record not found"})


# --------------------------------------------------------------------------------------------------
# Bluesky public AppView (§6)


class FakeBluesky(FakeServer):
    """`app.bsky.actor.getProfile`, `getProfiles` (≤25, missing actors dropped), `searchActors`,
    and `com.atproto.identity.resolveHandle`.

    A FakeAccount with status "handle_invalid" is an account whose domain handle stopped verifying
    (its `_atproto` record lapsed): by handle the AppView no longer finds it (400 "Profile not
    found", as appview_errors.json) and the handle no longer resolves (400 "Unable to resolve
    handle"); by DID it is the account with the sentinel handle `handle.invalid` (the recorded
    wired.com view, handle replaced; atproto packages/syntax handle.ts).
    """

    platform = "bluesky"

    def rate_headers(self, limit: int, remaining: int, reset: float) -> dict[str, str]:
        window = int(self.rate_limit[1]) if self.rate_limit else 300
        return {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(math.ceil(reset)),
            "RateLimit-Policy": f"{limit};w={max(1, window)}",
        }

    def throttled_reply(self, limit: int, reset: float) -> Reply:
        return Reply(
            429,
            {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            self.rate_headers(limit, 0, reset),
        )

    @staticmethod
    def did(a: FakeAccount) -> str:
        return a.id if a.id.startswith("did:") else "did:plc:" + a.id.rjust(24, "z")

    def _find_actor(self, actor: str) -> FakeAccount | None:
        if actor.startswith("did:"):
            return next((a for a in self.accounts.values() if self.did(a) == actor), None)
        a = self.find(actor)
        return None if a is not None and a.status == "handle_invalid" else a  # the handle is gone

    _SHOWN = ("found", "protected", "handle_invalid")

    def render(self, a: FakeAccount, detailed: bool = True) -> dict[str, Any]:
        view: dict[str, Any] = {
            "did": self.did(a),
            "handle": "handle.invalid" if a.status == "handle_invalid" else a.handle.lower(),
            "displayName": a.name,
            "description": a.bio,
            "createdAt": a.created_at,
            "indexedAt": a.created_at,
            "labels": [],
            "verification": {
                "verifications": [],
                "verifiedStatus": "valid" if a.verified else "none",
                "trustedVerifierStatus": "none",
            },
        }
        if a.status == "protected":
            view["labels"] = [
                {
                    "src": view["did"],
                    "uri": f"at://{view['did']}/app.bsky.actor.profile/self",
                    "val": "!no-unauthenticated",
                    "cts": a.created_at,
                }
            ]
        if a.website:
            view["website"] = a.website
        if detailed:
            view.update({"followersCount": a.followers, "followsCount": 40, "postsCount": 321})
        view.update(a.extra)
        return view

    def _error(self, a: FakeAccount | None) -> Reply:
        if a is not None and a.status == "suspended":
            return Reply(400, {"error": "AccountTakedown", "message": "Account has been suspended"})
        if a is not None and a.status == "deactivated":
            return Reply(400, {"error": "AccountDeactivated", "message": "Account is deactivated"})
        return Reply(400, {"error": "InvalidRequest", "message": "Profile not found"})

    def route(self, req: RecordedRequest) -> Reply:
        if req.path == "/xrpc/app.bsky.actor.getProfile":
            a = self._find_actor(req.param("actor") or "")
            if a is None or a.status not in self._SHOWN:
                return self._error(a)
            return Reply(200, self.render(a))
        if req.path == "/xrpc/app.bsky.actor.getProfiles":
            actors = req.query.get("actors", [])
            if not 1 <= len(actors) <= 25:
                return Reply(
                    400, {"error": "InvalidRequest", "message": "actors must not have more than 25 elements"}
                )
            found = [a for a in map(self._find_actor, actors) if a is not None and a.status in self._SHOWN]
            return Reply(200, {"profiles": [self.render(a) for a in found]})
        if req.path == "/xrpc/app.bsky.actor.searchActors":
            limit = int(req.param("limit") or 25)
            # Display names, handles and descriptions, by words (searchActors, not the typeahead).
            hits = search_hits(self.accounts.values(), req.param("q") or "", limit)
            return Reply(200, {"actors": [self.render(a, detailed=False) for a in hits]})
        if req.path == "/xrpc/com.atproto.identity.resolveHandle":
            a = self._find_actor(req.param("handle") or "")
            if a is None or a.status == "deactivated" or (req.param("handle") or "").startswith("did:"):
                return Reply(400, {"error": "InvalidRequest", "message": "Unable to resolve handle"})
            return Reply(200, {"did": self.did(a)})
        return Reply(404, {"error": "MethodNotImplemented", "message": "Method Not Implemented"})


# --------------------------------------------------------------------------------------------------
# TikTok Display API (§7.1) and LinkedIn organization lookup (§7.3)


class FakeTikTok(FakeServer):
    """`GET /v2/user/info/?fields=...` answering for the owner of the Bearer token only."""

    platform = "tiktok"

    def __init__(self, *args: Any, owner: str = "", **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.owner = owner

    def throttled_reply(self, limit: int, reset: float) -> Reply:
        return Reply(
            429,
            {
                "data": {},
                "error": {
                    "code": "rate_limit_exceeded",
                    "message": "API rate limit exceeded",
                    "log_id": "L1",
                },
            },
        )

    def route(self, req: RecordedRequest) -> Reply:
        if not self.bearer_ok(req):
            return Reply(
                401,
                {
                    "data": {},
                    "error": {
                        "code": "access_token_invalid",
                        "message": "The access token is invalid or not found in the request.",
                        "log_id": "L2",
                    },
                },
            )
        if req.path != "/v2/user/info/":
            return Reply(
                404, {"data": {}, "error": {"code": "invalid_params", "message": "not found", "log_id": "L3"}}
            )
        a = self.find(self.owner)
        assert a is not None, "FakeTikTok needs owner= naming an account"
        user = {
            "open_id": "open-" + a.id,
            "union_id": "union-" + a.id,
            "avatar_url": "https://p16.example/a.jpg",
            "display_name": a.name,
            "bio_description": a.bio,
            "profile_deep_link": f"https://vm.tiktok.com/{a.handle}",
            "is_verified": a.verified,
            "username": a.handle,
            "follower_count": a.followers,
            "following_count": 3,
            "likes_count": 99,
            "video_count": 12,
        }
        return Reply(
            200,
            {
                "data": {"user": only(user, _csv(req.param("fields")))},
                "error": {"code": "ok", "message": "", "log_id": "L4"},
            },
        )


class FakeLinkedIn(FakeServer):
    """`GET /rest/organizations?q=vanityName&vanityName=...` with the versioned REST headers."""

    platform = "linkedin"

    def route(self, req: RecordedRequest) -> Reply:
        if not self.bearer_ok(req):
            return Reply(
                401,
                {
                    "status": 401,
                    "serviceErrorCode": 65600,
                    "code": "INVALID_ACCESS_TOKEN",
                    "message": "Invalid access token",
                },
            )
        if not req.header("LinkedIn-Version") or req.header("X-Restli-Protocol-Version") != "2.0.0":
            return Reply(
                400, {"status": 400, "code": "VERSION_MISSING", "message": "A version must be present."}
            )
        if req.path != "/rest/organizations" or req.param("q") != "vanityName":
            return Reply(404, {"status": 404, "code": "NOT_FOUND", "message": "Not Found"})
        name = normalise_handle(req.param("vanityName") or "")
        a = self.find(name)
        elements: list[dict[str, Any]] = []
        if a is not None and a.status == "found":
            elements.append(
                {
                    "id": int(a.id) if a.id.isdigit() else a.id,
                    "localizedName": a.name,
                    "vanityName": a.handle,
                    "localizedWebsite": a.website,
                    "name": {
                        "localized": {"en_US": a.name},
                        "preferredLocale": {"country": "US", "language": "en"},
                    },
                    "primaryOrganizationType": "NONE",
                    "locations": [],
                }
            )
        return Reply(200, {"elements": elements, "paging": {"count": 10, "start": 0, "links": []}})
