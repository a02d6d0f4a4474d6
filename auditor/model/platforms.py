"""Every platform the auditor knows, and every fact about each of them: one row per platform.

`Platform` is the enumeration stored in records and typed on the command line. `PLATFORMS` is the
one home of what the rest of the code knows about a platform: how it is named and how its handles
are shown, the other names accepted on input, what a valid handle looks like and which characters
join its words, the web hosts of its profile pages, and how its API finds an account. Nothing else
keeps a per-platform table; each of these reads a row:

- `Platform.label`, `Platform.parse` (aliases) and `display_handle` (auditor/model/types.py);
- profile URLs and entry titles in credential imports (vault/escrow/credential_import.py);
- handle rules, separators and identity for look-alikes (auditor/engine/impersonation/), and a
  Bluesky-style domain handle as proof of affiliation (auditor/engine/checks/affiliation.py);
- which platforms look-alike discovery probes (auditor/services/audit.py) and searches
  (connectors/base.py), and X's username check before a batch (connectors/platforms/x.py).

Adding a platform is one member and one row here, then its connector (docs/connectors.md). Handle
syntax follows platform-apis.md section 9; lookup styles sections 1 to 7.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.model.enums import StrEnum


class Platform(StrEnum):
    X = "x"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    YOUTUBE = "youtube"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"
    TIKTOK = "tiktok"
    THREADS = "threads"
    LINKEDIN = "linkedin"
    SNAPCHAT = "snapchat"
    OTHER = "other"

    @staticmethod
    def _aliases() -> dict[str, str]:
        return {alias: p.value for p, info in PLATFORMS.items() for alias in info.aliases}

    @property
    def info(self) -> PlatformInfo:
        return PLATFORMS[self]

    @property
    def label(self) -> str:
        return PLATFORMS[self].label


class Lookup(StrEnum):
    """How the platform's API answers for an account."""

    EXACT = "exact"  # one exact handle a request
    BATCH = "batch"  # many exact handles a request (the connector's batch_size is above 1)
    OWN = "own"  # only the token owner's own account without special access (TikTok, Threads)
    MANUAL = "manual"  # no API for other accounts: an administrator's attestation (the manual connector)


# Handle syntax the reference leaves UNCONFIRMED (LinkedIn, Snapchat, other): what most platforms allow.
GENERIC_HANDLE = r"[a-z0-9._\-]{3,30}"
# Instagram (and Threads, which takes the Instagram username): no leading or trailing period, no "..".
_DOTTED_HANDLE = r"(?!\.)(?!.*\.\.)(?!.*\.\Z)[a-z0-9._]{1,30}"
_DOTTED_RULE = "1 to 30 letters, digits, underscores or periods, no period first, last or twice in a row"


@dataclass(frozen=True)
class PlatformInfo:
    """What the auditor knows about one platform (one row of `PLATFORMS`)."""

    label: str  # how people write its name: "YouTube", "LinkedIn"
    display_prefix: str = "@"  # written before a handle ("@lincolnhs"); "" where the platform writes none
    aliases: tuple[str, ...] = ()  # other names accepted on input by `Platform.parse` ("twitter")
    hosts: tuple[str, ...] = ()  # web hosts of its profile pages, the canonical one first (no www./m.)
    title_words: tuple[str, ...] = ()  # words naming it in a password manager's entry title, in any case
    title_marks: tuple[str, ...] = ()  # words naming it only written exactly so, as a word of their own ("X")
    # A valid handle, lower-cased, as a regular expression matched against the whole handle (the
    # local part of a federated handle; each label of a domain handle).
    handle_pattern: str = GENERIC_HANDLE
    handle_rule: str = "3 to 30 letters, digits, periods, underscores or hyphens"  # handle_pattern in words
    separators: str = "_.-"  # characters that may join two words of a handle (look-alike variants)
    ignored_in_handle: str = ""  # characters the platform ignores when telling handles apart
    federated: bool = False  # a handle is `user@instance`; any host may serve its `/@user` page
    handle_is_domain: bool = False  # a handle is a domain name: one under the district's domain is its own
    default_domain: str = ""  # the domain under which the platform hands out handles ("bsky.social")
    lookup: Lookup = Lookup.EXACT
    search: bool = False  # the API searches accounts: look-alike discovery searches the district's names
    probe_lookalikes: bool = False  # look-alike discovery probes platform-valid variants by exact lookup
    # The platform's word for the people who can act for the account besides its login (a rotation
    # task's "platform-admins" item asks to remove the person who left from them).
    admin_roles: str = "admins, editors and linked logins"
    # The longest password its sign-up form takes, where that is below our default of 24 (0: none).
    password_max_length: int = 0


