"""Protected names from the inventory and the policy, and the role model that reads role claims.

A bare role word ("superintendent", "board") is a common word: protecting it alone would flag
every superintendent in the country. What the Naperville 203 guideline forbids is a name that
claims *this district's* official ("@TheReal203Superintendent"), so each role is protected in
combination with each district token ("203", "d203", "naperville203"), in both orders; affix and
containment tiers then catch `TheReal203Superintendent` and `superintendent_d203`.

`RoleModel` reads a handle or a display name as words of a vocabulary: district terms (names,
aliases, acronyms, the district number), role terms with their synonyms and abbreviations
(`supt`, `BOE`, `BoardOfEd`), buildings (names and acronyms, for principals), officials' names
and filler (`the`, `official`, `of`). A word counts only where it starts and ends at a word
boundary (separator, camelCase, a number's edge) or next to another vocabulary word, so `board`
inside `skateboard` is no board. The rules, each named in the reason a flag gives:

- a role term with a district term: "claims the superintendent role with the district's name";
- a principal with a building: "claims the principal role of Naperville North High School";
- an official's full name, or Dr + surname, with a role or a district term; a surname with the
  official's own role. A personal name alone is never protected: namesakes exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.engine.impersonation.normalise import (
    _FOLD,
    DEFAULT_AFFIXES,
    PREFIX_AFFIXES,
    fast_key,
    fold_text,
    joinable,
    line_starts,
    lines_matching,
    single_fold,
    trie_regex,
)
from auditor.engine.impersonation.scoring import ProtectedKind, ProtectedName
from auditor.model.types import Account, AccountStatus

if TYPE_CHECKING:
    from auditor.engine.policy.model import Policy

SCORE_ROLE_CLAIM = 95

# Synonyms and abbreviations of the roles a district protects, by canonical role.
ROLE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "superintendent": (
        "superintendent", "supt", "superintendant", "superintendents office", "office of the superintendent",
        "deputy superintendent", "assistant superintendent", "asst supt",
    ),
    "board": (
        "board", "boe", "board of education", "board of ed", "boardofed", "school board", "board of trustees",
        "trustees", "board president", "board member", "board of directors",
    ),
    "principal": ("principal", "assistant principal", "asst principal", "head of school", "headteacher"),
}  # fmt: skip
FILLER: tuple[str, ...] = (
    *DEFAULT_AFFIXES, *PREFIX_AFFIXES, "of", "and", "at", "for", "office", "dr", "mr", "mrs", "ms", "our", "your", "my",
    "k12", "us", "usa", "school", "schools", "district", "public", "acct", "the", "from",
)  # fmt: skip
_TITLES = ("dr", "doctor")
# single folds, and every other ASCII character that is not a letter or a digit dropped
_SINGLE = str.maketrans(
    {
        **{chr(c): None for c in range(128) if not chr(c).isalnum()},
        **{k: v for k, v in _FOLD.items()},
    }
)

# `_SINGLE` as a bytes table for many texts at once (`RoleModel.may_claim_texts`): the newline that
# joins them is kept
_SINGLE_BYTES = bytes(ord(_FOLD.get(chr(b), chr(b))) for b in range(256))
_SINGLE_DELETE = bytes(b for b in range(128) if not chr(b).isalnum() and chr(b) not in _FOLD and b != 10)
_PAIRS_RE = re.compile("rn|vv|cl")

_SPLIT_RE = re.compile(r"[\W_]+|(?<=[a-z])(?=[A-Z])|(?<=[^\W\d_])(?=\d\d)|(?<=\d\d)(?=[^\W\d_])")


def _fold(text: str) -> str:
    return "".join(fold_text(w) for w in _SPLIT_RE.split(text) if w)


def _fold1(text: str) -> str:
    return "".join(single_fold(w) for w in _SPLIT_RE.split(text) if w)


def words(text: str) -> list[str]:
    """Folded words of a handle or display name: split at separators, camelCase and numbers."""
    return [f for f in (fold_text(w) for w in _SPLIT_RE.split(text.strip().lstrip("@")) if w) if f]


def words_single(text: str) -> list[str]:
    """The same words with single-character folds only: in `drnguyen` written as one word the
    pair fold `rn`->`m` would eat the joint between `dr` and `nguyen`, so both readings count."""
    return [f for f in (single_fold(w) for w in _SPLIT_RE.split(text.strip().lstrip("@")) if w) if f]


def acronym(name: str) -> str:
    """`Naperville North High School` -> `nnhs` (initials of words of 2+ letters, capitals kept)."""
    return "".join(
        w[0] for w in re.findall(r"[A-Za-z]{2,}", name) if w.casefold() not in ("of", "the", "and")
    )


@dataclass(frozen=True)
class Official:
    """A person holding a protected role: protected only with a role or a district term."""

    name: str  # "Dan Bridges"
    role: str  # canonical role: "superintendent"
    title: str = ""  # how findings call the role: "Superintendent"


@dataclass(frozen=True)
class RoleClaim:
    """What a name claims: the rule it breaks, in words, and the protected name standing for it."""

    rule: str
    protected: ProtectedName
    score: int = SCORE_ROLE_CLAIM


@dataclass(frozen=True)
class _Term:
    kind: str  # district | weak_district | role | building | full | dr | surname | filler
    label: str
    role: str = ""


@dataclass
class RoleModel:
    """The district's vocabulary of names, roles, buildings and officials (see module doc)."""

    district_names: tuple[str, ...] = ()  # "Naperville 203", "Naperville CUSD 203"
    district_terms: tuple[str, ...] = ()  # extra short forms: "d203", "ncusd203"
    roles: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(ROLE_SYNONYMS))
    role_titles: dict[str, str] = field(default_factory=dict)  # canonical -> "Superintendent"
    buildings: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (name, aliases and acronyms)
    officials: tuple[Official, ...] = ()
    district_label: str = "the district"

    def __post_init__(self) -> None:
        vocab: dict[str, list[_Term]] = {}

        def add(text: str, term: _Term) -> None:
            for key in dict.fromkeys((_fold(text), _fold1(text))):
                if len(key) >= 2 and term not in vocab.setdefault(key, []):
                    vocab[key].append(term)

        for name in self.district_names:
            add(name, _Term("district", name))
            if len(acronym(name)) >= 3:
                add(acronym(name) + "".join(re.findall(r"\d+", name)), _Term("district", name))
            for number in re.findall(r"\d+", name):
                add(number, _Term("weak_district", name))
                add("d" + number, _Term("district", name))
        for term in self.district_terms:
            add(term, _Term("district", term))
        for role, synonyms in self.roles.items():
            for s in (role, *synonyms):
                add(s, _Term("role", self.role_titles.get(role, role), role))
        for bname, aliases in self.buildings:
            for n in (bname, *aliases):
                add(n, _Term("building", bname))
            if len(acronym(bname)) >= 3:
                add(acronym(bname), _Term("building", bname))
        for o in self.officials:
            parts = re.findall(r"[^\W\d_]+", o.name)
            if len(parts) >= 2:
                add(o.name, _Term("full", o.name, o.role))
                add(" ".join(parts[::-1]), _Term("full", o.name, o.role))
                add(parts[0][0] + parts[-1], _Term("full", o.name, o.role))
            if parts:
                for t in _TITLES:
                    add(f"{t} {parts[-1]}", _Term("dr", o.name, o.role))
                    add(f"{t} {o.name}", _Term("dr", o.name, o.role))
                add(parts[-1], _Term("surname", o.name, o.role))
        for f in FILLER:
            add(f, _Term("filler", f))
        self._vocab = vocab
        self._maxlen = max((len(k) for k in vocab), default=0)
        # Every rule needs a role or an official's name: text with neither claims nothing, and
        # most text scanned (people, businesses, clubs) has neither. One regex says so cheaply.
        self._anchor_re = trie_regex(
            k for k, ts in vocab.items() if any(t.kind in ("role", "full", "dr", "surname") for t in ts)
        )

    # -- reading a name --------------------------------------------------------------------------

    def terms(self, text: str) -> list[_Term]:
        """Vocabulary words of `text` that sit at word boundaries or next to other such words,
        read with pair folds and without (`words_single`)."""
        out = self._terms_of(words(text))
        single = words_single(text)
        if "".join(single) != "".join(words(text)):
            out += [t for t in self._terms_of(single) if t not in out]
        return out

    def _terms_of(self, parts: list[str]) -> list[_Term]:
        key = "".join(parts)
        if not key:
            return []
        bounds = {0}
        for p in parts:
            bounds.add(max(bounds) + len(p))
        occ: list[tuple[int, int, str]] = []
        for s in range(len(key)):
            for e in range(s + 2, min(len(key), s + self._maxlen) + 1):
                if key[s:e] in self._vocab:
                    occ.append((s, e, key[s:e]))
        left, right = set(bounds), set(bounds)
        changed = True
        while changed:
            changed = False
            for s, e, _ in occ:
                if s in left and e not in left:
                    left.add(e)
                    changed = True
                if e in right and s not in right:
                    right.add(s)
                    changed = True
        out: list[_Term] = []
        for s, e, k in occ:
            if s in left and e in right:
                out.extend(self._vocab[k])
        return out

    def _may_claim(self, text: str) -> bool:
        """False when `text` holds no role word and no official's name in any reading (a fast
        superset test: the whole text folded at once, with pair folds and without)."""
        if self._anchor_re is None:
            return False
        if not text.isascii():
            return True
        return self.may_claim_keys((text.lower().translate(_SINGLE),))

    def may_claim_keys(self, keys: Iterable[str]) -> bool:
        """`_may_claim` on keys already folded (single folds, separators dropped; the bulk scan
        has them): a pair-folded reading is tried where a pair could fold."""
        anchor = self._anchor_re
        if anchor is None:
            return False
        for single in keys:
            if anchor.search(single):
                return True
            if ("rn" in single or "vv" in single or "cl" in single) and anchor.search(fast_key(single)):
                return True
        return False

    def may_claim_many(self, keys: Sequence[str]) -> set[int]:
        """Indices of `keys` (single-folded, as `may_claim_keys` takes them) that pass
        `may_claim_keys((key,))`: one pass of the anchor over all of them joined."""
        anchor = self._anchor_re
        if anchor is None:
            return set()
        big = joinable(keys)
        if big is None:
            return {i for i, k in enumerate(keys) if self.may_claim_keys((k,))}
        starts = line_starts(keys, big)
        hit = lines_matching(anchor, big, starts)
        for i in lines_matching(_PAIRS_RE, big, starts) - hit:
            if anchor.search(fast_key(keys[i])):
                hit.add(i)
        return hit

    def may_claim_texts(self, texts: Sequence[str]) -> set[int]:
        """Indices of `texts` for which `_may_claim` is True (`claim(text)` can find something)."""
        if self._anchor_re is None:
            return set()
        big = joinable(texts)
        if big is None:
            return {i for i, t in enumerate(texts) if self._may_claim(t)}
        folded = big.encode("ascii").lower().translate(_SINGLE_BYTES, _SINGLE_DELETE).decode("ascii")
        return self.may_claim_many(folded.split("\n"))

    def claim(self, text: str, keys: Sequence[str] | None = None) -> RoleClaim | None:
        """The strongest role claim `text` makes, or None (see module doc for the rules). `keys`:
        the text's keys when the caller has them (`may_claim_keys`), to skip text that cannot claim."""
        if not (self.may_claim_keys(keys) if keys is not None and text.isascii() else self._may_claim(text)):
            return None
        found = self.terms(text)
        if not found:
            return None
        district = next((t for t in found if t.kind == "district"), None)
        weak = district or next((t for t in found if t.kind == "weak_district"), None)
        roles = [t for t in found if t.kind == "role"]
        building = next((t for t in found if t.kind == "building"), None)
        people = [t for t in found if t.kind in ("full", "dr")]
        surnames = [t for t in found if t.kind == "surname"]
        principal = next((r for r in roles if r.role == "principal"), None)
        if principal is not None and building is not None:
            return self._made(f"claims the {principal.label} role of {building.label}", principal)
        for person in people:
            with_role = next(iter(roles), None)
            if with_role is not None:
                return self._made(
                    f"uses the name of {person.label} with the {with_role.label} role", with_role, person
                )
            if district is not None or building is not None:
                where = "the district's name" if district is not None else building.label  # type: ignore[union-attr]
                return self._made(f"uses the name of {person.label} with {where}", None, person)
        for person in surnames:
            own = next((r for r in roles if r.role == person.role), None)
            if own is not None:
                return self._made(f"uses the name of {person.label} with the {own.label} role", own, person)
        if roles and weak is not None:
            role = roles[0]
            return self._made(f"claims the {role.label} role with the district's name", role)
        return None

    def _made(self, rule: str, role: _Term | None, person: _Term | None = None) -> RoleClaim:
        what = role.label if role is not None else "official"
        label = f"the {what} of {self.district_label} (protected role)"
        if person is not None:
            label = f"{person.label}, {what} of {self.district_label} (protected official)"
        return RoleClaim(rule, ProtectedName(what, kind=ProtectedKind.ROLE, label=label))

    def is_official_name(self, name: str) -> bool:
        """`name` is only an official's personal name (never to be protected bare)."""
        key = _fold(name)
        return any(t.kind in ("full", "surname", "dr") for t in self._vocab.get(key, ()))

    def display_protected(self) -> list[ProtectedName]:
        """Names a display name is scored against by string similarity: the district's names."""
        out: list[ProtectedName] = []
        for name in self.district_names:
            out.append(ProtectedName(name, kind=ProtectedKind.ROLE, label=f"the district name {name}"))
        for bname, aliases in self.buildings:
            for n in (bname, *aliases):
                if len(n.split()) >= 2:
                    out.append(ProtectedName(n, kind=ProtectedKind.ROLE, label=f"the school name {bname}"))
        return out


