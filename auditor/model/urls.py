"""Profile URLs: the one parser of "which account does this link name" (platform, handle, id).

Real files hold every form a browser's address bar shows: `www.`, `m.`, `mobile.` and `web.`
hosts, Facebook's `profile.php?id=N`, Meta Business Suite's `business.facebook.com/latest/home?
asset_id=N` (the Page's id, not a profile called "latest"), `/pages/Name/N`, Bluesky's
`bsky.app/profile/did:plc:...`, Mastodon's `/@user` on any instance (and `/@user@other` for a
remote account seen from one), trailing paths (`/status/1`, `/about`, `/featured`), queries and
fragments. `parse_profile_url` reads them all; the credential importer, the watchlist and
`account add`/`account import` call it instead of keeping their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from auditor.model.platforms import PLATFORMS, Platform
from auditor.model.types import normalise_handle

# Web hosts of profile pages (auditor/model/platforms.py), and the canonical one of each platform.
_HOSTS: dict[str, Platform] = {host: p for p, info in PLATFORMS.items() for host in info.hosts}
_CANONICAL_HOST = {host: info.hosts[0] for info in PLATFORMS.values() for host in info.hosts[1:]}
# Where a host is no platform's, a federated platform's profile page: https://instance/@user.
_FEDERATED = next(p for p, info in PLATFORMS.items() if info.federated)
# Host prefixes that name the same site (mobile, web, business and studio front-ends).
_HOST_PREFIXES = ("www.", "m.", "mobile.", "web.", "business.", "accounts.", "studio.")
# First path segments that are site pages, not profiles.
_RESERVED = frozenset(
    {
        "i",
        "home",
        "login",
        "login.php",
        "logout",
        "signup",
        "intent",
        "settings",
        "explore",
        "notifications",
        "messages",
        "search",
        "compose",
        "account",
        "accounts",
        "tos",
        "privacy",
        "help",
        "about",
        "p",
        "reel",
        "reels",
        "direct",
        "stories",
        "watch",
        "feed",
        "results",
        "groups",
        "pages",
        "business",
        "hashtag",
        "share",
        "sharer",
        "dialog",
        "checkpoint",
        "recover",
        "challenge",
        "oauth",
        "auth",
        "flow",
        "legal",
        "web",
        "v2",
        "latest",
        "pg",
        "events",
        "marketplace",
        "gaming",
        "shorts",
        "playlist",
    }
)


@dataclass(frozen=True)
class ProfileKey:
    """What a URL says about an account: the platform and a handle or platform id (either may be "").

    `handle` is normalised (`normalise_handle`: no @, case-folded) for matching; `written` is the
    same handle as the URL spells it, for storing."""

    platform: Platform
    handle: str = ""
    platform_id: str = ""
    written: str = field(default="", compare=False, repr=False)

    @property
    def names_account(self) -> bool:
        return bool(self.handle or self.platform_id)


def looks_like_url(text: str) -> bool:
    """An http(s) link, or a bare `host/path` whose host is a platform's (`instagram.com/x`)."""
    t = text.strip().casefold()
    if t.startswith(("http://", "https://")):
        return True
    host = t.split("/", 1)[0]
    return "/" in t and _host(host) in _HOSTS


def _host(host: str) -> str:
    host = host.casefold().rstrip(".")
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
    return host


def _split(url: str) -> tuple[str, list[str], str] | None:
    text = url.strip()
    if not text:
        return None
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        hostname = parts.hostname or ""
    except ValueError:
        return None
    return _host(hostname), [s for s in parts.path.split("/") if s], parts.query


def normalise_url(url: str) -> str:
    """Scheme-less, lower-case canonical host without www./m., no trailing slash, query or fragment."""
    split = _split(url)
    if split is None:
        return ""
    host, segments, _ = split
    host = _CANONICAL_HOST.get(host, host)
    return (host + "".join("/" + s for s in segments)).casefold()


def _key(platform: Platform, handle: str = "", platform_id: str = "") -> ProfileKey:
    written = handle.strip().lstrip("@")
    return ProfileKey(platform, normalise_handle(written) if written else "", platform_id.strip(), written)


def _query(query: str, name: str) -> str:
    return (parse_qs(query).get(name) or [""])[0].strip()


def parse_profile_url(url: str) -> ProfileKey | None:
    """Platform and handle (or id) from a profile URL; the platform alone for a site page (a login
    page, a post); None when the host is no platform's and the path is no fediverse profile."""
    split = _split(url)
    if split is None:
        return None
    host, segments, query = split
    first = segments[0] if segments else ""
    platform = _HOSTS.get(host)
    if platform is None:
        return _federated(host, segments)
    reader = _READERS.get(platform)
    if reader is not None:
        found = reader(segments, query)
        if found is not None:
            return found
    if first.casefold() in _RESERVED or first.endswith(".php"):
        return ProfileKey(platform)
    return _key(platform, first)


