"""The watchlist: staff-reported handles that every audit looks at, night after night.

`auditor audit --candidates FILE` looks at a handle once; a watched handle (`auditor watch add`,
`watch import`) is looked up by every audit run as if it were given with `--candidates` (see
auditor/services/audit.py, `_discover`). A finding on it resolves only when a run looked and the
platform said the account is gone; a run that could not ask (platform unreachable, no token)
keeps it open. A watched handle that does not exist is an info finding ("watched handle does not
exist (yet)"), not an impostor; when it appears and imitates the district it is flagged as usual.

Entries are records of kind "watch" (vault/stores/watchlist.py): platform, handle, note, who added
it and when. Only administrators change the watchlist; anyone who can audit can read it. Every
change is a `watch-add` or `watch-remove` event in the hash-chained reveal log, written in the
same transaction as the change (who, when, which handles), so `auditor log show` tells who
stopped watching a handle.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.model.errors import InputError, NotFoundError, UsageError
from auditor.model.platforms import handle_problem
from auditor.model.types import Platform, check_handle, display_handle, normalise_handle
from auditor.model.urls import parse_profile_url
from auditor.services.imports import BadLinesError
from vault.revealog import RevealLog
from vault.stores.watchlist import WatchStore

if TYPE_CHECKING:
    from vault.registry import Registry

REF_HINT = "Give PLATFORM:HANDLE (e.g. x:TheReal203Superintendent) or the profile's https:// URL."


@dataclass(frozen=True)
class Watched:
    platform: Platform
    handle: str
    note: str = ""
    added_by: str = ""
    added_at: datetime | None = None

    @property
    def ref(self) -> str:
        return f"{self.platform.value}:{normalise_handle(self.handle)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform.value,
            "handle": self.handle,
            "display": display_handle(self.platform, self.handle),
            "note": self.note,
            "added_by": self.added_by,
            "added_at": self.added_at.isoformat(timespec="seconds") if self.added_at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Watched:
        added = data.get("added_at")
        return cls(
            platform=Platform.parse(str(data["platform"])),
            handle=str(data["handle"]),
            note=str(data.get("note") or ""),
            added_by=str(data.get("added_by") or ""),
            added_at=datetime.fromisoformat(added) if isinstance(added, str) and added else None,
        )


def _from_url(text: str) -> tuple[Platform, str]:
    """A profile URL as (platform, handle), read by the one URL parser (auditor/model/urls.py)."""
    key = parse_profile_url(text)
    if key is None:
        raise ValueError(f"{text!r}: this address is not a platform the auditor knows")
    if not key.written:
        if key.platform_id:
            raise ValueError(f"{text!r} names the account only by its id {key.platform_id}; give its handle")
        raise ValueError(f"{text!r} names no account")
    return key.platform, key.written


def parse_ref(text: str, *, strict: bool = True) -> tuple[Platform, str]:
    """`PLATFORM:HANDLE` or a profile URL as (platform, handle); ValueError saying what is wrong.

    `strict`: the handle must obey the platform's handle rules (`handle_problem`); `watch remove`
    is not strict, so an entry saved before a rule was known can still be removed."""
    text = text.strip()
    if text.casefold().startswith(("http://", "https://")):
        platform, handle = _from_url(text)
    else:
        platform_text, sep, handle = text.partition(":")
        try:
            platform = Platform.parse(platform_text.strip())
        except ValueError:
            raise ValueError(f"{text!r}: {platform_text.strip()!r} is not a platform") from None
        if not sep or not handle.strip().lstrip("@"):
            raise ValueError(f"{text!r}: expected PLATFORM:HANDLE")
    handle = check_handle(handle).lstrip("@")
    info = platform.info
    if info.handle_is_domain and "." not in handle and info.default_domain:
        handle = f"{handle}.{info.default_domain}"  # Bluesky shows @name.bsky.social for "name"
    problem = handle_problem(platform, handle) if strict else ""
    if problem:
        raise ValueError(problem)
    return platform, handle


def parse_file(text: str, origin: str) -> list[tuple[Platform, str, str]]:
    """A staff-reported file as (platform, handle, note): a CSV with platform,handle[,note] columns,
    or one PLATFORM:HANDLE or profile URL per line (`#` comments). Every bad line is named."""
    lines = text.lstrip("\ufeff").splitlines()
    first = next((line for line in lines if line.strip() and not line.lstrip().startswith("#")), "")
    header = [c.strip().casefold() for c in next(csv.reader([first]), [])]
    rows: list[tuple[int, str, str]] = []  # (line number, ref, note)
    problems: list[InputError] = []
    if {"platform", "handle"} <= set(header):
        reader = csv.DictReader(io.StringIO("\n".join(lines)))
        reader.fieldnames = [f.strip().casefold() for f in reader.fieldnames or []]
        for row in reader:
            n = reader.line_num
            platform, handle = (row.get("platform") or "").strip(), (row.get("handle") or "").strip()
            if not platform and not handle:
                continue
            rows.append((n, f"{platform}:{handle}", (row.get("note") or "").strip()))
    else:
        for n, raw in enumerate(lines, start=1):
            line = raw.strip()
            if line and not line.startswith("#"):
                rows.append((n, line.split(" #", 1)[0].strip(), ""))
    out: list[tuple[Platform, str, str]] = []
    for n, ref, note in rows:
        try:
            platform, handle = parse_ref(ref)
        except ValueError as exc:
            problems.append(InputError(f"{origin} line {n}: {exc}", REF_HINT, line=n))
            continue
        out.append((platform, handle, note))
    if problems:
        raise BadLinesError(problems)
    if not out:
        raise InputError(f"{origin} names no handle", REF_HINT)
    return out


def list_watched(registry: Registry) -> list[Watched]:
    entries = [Watched.from_dict(d) for d in WatchStore(registry).entries()]
    return sorted(entries, key=lambda w: w.ref)


def watched_handles(registry: Registry) -> tuple[tuple[Platform, str], ...]:
    """What every audit looks up: (platform, handle) of each watched entry."""
    return tuple((w.platform, w.handle) for w in list_watched(registry))


def _store(registry: Registry, entries: Sequence[tuple[Platform, str, str]], action: str) -> list[Watched]:
    identity = registry.require_admin(action)
    now = datetime.now(UTC)
    store = WatchStore(registry)
    out: list[Watched] = []
    for platform, handle, note in entries:
        old = store.get(platform.value, handle)
        kept = Watched.from_dict(old) if old is not None else None
        out.append(
            Watched(
                platform,
                handle,
                note or (kept.note if kept else ""),
                kept.added_by if kept else identity.name,
                kept.added_at if kept else now,
            )
        )
    with registry.transaction():  # the change and its log event, or neither
        store.put_many(w.to_dict() for w in out)
        RevealLog(registry).append("watch-add", details=_log_details(out))
    return out


def _log_details(entries: Sequence[Watched]) -> dict[str, Any]:
    """What the reveal log says about a watchlist change: how many, and the first few handles."""
    return {"count": len(entries), "handles": [w.ref for w in entries[:20]]}


def add(registry: Registry, ref: str, note: str = "") -> Watched:
    """Watch a handle (again: its note is replaced when a new one is given)."""
    try:
        platform, handle = parse_ref(ref)
    except ValueError as exc:
        raise UsageError(str(exc), REF_HINT) from None
    return _store(registry, [(platform, handle, note.strip())], "Changing the watchlist")[0]


def import_file(registry: Registry, path: Path) -> list[Watched]:
    """Watch every handle of a staff-reported file, or none of them when a line is bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {type(exc).__name__}") from None
    registry.require_admin("Changing the watchlist")
    return _store(registry, parse_file(text, path.name), "Changing the watchlist")


def remove(registry: Registry, ref: str) -> Watched:
    try:
        platform, handle = parse_ref(ref, strict=False)
    except ValueError as exc:
        raise UsageError(str(exc), REF_HINT) from None
    registry.require_admin("Changing the watchlist")
    store = WatchStore(registry)
    with registry.transaction():
        old = store.get(platform.value, handle)
        if old is None or not store.remove(platform.value, handle):
            raise NotFoundError(
                f"{platform.value}:{handle} is not on the watchlist", "`auditor watch list` shows it."
            )
        gone = Watched.from_dict(old)
        RevealLog(registry).append("watch-remove", details=_log_details([gone]))
    return gone
