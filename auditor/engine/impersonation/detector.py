"""Bulk lookalike matching: many candidate handles against every protected name, on one core.

Full scoring with reasons costs tens of microseconds per pair (about 11 k pairs/s measured in
lookalikes.md), far too slow for 200 protected names x 100,000 candidates. `Detector.scan`
shortlists first and scores fully only what survives: a hash index on key and core (tiers 99 and
95), one trie-shaped regular expression over the protected keys (tier 90, containment), and
rapidfuzz `process.cdist` with `workers=1` and a score cutoff on cores and sorted-word strings (the
similar tier). The cutoff is the lower of the threshold and the mixed-script floor (80), so the
shortlist is a superset of what the naive loop flags and both give identical results (tested).
Candidates that are an inventory account itself, allowlisted (on any platform: an allowlisted
organisation is the same organisation everywhere), or (Bluesky) a handle on the district's own
domain are never flagged.

With a `RoleModel` (roles.py) the detector also reads role claims in handles ("claims the
superintendent role with the district's name"), protects the district's names themselves, never
protects an official's bare personal name, and scores display names: a display name that copies
the district's name or claims one of its roles is flagged on its own, with the reason saying so.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from auditor.engine.impersonation.normalise import (
    Normalised,
    affixed_lines,
    canonical_handle,
    fold_many,
    fold_text,
    joinable,
    keys_of,
    keys_of_many,
    line_starts,
    lines_at,
    lines_matching,
    normalise,
    not_plain,
    plain_tokens_many,
    sorted_tokens,
    split_handle,
    strip_affixes,
    trie_regex,
)
from auditor.engine.impersonation.roles import RoleClaim, RoleModel
from auditor.engine.impersonation.scoring import (
    DEFAULT_THRESHOLD,
    MIN_CONTAINED_KEY,
    MIXED_SCRIPT_MIN,
    SHORT_KEY,
    Match,
    ProtectedKind,
    ProtectedName,
    Tier,
    score_normalised,
)
from auditor.model.types import Platform

_CHUNK = 20_000  # cdist rows per call: 20,000 x 200 float32 = 16 MB
_PAIRED_RE = re.compile("rn|vv|cl|nn")  # a single fold where keys_of reads pairs: more keys than one
# a handle `split_handle` may trim: an `@`, or whitespace (as `str.strip` sees it in ASCII)
_TRIMMED_CHARS = "@ \t\x0b\x0c\r\x1c\x1d\x1e\x1f"
# after a newline (the regex engine looks for the newline first): a line that starts with one, and,
# in the reversed text, one that ends with whitespace
_TRIMMED_HEAD_RE = re.compile("\n[" + re.escape(_TRIMMED_CHARS) + "]")
_TRIMMED_TAIL_RE = re.compile("\n[" + re.escape(_TRIMMED_CHARS.replace("@", "")) + "]")
_NOT_ASCII_RE = re.compile("[^\x00-\x7f]")


def _unseparated(text: str) -> str:
    return text.replace("_", "").replace("-", "").replace(".", "")


def _parse_allow(entry: str) -> tuple[Platform | None, str]:
    """`x:ipsd204` or a bare `ipsd204`: the platform says where it was seen (it matches on all)."""
    text = entry.strip()
    platform: Platform | None = None
    if ":" in text:
        prefix, _, rest = text.partition(":")
        platform, text = Platform.parse(prefix), rest
    return platform, text


DISPLAY_AFFIXES = ("account", "page", "profile", "channel", "site", "twitter", "instagram", "facebook")
# Words a display name can add to the district's name and still claim to BE the district. Not
# "Fans", "Parody", "News", "TV", "Updates": those say the account is someone else's, about it.
_DISPLAY_FILLER = frozenset(
    fold_text(w)
    for w in (
        "official", "the", "real", "its", "im", "iam", "hq", "team", "account", "page", "admin",
        "verified", "profile", "channel", "site", "of", "our",
    )
)  # fmt: skip


def _only_affixes(shown: str, name: str) -> bool:
    """Whether `shown` is `name` (its words run together) plus only words that add nothing."""
    words = [fold_text(w) for w in re.findall(r"[^\W_]+", shown)]
    target = fold_text("".join(re.findall(r"[^\W_]+", name)))
    for i in range(len(words)):
        joined = ""
        for j in range(i, len(words)):
            joined += words[j]
            if joined == target:
                return all(w in _DISPLAY_FILLER for w in (*words[:i], *words[j + 1 :]))
            if not target.startswith(joined):
                break
    return False


class Detector:
    """Scores candidates against protected names; `scan` is the fast path, `score` the single one.

    `threshold` is the flagging score (85 per lookalikes.md). To let profile evidence lift a
    borderline name over it, scan with a lower threshold and apply `evidence.apply_evidence`.
    `extra_affixes` are district terms stripped like `official` (e.g. "schools", "district").
    `own_domains` are the district's domains: a Bluesky handle on one is proof of control.
    """

    def __init__(
        self,
        protected: Sequence[ProtectedName],
        allowlist: Iterable[str] = (),
        threshold: int = DEFAULT_THRESHOLD,
        *,
        extra_affixes: Iterable[str] = (),
        own_domains: Iterable[str] = (),
        roles: RoleModel | None = None,
    ) -> None:
        self.roles = roles
        names = list(protected)
        self._display: Detector | None = None
        if roles is not None:
            # never a bare personal name (namesakes); the district's own names are protected
            names = [p for p in names if p.kind is ProtectedKind.HANDLE or not roles.is_official_name(p.name)]
            known = {p.name.casefold() for p in names}
            for name in roles.district_names:
                compact = "".join(name.split())
                if compact.casefold() not in known and len(compact) >= 5:
                    known.add(compact.casefold())
                    names.append(
                        ProtectedName(compact, kind=ProtectedKind.ROLE, label=f"the district name {name}")
                    )
            # Words a display name wraps the district's name in without saying anything else
            # ("Stonebridge ISD | Official Account"): affixes there, as "official" is in handles.
            self._display = Detector(
                roles.display_protected(),
                threshold=threshold,
                extra_affixes=(*extra_affixes, *DISPLAY_AFFIXES),
            )
        self.protected = tuple(names)
        self.threshold = threshold
        self.extra_affixes = tuple(a.strip().casefold() for a in extra_affixes if a.strip())
        self.own_domains = tuple(d.strip().casefold().lstrip("@.") for d in own_domains if d.strip())
        self._allow_any: set[str] = set()
        self._allow_on: set[tuple[Platform, str]] = set()
        self._allow_unseparated: set[str] = set()
        for entry in allowlist:
            platform, handle = _parse_allow(entry)
            self._allow_any.add(canonical_handle(handle))
            self._allow_unseparated.add(_unseparated(canonical_handle(handle)))
            if platform is not None:
                self._allow_on.add((platform, canonical_handle(handle, platform)))
        self._norm = [normalise(p.name, p.platform, self.extra_affixes) for p in self.protected]
        self._key_index: dict[str, list[int]] = {}
        self._core_index: dict[str, list[int]] = {}
        # every reading of every protected name (normalise: `cl` in `scisd` may be no `d`)
        self._cols = [(j, r) for j, n in enumerate(self._norm) for r in (n, *n.readings)]
        for j, n in self._cols:
            if n.key:
                self._key_index.setdefault(n.key, []).append(j)
            if n.core:
                self._core_index.setdefault(n.core, []).append(j)
        self._contained = [(j, n.key) for j, n in self._cols if len(n.key) >= MIN_CONTAINED_KEY]
        self._contain_re = trie_regex(k for _, k in self._contained)
        # the containment regex can run over all keys joined by newlines when no key holds one
        self._contain_joinable = not any("\n" in k for _, k in self._contained)
        self._inventory_anywhere = {
            canonical_handle(p.name)
            for p in self.protected
            if p.kind is ProtectedKind.HANDLE and p.platform is None
        }
        self._inventory_any: set[str] = set()
        self._inventory_on: set[tuple[Platform, str]] = set()
        for p in self.protected:
            if p.kind is ProtectedKind.HANDLE:
                self._inventory_any.add(canonical_handle(p.name, p.platform))
                if p.platform is not None:
                    self._inventory_on.add((p.platform, canonical_handle(p.name, p.platform)))
        self._cutoff = (min(threshold, MIXED_SCRIPT_MIN) - 0.5) / 100 - 1e-6
        # One look-alike edit of a short core scores SCORE_SHORT_EDIT (scoring._short_edit) though
        # its OSA similarity is only 1 - 1/len (0.75 for 4 characters): shortlist those too.
        self._short_cutoff = min(self._cutoff, 1 - 1 / MIN_CONTAINED_KEY - 1e-6)
        # Every tier needs a candidate key at least this long: an equal key or core, a contained
        # key, or an OSA similarity over the cutoff (|a| >= cutoff * |b|) on cores or tokens. The
        # display-name detector, whose names are long, skips most people's names on this alone.
        shortest = min((len(t) for _, n in self._cols for t in (n.core, n.tokens) if t), default=0)
        short = any(MIN_CONTAINED_KEY <= len(n.core) <= SHORT_KEY for _, n in self._cols)
        self._too_short = int(shortest * (self._short_cutoff if short else self._cutoff))

    # -- exclusions ------------------------------------------------------------------------------

    def is_allowlisted(self, handle: str, platform: Platform | None = None) -> bool:
        """On any platform: `x:ipsd204` also allowlists `ipsd204` on Instagram (the same organisation);
        a Mastodon `@name@instance` or Bluesky `name.bsky.social` is compared by its name too."""
        allow_any = self._allow_any
        if not allow_any:
            return False
        canon = canonical_handle(handle)
        if canon in allow_any:
            return True
        if (
            platform is not None
            and platform.info.ignored_in_handle
            and canonical_handle(handle, platform) in allow_any
        ):
            return True
        name, instance = split_handle(handle, platform)
        if instance and canonical_handle(name) in allow_any:
            return True
        # platforms force their own separators (no `_` on Bluesky, no `-` on X): the PTA's
        # `nnhs_pta` is `nnhs-pta.bsky.social` there. Look-alike letters still differ.
        if _unseparated(canonical_handle(name) if instance else canon) in self._allow_unseparated:
            return True
        return platform is not None and (platform, canonical_handle(handle, platform)) in self._allow_on

    def is_inventory(self, handle: str, platform: Platform | None = None) -> bool:
        """The handle *is* an inventory account (same platform, same normalised handle)."""
        if platform is None:
            return canonical_handle(handle) in self._inventory_any
        canon = canonical_handle(handle, platform)
        if (platform, canon) in self._inventory_on:
            return True
        # protected handles recorded without a platform match on any platform
        return canon in self._inventory_anywhere

    def on_own_domain(self, handle: str, platform: Platform | None) -> bool:
        """A Bluesky handle under the district's domain proves the district controls it (a handle
        that is a domain name: `PlatformInfo.handle_is_domain`)."""
        if platform is None or not platform.info.handle_is_domain:
            return False
        host = handle.strip().lstrip("@").casefold()
        return any(host == d or host.endswith("." + d) for d in self.own_domains)

    def _excluded(self, handle: str, platform: Platform | None) -> bool:
        if not (self._allow_any or self._inventory_any or self._inventory_anywhere or self.own_domains):
            return False  # nothing to exclude (the display-name detector)
        if self._allow_any and self.is_allowlisted(handle, platform):
            return True
        if self.own_domains and self.on_own_domain(handle, platform):
            return True
        return bool(self._inventory_any or self._inventory_anywhere) and self.is_inventory(handle, platform)

    # -- scoring ---------------------------------------------------------------------------------

    def _full(self, handle: str, c: Normalised, js: Iterable[int], platform: Platform | None) -> list[Match]:
        out: list[Match] = []
        for j in js:
            m = score_normalised(
                c, self._norm[j], self.protected[j], platform=platform, extra_affixes=self.extra_affixes
            )
            if m is not None and m.score >= self.threshold:
                out.append(m)
        return out

    def score(self, candidate: str, platform: Platform | None = None) -> list[Match]:
        """Every protected name this candidate imitates at or above the threshold, best first."""
        if self._excluded(candidate, platform):
            return []
        c = normalise(candidate, platform, self.extra_affixes)
        matches = self._full(candidate, c, range(len(self.protected)), platform)
        matches += self._role_claims([candidate], platform, {})
        return sorted(matches, key=lambda m: (-m.score, m.protected.name))

    def _role_claims(
        self,
        handles: Sequence[str],
        platform: Platform | None,
        display_names: Mapping[str, str],
        keys: Mapping[str, Sequence[str]] | None = None,
        gate: set[int] | None = None,
    ) -> list[Match]:
        """Role claims in handles and display names, and display names copying the district's names.
        `keys`: each handle's keys, where the bulk scan has computed them (a cheap first test);
        `gate`: the indices of the handles that may claim (`RoleModel.may_claim_many` on those
        keys), None for all. Display names are gated here the same way, all at once."""
        out: list[Match] = []
        if self.roles is None:
            return out
        roles = self.roles
        get = display_names.get
        raws = list(map(get, handles, itertools.repeat("")))
        distinct = list(dict.fromkeys(raws))
        texts = [r for r in distinct if r.strip()]
        claiming = {texts[k] for k in roles.may_claim_texts(texts)}  # the others claim nothing
        todo: Iterable[int] = range(len(handles))
        if gate is not None:
            todo = sorted(gate.union(i for i, r in enumerate(raws) if r in claiming) if claiming else gate)
        claims_of: dict[str, RoleClaim | None] = {}  # display names repeat ("Jennifer Smith")
        for i in todo:
            handle = handles[i]
            if gate is None or i in gate:
                name, _ = split_handle(handle, platform)
                claim = roles.claim(name, keys.get(handle) if keys is not None else None)
                if claim is not None and claim.score >= self.threshold:
                    out.append(
                        Match(handle, claim.protected, claim.score, Tier.CONTAINS, (claim.rule,), platform)
                    )
            shown = raws[i]
            if shown not in claiming:
                continue
            if shown in claims_of:
                claim = claims_of[shown]
            else:
                claim = claims_of[shown] = roles.claim(shown)
            if claim is not None and claim.score >= self.threshold:
                reason = f"display name {claim.rule} ({shown.strip()!r})"
                out.append(Match(handle, claim.protected, claim.score, Tier.CONTAINS, (reason,), platform))
        if self._display is not None:
            text_of = {r: " ".join(r.split()) for r in distinct}
            found = self._display.scan(t for t in dict.fromkeys(text_of.values()) if t)
            # the handles showing each display name, for the names found only
            wanted = {m.candidate for m in found}
            shown_of: dict[str, list[str]] = {}
            if wanted:
                raws_wanted = {r for r, t in text_of.items() if t in wanted}
                for handle, raw in zip(handles, raws, strict=True):
                    if raw in raws_wanted:
                        shown_of.setdefault(text_of[raw], []).append(handle)
            for m in found:
                if m.tier in (Tier.CONTAINS, Tier.SAME_CORE) and not _only_affixes(
                    m.candidate, m.protected.name
                ):
                    # "Orchestra (Naperville 203)", "Naperville 203 Parents": how clubs, boosters
                    # and fans name themselves. A display name is an impostor's when it IS the
                    # district's name, give or take words that say nothing else ("Official
                    # Account") and look-alikes; an unregistered club is account.unlisted's.
                    continue
                what = "copies" if m.tier in (Tier.SAME_KEY, Tier.SAME_CORE) else "imitates"
                reason = f"display name {what} {m.protected.describe()} ({m.candidate!r})"
                # separators and spaces are how display names are written, not a trick
                rest = tuple(r for r in m.reasons if not r.startswith("separator "))
                for handle in shown_of[m.candidate]:
                    out.append(
                        dataclasses.replace(m, candidate=handle, reasons=(reason, *rest), platform=platform)
                    )
        return out

    def _unexcluded(
        self, candidates: Iterable[str], platform: Platform | None
    ) -> tuple[list[str], list[str]]:
        """(handles, the name of each) of the distinct candidates not excluded, in order."""
        unique = list(dict.fromkeys(candidates))
        if platform is not None or self._allow_any:
            kept = [h for h in unique if not self._excluded(h, platform)]
            return kept, [split_handle(h, platform)[0] for h in kept]
        # `_excluded` and `split_handle` without a platform, all at once: a handle is its own name
        # unless it has whitespace around it or an `@` in front (ASCII ones: others are read one
        # at a time), and casefolding all of them joined keeps each on its line
        big = "\n".join(unique)
        if big.count("\n") != len(unique) - 1:  # a newline in a handle
            kept = [h for h in unique if not self._excluded(h, platform)]
            return kept, [split_handle(h)[0] for h in kept]
        starts = line_starts(unique, big)
        fix: set[int] = set()
        if any(c in big for c in _TRIMMED_CHARS):
            ends = [len(big) - m.start() - 1 for m in _TRIMMED_TAIL_RE.finditer("\n" + big[::-1])]
            fix = lines_at(starts, [*(m.start() for m in _TRIMMED_HEAD_RE.finditer("\n" + big)), *ends])
        if not big.isascii():
            fix |= lines_matching(_NOT_ASCII_RE, big, starts)
        names = unique
        if fix:
            names = list(unique)
            for k in fix:
                names[k] = split_handle(unique[k])[0]
        inventory = self._inventory_any
        if not inventory:
            return unique, names
        folded = ("\n".join(names) if fix else big).casefold().split("\n")
        drop = {k for k, canon in enumerate(folded) if canon in inventory}
        if not drop:
            return unique, names
        return [h for k, h in enumerate(unique) if k not in drop], [
            n for k, n in enumerate(names) if k not in drop
        ]

    def _rows(
        self, handles: Sequence[str], names: Sequence[str], platform: Platform | None
    ) -> tuple[list[int], list[str], list[str], list[str], dict[int, Normalised]]:
        """One row per reading of each name (scoring.score_normalised takes the best reading):
        (owner: the name of each row, keys, cores, tokens, the traced names). A name shorter than
        any tier reaches (see __init__) has no row. ASCII names are folded all at once."""
        extra = self.extra_affixes
        too_short = self._too_short
        owner: list[int] = []
        keys: list[str] = []
        cores: list[str] = []
        tokens: list[str] = []
        traced: dict[int, Normalised] = {}
        big = joinable(names)
        plain: Sequence[int] = range(len(names))
        if big is None:
            joined = "\n".join(names)
            if joined.count("\n") == len(names) - 1:  # no newline in a name: find the others at once
                other = sorted(lines_matching(_NOT_ASCII_RE, joined, line_starts(names, joined)))
            else:
                other = [i for i, name in enumerate(names) if not name.isascii() or "\n" in name]
            skip = set(other)
            plain = [i for i in range(len(names)) if i not in skip]
            for i in other:
                name = names[i]
                if name.isascii():
                    key, alts = keys_of(name, extra)
                    if len(alts[0] if alts and len(alts[0]) > len(key) else key) < too_short:
                        continue
                    core = strip_affixes(key, extra)[0]
                    rows = [(key, core, sorted_tokens(name, core, extra))]
                    rows += [(alt, c, c) for alt in alts for c in (strip_affixes(alt, extra)[0],)]
                else:
                    n = normalise(handles[i], platform, extra)
                    traced[i] = n
                    rows = [
                        (r.key, r.core, r.tokens) for r in (n, *(x for x in (n.logical, *n.readings) if x))
                    ]
                for key, core, tok in rows:
                    owner.append(i)
                    keys.append(key)
                    cores.append(core)
                    tokens.append(tok)
            if not plain:
                return owner, keys, cores, tokens, traced
            big = "\n".join(names[i] for i in plain)
        text = [names[i] for i in plain] if len(plain) < len(names) else names
        starts = line_starts(text, big)
        singles = fold_many(big, len(text))
        folded = "\n".join(singles)
        paired = lines_matching(_PAIRED_RE, folded, line_starts(singles, folded))
        # the first key of each name long enough to score, then the affixes of all of them at once
        alts_of: dict[int, list[str]] = {}
        first = list(singles)
        in_pairs = sorted(paired)
        for k, (key, alts) in zip(in_pairs, keys_of_many([singles[k] for k in in_pairs], extra), strict=True):
            first[k] = key
            if alts:
                alts_of[k] = alts
        kept = [
            k
            for k, key in enumerate(first)
            if len(key) >= too_short or (k in alts_of and len(alts_of[k][0]) >= too_short)
        ]
        if len(kept) < len(first):
            first = [first[k] for k in kept]
        joined = "\n".join(first)
        affixed = affixed_lines(joined, line_starts(first, joined), extra) if first else set()
        firsts = first
        first_cores = [
            strip_affixes(key, extra)[0] if affixed is None or at in affixed else key
            for at, key in enumerate(firsts)
        ]
        # tokens of the names kept only (the display-name detector keeps few people's names)
        if len(kept) < len(text):
            paired = {at for at, k in enumerate(kept) if k in paired}
            text = [text[k] for k in kept]
            singles = [singles[k] for k in kept]
            big = "\n".join(text)
            starts = line_starts(text, big)
        words = plain_tokens_many(text, big, singles, extra, paired)
        odd = not_plain(text, big, starts)
        first_tokens = [
            sorted_tokens(text[at], core, extra) if at in odd else (core if w is None else w)
            for at, (core, w) in enumerate(zip(first_cores, words, strict=True))
        ]
        owner += [plain[k] for k in kept] if len(plain) < len(names) else kept
        keys += firsts
        cores += first_cores
        tokens += first_tokens
        kept_set = set(kept) if alts_of else set()
        for k, alts in alts_of.items():
            if k not in kept_set:
                continue  # too short to score: no row at all, as for a name without pairs
            for alt in alts:
                alt_core = strip_affixes(alt, extra)[0]
                owner.append(plain[k])
                keys.append(alt)
                cores.append(alt_core)
                tokens.append(alt_core)
        return owner, keys, cores, tokens, traced

    def scan(
        self,
        candidates: Iterable[str],
        platform: Platform | None = None,
        display_names: Mapping[str, str] | None = None,
    ) -> list[Match]:
        """Score many candidates; same result as calling `score` on each, but fast (see module doc).

        `display_names` (handle -> display name) are scored too, when the detector has a role model.
        """
        import numpy
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        extra = self.extra_affixes
        handles, names = self._unexcluded(candidates, platform)
        owner, keys, cores, tokens, traced = self._rows(handles, names, platform)

        pairs: dict[int, set[int]] = {}
        key_index, core_index, contain_re = self._key_index, self._core_index, self._contain_re
        for r in [r for r, key in enumerate(keys) if key in key_index]:
            pairs.setdefault(owner[r], set()).update(key_index[keys[r]])
        for r in [r for r, core in enumerate(cores) if core in core_index]:
            pairs.setdefault(owner[r], set()).update(core_index[cores[r]])
        if contain_re is not None and keys:
            big = joinable(keys) if self._contain_joinable else None
            found = (
                lines_matching(contain_re, big, line_starts(keys, big))
                if big is not None
                else {r for r, key in enumerate(keys) if contain_re.search(key)}
            )
            for r in sorted(found):
                key = keys[r]
                pairs.setdefault(owner[r], set()).update(j for j, pk in self._contained if pk in key)

        col_owner = [j for j, _ in self._cols]
        p_cores = [n.core for _, n in self._cols]
        p_tokens = [n.tokens for _, n in self._cols]
        reordered_p = [q for q, (_, n) in enumerate(self._cols) if n.reordered]
        plain_p = [q for q, (_, n) in enumerate(self._cols) if not n.reordered]
        reordered_c = [r for r, (t, c) in enumerate(zip(tokens, cores, strict=True)) if t != c]

        def similar(
            rows: Sequence[int] | None,
            row_text: list[str],
            row_lengths: numpy.ndarray[Any, Any],
            cols: list[int],
            col_text: list[str],
            cutoff: float,
        ) -> None:
            if (rows is not None and not len(rows)) or not cols or not row_text:
                return
            # OSA normalized similarity is at most min/max of the lengths: compare each length of
            # row only with the columns whose length can reach the cutoff (a third of the pairs).
            picked = numpy.arange(len(row_text)) if rows is None else numpy.asarray(rows, dtype=numpy.int64)
            lengths = row_lengths[picked]
            order = numpy.argsort(lengths, kind="stable")
            values, starts = numpy.unique(lengths[order], return_index=True)
            ends = [*starts[1:].tolist(), len(order)]
            col_lengths = [len(col_text[j]) for j in cols]
            for length, lo, hi in zip(values.tolist(), starts.tolist(), ends, strict=True):
                reach = [
                    j
                    for j, n in zip(cols, col_lengths, strict=True)
                    if min(n, length) >= cutoff * max(n, length)
                ]
                if not reach:
                    continue
                queries = [col_text[j] for j in reach]
                group = picked[order[lo:hi]].tolist()
                for start in range(0, len(group), _CHUNK):
                    block = group[start : start + _CHUNK]
                    texts = itemgetter(*block)(row_text) if len(block) > 1 else [row_text[block[0]]]
                    matrix = process.cdist(
                        texts,
                        queries,
                        scorer=OSA.normalized_similarity,
                        score_cutoff=cutoff,
                        workers=1,
                        dtype="float32",
                    )
                    for r, c in zip(*matrix.nonzero(), strict=True):
                        pairs.setdefault(owner[block[int(r)]], set()).add(col_owner[reach[int(c)]])

        short_p = [q for q, (_, n) in enumerate(self._cols) if MIN_CONTAINED_KEY <= len(n.core) <= SHORT_KEY]
        long_p = [
            q for q, (_, n) in enumerate(self._cols) if not MIN_CONTAINED_KEY <= len(n.core) <= SHORT_KEY
        ]
        core_lengths = numpy.fromiter(map(len, cores), dtype=numpy.int64, count=len(cores))
        token_lengths = numpy.fromiter(map(len, tokens), dtype=numpy.int64, count=len(tokens))
        similar(None, cores, core_lengths, long_p, p_cores, self._cutoff)
        similar(None, cores, core_lengths, short_p, p_cores, self._short_cutoff)
        similar(None, tokens, token_lengths, reordered_p, p_tokens, self._cutoff)
        similar(reordered_c, tokens, token_lengths, plain_p, p_tokens, self._cutoff)

        claim_keys: dict[str, list[str]] = {}
        gate: set[int] | None = None
        if self.roles is not None:
            # only handles whose keys hold a role word or an official's name can claim (ASCII ones:
            # `RoleModel.claim` reads the others whole), and those without a row are read whole
            ascii_rows = (
                [r for r in range(len(keys)) if owner[r] not in traced] if traced else range(len(keys))
            )
            gate = {owner[ascii_rows[k]] for k in self.roles.may_claim_many([keys[r] for r in ascii_rows])}
            gate.update(traced)
            gate.update(set(range(len(handles))).difference(owner))
            for r, i in enumerate(owner):
                if i in gate:
                    claim_keys.setdefault(handles[i], []).append(keys[r])
        matches: list[Match] = self._role_claims(handles, platform, display_names or {}, claim_keys, gate)
        for i in sorted(pairs):
            c = traced.get(i) or normalise(handles[i], platform, extra)
            matches.extend(self._full(handles[i], c, sorted(pairs[i]), platform))
        matches.sort(key=lambda m: (-m.score, m.candidate, m.protected.name))
        return matches