PLATFORMS: dict[Platform, PlatformInfo] = {
    Platform.X: PlatformInfo(
        label="X",
        admin_roles="delegates and connected team members",
        aliases=("twitter",),
        hosts=("x.com", "twitter.com"),
        title_words=("twitter", "tweetdeck"),
        title_marks=("X",),
        handle_pattern=r"[a-z0-9_]{1,15}",  # the OpenAPI pattern ^[A-Za-z0-9_]{1,15}$
        handle_rule="1 to 15 letters, digits or underscores",
        separators="_",
        lookup=Lookup.BATCH,
        probe_lookalikes=True,
    ),
    Platform.FACEBOOK: PlatformInfo(
        label="Facebook",
        admin_roles="Page roles (Page access in Meta Business Suite)",
        display_prefix="",
        aliases=("fb",),
        hosts=("facebook.com", "fb.com"),
        title_words=("facebook",),
        handle_pattern=r"(?=.*[a-z])[a-z0-9.]{5,50}",  # at least one letter
        handle_rule="5 to 50 letters, digits or periods, with at least one letter",
        separators="",
        ignored_in_handle=".",  # john.smith.55 is johnsmith55
    ),
    Platform.INSTAGRAM: PlatformInfo(
        label="Instagram",
        admin_roles="Meta Business Suite people and the linked Facebook Page",
        aliases=("ig",),
        hosts=("instagram.com",),
        title_words=("instagram",),
        handle_pattern=_DOTTED_HANDLE,
        handle_rule=_DOTTED_RULE,
        separators="_.",
        probe_lookalikes=True,
    ),
    Platform.YOUTUBE: PlatformInfo(
        label="YouTube",
        admin_roles="channel permissions (Manager, Editor) and the Brand Account's managers",
        aliases=("yt",),
        hosts=("youtube.com",),
        title_words=("youtube",),
        handle_pattern=r"[a-z0-9_.\-]{3,30}",
        handle_rule="3 to 30 letters, digits, periods, underscores or hyphens",
        separators="_.-",
        search=True,
        probe_lookalikes=True,
    ),
    Platform.MASTODON: PlatformInfo(
        label="Mastodon",
        password_max_length=72,  # bcrypt reads the first 72 bytes only
        title_words=("mastodon",),
        handle_pattern=r"[a-z0-9_]{1,30}",
        handle_rule="a username of 1 to 30 letters, digits or underscores, then @ and the server",
        separators="_",
        federated=True,
        search=True,
    ),
    Platform.BLUESKY: PlatformInfo(
        label="Bluesky",
        display_prefix="",
        aliases=("bsky",),
        hosts=("bsky.app",),
        title_words=("bluesky", "bsky"),
        handle_pattern=r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?",  # each label of the domain
        handle_rule="a domain name such as name.bsky.social (letters, digits and hyphens between periods)",
        separators="-",
        handle_is_domain=True,
        default_domain="bsky.social",
        lookup=Lookup.BATCH,
        search=True,
        probe_lookalikes=True,  # getProfiles, 25 a call: a new squat is not in search yet
    ),
    Platform.TIKTOK: PlatformInfo(
        label="TikTok",
        password_max_length=20,  # "8-20 characters" with letters, numbers and special characters
        hosts=("tiktok.com",),
        title_words=("tiktok",),
        handle_pattern=r"(?!.*\.\Z)[a-z0-9_.]{2,24}",  # no trailing period
        handle_rule="2 to 24 letters, digits, underscores or periods, not ending in a period",
        separators="_.",
        lookup=Lookup.OWN,
    ),
    Platform.THREADS: PlatformInfo(
        label="Threads",
        hosts=("threads.com", "threads.net"),
        title_words=("threads",),
        handle_pattern=_DOTTED_HANDLE,
        handle_rule=_DOTTED_RULE,
        separators="_.",
        lookup=Lookup.OWN,
    ),
    Platform.LINKEDIN: PlatformInfo(
        label="LinkedIn",
        admin_roles="Page admins",
        display_prefix="",
        hosts=("linkedin.com",),
        title_words=("linkedin",),
    ),
    Platform.SNAPCHAT: PlatformInfo(
        label="Snapchat",
        hosts=("snapchat.com",),
        title_words=("snapchat",),
        lookup=Lookup.MANUAL,
    ),
    Platform.OTHER: PlatformInfo(label="Other", lookup=Lookup.MANUAL),
}


_HOST_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def _is_domain(text: str, label: str = _HOST_LABEL.pattern) -> bool:
    labels = text.split(".")
    return (
        len(labels) >= 2
        and len(text) <= 253
        and all(re.fullmatch(label, part) is not None for part in labels)
        and labels[-1][:1].isalpha()
    )


def follows_handle_rule(platform: Platform, handle: str) -> bool:
    """Whether `handle` (compared lower-case, without a leading `@`; on a domain-handle platform the
    whole domain) matches `PlatformInfo.handle_pattern`."""
    info = platform.info
    text = handle.strip().lstrip("@").casefold()
    if info.handle_is_domain:
        return _is_domain(text, info.handle_pattern)
    return re.fullmatch(info.handle_pattern, text) is not None


def handle_problem(platform: Platform, handle: str) -> str:
    """What is wrong with `handle` as an account name on `platform` ("" when nothing is).

    The rules are `PlatformInfo.handle_pattern` (platform-apis.md section 9), compared lower-case
    and without a leading `@`, where the syntax is confirmed; a Mastodon handle is `user@server`
    (or a bare user), a Bluesky handle a domain name. Said in words (`handle_rule`), for people typing a reported handle.
    """
    info = platform.info
    text = handle.strip().removeprefix("@").casefold()
    if info.handle_pattern == GENERIC_HANDLE:
        return ""  # syntax unconfirmed (LinkedIn, Snapchat, other): anything the platform may allow
    if info.federated and "@" in text:
        user, _, server = text.partition("@")
        if not _is_domain(server):
            return f"{server!r} is not a server name ({info.label} handles are {info.handle_rule})"
        text = user
    if follows_handle_rule(platform, text):
        return ""
    return (
        f"{handle.strip()!r} is not a valid {info.label} handle: {info.label} handles are {info.handle_rule}"
    )
