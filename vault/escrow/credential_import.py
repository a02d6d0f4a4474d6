"""Import shared credentials from Bitwarden and KeePass/KeePassXC exports, matched to accounts.

Parsing turns an export into `ImportEntry` values (title, URLs, a `CredentialBundle` with the TOTP
preserved as its otpauth URI). `match` pairs entries with registry accounts by profile URL
(normalised: scheme, `www.`/`m.`, trailing slash, case; x.com = twitter.com; youtube.com/@handle,
bsky.app/profile/handle, mastodon instance/@user, ...), then by the account's login e-mail, then by
a handle in the username or title, and returns an `ImportPlan` for a dry run. Imports are all or
nothing (issue 3): one malformed item or row raises InputError naming it, before anything is
stored. Errors and plan listings name entries by title and position only, never a secret. Each entry
keeps the date its password manager last changed it, where the format has one (Bitwarden
`revisionDate`, KeePassXC `Last Modified`), so a re-import can tell an older export (issue 13).

Formats: Bitwarden "Export vault" as .json (unencrypted; items[].login.{username,password,totp,
uris[].uri}, notes, fields[]); KeePassXC CSV ("Group","Title","Username","Password","URL","Notes",
"TOTP", ...); KeePass 2 "KeePass CSV (1.x)" ("Account","Login Name","Password","Web Site",
"Comments").
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from auditor.model.errors import InputError
from auditor.model.platforms import PLATFORMS
from auditor.model.types import Account, Platform, normalise_handle, parse_datetime
from vault.escrow.bundle import CredentialBundle, split_codes

# --------------------------------------------------------------------------------------------------
# Entries


@dataclass(frozen=True)
class ImportEntry:
    """One credential from an export, not yet matched. `location` is "item 3" or "line 7"."""

    title: str
    urls: tuple[str, ...]
    username: str
    bundle: CredentialBundle
    source: str  # "bitwarden", "keepassxc" or "keepass"
    location: str
    # When the password manager last changed the entry (Bitwarden `revisionDate`, KeePassXC
    # `Last Modified`); None when the format or the entry does not say. A re-import compares it
    # with the escrowed version's date (issue 13, `Escrow.check_import`).
    modified: datetime | None = None

    @property
    def label(self) -> str:
        return f"{self.title or '(untitled)'} ({self.location})"


@dataclass(frozen=True)
class ParseResult:
    entries: tuple[ImportEntry, ...]
    skipped: tuple[str, ...]  # labels of items with nothing to escrow (cards, identities, empty)


# Custom field names (Bitwarden fields[]) that map to bundle fields; others go into the notes.
_CODE_FIELDS = {"recovery codes", "recovery code", "backup codes", "backup code", "recovery_codes"}
_EMAIL_FIELDS = {"recovery email", "recovery e-mail", "recovery_email"}
_PHONE_FIELDS = {"recovery phone", "recovery phone number", "recovery_phone"}


def parse_bitwarden(text: str) -> ParseResult:
    """Parse an unencrypted Bitwarden JSON export. Only login items (type 1) are credentials."""
    # Raise outside the except block: JSONDecodeError.doc holds the whole export.
    data, bad = None, None
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        bad = (exc.msg, exc.lineno)
    if bad is not None:
        raise InputError(f"the Bitwarden export is not valid JSON: {bad[0]} at line {bad[1]}", line=bad[1])
    if not isinstance(data, dict):
        raise InputError("the Bitwarden export is not a JSON object")
    if data.get("encrypted") is True or "encKeyValidation_DO_NOT_EDIT" in data:
        raise InputError(
            "this is an encrypted Bitwarden export",
            "Export again as File format: .json (not 'Encrypted'), import it, then shred the file.",
        )
    items = data.get("items")
    if not isinstance(items, list):
        raise InputError("the Bitwarden export has no items list")
    entries: list[ImportEntry] = []
    skipped: list[str] = []
    for n, item in enumerate(items, start=1):
        where = f"item {n}"
        if not isinstance(item, dict):
            raise InputError(f"Bitwarden {where} is not an object")
        title = _text(item.get("name"))
        label = f"{title or '(untitled)'} ({where})"
        if item.get("type", 1) != 1:
            skipped.append(f"{label}: not a login item")
            continue
        login = item.get("login") or {}
        if not isinstance(login, dict):
            raise InputError(f"Bitwarden {label}: 'login' is not an object")
        uris = login.get("uris") or []
        if not isinstance(uris, list) or not all(isinstance(u, dict) for u in uris):
            raise InputError(f"Bitwarden {label}: 'login.uris' is not a list of objects")
        urls = tuple(_text(u.get("uri")) for u in uris if _text(u.get("uri")))
        codes: list[str] = []
        email = phone = ""
        extra_notes: list[str] = []
        fields = item.get("fields") or []
        if not isinstance(fields, list):
            raise InputError(f"Bitwarden {label}: 'fields' is not a list")
        for f in fields:
            if not isinstance(f, dict):
                raise InputError(f"Bitwarden {label}: a custom field is not an object")
            name, value = _text(f.get("name")), _text(f.get("value"))
            key = name.strip().casefold()
            if not value:
                continue
            if key in _CODE_FIELDS:
                codes += split_codes([value])
            elif key in _EMAIL_FIELDS:
                email = value
            elif key in _PHONE_FIELDS:
                phone = value
            else:
                extra_notes.append(f"{name}: {value}")
        notes = "\n".join(p for p in [_text(item.get("notes")), *extra_notes] if p)
        username = _text(login.get("username"))
        bundle = _bundle(
            label,
            login=username,
            password=_text(login.get("password")),
            totp=_text(login.get("totp")),
            codes=codes,
            email=email,
            phone=phone,
            notes=notes,
            issuer=title,
        )
        if not (bundle.password or bundle.totp or bundle.recovery_codes):
            skipped.append(f"{label}: no password, TOTP or recovery codes")
            continue
        modified = _when(item.get("revisionDate"))
        entries.append(ImportEntry(title, urls, username, bundle, "bitwarden", where, modified))
    return ParseResult(tuple(entries), tuple(skipped))


_KEEPASSXC = {
    "title": "title",
    "username": "username",
    "password": "password",
    "url": "url",
    "notes": "notes",
    "totp": "totp",
    "last modified": "modified",
}
_KEEPASS2 = {
    "account": "title",
    "login name": "username",
    "password": "password",
    "web site": "url",
    "comments": "notes",
}


def parse_keepass_csv(text: str) -> ParseResult:
    """Parse a KeePassXC or KeePass 2 CSV export (recognised by its header row)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error:
        raise InputError(f"the CSV export is malformed at line {start}", line=start) from None
    rows = [(n, r) for n, r in rows if any(c.strip() for c in r)]
    if not rows:
        raise InputError("the CSV export is empty")
    header_line, header = rows[0]
    names = [h.strip().casefold() for h in header]
    if {"title", "username", "password", "url"} <= set(names):
        mapping, source = _KEEPASSXC, "keepassxc"
    elif {"account", "login name", "password", "web site"} <= set(names):
        mapping, source = _KEEPASS2, "keepass"
    else:
        raise InputError(
            "the CSV header is not a KeePassXC or KeePass export header",
            'Expected "Group","Title","Username","Password","URL","Notes","TOTP" (KeePassXC) or '
            '"Account","Login Name","Password","Web Site","Comments" (KeePass 2).',
            line=header_line,
        )
    columns = {mapping[n]: i for i, n in enumerate(names) if n in mapping}
    entries: list[ImportEntry] = []
    skipped: list[str] = []
    for lineno, row in rows[1:]:
        where = f"line {lineno}"
        if len(row) != len(header):
            raise InputError(
                f"CSV {where} has {len(row)} fields but the header has {len(header)}", line=lineno
            )
        cell = {k: row[i] for k, i in columns.items()}
        title = cell.get("title", "").strip()
        label = f"{title or '(untitled)'} ({where})"
        username = cell.get("username", "").strip()
        bundle = _bundle(
            label,
            login=username,
            password=cell.get("password", ""),
            totp=_keepass_totp(cell.get("totp", "")),
            codes=[],
            email="",
            phone="",
            notes=cell.get("notes", ""),
            issuer=title,
            line=lineno,
        )
        if not (bundle.password or bundle.totp):
            skipped.append(f"{label}: no password or TOTP")
            continue
        url = cell.get("url", "").strip()
        modified = _when(cell.get("modified"))
        entries.append(ImportEntry(title, (url,) if url else (), username, bundle, source, where, modified))
    return ParseResult(tuple(entries), tuple(skipped))


