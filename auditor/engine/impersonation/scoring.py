"""Score one candidate handle against one protected name, and explain the score in plain words.

Tiers from `shared/reference/lookalikes.md`: same key → 99 (homoglyph, leet, separator, invisible
character); same core → 95 (affix squat such as `realnaperville203`); protected key contained in the
candidate key → 90; otherwise the higher of OSA similarity and token-sort similarity on the cores.
Number guard (contained and similar tiers only: an equal key or core is already a visual copy):
both carry numbers and the protected one is missing → cap 60 (`naperville204` is a neighbouring
district, usually real); the protected name has a number and the candidate none → cap 80. A
mixed-script confusable (one Cyrillic letter among Latin ones) that still scores at least 80 is
raised to 97: the foreign letter is itself evidence of intent. The policy clause this serves is the
Naperville 203 guideline "Do not claim to represent a District official unless authorized. For
example, @TheReal203Superintendent".
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from auditor.engine.impersonation.normalise import (
    Normalised,
    affix_words,
    canonical_handle,
    fold_text,
    normalise,
)
from auditor.model.types import Platform, StrEnum

SCORE_SAME_KEY = 99
SCORE_SAME_CORE = 95
SCORE_CONTAINS = 90
SCORE_MIXED_SCRIPT = 97
MIXED_SCRIPT_MIN = 80  # a mixed-script name must still resemble ours this much to be raised
CAP_DIFFERENT_NUMBER = 60
CAP_MISSING_NUMBER = 80
MIN_CONTAINED_KEY = 4  # shorter protected keys would be found inside too many ordinary words
DEFAULT_THRESHOLD = 85
SHORT_KEY = 6  # a protected core this short loses too much per edit: one edit scores 75-83
SHORT_WORD = 4  # a protected name's first or last word this short (d, 203, HISD) must not be glued
CAP_OTHER_ORGANISATION = 70
# Words that end a school organisation's name ("Stonebridge ISD", "Kettlebrook Schools"). The same
# place with another kind of organisation ("StonebridgePD", "StonebridgeFC") is not a look-alike:
# the town is shared, the word that says who it is was replaced, not mistyped.
DESIGNATORS = (
    "isd", "usd", "cusd", "ccsd", "sd", "ps", "schools", "school", "district", "unified", "high",
    "hs", "es", "ms", "elementary", "middle", "academy",
)  # fmt: skip
SCORE_SHORT_EDIT = 86  # one look-alike edit of a short name: just over the default threshold

# Letters that pass for each other at a glance and are not already folded into the key.
_LOOKALIKE_LETTERS = {
    "m": "n", "n": "mhr", "h": "nb", "u": "vn", "v": "uy", "y": "v", "c": "eo", "e": "co",
    "o": "ce", "q": "gp", "g": "q", "p": "q", "b": "dh", "d": "b", "w": "v", "r": "n",
}  # fmt: skip
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _keyboard_neighbours() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r, row in enumerate(_KEYBOARD_ROWS):
        for i, ch in enumerate(row):
            near = out.setdefault(ch, set())
            near.update(row[max(i - 1, 0) : i + 2])
            for other in (r - 1, r + 1):
                if 0 <= other < len(_KEYBOARD_ROWS):
                    near.update(_KEYBOARD_ROWS[other][max(i - 1, 0) : i + 2])
            near.discard(ch)
    return out


_KEYBOARD = _keyboard_neighbours()


class Tier(StrEnum):
    SAME_KEY = "same_key"
    SAME_CORE = "same_core"
    CONTAINS = "contains"
    SIMILAR = "similar"


class ProtectedKind(StrEnum):
    HANDLE = "handle"  # an inventory account's handle
    ROLE = "role"  # a protected official role, usually combined with a district token


@dataclass(frozen=True)
class ProtectedName:
    """A name nobody else may imitate: an inventory handle (with its platform) or a role name."""

    name: str
    kind: ProtectedKind = ProtectedKind.HANDLE
    platform: Platform | None = None
    label: str = ""  # how findings refer to it; derived when empty

    def describe(self) -> str:
        if self.label:
            return self.label
        if self.kind is ProtectedKind.ROLE:
            return f"the protected role name {self.name}"
        if self.platform is not None:
            return f"{self.platform.label} account @{self.name}"
        return f"@{self.name}"


@dataclass(frozen=True)
class Match:
    """A candidate that resembles a protected name, with its score (0-100), tier and reasons."""

    candidate: str
    protected: ProtectedName
    score: int
    tier: Tier
    reasons: tuple[str, ...] = field(default_factory=tuple)
    platform: Platform | None = None

    def explain(self) -> str:
        return "; ".join(self.reasons)


def _shown(text: str) -> str:
    return "space" if text == " " else text


def _substitutions(c: Normalised, ci: int, p: Normalised, pi: int, n: int) -> list[str]:
    """'1 for i' for each aligned key position whose pre-fold text differs (case is not a change)."""
    out: list[str] = []
    for k in range(n):
        if c.prefold[ci + k] != p.prefold[pi + k]:
            start, end = c.spans[ci + k]
            reason = f"{c.name[start:end]} for {p.prefold[pi + k]}"
            if reason not in out:
                out.append(reason)
    return out


def _separator_reasons(c: Normalised, p: Normalised) -> list[str]:
    cc, pc = Counter(c.separators), Counter(p.separators)
    out: list[str] = []
    for sep in dict.fromkeys((*c.separators, *p.separators)):
        if cc[sep] > pc[sep]:
            out.append(f"separator {_shown(sep)} added")
        elif cc[sep] < pc[sep]:
            out.append(f"separator {_shown(sep)} removed")
    return out


def _instance_reasons(c: Normalised, p: Normalised) -> list[str]:
    if c.instance and p.instance and c.instance != p.instance:
        return [f"on {c.instance}, not {p.instance}"]
    return []


def _affix_reasons(c: Normalised, p: Normalised, extra: tuple[str, ...]) -> list[str]:
    words = affix_words(extra)
    mine = Counter(words.get(a, a) for a in (*c.prefixes, *c.suffixes))
    theirs = Counter(words.get(a, a) for a in (*p.prefixes, *p.suffixes))
    added = [words.get(a, a) for a in (*c.prefixes, *c.suffixes)]
    added = [a for a in added if mine[a] > theirs[a]]
    dropped = [a for a in (words.get(x, x) for x in (*p.prefixes, *p.suffixes)) if theirs[a] > mine[a]]
    out = []
    if added:
        out.append("affix " + "+".join(dict.fromkeys(added)))
    if dropped:
        out.append("affix " + "+".join(dict.fromkeys(dropped)) + " dropped")
    return out


def _edit_reasons(c: Normalised, p: Normalised) -> list[str]:
    from rapidfuzz.distance import Levenshtein

    ops = Levenshtein.editops(c.core, p.core)
    if len(ops) > 3:
        return []
    cs, ps = c.core_start, p.core_start
    out: list[str] = []
    items: list[tuple[str, int, int]] = [(op.tag, op.src_pos, op.dest_pos) for op in ops]
    i = 0
    while i < len(items):
        tag, src, dst = items[i]
        if (
            tag == "replace"
            and i + 1 < len(items)
            and items[i + 1][0] == "replace"
            and items[i + 1][1] == src + 1
            and c.core[src : src + 2] == p.core[dst : dst + 2][::-1]
        ):
            out.append(f"{c.text_of(cs + src, cs + src + 2)} swapped")
            i += 2
            continue
        if tag == "replace":
            out.append(f"{c.text_of(cs + src, cs + src + 1)} for {p.prefold[ps + dst]}")
        elif tag == "delete":
            out.append(f"extra {c.text_of(cs + src, cs + src + 1)}")
        else:
            out.append(f"missing {p.prefold[ps + dst]}")
        i += 1
    # a letter deleted here and inserted there reads better as "moved"
    for reason in list(out):
        if reason.startswith("extra ") and f"missing {reason[6:]}" in out:
            at = out.index(reason)
            out.remove(f"missing {reason[6:]}")
            out[out.index(reason)] = f"{reason[6:]} moved" if at >= 0 else reason
    return out


def _is_digit_text(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def _extends_number(c: Normalised, at: int, p: Normalised) -> bool:
    """The candidate continues the protected name's number with digits of its own (`d2034`)."""
    end = at + len(p.key)
    if end < len(c.key) and _is_digit_text(p.prefold[-1]):
        nxt = c.spans[end - 1][1]
        if nxt < len(c.name) and c.name[nxt].isdigit() and _is_digit_text(c.prefold[end]):
            return True
    if at > 0 and _is_digit_text(p.prefold[0]):
        prev = c.spans[at][0] - 1
        if prev >= 0 and c.name[prev].isdigit() and _is_digit_text(c.prefold[at - 1]):
            return True
    return False


