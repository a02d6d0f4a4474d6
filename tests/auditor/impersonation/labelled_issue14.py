"""The issue 14 labelled set: 24 fictional districts, 25 kinds of lookalike, 14 kinds of negative.

Everything is generated from a fixed seed by rules applied to every name a rule fits; no case is
hand-picked. Each district is a real `Policy` (names, aliases, buildings, protected roles with
their holders, allowlisted partner organisations, domains) with inventory accounts on seven
platforms, and is scored as the nightly audit scores it (`detector_for`, the construction
auditor/services/audit.py uses), at the flag threshold and without profile evidence.

Lookalike categories (`positives()`):

- `confusable`: one to three letters replaced by a confusable from the shipped Unicode 17 data
  (Cyrillic, Greek, Armenian, Latin variants...); `new_confusables`: one character added to
  confusables.txt after Unicode 13 (unknown to Python 3.11's own database);
- dnstwist's fuzzers, on letters only (a changed digit is another district's number):
  `fuzz_addition` (a letter appended), `fuzz_omission`, `fuzz_repetition`, `fuzz_transposition`,
  `fuzz_keyboard` (a letter replaced by a keyboard neighbour), `fuzz_bitsquat` (one bit of a
  letter flipped, kept when the result is still a letter), `fuzz_homoglyph` (dnstwist's ASCII
  table: 0 o, 1 l i, rn m, vv w, cl d...), `fuzz_hyphenation` (a separator the platform allows,
  between two letters), `fuzz_vowel_swap`; applied to handles of 7 characters or more;
- `foreign_affix`: other-language affixes (oficial, officiel, offiziell, ufficiale, el, la, der...);
- role squats: `role_superintendent` (superintendent, supt, ...), `role_board` (board, BOE,
  BoardOfEd, board of education, school board, trustees), `role_principal` (principal with a
  building's name, alias or acronym, either order), `role_official` (Dr + surname or the full name
  with a role or the district's name); with affixes, separators and CamelCase;
- platform tricks: `platform_bluesky` (the district's handle on bsky.social or another TLD when
  the district's own is its domain), `platform_mastodon` (the handle on another instance),
  `platform_facebook` (dotted forms of the district's names, with an affix, on Facebook);
- `short` (one look-alike edit of a handle of 4-6 characters), `rtl` (reversed text behind a
  right-to-left override or isolate), `joint` (an affix whose letter and the name's form a folded
  pair: `tv`+`v...`, `der`+`n...`), `other_digits` (digits of other scripts),
  `display_name_only` (a random handle whose display name copies the district's or a school's
  name or claims a role), `district_name` (bare district-name squats: the name or alias plus an
  affix).

Negatives (`negatives()`): `real_districts` (real US district names from
tests/data/us_school_districts.txt, written as handles and display names, scored against every
district), `common_words`, `people` (random people's names), `namesakes` (the superintendent's
and board president's names without a role or district term), `neighbours` (neighbouring
districts: the same town with another number, or another town, with their role accounts),
`allowlisted` (the district's partner organisations: PTA council, boosters, foundation, building
PTOs, on every platform), `police_fire`, `libraries`, `booster_clubs` and `ptos` (town and club
accounts that are not allowlisted and do not use the district's name), `own_domain` (Bluesky
handles under the district's domain) and `facebook_same_page` (the district's own Facebook page
written with periods, which Facebook ignores).
"""

from __future__ import annotations

import functools
import json
import random
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import auditor.engine.impersonation as imp
from auditor.engine.impersonation import Detector
from auditor.engine.impersonation.roles import acronym, role_model
from auditor.engine.policy.model import AllowlistEntry, Building, Policy, ProtectedRole
from auditor.engine.snapshot import protected_names
from auditor.model.types import Account, Platform, Purpose
from tests.auditor.impersonation.labelled_roles import BOARD, PRINCIPAL, SUPT
from tests.auditor.impersonation.labelled_set import _KEYBOARD as KEYBOARD
from tests.auditor.impersonation.labelled_set import _LOOKALIKE as LOOKALIKE

