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
from collections.abc import Container, Iterable, Iterator, Sequence

from auditor.engine.impersonation.normalise import canonical_handle, split_handle
from auditor.model.platforms import follows_handle_rule
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
    (`PlatformInfo.handle_pattern`, auditor/model/platforms.py `follows_handle_rule`)."""
    return follows_handle_rule(platform, handle)


_WORD_RE = re.compile(r"[^\W\d_]+|\d+")
_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

# The affixes squatters use most (seen in lookalikes.md's examples and the platforms' takedown
# reports), tried first with every joiner and with the name split into its words; the rest follow
# the single-character swaps, so a budget that cuts each base short still probes the likeliest.
TOP_AFFIXES: tuple[tuple[str, bool], ...] = (  # (affix, is a prefix)
    ("official", False), ("the", True), ("hq", False), ("real", True), ("thereal", True),
    ("news", False), ("official", True),
)  # fmt: skip


def words_of(handle: str) -> list[str]:
    """The words a handle is made of, lower-case: split at separators, camelCase and the edges of
    numbers (`NapervilleNorthHS` -> naperville, north, hs; `naperville203` -> naperville, 203)."""
    out: list[str] = []
    for chunk in re.split(r"[\W_]+", handle):
        for part in _CAMEL_RE.split(chunk):
            out += [w.casefold() for w in _WORD_RE.findall(part)]
    return [w for w in out if w]


def _boundaries(name: str, words: list[str] | None = None) -> list[int]:
    """Positions between two words (a letter and a digit, camelCase): where a separator looks most
    natural."""
    cuts = [i for i in range(1, len(name)) if name[i - 1].isalpha() != name[i].isalpha()]
    if words and "".join(words) == name:
        at = 0
        for w in words[:-1]:
            at += len(w)
            cuts.append(at)
    return sorted(set(cuts))


def _swaps(name: str) -> Iterator[str]:
    for i in range(len(name)):
        for width in (2, 1):
            part = name[i : i + width]
            if len(part) == width:
                for rep in SWAPS.get(part, ()):
                    yield name[:i] + rep + name[i + width :]


def _affixed(name: str, words: list[str], affix: str, prefix: bool, seps: str) -> Iterator[str]:
    """`affix` on `name` joined by nothing and by each separator, then on the name split into its
    words with the same separator (`the_naperville_203`, `naperville.203.official`, `Name_117_HQ`)."""
    for j in ("", *seps):
        a = affix.replace("_", j)
        yield a + j + name if prefix else name + j + a
    if len(words) > 1:
        for sep in seps:
            split = sep.join(words)
            a = affix.replace("_", sep)
            yield a + sep + split if prefix else split + sep + a


def _generate(name: str, seps: str, words: list[str] | None = None) -> Iterator[str]:
    compact = re.sub(r"[\W_]+", "", name)
    parts = words if words and "".join(words) == compact else words_of(name)
    if "".join(parts) != compact:
        parts = [name]
    # 1. the name split into its words, or run together (naperville_203, nnhs.athletics,
    #    nnhsathletics), then the commonest affixes with every joiner and with the split name
    #    (thenaperville203, naperville203_hq, naperville_203_hq)
    if len(parts) > 1:
        for sep in seps:
            yield sep.join(parts)
        if compact != name:
            yield compact
    for affix, prefix in TOP_AFFIXES:
        yield from _affixed(name, parts, affix, prefix, seps)
    # 2. digit and letter swaps (0/o, 1/l/i, rn/m ...)
    swapped = list(dict.fromkeys(_swaps(name)))
    yield from swapped
    # 3. the other affixes, the same ways
    for affix in PREFIXES:
        yield from _affixed(name, parts, affix, True, seps)
    for affix in SUFFIXES:
        yield from _affixed(name, parts, affix, False, seps)
    # 4. one separator, natural boundaries first, then anywhere
    for sep in seps:
        for i in _boundaries(name, parts):
            yield name[:i] + sep + name[i:]
    for sep in seps:
        for i in range(1, len(name)):
            yield name[:i] + sep + name[i:]
    # 5. doubling, 6. omission, 7. transposition: of letters only, since changing a digit makes a
    # different number, which the detector caps as a probably real neighbouring district
    letters = [i for i, ch in enumerate(name) if not ch.isdigit()]
    for i in letters:
        yield name[:i] + name[i] + name[i:]
    for i in letters:
        yield name[:i] + name[i + 1 :]
    for i in letters:
        if i + 1 < len(name) and not name[i + 1].isdigit():
            yield name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    # 8. every look-alike of one kind swapped at once, then swaps combined with affixes
    for src, reps in SWAPS.items():
        if src in name:
            for rep in reps:
                yield name.replace(src, rep)
    for variant in swapped:
        for affix in ("the", "real", "official"):
            yield affix + variant
            yield variant + "official"
    # 9. leading/trailing separator, then second-order edits (two swaps, swap plus separator...)
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
    for ch in info.ignored_in_handle:
        name = name.replace(ch, "")
    parts = words_of(name)  # before folding the case: camelCase marks the words
    name = name.casefold()
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
        for raw in _generate(base, seps, parts if base == name else None):
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


def search_queries(
    names: Iterable[str],
    roles: Iterable[str] = (),
    handles: Iterable[str] = (),
    *,
    display_names: Iterable[str] = (),
    buildings: Iterable[Iterable[str]] = (),
    officials: Iterable[tuple[str, str]] = (),
) -> list[str]:
    """Search terms for platforms with search (Bluesky searchActors, Mastodon v2 search, YouTube
    search), the most valuable first: a search budget keeps the head of the list.

    In order: the district's names and aliases as written; the display names of its own accounts;
    each official with the role ("Elena Delgado superintendent", then "Dr. Delgado superintendent":
    never a personal name alone, namesakes exist); each role with the shortest alias ("D203
    superintendent"); each building's names, aliases and acronyms (`buildings`: the names of one
    building each); the handles; `d{n}` / `district {n}` for the district's numbers. Deduplicated
    case-insensitively, keeping the first spelling.
    """
    names = [n.strip() for n in names if n.strip()]
    out: list[str] = list(names)
    out += [d.strip() for d in display_names]
    shortest = min(names, key=len) if names else ""
    for person, role in officials:
        person, role = person.strip(), role.strip()
        if not person:
            continue
        out.append(f"{person} {role}".strip())
        surname = person.split()[-1]
        if len(person.split()) > 1 and role:
            out.append(f"Dr. {surname} {role}")
    for role in roles:
        role = role.strip()
        if role:
            out.append(f"{shortest} {role}".strip())
    for building in buildings:
        out += [b.strip() for b in building]
    out += [h.strip().lstrip("@").split("@")[0] for h in handles if h.strip()]
    numbers = list(dict.fromkeys(n for name in names for n in re.findall(r"\d+", name)))
    for n in numbers:
        out += [f"d{n}", f"district {n}"]
    seen: set[str] = set()
    unique: list[str] = []
    for q in out:
        if q and q.casefold() not in seen:
            seen.add(q.casefold())
            unique.append(q)
    return unique


def plan_probes(
    per_base: Sequence[Sequence[str]],
    budget: int,
    skip: Container[str] = (),
    weights: Sequence[int] = (),
) -> list[str]:
    """At most `budget` handles to probe, taken round-robin from each base's variants in turn.

    `per_base` is one list per base (an inventory handle, a protected name), the bases in priority
    order and each list most likely first: every base gets its likeliest squats before any base gets
    its less likely ones, and a base earlier in the list gets what is left over. `weights` (default
    1 each) is how many a base takes per round: the district's own handles and names take more than
    each of the many role combinations. Handles in `skip` (lower-case: the inventory's own) and
    repeats are left out without using budget.
    """
    out: list[str] = []
    taken: set[str] = set()
    cursors = [(iter(v), max(1, weights[i]) if i < len(weights) else 1) for i, v in enumerate(per_base)]
    while cursors and len(out) < budget:
        alive = []
        for it, weight in cursors:
            got = 0
            for handle in it:
                key = handle.casefold()
                if key in taken or key in skip:
                    continue
                taken.add(key)
                out.append(handle)
                got += 1
                if got >= weight or len(out) >= budget:
                    break
            if got:
                alive.append((it, weight))
            if len(out) >= budget:
                break
        cursors = alive
    return out