def _edits_touch_digits(c: Normalised, p: Normalised) -> bool:
    """Some edit between the cores adds, removes or replaces a digit: the numbers really differ."""
    from rapidfuzz.distance import Levenshtein

    cs, ps = c.core_start, p.core_start
    for op in Levenshtein.editops(c.core, p.core):
        if op.tag in ("replace", "delete") and _in_number(c, cs + op.src_pos):
            return True
        if op.tag in ("replace", "insert") and _in_number(p, ps + op.dest_pos):
            return True
    return False


def _in_number(n: Normalised, k: int) -> bool:
    """Key position k is a digit of a number, not a lone leet digit between letters (`na4per`)."""
    if not _is_digit_text(n.prefold[k]):
        return False
    left = k > 0 and _is_digit_text(n.prefold[k - 1])
    right = k + 1 < len(n.prefold) and _is_digit_text(n.prefold[k + 1])
    return left or right or k == 0 or k == len(n.prefold) - 1


def _short_edit(c: Normalised, p: Normalised) -> str | None:
    """The kind of the one edit between the cores of a short protected name and the candidate, when
    it is a look-alike kind (a letter doubled, omitted, swapped with its neighbour, or replaced by
    a look-alike or keyboard-adjacent letter), else None. Digits never count: a changed digit is
    another number, and the number guard decides."""
    from rapidfuzz.distance import OSA, Levenshtein

    a, b = c.core, p.core
    if not 4 <= len(b) <= SHORT_KEY or OSA.distance(a, b) != 1:
        return None
    cs, ps = c.core_start, p.core_start

    def letter_c(k: int) -> bool:  # written as a letter, not a leet digit: the key folds 0 to o
        return c.prefold[cs + k].isalpha()

    def letter_p(k: int) -> bool:
        return p.prefold[ps + k].isalpha()

    if len(a) == len(b):
        diff = [k for k in range(len(a)) if a[k] != b[k]]
        if len(diff) == 2 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]:
            return "letters swapped" if all(letter_c(k) and letter_p(k) for k in diff) else None
        k = diff[0]
        got, want = c.prefold[cs + k], p.prefold[ps + k]  # as written: `i` folds to `l` in the key
        if not (letter_c(k) and letter_p(k)):
            return None
        if got in _LOOKALIKE_LETTERS.get(want, "") or want in _LOOKALIKE_LETTERS.get(got, ""):
            return "look-alike letter"
        return "keyboard-adjacent letter" if got in _KEYBOARD.get(want, ()) else None
    (op,) = Levenshtein.editops(a, b)
    if op.tag == "delete":  # the candidate has an extra letter
        extra = a[op.src_pos]
        near = a[op.src_pos - 1 : op.src_pos] + a[op.src_pos + 1 : op.src_pos + 2]
        return "letter doubled" if letter_c(op.src_pos) and extra in near else None
    if op.tag == "insert" and len(b) >= 5 and letter_p(op.dest_pos):
        return "letter omitted"  # from 4 letters, 3 are left: too many ordinary words
    return None


