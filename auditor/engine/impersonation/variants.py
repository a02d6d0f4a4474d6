"""Lookalike candidates to probe where a platform only has exact lookup, and queries where it searches.

X (`/2/users/by?usernames=`, 100 a call), Instagram Business Discovery and YouTube `forHandle`
answer only for an exact handle, so the auditor must guess the squats and probe them in batches
(lookalikes.md, "Discovery"). `variants` generates them in priority order (affix squats, digit and
letter swaps, separator insertion, doubling, omission, transposition, then combinations), keeps only
handles valid under the platform's rules (its row in auditor/model/platforms.py, after
platform-apis.md section 9), deduplicates them by the platform's own identity (Facebook ignores
periods and case), and stops at `limit`. Bluesky and
Mastodon have search: `search_queries` gives the tokens to search for and score every result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from auditor.engine.impersonation.normalise import canonical_handle, split_handle
from auditor.model.types import Platform

DEFAULT_LIMIT = 500
PREFIXES = ("the", "real", "thereal", "official", "its", "iam", "im", "the_real", "not", "og")
SUFFIXES = ("official", "hq", "real", "news", "updates", "info", "tv", "team", "admin", "page", "og", "fans")
SWAPS: dict[str, tuple[str, ...]] = {
    "o": ("0",), "0": ("o",), "l": ("1", "i"), "i": ("l", "1"), "1": ("l", "i"), "e": ("3",),
    "3": ("e",), "a": ("4",), "4": ("a",), "s": ("5",), "5": ("s",), "t": ("7",), "b": ("8",),
    "g": ("9",), "m": ("rn",), "w": ("vv",), "d": ("cl",), "rn": ("m",), "cl": ("d",), "vv": ("w",),
}  # fmt: skip


def is_valid(handle: str, platform: Platform) -> bool:
    """Whether `handle` (compared lower-case; Bluesky: the whole domain) obeys the platform's rules
    (`PlatformInfo.handle_pattern`, auditor/model/platforms.py)."""
    h = handle.strip().lstrip("@").casefold()
    info = platform.info
    if info.handle_is_domain:
        labels = h.split(".")
        return (
            len(labels) >= 2
            and len(h) <= 253
            and all(re.fullmatch(info.handle_pattern, label) is not None for label in labels)
            and labels[-1][:1].isalpha()
        )
    return re.fullmatch(info.handle_pattern, h) is not None


def _boundaries(name: str) -> list[int]:
    """Positions between a letter and a digit: where a separator looks most natural."""
    return [i for i in range(1, len(name)) if name[i - 1].isalpha() != name[i].isalpha()]


def _swaps(name: str) -> Iterator[str]:
    for i in range(len(name)):
        for width in (2, 1):
            part = name[i : i + width]
            if len(part) == width:
                for rep in SWAPS.get(part, ()):
                    yield name[:i] + rep + name[i + width :]


def _generate(name: str, seps: str) -> Iterator[str]:
    joiners = ("", *seps)
    # 1. affix squats: the/real/official... before, official/hq/news... after
    for affix in PREFIXES:
        for j in joiners:
            yield affix.replace("_", j) + j + name
    for affix in SUFFIXES:
        for j in joiners:
            yield name + j + affix
    # 2. digit and letter swaps (0/o, 1/l/i, rn/m ...), then one affix with each swap
    swapped = list(dict.fromkeys(_swaps(name)))
    yield from swapped
    # 3. separators, natural boundaries first
    for sep in seps:
        for i in _boundaries(name):
            yield name[:i] + sep + name[i:]
    for sep in seps:
        for i in range(1, len(name)):
            yield name[:i] + sep + name[i:]
    # 4. doubling, 5. omission, 6. transposition: of letters only, since changing a digit makes a
    # different number, which the detector caps as a probably real neighbouring district
    letters = [i for i, ch in enumerate(name) if not ch.isdigit()]
    for i in letters:
        yield name[:i] + name[i] + name[i:]
    for i in letters:
        yield name[:i] + name[i + 1 :]
    for i in letters:
        if i + 1 < len(name) and not name[i + 1].isdigit():
            yield name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    # 7. every look-alike of one kind swapped at once, then swaps combined with affixes
    for src, reps in SWAPS.items():
        if src in name:
            for rep in reps:
                yield name.replace(src, rep)
    for variant in swapped:
        for affix in ("the", "real", "official"):
            yield affix + variant
            yield variant + "official"
    # 8. leading/trailing separator, then second-order edits (two swaps, swap plus separator...)
    for sep in seps:
        yield sep + name
        yield name + sep
    firsts = [*swapped, *(name[:i] + name[i] + name[i:] for i in letters)]
    for first in firsts:
        yield from _swaps(first)
        for sep in seps:
            for i in _boundaries(first):
                yield first[:i] + sep + first[i:]


def variants(handle: str, platform: Platform, limit: int = DEFAULT_LIMIT) -> list[str]:
    """Up to `limit` platform-valid lookalikes of `handle`, most likely squats first.

    Returned lower-case (lookup is case-insensitive everywhere); Bluesky results are full handles
    (`name.bsky.social`); Mastodon results are local usernames (pair them with instances).
    """
    info = platform.info
    name, instance = split_handle(handle, platform)
    name = name.casefold()
    for ch in info.ignored_in_handle:
        name = name.replace(ch, "")
    seps = info.separators
    own = canonical_handle(handle, platform)
    seen: set[str] = {own, canonical_handle(name, platform)}
    out: list[str] = []
    bases = [name]
    # On a domain-handle platform the squat of a custom domain is under the platform's own domain.
    home = info.default_domain if info.handle_is_domain else ""
    if home and instance and instance != home:
        bases.append(name.replace(".", "-") + "-" + instance)  # district.org -> district-org.bsky.social
        out_first = f"{bases[-1]}.{home}"
        if is_valid(out_first, platform):
            seen.add(out_first)
            out.append(out_first)
    for base in bases:
        for raw in _generate(base, seps):
            cand = raw.casefold()
            if home:
                cand = f"{cand}.{home}"
            canon = canonical_handle(cand, platform)
            if canon in seen or not is_valid(cand, platform):
                continue
            seen.add(canon)
            out.append(canon if info.ignored_in_handle else cand)
            if len(out) >= limit:
                return out
    return out


def search_queries(names: Iterable[str], roles: Iterable[str] = (), handles: Iterable[str] = ()) -> list[str]:
    """Search terms for platforms with search (Bluesky searchActors, Mastodon v2 search).

    District names and aliases as written, each handle, `d{n}` / `district {n}` for the district's
    numbers, and each role with the shortest alias ("D203 superintendent").
    """
    names = [n.strip() for n in names if n.strip()]
    out: list[str] = list(names)
    out += [h.strip().lstrip("@").split("@")[0] for h in handles if h.strip()]
    numbers = list(dict.fromkeys(n for name in names for n in re.findall(r"\d+", name)))
    for n in numbers:
        out += [f"d{n}", f"district {n}"]
    shortest = min(names, key=len) if names else ""
    for role in roles:
        role = role.strip()
        if role:
            out.append(f"{shortest} {role}".strip())
    seen: set[str] = set()
    unique: list[str] = []
    for q in out:
        if q.casefold() not in seen:
            seen.add(q.casefold())
            unique.append(q)
    return unique