SEED = 1414_2026
THRESHOLD = 85
X, IG, FB, YT, TT, BS, MA = (
    Platform.X,
    Platform.INSTAGRAM,
    Platform.FACEBOOK,
    Platform.YOUTUBE,
    Platform.TIKTOK,
    Platform.BLUESKY,
    Platform.MASTODON,
)
PLATFORMS = (X, IG, FB, YT, TT, BS, MA)
DATA = Path(__file__).resolve().parents[2] / "data"

# Invented town names (none is a real district's in tests/data/us_school_districts.txt; tested).
TOWNS = (
    "Stonebridge", "Harlow Valley", "Marrowick", "Nettlecombe", "Ashcombe", "Brackenmoor", "Dunmere",
    "Varrowby", "Fenwyck", "Gallowmere", "Hestonbury", "Ivelmont", "Jessamine Ridge", "Kettlebrook",
    "Larkhollow", "Merriwether Falls", "Northwold", "Oxenholme", "Pellingham", "Ravensworth Hills",
    "Saltmarsh Creek", "Thistledown", "Vexmoor", "Nantwick",
)  # fmt: skip
OTHER_TOWNS = (
    "Brindlewood", "Coldharbour", "Eastwick Vale", "Foxmere", "Greywater", "Holloway Springs",
    "Kingsmarsh", "Lowater", "Millbourne", "Ormsby Hills", "Pinecastle", "Redfern", "Sablewood",
    "Tillingham", "Underhill", "Westmarch",
)  # fmt: skip
FORMS = ("isd", "cusd", "usd", "sd", "ps")
FIRST = (
    "maria", "james", "thomas", "elena", "raymond", "priya", "gordon", "sarah", "daniel", "aisha",
    "kevin", "laura", "miguel", "hannah", "victor", "grace", "omar", "julia", "peter", "nadia",
    "carlos", "emily", "samuel", "rosa", "derek", "linda", "tariq", "megan", "brian", "yuki",
)  # fmt: skip
LAST = (
    "delgado", "whitfield", "okafor", "brandt", "raman", "leeds", "morrison", "castillo", "nguyen",
    "fischer", "harper", "kowalski", "bennett", "sullivan", "patel", "reyes", "lindqvist", "abbott",
    "mcallister", "ferreira", "hollis", "tanaka", "oduya", "greer", "vance", "ortega", "kimura",
    "whitaker", "baptiste", "novak",
)  # fmt: skip
SCHOOL_NAMES = (
    "Birchwood", "Oakmont", "Quarry Ridge", "Kestrel", "Wren Park", "Ashby", "Meadowlark", "Juniper",
    "Cobble Hill", "Fernbrook", "Hawthorne", "Linden Grove", "Maple Hollow", "Pinecrest", "Sparrow",
    "Willowmere", "Bluebell", "Copperfield", "Harrow Lane", "Iris Glen",
)  # fmt: skip
MASCOTS = ("Panthers", "Falcons", "Wolves", "Hawks", "Bears", "Otters", "Comets", "Rams")
WORDS = (
    "photography", "studio", "art", "design", "music", "coffee", "bakery", "fitness", "travel",
    "books", "garden", "realty", "law", "dental", "films", "yoga", "golf", "runner", "cooks",
    "family", "life", "skateboard", "superb", "principality", "boardgames", "surfboard", "supper",
    "aboard", "dashboard", "river", "forest", "mountain", "ocean", "kitchen", "market", "village",
    "harbor", "meadow", "thunder", "silver", "golden", "garage", "pizza", "tacos", "vintage",
    "crafts", "pottery", "salon", "barber", "church", "choir", "theatre", "comics", "gaming",
    "hiking", "cycling", "sailing", "fishing", "hunting", "farm", "ranch", "orchard", "winery",
    "brewing", "auto", "plumbing", "roofing", "electric", "tutoring", "daycare", "dance", "karate",
)  # fmt: skip
BUSINESS = ("LLC", "Co", "Studio", "Shop", "Group", "Inc", "Works", "Collective")
AFFIXES = ("the", "real", "official", "its", "hq", "news", "team", "iam", "updates", "info", "admin")
FOREIGN_AFFIXES = (
    ("oficial", False), ("oficial", True), ("officiel", False), ("officiel", True),
    ("offiziell", False), ("ufficiale", False), ("ufficiale", True), ("oficjalny", False),
    ("officieel", False), ("officiell", False), ("verdadero", True), ("vrai", True), ("echt", True),
    ("el", True), ("la", True), ("le", True), ("il", True), ("los", True), ("las", True),
    ("der", True), ("die", True), ("das", True), ("real", True), ("resmi", False),
)  # (affix, is a prefix)  # fmt: skip
# dnstwist's ASCII homoglyphs (dnstwist.py `homoglyph`), the pairs that stay valid in handles
HOMOGLYPHS = {
    "a": ("4",), "b": ("lb", "ib", "6"), "d": ("cl",), "e": ("3",), "g": ("q", "9"), "i": ("1", "l"),
    "l": ("1", "i"), "m": ("rn", "nn"), "o": ("0",), "q": ("g",), "s": ("5",), "t": ("7",),
    "u": ("v",), "v": ("u",), "w": ("vv",), "z": ("2",),
}  # fmt: skip
DIGIT_BASES = (0x0660, 0x06F0, 0x0966, 0x09E6, 0xFF10, 0x1D7D8, 0x1D7CE, 0x1D7F6, 0x1CCF0)
SEPARATORS = {X: "_", IG: "_.", FB: ".", YT: "_-.", TT: "_.", BS: "-", MA: "_"}