_WORD_SPLIT = re.compile(
    r"[\W_]+|(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])"
)


@functools.lru_cache(maxsize=8192)
def _edge_words(name: str) -> tuple[int, int]:
    """Key lengths of the first and last word of a protected name of 2+ words, else (0, 0); 0 for
    a number too (a number continued by digits is the number guard's: `naperville2034`)."""
    words = [w for w in _WORD_SPLIT.split(name) if w and fold_text(w)]
    if len(words) < 2:
        return (0, 0)
    first, last = words[0], words[-1]
    return (
        0 if first.isdigit() else len(fold_text(first)),
        0 if last.isdigit() else len(fold_text(last)),
    )


@functools.cache
def _designators() -> tuple[str, ...]:
    return tuple(sorted({fold_text(d) for d in DESIGNATORS}, key=len, reverse=True))


def _other_organisation(c: Normalised, p: Normalised) -> tuple[str, str] | None:
    """`StonebridgePD` for `StonebridgeISD`: the protected core ends in a designator word, the
    candidate keeps everything before it and puts another word (two edits or more away) in its
    place. Returns (the candidate's word, the protected word) as written, else None."""
    from rapidfuzz.distance import OSA

    for d in _designators():
        stem = p.core[: -len(d)]
        if not p.core.endswith(d) or len(stem) < 4 or not c.core.startswith(stem):
            continue
        rest = c.core[len(stem) :]
        if rest and d not in rest and OSA.distance(rest, d) >= 2:
            cs, ps = c.core_start + len(stem), p.core_start + len(stem)
            return c.text_of(cs, cs + len(rest)), p.text_of(ps, ps + len(d))
        return None
    return None