def role_names(district_tokens: Iterable[str], roles: Iterable[str]) -> list[ProtectedName]:
    """`{token}{role}` and `{role}{token}` for every pair, labelled with the role they protect."""
    out: list[ProtectedName] = []
    seen: set[str] = set()
    tokens = [t.strip() for t in district_tokens if t.strip()]
    for role in (r.strip() for r in roles):
        if not role:
            continue
        compact_role = "".join(role.split())
        for token in tokens:
            compact = "".join(token.split())
            for name in (compact + compact_role, compact_role + compact):
                if name.casefold() not in seen:
                    seen.add(name.casefold())
                    label = f"the {role} of {token} (protected role)"
                    out.append(ProtectedName(name, kind=ProtectedKind.ROLE, label=label))
    return out


def inventory_names(accounts: Iterable[Account]) -> list[ProtectedName]:
    """One protected name per live inventory account (retired accounts protect nothing)."""
    out: list[ProtectedName] = []
    for account in accounts:
        if account.status is AccountStatus.RETIRED:
            continue
        out.append(ProtectedName(account.handle, platform=account.platform))
    return out


def canonical_role(title: str) -> str:
    """`Superintendent of Schools` -> `superintendent`; `Board of Education` -> `board`; else ''."""
    key = _fold(title)
    for role, synonyms in ROLE_SYNONYMS.items():
        if any(_fold(s) in key for s in (role, *synonyms)):
            return role
    return ""