@dataclass(frozen=True)
class District:
    """A fictional district: its policy, inventory, and what the negatives need to know of it."""

    town: str
    form: str
    number: str
    policy: Policy
    accounts: tuple[Account, ...]
    short: str  # the inventory handle of 4-6 characters
    superintendent: str
    board_president: str
    neighbours: tuple[tuple[str, tuple[str, ...]], ...]  # (name, handles)
    partners: tuple[tuple[str, tuple[str, ...]], ...]  # allowlisted (organisation, handles)
    domain: str

    @property
    def compact(self) -> str:
        return "".join(w[:1].upper() + w[1:] for w in self.town.split())

    @property
    def alias(self) -> str:
        return self.policy.aliases[0]

    def handles(self, platform: Platform | None = None) -> list[str]:
        return [a.handle for a in self.accounts if platform is None or a.platform is platform]


def _camel(text: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in re.findall(r"[A-Za-z0-9]+", text))


def _district(k: int, rng: random.Random) -> District:
    town = TOWNS[k]
    form = FORMS[k % len(FORMS)]
    compact = "".join(w[:1].upper() + w[1:] for w in town.split())
    low = compact.lower()
    initials = "".join(w[0] for w in town.split()).upper()
    number = "" if form in ("isd", "ps") else str(rng.choice((rng.randint(2, 99), rng.randint(100, 599))))
    if form == "isd":
        name, aliases = f"{town} Independent School District", (f"{town} ISD", f"{initials}ISD")
        main, short = f"{compact}ISD", f"{initials}ISD"
    elif form == "cusd":
        name = f"{town} Community Unit School District {number}"
        aliases = (f"{town} {number}", f"{town} CUSD {number}", f"District {number}")
        main, short = f"{compact}{number}", f"d{number}"
    elif form == "usd":
        name, aliases = f"{town} Unified School District {number}", (f"{town} USD {number}", f"USD {number}")
        main, short = f"{compact}USD{number}", f"usd{number}"
    elif form == "sd":
        name, aliases = f"{town} School District {number}", (f"{town} SD {number}", f"SD {number}")
        main, short = f"{compact}SD{number}", f"sd{number}"
    else:
        name, aliases = f"{town} Public Schools", (f"{town} Schools", f"{initials}PS")
        main, short = f"{compact}Schools", f"{low[:4]}ps"
    domain = f"{main.lower()}.org"
    schools = rng.sample(SCHOOL_NAMES, 2)
    hs = f"{town} High School"
    buildings = (
        Building("hs", hs, aliases=(f"{town} High",)),
        Building("es", f"{schools[0]} Elementary"),
        Building("ms", f"{schools[1]} Middle School"),
    )
    supt = f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"
    board = f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"
    roles = (
        ProtectedRole("supt", "Superintendent", people=(supt,)),
        ProtectedRole("board", "Board of Education", people=(board,)),
    )
    mascot = rng.choice(MASCOTS)
    es, ms = _camel(buildings[1].name), _camel(buildings[2].name)
    inv: list[tuple[Platform, str, Purpose]] = [
        (X, main, Purpose.DISTRICT),
        (X, short, Purpose.DISTRICT),
        (IG, main.lower(), Purpose.DISTRICT),
        (FB, main, Purpose.DISTRICT),
        (YT, main, Purpose.DISTRICT),
        (TT, f"{low}_{form}{number}" if form != "ps" else f"{low}_schools", Purpose.DISTRICT),
        (BS, domain, Purpose.DISTRICT),
        (MA, f"@{main.lower()}@k12.social", Purpose.DISTRICT),
        (IG, f"{compact}High{mascot}", Purpose.ATHLETICS),
        (X, f"{compact}High", Purpose.SCHOOL),
        (IG, es, Purpose.SCHOOL),
        (FB, ms, Purpose.SCHOOL),
    ]
    accounts = tuple(
        Account(id=f"{k}-{i}", platform=p, handle=h, purpose=purpose, building="")
        for i, (p, h, purpose) in enumerate(inv)
    )
    # neighbours: the same town with another number (numbered forms), and other towns
    near: list[tuple[str, tuple[str, ...]]] = []
    if number:
        other = str(int(number) + rng.choice((1, 2, 3, 5, 10, 100)))
        near.append(
            (
                name.replace(number, other),
                (
                    main.replace(number, other),
                    short.replace(number, other),
                    f"{main.replace(number, other)}Supt",
                ),
            )
        )
    for t in rng.sample(OTHER_TOWNS, 2):
        c = _camel(t)
        n2 = str(rng.randint(2, 599)) if number else ""
        suffix = {"isd": "ISD", "cusd": n2, "usd": f"USD{n2}", "sd": f"SD{n2}", "ps": "Schools"}[form]
        near.append(
            (
                f"{t} {suffix}".strip(),
                (f"{c}{suffix}", f"{c}{suffix}_Superintendent", f"{c}{suffix}BOE", f"{c}High"),
            )
        )
    alias_c = _camel(aliases[0])
    partners = (
        (f"{aliases[0]} PTA Council", (f"{alias_c}PTA", f"{alias_c.lower()}_pta", f"{main}PTACouncil")),
        (f"{aliases[0]} Athletic Boosters", (f"{main}Boosters", f"{alias_c}AthleticBoosters")),
        (f"{aliases[0]} Education Foundation", (f"{main}Foundation", f"{alias_c.lower()}_foundation")),
        (f"{hs} {mascot} Booster Club", (f"{compact}High{mascot}Boosters", f"{compact}HighBandBoosters")),
        (f"{buildings[1].name} PTO", (f"{es}PTO", f"{es.lower()}_pto")),
    )
    allow = tuple(
        AllowlistEntry(PLATFORMS[(i + j) % 3], h, reason="partner organisation", organisation=org)
        for i, (org, hs_) in enumerate(partners)
        for j, h in enumerate(hs_)
    )
    policy = Policy(
        id=f"d{k}",
        name=name,
        aliases=aliases,
        email_domains=(domain,),
        website_domains=(domain,),
        buildings=buildings,
        protected_roles=roles,
        allowlist=allow,
        impersonation_threshold=THRESHOLD,
    )
    return District(town, form, number, policy, accounts, short, supt, board, tuple(near), partners, domain)