def _words_of(name: str, extra: tuple[str, ...]) -> list[tuple[str, str]]:
    """(folded, as written) for each word of a name that is not an affix."""
    affixes = affix_words(extra)
    out = [(fold_text(w), w) for w in _WORD_SPLIT.split(name) if w]
    return [(f, w) for f, w in out if f and f not in affixes]


def _replaced_word(c: Normalised, p: Normalised, extra: tuple[str, ...]) -> tuple[str, str] | None:
    """`Clear Creek ISD` for `Saltmarsh Creek ISD`: the same words but one, and that one another
    word rather than a misspelling of it (two edits or more, under half its letters alike)."""
    from rapidfuzz.distance import OSA

    cw, pw = _words_of(c.name, extra), _words_of(p.name, extra)
    if len(cw) != len(pw) or len(cw) < 2:
        return None
    diff = [k for k in range(len(cw)) if cw[k][0] != pw[k][0]]
    if len(diff) != 1:
        return None
    (k,) = diff
    a, b = cw[k][0], pw[k][0]
    if OSA.distance(a, b) >= 2 and OSA.normalized_similarity(a, b) < 0.5:
        return cw[k][1], pw[k][1]
    return None


def _boundary_before(c: Normalised, at: int, extra: tuple[str, ...]) -> bool:
    if at == 0 or _all_affixes(c.key[:at], extra):
        return True
    return _name_boundary(c.name, c.spans[at - 1][1], c.spans[at][0])


def _boundary_after(c: Normalised, end: int, extra: tuple[str, ...]) -> bool:
    if end == len(c.key) or _all_affixes(c.key[end:], extra):
        return True
    return _name_boundary(c.name, c.spans[end - 1][1], c.spans[end][0])


def _name_boundary(name: str, left_end: int, right_start: int) -> bool:
    """A word boundary in the name between two characters: a separator (or anything removed)
    between them, a camelCase capital, or a change between letters and digits."""
    if right_start > left_end:
        return True  # a separator or an invisible character between them
    left, right = name[left_end - 1], name[right_start]
    if not (left.isalnum() and right.isalnum()):
        return True  # punctuation kept in the key: "(Stonebridge ISD)"
    if left.isdigit() != right.isdigit():
        return True
    return left.islower() and right.isupper()


def _all_affixes(text: str, extra: tuple[str, ...]) -> bool:
    """`text` (key form) is one or more affix words in a row (`thereal`, `la`)."""
    words = affix_words(extra)
    ok = [True] + [False] * len(text)
    for i in range(1, len(text) + 1):
        ok[i] = any(ok[i - len(w)] and text.startswith(w, i - len(w)) for w in words if len(w) <= i)
    return ok[len(text)]


def _similarity(a: str, b: str) -> float:
    from rapidfuzz.distance import OSA

    return float(OSA.normalized_similarity(a, b))