def district_names_of(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n.strip() for n in names if n.strip()))


def role_model(policy: Policy) -> RoleModel:
    """The policy's role model: its names, roles (with synonyms), buildings and officials."""
    roles = {k: tuple(v) for k, v in ROLE_SYNONYMS.items()}
    titles: dict[str, str] = {}
    officials: list[Official] = []
    for r in policy.protected_roles:
        canon = canonical_role(r.title) or canonical_role(" ".join(r.names)) or r.id.casefold()
        spelled = [n for n in (r.title, *r.names, *r.synonyms) if n and not any(c.isdigit() for c in n)]
        roles[canon] = tuple(dict.fromkeys((*roles.get(canon, ()), *spelled)))
        titles.setdefault(canon, r.title.casefold())
        officials += [Official(p, canon, r.title) for p in r.people]
    buildings = []
    for b in policy.buildings:
        acr = acronym(b.name)
        buildings.append((b.name, tuple(a for a in (*b.aliases, acr) if len(a) >= 3)))
        if b.administrator_role:
            canon = canonical_role(b.administrator_role) or "principal"
            roles[canon] = tuple(dict.fromkeys((*roles.get(canon, ()), b.administrator_role)))
    return RoleModel(
        district_names=district_names_of(policy.names()),
        roles=roles,
        role_titles=titles,
        buildings=tuple(buildings),
        officials=tuple(officials),
        district_label=policy.name,
    )