@functools.cache
def districts() -> tuple[District, ...]:
    rng = random.Random(SEED)
    return tuple(_district(k, rng) for k in range(len(TOWNS)))


def detector_for(d: District) -> Detector:
    """The detector as the nightly audit builds it (auditor/services/audit.py `_discover`)."""
    return Detector(
        protected_names(d.policy, list(d.accounts)),
        allowlist=[f"{e.platform.value}:{e.handle}" for e in d.policy.allowlist],
        threshold=THRESHOLD,
        own_domains=(*d.policy.website_domains, *d.policy.email_domains),
        roles=role_model(d.policy),
    )


# An item: (district index, platform, handle, display name, category).
Item = tuple[int, Platform, str, str, str]


def _join(rng: random.Random, parts: list[str], platform: Platform = X) -> str:
    """Join words as handles do: run together, with a separator the platform allows, or CamelCase."""
    words = [w for p in parts for w in p.split() if w]
    style = rng.choice(("plain", "sep", "camel", "camel"))
    if style == "camel":
        return "".join(w[:1].upper() + w[1:] for w in words)
    if style == "sep":
        sep = rng.choice(SEPARATORS[platform])
        return sep.join(w.lower() for w in words)
    return "".join(w.lower() for w in words)


def _affixed(rng: random.Random, parts: list[str]) -> list[str]:
    pre = rng.choice(("", "", "", *AFFIXES))
    post = rng.choice(("", "", "", *AFFIXES))
    return [p for p in (pre, *parts, post) if p]


