"""Generated labelled set for the tier fixes of issue 14 (fixed seed, no hand-picked cases).

Categories of lookalikes, each made by a rule applied to every protected name it fits:

- `short`: one look-alike edit (letter doubled, omitted, swapped with its neighbour, replaced by a
  keyboard-adjacent or look-alike letter) of a protected name of 6 characters or fewer;
- `rtl`: the handle reversed behind a right-to-left override (U+202E) or isolate (U+2067), whole or
  from a position on, so that it is *shown* as the handle;
- `joint`: a default affix whose last letter and the name's first (or the name's last and the
  affix's first) form a folded pair (`tv`+`v...` = `vv`, `...c`+`its` = `cl` after `i`->`l`);
- `digits`: the digits written in another script (Arabic-Indic, Devanagari, fullwidth,
  mathematical, outlined);
- `new_confusables`: one character replaced by a confusable added to Unicode after 13.0 (one
  Python 3.11's own Unicode database does not know), from the shipped confusables data.

Negatives: common English words and pairs of them, other districts' handles (district.neighbours),
and words with a protected short key inside them (`...nnhs...`).
"""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

import auditor.engine.impersonation as imp
from auditor.engine.impersonation import ProtectedName
from auditor.engine.impersonation.normalise import DEFAULT_AFFIXES
from auditor.model.types import Platform
from tests.auditor.impersonation import district

SEED = 14
IG = Platform.INSTAGRAM
# Short inventory handles (the district itself has only d203) and names whose letters meet an
# affix in a folded pair (the district has none).
SHORT_EXTRA = ("NNHS", "NCHS", "KJHS", "MJHS", "Beebe", "LJHS203")
JOINT_EXTRA = ("VernonHills128", "ValleyViewES", "VictorJHS", "HarborStar", "LakeCenter", "CentralPAC")

_KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_LOOKALIKE = {
    "m": "n",
    "n": "mh",
    "h": "n",
    "u": "v",
    "v": "u",
    "c": "e",
    "e": "c",
    "o": "c",
    "b": "d",
    "d": "b",
}
_DIGIT_BASES = {
    "Arabic-Indic": 0x0660, "Extended Arabic-Indic": 0x06F0, "Devanagari": 0x0966, "Bengali": 0x09E6,
    "fullwidth": 0xFF10, "double-struck": 0x1D7D8, "bold": 0x1D7CE, "monospace": 0x1D7F6,
    "outlined": 0x1CCF0,
}  # fmt: skip

WORDS = [
    "about",
    "above",
    "across",
    "after",
    "again",
    "against",
    "almost",
    "along",
    "also",
    "always",
    "among",
    "animal",
    "answer",
    "around",
    "away",
    "back",
    "basket",
    "beach",
    "bench",
    "better",
    "bird",
    "black",
    "board",
    "body",
    "book",
    "bottle",
    "bread",
    "bridge",
    "bring",
    "brother",
    "brown",
    "build",
    "business",
    "butter",
    "cake",
    "camera",
    "candle",
    "carry",
    "castle",
    "center",
    "chair",
    "change",
    "cheese",
    "chicken",
    "child",
    "church",
    "circle",
    "city",
    "class",
    "clean",
    "clear",
    "clock",
    "cloud",
    "coffee",
    "color",
    "common",
    "corner",
    "country",
    "cover",
    "dance",
    "danger",
    "daughter",
    "decide",
    "desert",
    "dinner",
    "doctor",
    "dollar",
    "door",
    "dream",
    "drink",
    "early",
    "earth",
    "eight",
    "engine",
    "enough",
    "evening",
    "every",
    "family",
    "farmer",
    "father",
    "feather",
    "field",
    "figure",
    "finger",
    "flower",
    "follow",
    "forest",
    "friend",
    "front",
    "garden",
    "glass",
    "golden",
    "grass",
    "green",
    "ground",
    "group",
    "happy",
    "harbor",
    "heart",
    "heavy",
    "hello",
    "history",
    "horse",
    "house",
    "hunter",
    "island",
    "jacket",
    "kitchen",
    "ladder",
    "language",
    "large",
    "laugh",
    "leader",
    "letter",
    "library",
    "light",
    "listen",
    "little",
    "market",
    "member",
    "middle",
    "minute",
    "mirror",
    "money",
    "monkey",
    "morning",
    "mother",
    "mountain",
    "music",
    "nature",
    "never",
    "night",
    "north",
    "number",
    "ocean",
    "office",
    "orange",
    "paper",
    "parent",
    "party",
    "pencil",
    "people",
    "picture",
    "planet",
    "plant",
    "pocket",
    "potato",
    "power",
    "pretty",
    "problem",
    "public",
    "purple",
    "question",
    "quick",
    "rabbit",
    "rain",
    "reason",
    "record",
    "river",
    "rocket",
    "round",
    "runner",
    "school",
    "season",
    "second",
    "shadow",
    "shirt",
    "silver",
    "simple",
    "sister",
    "small",
    "smile",
    "snake",
    "soccer",
    "soft",
    "south",
    "spring",
    "square",
    "station",
    "stone",
    "story",
    "street",
    "strong",
    "student",
    "summer",
    "sunny",
    "table",
    "teacher",
    "thunder",
    "ticket",
    "tiger",
    "today",
    "tomato",
    "travel",
    "tree",
    "under",
    "valley",
    "vernon",
    "village",
    "violin",
    "visit",
    "voice",
    "wagon",
    "water",
    "weather",
    "window",
    "winter",
    "wonder",
    "world",
    "yellow",
]  # common English words (no district terms)


