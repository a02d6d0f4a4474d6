"""Import shared credentials from password managers' exports, matched to accounts.

Reading a file is vault/escrow/formats/ (one module per program; `formats.read` tells which from
the content): it yields `ImportEntry` values (title, URLs, a `CredentialBundle` with the TOTP
preserved as its otpauth URI), the entries skipped with their reason (not a login, passkey only,
in the Recycle Bin) and the entries that cannot be read (a problem each, never a silent drop).
`match` pairs entries with registry accounts by profile URL (auditor/model/urls.py: every form
a real export holds), then by the account's login e-mail, then by a handle in the username or
title, and returns an `ImportPlan`. Errors and plan listings name entries by title and position
only, never a secret. Each entry keeps the date its password manager last changed it, where the
format has one, so a re-import can tell an older export (issue 13), and the dated older passwords
of its history (`ImportEntry.older`), which an import stores as older versions of an account that
has nothing escrowed yet (`Escrow.store_import`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor.model.errors import InputError
from auditor.model.platforms import PLATFORMS
from auditor.model.types import Account, Platform, normalise_handle
from auditor.model.urls import ProfileKey, normalise_url
from auditor.model.urls import parse_profile_url as profile_key
from vault.escrow.formats import ImportEntry, ParseResult, Problem, read, read_text
from vault.escrow.formats import bitwarden as _bitwarden
from vault.escrow.formats import keepass as _keepass

__all__ = [
    "Ambiguous",
    "ImportEntry",
    "ImportPlan",
    "Match",
    "ParseResult",
    "Problem",
    "ProfileKey",
    "load",
    "match",
    "normalise_url",
    "parse_bitwarden",
    "parse_export",
    "parse_keepass_csv",
    "profile_key",
    "read",
]


def parse_bitwarden(text: str) -> ParseResult:
    """An unencrypted Bitwarden JSON export, all or nothing (the first unreadable entry raises)."""
    return _bitwarden.parse_json(text).strict()


def parse_keepass_csv(text: str) -> ParseResult:
    """A KeePassXC or KeePass 2 CSV export (told by its header), all or nothing."""
    first = text.lstrip("\ufeff\r\n").split("\n", 1)[0].casefold()
    if "account" in first and "login name" in first:
        return _keepass.parse_keepass2_csv(text).strict()
    result = read_text(text)
    if result.format not in ("KeePassXC CSV", "KeePass 2 CSV"):
        raise InputError("the CSV header is not a KeePassXC or KeePass export header", line=1)
    return result.strict()


def parse_export(text: str) -> ParseResult:
    """Any text export (`formats.read_text`), all or nothing."""
    return read_text(text).strict()


def load(path: str | Path) -> ParseResult:
    """Read an export file (any format `formats.read` knows), all or nothing."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    return read(data).strict()


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
    problems: tuple[Problem, ...] = ()  # entries that cannot be read (a TOTP in an unknown form...)
    format: str = ""  # the export's format, as `formats.FORMATS` names it

    @property
    def is_clean(self) -> bool:
        """Every entry was read, has exactly one account, and no account has two entries."""
        return not self.unmatched and not self.ambiguous and not self.problems

    @property
    def left_out(self) -> tuple[str, ...]:
        """Every entry not matched, with the reason ("label: reason"), for `--matched-only`."""
        return (
            tuple(f"{u} (no social account)" for u in self.unmatched)
            + tuple(f"{a.label} (ambiguous)" for a in self.ambiguous)
            + tuple(f"{p.message} (unreadable)" for p in self.problems)
            + self.skipped
        )

    def summary_lines(self, account_labels: Mapping[str, str] | None = None) -> list[str]:
        names = account_labels or {}
        lines = [f"Format: {self.format}"] if self.format else []
        lines.append(
            f"{len(self.matched)} matched, {len(self.ambiguous)} ambiguous, "
            f"{len(self.unmatched)} unmatched, {len(self.skipped)} skipped"
            + (f", {len(self.problems)} unreadable" if self.problems else "")
        )
        for m in self.matched:
            totp = ", TOTP" if m.entry.bundle.totp else ""
            lines.append(
                f"  match: {m.entry.label} -> {names.get(m.account_id, m.account_id)} (by {m.by}{totp})"
            )
            if m.entry.passkeys:
                lines.append(f"    passkey: {m.entry.label} also holds a passkey, which is not escrowed")
            if m.entry.history:
                kept = len(m.entry.older)
                lines.append(
                    f"    history: {m.entry.label} has {m.entry.history} older password(s) in its history"
                    + (
                        f", {kept} distinct and dated: kept as older versions only where nothing is "
                        "escrowed yet"
                        if kept
                        else ", none dated and different from the current one: not imported"
                    )
                )
        lines += [f"  ambiguous: {a.label}" for a in self.ambiguous]
        lines += [f"  unmatched: {u}" for u in self.unmatched]
        lines += [f"  unreadable: {p.message}" for p in self.problems]
        lines += [f"  skipped: {s}" for s in self.skipped]
        return lines


def match(candidates: Sequence[ImportEntry] | ParseResult, accounts: Sequence[Account]) -> ImportPlan:
    """Pair each entry with one account, or list it as unmatched or ambiguous (see module docstring)."""
    skipped: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    fmt = ""
    if isinstance(candidates, ParseResult):
        skipped, problems, fmt = candidates.skipped, candidates.problems, candidates.format
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
    return ImportPlan(tuple(matched), tuple(unmatched), tuple(ambiguous), skipped, problems, fmt)


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