def to_score(similarity: float) -> int:
    """0.845 -> 85: the similarity in percent, rounded half up."""
    return int(similarity * 100 + 0.5)


def score_normalised(
    c: Normalised,
    p: Normalised,
    protected: ProtectedName,
    *,
    platform: Platform | None = None,
    extra_affixes: tuple[str, ...] = (),
) -> Match | None:
    """Score an already-normalised pair; None when there is nothing to compare (empty key).

    A candidate shown right to left is scored as shown and in stored order, and one with a pair
    fold (`rn`, `cl`, `vv`) or `nn` also as read with other pair folds; the best reading counts.
    """
    best = _score_one(c, p, protected, platform=platform, extra_affixes=extra_affixes)
    for theirs in (p, *p.readings):
        for reading in (c, c.logical, *c.readings):
            if reading is None or (reading is c and theirs is p):
                continue
            other = _score_one(reading, theirs, protected, platform=platform, extra_affixes=extra_affixes)
            if other is not None and (best is None or other.score > best.score):
                best = other
    return best


def _score_one(
    c: Normalised,
    p: Normalised,
    protected: ProtectedName,
    *,
    platform: Platform | None,
    extra_affixes: tuple[str, ...],
) -> Match | None:
    if not c.key or not p.key:
        return None
    reasons: list[str] = list(c.events)
    if c.key == p.key:
        tier, score = Tier.SAME_KEY, SCORE_SAME_KEY
        reasons += _substitutions(c, 0, p, 0, len(c.key))
        reasons += _separator_reasons(c, p) + _instance_reasons(c, p)
        if not reasons:
            reasons.append(f"same name as {protected.describe()}")
    elif c.core and c.core == p.core:
        tier, score = Tier.SAME_CORE, SCORE_SAME_CORE
        reasons += _affix_reasons(c, p, extra_affixes)
        reasons += _substitutions(c, c.core_start, p, p.core_start, len(c.core))
        reasons += _separator_reasons(c, p)
    else:
        at = c.key.find(p.key) if len(p.key) >= MIN_CONTAINED_KEY else -1
        # A short key counts as contained only between word boundaries or affixes: a district
        # code folded by leet rules is otherwise found inside ordinary words.
        # Likewise a protected name that starts or ends with a short word (`HISDSuperintendent`,
        # `d203board`) is not contained where that word is glued to other letters
        # (`WestmarcHISDSuperintendent`): the similar tier still finds a one-letter addition.
        first, last = _edge_words(p.name) if len(p.key) > SHORT_KEY else (SHORT_KEY, SHORT_KEY)
        need_before, need_after = 0 < first <= SHORT_WORD, 0 < last <= SHORT_WORD
        if len(p.key) <= SHORT_KEY:
            need_before = need_after = True
        while at >= 0 and not (
            (not need_before or _boundary_before(c, at, extra_affixes))
            and (not need_after or _boundary_after(c, at + len(p.key), extra_affixes))
        ):
            at = c.key.find(p.key, at + 1)
        osa = tsort = 0.0
        short_edit: str | None = None
        if at >= 0:
            tier, score = Tier.CONTAINS, SCORE_CONTAINS
            added = [t for t in (c.text_of(0, at), c.text_of(at + len(p.key), len(c.key))) if t]
            reasons.append(f"contains {p.name} with {' and '.join(added)} added")
            reasons += _substitutions(c, at, p, 0, len(p.key))
        else:
            tier = Tier.SIMILAR
            osa = _similarity(c.core, p.core) if c.core and p.core else 0.0
            # Token-sort only where word order can differ; otherwise OSA already says it all.
            reorder = (c.reordered or p.reordered) and bool(c.tokens and p.tokens)
            tsort = _similarity(c.tokens, p.tokens) if reorder else 0.0
            # A reordering can reach 100 but must not outrank an exact copy of the name.
            score = min(to_score(max(osa, tsort)), SCORE_SAME_CORE)
            if tsort > osa and c.tokens == p.tokens:
                reasons.append(f"same words as {p.name} in a different order")
            elif tsort > osa:
                reasons.append(f"similar words to {p.name} (token-sort similarity {tsort:.2f})")
            else:
                reasons.append(f"similar to {p.name} (OSA similarity {osa:.2f})")
                short_edit = _short_edit(c, p) if score < SCORE_SHORT_EDIT else None
                if score >= MIXED_SCRIPT_MIN or short_edit:
                    reasons += _edit_reasons(c, p)
                other = None
                if score > CAP_OTHER_ORGANISATION:
                    other = _other_organisation(c, p) or _replaced_word(c, p, extra_affixes)
                if other is not None:
                    score = CAP_OTHER_ORGANISATION
                    reasons.append(
                        f"another name, not a look-alike ({other[0]} in place of {other[1]}):"
                        f" capped at {CAP_OTHER_ORGANISATION}"
                    )
        # Number guard (lookalikes.md): a different number is usually a different, real district.
        # "Different" is judged where the names differ, so a leet letter next to the number
        # (`napervill3203`) does not count as a new number but `naperville204` does.
        if p.numbers:
            if tier is Tier.CONTAINS:
                differs = _extends_number(c, at, p)
            elif tsort > osa:
                differs = bool(c.numbers) and not set(p.numbers) <= set(c.numbers)
            else:
                # the same numbers, read before folding, are not a different number whatever
                # the edit touched (a doubled `e` next to a leet `3` once said "3, not 3")
                differs = bool(c.numbers) and c.numbers != p.numbers and _edits_touch_digits(c, p)
            if differs or c.numbers != p.numbers:
                short_edit = None  # a short name with another number (`d204`) is another district
            if differs and score > CAP_DIFFERENT_NUMBER:
                score = CAP_DIFFERENT_NUMBER
                shown = ", ".join(c.numbers)
                reasons.append(
                    f"different number ({shown}, not {', '.join(p.numbers)}): capped at {CAP_DIFFERENT_NUMBER}"
                )
            elif tier is Tier.SIMILAR and not c.numbers and score > CAP_MISSING_NUMBER:
                score = CAP_MISSING_NUMBER
                reasons.append(
                    f"no number where {p.name} has {', '.join(p.numbers)}: capped at {CAP_MISSING_NUMBER}"
                )
        if short_edit and score < SCORE_SHORT_EDIT:
            score = SCORE_SHORT_EDIT
            reasons.append(
                f"one edit of the short name {p.name} ({short_edit}): raised to {SCORE_SHORT_EDIT}"
            )
    if c.mixed_script and MIXED_SCRIPT_MIN <= score < SCORE_MIXED_SCRIPT:
        score = SCORE_MIXED_SCRIPT
        others = sorted(s for s in c.scripts if s != "Latin")
        reasons.append(f"mixed scripts (Latin with {' and '.join(others)}): raised to {SCORE_MIXED_SCRIPT}")
    return Match(
        candidate=c.handle,
        protected=protected,
        score=score,
        tier=tier,
        reasons=tuple(dict.fromkeys(reasons)),
        platform=platform,
    )


def is_same_account(candidate: str, platform: Platform | None, protected: ProtectedName) -> bool:
    """The candidate *is* the inventory account (same platform, same platform-normalised handle).

    A candidate without a platform (e.g. from a staff-reported list) matches an inventory handle on
    any platform: the same text as an official handle is not evidence of impersonation.
    """
    if protected.kind is not ProtectedKind.HANDLE:
        return False
    if platform is not None and protected.platform is not None and platform is not protected.platform:
        return False
    plat = platform or protected.platform
    return canonical_handle(candidate, plat) == canonical_handle(protected.name, plat)


def score_pair(
    candidate: str,
    protected: ProtectedName,
    *,
    platform: Platform | None = None,
    extra_affixes: Iterable[str] = (),
) -> Match | None:
    """Score `candidate` against one protected name; None if it *is* that account or is empty."""
    if is_same_account(candidate, platform, protected):
        return None
    extra = tuple(extra_affixes)
    c = normalise(candidate, platform, extra)
    p = normalise(protected.name, protected.platform, extra)
    return score_normalised(c, p, protected, platform=platform, extra_affixes=extra)