def protected() -> list[ProtectedName]:
    return district.protected() + [ProtectedName(h, platform=IG) for h in (*SHORT_EXTRA, *JOINT_EXTRA)]


def _neighbours_on_keyboard(ch: str) -> str:
    out = ""
    for r, row in enumerate(_KEYBOARD):
        i = row.find(ch)
        if i >= 0:
            out += row[max(i - 1, 0) : i] + row[i + 1 : i + 2]
            for other in (r - 1, r + 1):
                if 0 <= other < len(_KEYBOARD):
                    out += _KEYBOARD[other][max(i - 1, 0) : i + 2]
    return out


def short_edits(rng: random.Random) -> list[tuple[str, str]]:
    names = [n for n in (h for _, h in district.INVENTORY) if len(n) <= 6] + list(SHORT_EXTRA)
    out: list[tuple[str, str]] = []
    for name in (n for n in names if len(n) <= 6):
        low = name.lower()
        edits: set[str] = set()
        for i, ch in enumerate(low):
            if not ch.isalpha():
                continue
            edits.add(low[:i] + ch + low[i:])  # doubled
            if len(low) >= 5:
                edits.add(low[:i] + low[i + 1 :])  # omitted
            if i + 1 < len(low) and low[i + 1].isalpha() and low[i + 1] != ch:
                edits.add(low[:i] + low[i + 1] + ch + low[i + 2 :])  # swapped
            for rep in _neighbours_on_keyboard(ch) + _LOOKALIKE.get(ch, ""):
                edits.add(low[:i] + rep + low[i + 1 :])
        edits -= {n.lower() for n in names}  # an edit that is another protected name is that name
        out += [(e, name) for e in sorted(edits)]
    rng.shuffle(out)
    return out


def rtl(rng: random.Random) -> list[tuple[str, str]]:
    out = []
    for _, h in district.INVENTORY:
        k = rng.randrange(1, len(h))
        out += [
            ("\u202e" + h[::-1], h),
            ("\u2067" + h[::-1] + "\u2069", h),
            (h[:k] + "\u202e" + h[k:][::-1] + "\u202c", h),
        ]
    return out


def joints() -> list[tuple[str, str]]:
    out = []
    for name in JOINT_EXTRA:
        low = name.lower()
        for affix in DEFAULT_AFFIXES:
            if affix[-1] in "crv" and low[0] in "nvil1":
                out.append((affix + name, name))
            if low[-1] in "crv" and affix[0] in "nvil":
                out.append((name + affix, name))
                out.append((name + affix.capitalize(), name))
    return out


def other_digits() -> list[tuple[str, str]]:
    out = []
    for _, h in district.INVENTORY:
        if any(ch.isdigit() for ch in h):
            for base in _DIGIT_BASES.values():
                out.append(("".join(chr(base + int(c)) if c.isdigit() else c for c in h), h))
    return out


def new_confusables(rng: random.Random) -> list[tuple[str, str]]:
    data = json.loads((Path(imp.__file__).parent / "confusables.json").read_text(encoding="utf-8"))
    new: dict[str, list[str]] = {}
    for ch, target in data["map"].items():
        if len(target) == 1 and unicodedata.name(ch, "") == "":  # unknown to Unicode 14 (Python 3.11)
            new.setdefault(target, []).append(ch)
    out = []
    for _, h in district.INVENTORY:
        spots = [i for i, c in enumerate(h) if c.lower() in new]
        for i in rng.sample(spots, min(4, len(spots))):
            out.append((h[:i] + rng.choice(new[h[i].lower()]) + h[i + 1 :], h))
    return out


def lookalikes() -> dict[str, list[tuple[str, str]]]:
    rng = random.Random(SEED)
    sets = {
        "short": short_edits(rng),
        "rtl": rtl(rng),
        "joint": joints(),
        "digits": other_digits(),
        "new_confusables": new_confusables(rng),
    }
    return {k: list(dict.fromkeys(v)) for k, v in sets.items()}


def negatives() -> dict[str, list[str]]:
    rng = random.Random(SEED + 1)
    pairs = {rng.choice(WORDS) + rng.choice(("", "_")) + rng.choice(WORDS) for _ in range(2000)}
    keys = [n.lower() for n in SHORT_EXTRA if len(n) <= 4] + ["d203"]
    inside = {rng.choice(WORDS) + rng.choice(keys) + rng.choice(WORDS) for _ in range(1000)}
    return {
        "words": sorted(set(WORDS) | pairs),
        "other_districts": district.neighbours(),
        "short_key_inside": sorted(inside),
    }