def _keyboard(ch: str) -> str:
    out = ""
    for r, row in enumerate(KEYBOARD):
        i = row.find(ch)
        if i >= 0:
            out += row[max(i - 1, 0) : i] + row[i + 1 : i + 2]
            for other in (r - 1, r + 1):
                if 0 <= other < len(KEYBOARD):
                    out += KEYBOARD[other][max(i - 1, 0) : i + 2]
    return out


def _handle_platforms(d: District) -> list[tuple[Platform, str]]:
    """Inventory handles that are plain names (not Bluesky domains or Mastodon addresses)."""
    return [(a.platform, a.handle) for a in d.accounts if a.platform not in (BS, MA)]


def _letters(h: str) -> list[int]:
    return [i for i, c in enumerate(h) if c.isalpha()]


def _fuzz(h: str, kind: str, rng: random.Random) -> list[str]:
    """dnstwist-style fuzzers on the letters of `h` (digits stay: another number is another district)."""
    low = h.lower()
    at = _letters(low)
    out: set[str] = set()
    if kind == "addition":
        out = {low + c for c in "abcdefghijklmnopqrstuvwxyz"}
    elif kind == "omission":
        out = {low[:i] + low[i + 1 :] for i in at}
    elif kind == "repetition":
        out = {low[:i] + low[i] + low[i:] for i in at}
    elif kind == "transposition":
        out = {
            low[:i] + low[i + 1] + low[i] + low[i + 2 :] for i in at if i + 1 in at and low[i] != low[i + 1]
        }
    elif kind == "keyboard":
        out = {low[:i] + r + low[i + 1 :] for i in at for r in _keyboard(low[i])}
    elif kind == "bitsquat":
        for i in at:
            for bit in range(8):
                c = chr(ord(low[i]) ^ (1 << bit))
                if "a" <= c <= "z":
                    out.add(low[:i] + c + low[i + 1 :])
    elif kind == "homoglyph":
        out = {low[:i] + g + low[i + 1 :] for i in at for g in HOMOGLYPHS.get(low[i], ())}
    elif kind == "hyphenation":
        out = {low[:i] + "-" + low[i:] for i in at if i and i - 1 in at}
    elif kind == "vowel_swap":
        out = {low[:i] + v + low[i + 1 :] for i in at if low[i] in "aeiou" for v in "aeiou" if v != low[i]}
    out.discard(low)
    return sorted(out)


def _confusables() -> dict[str, list[str]]:
    data = json.loads((Path(imp.__file__).parent / "confusables.json").read_text(encoding="utf-8"))
    by: dict[str, list[str]] = {}
    for ch, target in data["map"].items():
        if len(target) == 1 and target.isascii() and target.isalpha() and len(ch) == 1:
            by.setdefault(target, []).append(ch)
    return by