def parse_export(text: str) -> ParseResult:
    """Detect the format (JSON: Bitwarden; otherwise KeePass CSV) and parse."""
    return parse_bitwarden(text) if text.lstrip("\ufeff \t\r\n").startswith("{") else parse_keepass_csv(text)


def load(path: str | Path) -> ParseResult:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text", "Export again as UTF-8 CSV or JSON.") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    return parse_export(text)


def _keepass_totp(value: str) -> str:
    """KeePassXC exports an otpauth URI; older KeeOtp-style settings "key=B32&step=30&size=6" too."""
    value = value.strip()
    if value.lower().startswith("key="):
        q = parse_qs(value)
        secret = (q.get("key") or [""])[0]
        period = (q.get("step") or ["30"])[0]
        digits = (q.get("size") or ["6"])[0]
        algorithm = (q.get("otpHashMode") or q.get("algorithm") or ["SHA1"])[0]
        return f"otpauth://totp/?secret={secret}&period={period}&digits={digits}&algorithm={algorithm}"
    return value


def _bundle(
    label: str,
    *,
    login: str,
    password: str,
    totp: str,
    codes: list[str],
    email: str,
    phone: str,
    notes: str,
    issuer: str,
    line: int | None = None,
) -> CredentialBundle:
    try:
        return CredentialBundle.create(
            login=login,
            password=password or None,
            totp=totp or None,
            recovery_codes=codes,
            recovery_email=email,
            recovery_phone=phone,
            notes=notes or None,
            totp_options={"issuer": issuer, "account": login},
        )
    except InputError as exc:
        raise InputError(f"{label}: {exc.message}", exc.hint, line=line, column=exc.column) from None