def _federated(host: str, segments: list[str]) -> ProfileKey | None:
    # Mastodon and other fediverse servers: https://instance/@user, /@user@other (a remote account
    # seen from this server), /users/user, /web/@user (the old web client).
    if segments and segments[0] == "web":
        segments = segments[1:]
    first = segments[0] if segments else ""
    if not host or "." not in host:
        return None
    if first.startswith("@") and len(first) > 1:
        user, _, server = first[1:].partition("@")
        return _key(_FEDERATED, f"{user}@{server or host}") if user else None
    if first == "users" and len(segments) > 1:
        return _key(_FEDERATED, f"{segments[1]}@{host}")
    return None


def _facebook(segments: list[str], query: str) -> ProfileKey | None:
    first = segments[0].casefold() if segments else ""
    p = Platform.FACEBOOK
    # Meta Business Suite: business.facebook.com/latest/home?asset_id=N (the Page's id).
    asset = _query(query, "asset_id")
    if asset.isdigit():
        return _key(p, platform_id=asset)
    if first == "profile.php":
        fid = _query(query, "id")
        return _key(p, platform_id=fid) if fid.isdigit() else ProfileKey(p)
    if first in ("people", "pages") and len(segments) > 2 and segments[2].isdigit():
        return _key(p, platform_id=segments[2])  # /pages/Lincoln-HS/123456 (old Page URLs)
    if first in ("pg",) and len(segments) > 1:
        return _key(p, segments[1])
    if first.isdigit():
        return _key(p, platform_id=first)  # facebook.com/123456: a Page by its id
    return None


def _youtube(segments: list[str], query: str) -> ProfileKey | None:
    first = segments[0] if segments else ""
    p = Platform.YOUTUBE
    if first == "channel" and len(segments) > 1:
        return _key(p, platform_id=segments[1])
    if first in ("c", "user") and len(segments) > 1:
        return _key(p, segments[1])
    if first.startswith("@"):
        return _key(p, first)
    return ProfileKey(p)  # /watch, /shorts, /NAME (a legacy custom URL): no safe reading


def _x(segments: list[str], query: str) -> ProfileKey | None:
    first = segments[0].casefold() if segments else ""
    p = Platform.X
    if first == "intent" and _query(query, "screen_name"):
        return _key(p, _query(query, "screen_name"))
    if first == "i" and len(segments) > 2 and segments[1] == "user" and segments[2].isdigit():
        return _key(p, platform_id=segments[2])
    return None


def _bluesky(segments: list[str], query: str) -> ProfileKey | None:
    p = Platform.BLUESKY
    if segments[:1] == ["profile"] and len(segments) > 1:
        ident = segments[1]
        return _key(p, platform_id=ident) if ident.startswith("did:") else _key(p, ident)
    return ProfileKey(p)


def _linkedin(segments: list[str], query: str) -> ProfileKey | None:
    first = segments[0] if segments else ""
    p = Platform.LINKEDIN
    if first in ("company", "school", "in", "showcase") and len(segments) > 1:
        return _key(p, segments[1])
    return ProfileKey(p)


def _snapchat(segments: list[str], query: str) -> ProfileKey | None:
    p = Platform.SNAPCHAT
    if segments[:1] in (["add"], ["@"]) and len(segments) > 1:
        return _key(p, segments[1])
    if segments and segments[0].startswith("@") and len(segments[0]) > 1:
        return _key(p, segments[0])
    return ProfileKey(p)


def _instagram(segments: list[str], query: str) -> ProfileKey | None:
    if segments[:1] in (["stories"], ["_u"]) and len(segments) > 1:
        return _key(Platform.INSTAGRAM, segments[1])
    return None


_READERS = {
    Platform.FACEBOOK: _facebook,
    Platform.YOUTUBE: _youtube,
    Platform.X: _x,
    Platform.BLUESKY: _bluesky,
    Platform.LINKEDIN: _linkedin,
    Platform.SNAPCHAT: _snapchat,
    Platform.INSTAGRAM: _instagram,
}


def handle_from_text(platform: Platform | None, text: str) -> tuple[Platform, str, str]:
    """(platform, handle, platform id) from what a person typed as a handle: a handle, or a profile
    URL pasted in its place. ValueError, in words, when the URL names another platform or no
    handle (`profile.php?id=N` names an id only: the handle must then be given as well)."""
    if not looks_like_url(text):
        if platform is None:
            raise ValueError(f"{text!r} is not a profile URL")
        return platform, text.strip(), ""
    key = parse_profile_url(text)
    if key is None:
        raise ValueError(f"{text.strip()!r} is not a profile URL of a platform the auditor knows")
    if platform is not None and key.platform is not platform:
        raise ValueError(
            f"{text.strip()!r} is a profile URL on {key.platform.info.label}, not on {platform.info.label}"
        )
    if not key.written:
        what = f"only by its id {key.platform_id}" if key.platform_id else "no account"
        raise ValueError(f"{text.strip()!r} names {what}; give the handle itself")
    return key.platform, key.written, key.platform_id