def positives(per_category: int = 210) -> list[Item]:
    """At least `per_category` lookalikes in each category (see module doc), shuffled by seed."""
    rng = random.Random(SEED + 1)
    ds = districts()
    conf = _confusables()
    new_conf = {t: [c for c in cs if unicodedata.name(c, "") == ""] for t, cs in conf.items()}
    new_conf = {t: cs for t, cs in new_conf.items() if cs}
    cats: dict[str, list[Item]] = {}

    def add(cat: str, k: int, platform: Platform, handle: str, shown: str = "") -> None:
        cats.setdefault(cat, []).append((k, platform, handle, shown, cat))

    for k, d in enumerate(ds):
        plain = _handle_platforms(d)
        long_ = [(p, h) for p, h in plain if len(h) >= 7]
        # confusables: 1-3 letters of a handle replaced from the shipped table
        for _ in range(12):
            p, h = rng.choice(plain)
            spots = [i for i, c in enumerate(h) if c.lower() in conf]
            chars = list(h)
            for i in rng.sample(spots, min(len(spots), rng.randint(1, 3))):
                chars[i] = rng.choice(conf[h[i].lower()])
            add("confusable", k, rng.choice(PLATFORMS[:5]), "".join(chars))
        for _ in range(12):
            p, h = rng.choice(plain)
            spots = [i for i, c in enumerate(h) if c.lower() in new_conf]
            if spots:
                i = rng.choice(spots)
                add("new_confusables", k, p, h[:i] + rng.choice(new_conf[h[i].lower()]) + h[i + 1 :])
        for kind in (
            "addition", "omission", "repetition", "transposition", "keyboard", "bitsquat",
            "homoglyph", "hyphenation", "vowel_swap",
        ):  # fmt: skip
            pool = [(p, f) for p, h in long_ for f in _fuzz(h, kind, rng)]
            for p, f in rng.sample(pool, min(len(pool), 12)):
                target = p if kind != "hyphenation" else YT  # YouTube allows '-' in handles
                add(f"fuzz_{kind}", k, target, f)
        for _ in range(12):
            p, h = rng.choice(plain)
            affix, prefix = rng.choice(FOREIGN_AFFIXES)
            sep = rng.choice(("", "", *SEPARATORS[p]))
            if rng.random() < 0.5:
                affix = affix.capitalize()
            add("foreign_affix", k, p, f"{affix}{sep}{h}" if prefix else f"{h}{sep}{affix}")
        terms = [d.alias, _camel(d.alias), d.policy.aliases[1], *(d.handles(X)[:1])]
        surname = d.superintendent.split()[-1]
        for _ in range(10):
            plat = rng.choice(PLATFORMS[:5])
            parts = [rng.choice(terms), rng.choice(SUPT)]
            rng.shuffle(parts)
            add("role_superintendent", k, plat, _join(rng, _affixed(rng, parts), plat))
            parts = [rng.choice(terms), rng.choice(BOARD)]
            rng.shuffle(parts)
            add("role_board", k, plat, _join(rng, _affixed(rng, parts), plat))
            b = rng.choice(d.policy.buildings)
            # the policy's names for the building; an acronym of 2 letters ("BE") names nothing
            names = [b.name, *b.aliases, *([acronym(b.name)] if len(acronym(b.name)) >= 3 else [])]
            parts = [rng.choice(names), rng.choice(PRINCIPAL)]
            rng.shuffle(parts)
            add("role_principal", k, plat, _join(rng, _affixed(rng, parts), plat))
            person = rng.choice((f"Dr {surname}", d.superintendent, f"Dr {d.superintendent}"))
            parts = [person, rng.choice((*SUPT, rng.choice(terms)))]
            rng.shuffle(parts)
            add("role_official", k, plat, _join(rng, _affixed(rng, parts), plat))
        main = d.handles(X)[0]
        low = main.lower()
        bluesky = [
            f"{low}.bsky.social", f"{low}-official.bsky.social", f"official-{low}.bsky.social",
            f"the{low}.bsky.social", f"{low}.net", f"{low}.com", f"{low}-news.bsky.social",
            f"{low}.us", f"real{low}.bsky.social", f"{d.short.lower()}.bsky.social",
        ]  # fmt: skip
        for h in bluesky:
            add("platform_bluesky", k, BS, h)
        for inst in ("mastodon.social", "schools.social", "mstdn.social", "techhub.social", "edu.social"):
            add("platform_mastodon", k, MA, f"@{low}@{inst}")
            add("platform_mastodon", k, MA, f"@{rng.choice((d.short.lower(), low + '_official'))}@{inst}")
        words = re.findall(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|\d+", main)
        for _ in range(10):
            dotted = ".".join(words)
            affix = rng.choice(AFFIXES)
            form = rng.choice((f"{affix}.{dotted}", f"{dotted}.{affix}", f"{dotted}{affix.title()}"))
            if rng.random() < 0.3:
                form = ".".join(re.findall(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|\d+", _camel(d.alias))) + "." + affix
            add("platform_facebook", k, FB, form)
        # short handles (4-6 characters; 3 are too few to tell an edit from another name)
        s = d.short.lower()
        edits: set[str] = set()
        for i, ch in enumerate(s if 4 <= len(s) <= 6 else ""):
            if not ch.isalpha():
                continue
            edits.add(s[:i] + ch + s[i:])
            if len(s) >= 5:
                edits.add(s[:i] + s[i + 1 :])
            if i + 1 < len(s) and s[i + 1].isalpha() and s[i + 1] != ch:
                edits.add(s[:i] + s[i + 1] + ch + s[i + 2 :])
            for rep in _keyboard(ch) + LOOKALIKE.get(ch, ""):
                edits.add(s[:i] + rep + s[i + 1 :])
        edits -= {h.lower() for h in d.handles()}
        for e in rng.sample(sorted(edits), min(len(edits), 12)):
            add("short", k, rng.choice(PLATFORMS[:5]), e)
        for p, h in rng.sample(plain, 4):
            cut = rng.randrange(1, len(h))
            add("rtl", k, p, "\u202e" + h[::-1])
            add("rtl", k, p, "\u2067" + h[::-1] + "\u2069")
            add("rtl", k, p, h[:cut] + "\u202e" + h[cut:][::-1] + "\u202c")
        if d.number:
            for p, h in plain:
                if any(c.isdigit() for c in h):
                    for base in rng.sample(DIGIT_BASES, 3):
                        add(
                            "other_digits", k, p, "".join(chr(base + int(c)) if c.isdigit() else c for c in h)
                        )
        names = [d.policy.name, d.alias, d.policy.buildings[0].name]
        for _ in range(10):
            name = rng.choice(names)
            shown = rng.choice(
                (
                    f"{name} - Official", name, f"Official {name}", f"{name} | Official Account",
                    f"The Real {name}", f"Superintendent {d.superintendent}",
                    f"{d.superintendent}, Superintendent of {d.alias}", f"{d.alias} Board of Education",
                    f"Dr. {surname} - {d.alias}", f"{name.upper()}", f"{name} (official)",
                )
            )  # fmt: skip
            handle = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(5, 9)))
            add("display_name_only", k, rng.choice(PLATFORMS[:5]), handle + str(rng.randint(0, 9999)), shown)
        for _ in range(10):
            term = rng.choice((_camel(d.policy.name), _camel(d.alias), d.alias, d.policy.name))
            affix = rng.choice(AFFIXES)
            plat = rng.choice(PLATFORMS[:5])
            parts = [affix, term] if rng.random() < 0.5 else [term, affix]
            add("district_name", k, plat, _join(rng, parts, plat))
    # folds at affix joints: every affix and inventory handle whose letters meet in a folded pair
    affixes = [*AFFIXES, "tv", "og", "fan", *(a for a, _ in FOREIGN_AFFIXES)]
    for k, d in enumerate(ds):
        for p, h in _handle_platforms(d):
            low = h.lower()
            for a in dict.fromkeys(affixes):
                for cand, pair in ((a + h, a[-1] + low[0]), (h + a, low[-1] + a[0])):
                    if pair.replace("i", "l").replace("1", "l") in ("rn", "vv", "cl"):
                        add("joint", k, p, cand)
                        add("joint", k, p, cand[:1].upper() + cand[1:])
                        sep = SEPARATORS[p][0]
                        add("joint", k, p, f"{a}{sep}{h}" if cand.startswith(a) else f"{h}{sep}{a}")
    out: list[Item] = []
    for _, items in sorted(cats.items()):
        items = list(dict.fromkeys(items))
        rng.shuffle(items)
        out += items
    return out


def _handle_forms(name: str, rng: random.Random) -> list[str]:
    """How a real district writes its name as a handle."""
    short = (
        name.replace("Independent School District", "ISD")
        .replace("Unified School District", "USD")
        .replace("Community Unit School District", "CUSD")
        .replace("School District", "SD")
        .replace("Public Schools", "Schools")
    )
    words = re.findall(r"[A-Za-z0-9]+", short)
    camel = "".join(w[:1].upper() + w[1:] for w in words)
    return [camel, "_".join(w.lower() for w in words), acronym(name) + "".join(re.findall(r"\d+", name))]


@functools.cache
def real_district_names() -> tuple[str, ...]:
    lines = (DATA / "us_school_districts.txt").read_text(encoding="utf-8").splitlines()
    return tuple(dict.fromkeys(n.strip() for n in lines if n.strip() and not n.startswith("#")))


def negatives() -> list[Item]:
    rng = random.Random(SEED + 2)
    ds = districts()
    out: list[Item] = []

    def add(cat: str, k: int, platform: Platform, handle: str, shown: str = "") -> None:
        out.append((k, platform, handle, shown, cat))

    # real districts are scored against every district (k = -1)
    for name in real_district_names():
        for h in _handle_forms(name, rng)[:2]:
            add("real_districts", -1, rng.choice(PLATFORMS[:5]), h, name)
    for k, d in enumerate(ds):
        plats = PLATFORMS[:5]
        for _ in range(30):
            parts = [*rng.sample(WORDS, 2), rng.choice(("", "", str(rng.randint(1, 999))))]
            plat = rng.choice(plats)
            add(
                "common_words",
                k,
                plat,
                _join(rng, [p for p in parts if p], plat),
                " ".join(p.title() for p in parts if p),
            )
        for _ in range(30):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            plat = rng.choice(plats)
            extra = rng.choice(("", "", str(rng.randint(1, 99)), rng.choice(WORDS)))
            add(
                "people",
                k,
                plat,
                _join(rng, [p for p in (first, last, extra) if p], plat),
                f"{first.title()} {last.title()}",
            )
        for person in (d.superintendent, d.board_president):
            first, last = person.split()
            for _ in range(8):
                plat = rng.choice(plats)
                who = rng.choice(
                    (f"{first} {last}", f"{last} {first}", f"{first[0]} {last}", f"Dr {first} {last}")
                )
                extra = rng.choice((*WORDS[:20], str(rng.randint(1, 99)), "", rng.choice(BUSINESS)))
                shown = rng.choice((who, f"{who} {extra}".strip(), f"{who} Photography", ""))
                add("namesakes", k, plat, _join(rng, [p for p in (who, extra) if p], plat), shown)
        for name, handles in d.neighbours:
            for h in handles:
                for plat in rng.sample(plats, 3):
                    add("neighbours", k, plat, h, name)
        for org, handles in d.partners:
            for h in handles:
                for plat in plats:
                    add("allowlisted", k, plat, h, org)
        town = d.compact
        low = town.lower()
        for plat in plats:
            add(
                "police_fire",
                k,
                plat,
                rng.choice((f"{town}PD", f"{low}_police", f"{town}Police")),
                f"{d.town} Police Department",
            )
            add(
                "police_fire",
                k,
                plat,
                rng.choice((f"{town}Fire", f"{low}_fire", f"{town}FireDept")),
                f"{d.town} Fire Department",
            )
            add(
                "libraries",
                k,
                plat,
                rng.choice((f"{town}Library", f"{low}_library", f"{town}PublicLibrary")),
                f"{d.town} Public Library",
            )
            sport = rng.choice(("Soccer", "Hockey", "Swim", "Baseball", "Lacrosse"))
            add("booster_clubs", k, plat, f"{town}{sport}Club", f"{d.town} Youth {sport} Club")
            add(
                "ptos",
                k,
                plat,
                f"{rng.choice(OTHER_TOWNS).replace(' ', '')}PTO",
                "Parent Teacher Organization",
            )
        for sub in ("news", "board", "hs", "athletics", "supt"):
            add("own_domain", k, BS, f"{sub}.{d.domain}")
        for h in d.handles(FB):
            words = re.findall(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|\d+", h)
            add("facebook_same_page", k, FB, ".".join(words))
            add("facebook_same_page", k, FB, ".".join(w.lower() for w in words))
    return list(dict.fromkeys(out))