def _when(value: Any) -> datetime | None:
    """An export's ISO 8601 date ("2025-01-02T10:00:00Z", "2025-01-02T10:00:00.123Z", "2025-01-02
    10:00:00"), UTC when it names no zone; None when absent or unreadable (the entry is then judged
    by its values alone, never refused for its date)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = parse_datetime(value.strip())
    except ValueError:
        return None
    if when is None:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise InputError("the export has a non-text value where text was expected")


# --------------------------------------------------------------------------------------------------
# URL and handle normalisation


# Web hosts of profile pages (auditor/model/platforms.py), and the canonical one of each platform.
_HOSTS: dict[str, Platform] = {host: p for p, info in PLATFORMS.items() for host in info.hosts}
_CANONICAL_HOST = {host: info.hosts[0] for info in PLATFORMS.values() for host in info.hosts[1:]}
# Where a host is no platform's, a federated platform's profile page: https://instance/@user.
_FEDERATED = next(p for p, info in PLATFORMS.items() if info.federated)
# Host prefixes that name the same site (mobile, web, business front-ends).
_HOST_PREFIXES = ("www.", "m.", "mobile.", "web.", "business.", "accounts.")
# First path segments that are site pages, not profiles.
_RESERVED = {
    "",
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
}


@dataclass(frozen=True)
class ProfileKey:
    """What a URL says about an account: the platform and a handle or platform id (either may be "")."""

    platform: Platform
    handle: str = ""  # normalised (normalise_handle)
    platform_id: str = ""


def normalise_url(url: str) -> str:
    """scheme-less, lower-case host without www./m., no trailing slash, query or fragment."""
    text = url.strip()
    if not text:
        return ""
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    host = (parts.hostname or "").lower()
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
    host = _CANONICAL_HOST.get(host, host)
    return (host + parts.path.rstrip("/")).casefold()


def profile_key(url: str) -> ProfileKey | None:
    """Platform and handle from a profile URL; a platform alone for login pages; None if unknown."""
    text = url.strip()
    if not text:
        return None
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
    segments = [s for s in parts.path.split("/") if s]
    first = segments[0] if segments else ""
    platform = _HOSTS.get(host)
    if platform is None:
        # Mastodon and other fediverse servers: https://instance/@user (or /users/user).
        if first.startswith("@") and len(first) > 1:
            return ProfileKey(_FEDERATED, normalise_handle(f"{first}@{host}"))
        if first == "users" and len(segments) > 1:
            return ProfileKey(_FEDERATED, normalise_handle(f"{segments[1]}@{host}"))
        return None
    if platform is Platform.FACEBOOK and first == "profile.php":
        fid = (parse_qs(parts.query).get("id") or [""])[0]
        return ProfileKey(platform, platform_id=fid)
    if platform is Platform.FACEBOOK and first == "people" and len(segments) > 2:
        return ProfileKey(platform, platform_id=segments[2])
    if platform is Platform.YOUTUBE:
        if first in ("channel",) and len(segments) > 1:
            return ProfileKey(platform, platform_id=segments[1])
        if first in ("c", "user") and len(segments) > 1:
            return ProfileKey(platform, normalise_handle(segments[1]))
        if first.startswith("@"):
            return ProfileKey(platform, normalise_handle(first))
        return ProfileKey(platform)
    if platform is Platform.BLUESKY:
        if first == "profile" and len(segments) > 1:
            ident = segments[1]
            if ident.startswith("did:"):
                return ProfileKey(platform, platform_id=ident)
            return ProfileKey(platform, normalise_handle(ident))
        return ProfileKey(platform)
    if platform is Platform.LINKEDIN:
        if first in ("company", "school", "in", "showcase") and len(segments) > 1:
            return ProfileKey(platform, normalise_handle(segments[1]))
        return ProfileKey(platform)
    if platform is Platform.SNAPCHAT:
        if first == "add" and len(segments) > 1:
            return ProfileKey(platform, normalise_handle(segments[1]))
        return ProfileKey(platform)
    if platform is Platform.INSTAGRAM and first == "stories" and len(segments) > 1:
        return ProfileKey(platform, normalise_handle(segments[1]))
    if first.casefold() in _RESERVED or first.endswith(".php"):
        return ProfileKey(platform)
    return ProfileKey(platform, normalise_handle(first))


# Words naming a platform in an entry title: any case, or (X) only as written.
_PLATFORM_WORDS = {word: p for p, info in PLATFORMS.items() for word in info.title_words}
_PLATFORM_MARKS = {mark: p for p, info in PLATFORMS.items() for mark in info.title_marks}
_TOKEN_RE = re.compile(r"@?[A-Za-z0-9_.\-]+(?:@[A-Za-z0-9_.\-]+)?")


def _title_platform(text: str) -> Platform | None:
    found = {p for w, p in _PLATFORM_WORDS.items() if re.search(rf"\b{w}\b", text, re.IGNORECASE)}
    for mark, platform in _PLATFORM_MARKS.items():  # "X" as a word, upper case only
        if re.search(rf"(^|[\s(\[-]){re.escape(mark)}(\s|$|[)\]-])", text):
            found.add(platform)
    return found.pop() if len(found) == 1 else None


def _account_keys(account: Account) -> set[tuple[str, str]]:
    keys = {(account.platform.value, "h:" + normalise_handle(account.handle))}
    if account.platform_id:
        keys.add((account.platform.value, "id:" + account.platform_id))
    if account.profile_url:
        pk = profile_key(account.profile_url)
        if pk is not None and pk.handle:
            keys.add((pk.platform.value, "h:" + pk.handle))
        if pk is not None and pk.platform_id:
            keys.add((pk.platform.value, "id:" + pk.platform_id))
    if account.platform.info.federated and "@" not in normalise_handle(account.handle):
        host = normalise_url(account.profile_url).split("/", 1)[0]
        if host:
            keys.add((account.platform.value, "h:" + normalise_handle(account.handle) + "@" + host))
    return keys


# --------------------------------------------------------------------------------------------------
# Matching


@dataclass(frozen=True)
class Match:
    account_id: str
    entry: ImportEntry
    by: str  # "url", "login" or "handle"


@dataclass(frozen=True)
class Ambiguous:
    entry: ImportEntry
    account_ids: tuple[str, ...]
    why: str

    @property
    def label(self) -> str:
        return f"{self.entry.label}: {self.why}"


@dataclass(frozen=True)
class ImportPlan:
    """What an import would do. Listings name entries by title and position only."""

    matched: tuple[Match, ...]
    unmatched: tuple[str, ...]
    ambiguous: tuple[Ambiguous, ...]
    skipped: tuple[str, ...] = ()

    @property
    def is_clean(self) -> bool:
        """Every entry has exactly one account and no account has two entries."""
        return not self.unmatched and not self.ambiguous

    def summary_lines(self, account_labels: Mapping[str, str] | None = None) -> list[str]:
        names = account_labels or {}
        lines = [
            f"{len(self.matched)} matched, {len(self.ambiguous)} ambiguous, "
            f"{len(self.unmatched)} unmatched, {len(self.skipped)} skipped"
        ]
        for m in self.matched:
            totp = ", TOTP" if m.entry.bundle.totp else ""
            lines.append(
                f"  match: {m.entry.label} -> {names.get(m.account_id, m.account_id)} (by {m.by}{totp})"
            )
        lines += [f"  ambiguous: {a.label}" for a in self.ambiguous]
        lines += [f"  unmatched: {u}" for u in self.unmatched]
        lines += [f"  skipped: {s}" for s in self.skipped]
        return lines


def match(candidates: Sequence[ImportEntry] | ParseResult, accounts: Sequence[Account]) -> ImportPlan:
    """Pair each entry with one account, or list it as unmatched or ambiguous (see module docstring)."""
    skipped: tuple[str, ...] = ()
    if isinstance(candidates, ParseResult):
        skipped = candidates.skipped
        candidates = candidates.entries
    index: dict[tuple[str, str], set[str]] = {}
    for account in accounts:
        for key in _account_keys(account):
            index.setdefault(key, set()).add(account.id)
    by_login: dict[str, set[str]] = {}
    for account in accounts:
        if account.login_email:
            by_login.setdefault(account.login_email.strip().casefold(), set()).add(account.id)
    platform_of = {a.id: a.platform for a in accounts}

    results: list[tuple[ImportEntry, set[str], str, str]] = []  # entry, ids, by, why-if-none
    for entry in candidates:
        ids, by, why = _match_one(entry, index, by_login, platform_of)
        results.append((entry, ids, by, why))

    # An account claimed by two entries: neither wins (nothing is half-imported).
    claims: dict[str, list[ImportEntry]] = {}
    for entry, ids, _, _ in results:
        if len(ids) == 1:
            claims.setdefault(next(iter(ids)), []).append(entry)
    matched: list[Match] = []
    ambiguous: list[Ambiguous] = []
    unmatched: list[str] = []
    for entry, ids, by, why in results:
        if not ids:
            unmatched.append(f"{entry.label}: {why}")
        elif len(ids) > 1:
            ambiguous.append(Ambiguous(entry, tuple(sorted(ids)), f"matches {len(ids)} accounts by {by}"))
        else:
            account_id = next(iter(ids))
            rivals = claims[account_id]
            if len(rivals) > 1:
                others = ", ".join(e.label for e in rivals if e is not entry)
                ambiguous.append(Ambiguous(entry, (account_id,), f"{account_id} is also matched by {others}"))
            else:
                matched.append(Match(account_id, entry, by))
    return ImportPlan(tuple(matched), tuple(unmatched), tuple(ambiguous), skipped)


def _match_one(
    entry: ImportEntry,
    index: Mapping[tuple[str, str], set[str]],
    by_login: Mapping[str, set[str]],
    platform_of: Mapping[str, Platform],
) -> tuple[set[str], str, str]:
    platforms: set[Platform] = set()
    profile_given = False
    ids: set[str] = set()
    for url in entry.urls:
        pk = profile_key(url)
        if pk is None:
            continue
        platforms.add(pk.platform)
        if pk.handle:
            profile_given = True
            ids |= index.get((pk.platform.value, "h:" + pk.handle), set())
        if pk.platform_id:
            profile_given = True
            ids |= index.get((pk.platform.value, "id:" + pk.platform_id), set())
    if ids:
        return ids, "url", ""
    if profile_given:
        # The URL names a profile we do not hold: guessing from the title could pick a wrong account.
        return set(), "", "its profile URL matches no account in the registry"
    if not platforms:
        hinted = _title_platform(entry.title)
        if hinted is not None:
            platforms.add(hinted)

    def allowed(found: set[str]) -> set[str]:
        return {i for i in found if not platforms or platform_of[i] in platforms}

    login = entry.username.strip().casefold()
    if login:
        ids = allowed(set(by_login.get(login, set())))
        if ids:
            return ids, "login", ""
        handle = normalise_handle(entry.username)
        ids = allowed({i for (_, k), found in index.items() if k == "h:" + handle for i in found})
        if ids:
            return ids, "handle", ""
    # "@handle" in the title is an explicit claim; bare words only when no @handle matched.
    tokens = _TOKEN_RE.findall(entry.title)
    for group in ([t for t in tokens if t.startswith("@")], [t for t in tokens if not t.startswith("@")]):
        for token in group:
            handle = normalise_handle(token.strip(".-"))
            if len(handle) < 3:
                continue
            ids |= allowed({i for (_, k), found in index.items() if k == "h:" + handle for i in found})
        if ids:
            return ids, "handle", ""
    return set(), "", "no account matches its URL, username or title"
