"""A generated labelled set for display names, role squats and allowlisted organisations (issue 14).

Everything comes from a fixed seed and a few fictional districts; no case is hand-picked. Positives:
display-name-only impersonation (a random handle, the district's name as the display name),
superintendent / board / principal role squats with the role's synonyms and abbreviations, in
either word order, with or without affixes and separators, and bare district-name squats.
Negatives: namesakes of the superintendent (the same personal name, no role or district term),
allowlisted PTAs, booster clubs and town police on several platforms, neighbouring districts and
common words.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from auditor.engine.impersonation import Detector, ProtectedName
from auditor.engine.impersonation.roles import Official, RoleModel, role_names
from auditor.model.types import Platform

SEED = 1414
PLATFORMS = (Platform.X, Platform.INSTAGRAM, Platform.FACEBOOK, Platform.YOUTUBE, Platform.TIKTOK)


@dataclass(frozen=True)
class District:
    names: tuple[str, ...]  # full name first, then aliases
    handles: tuple[str, ...]  # inventory (X)
    buildings: tuple[tuple[str, tuple[str, ...]], ...]
    superintendent: str
    board_president: str
    town: str
    neighbours: tuple[str, ...]


DISTRICTS = (
    District(
        ("Stonebridge Independent School District", "Stonebridge ISD", "SISD"),
        ("StonebridgeISD", "SISD_Schools"),
        (("Stonebridge High School", ("SHS",)), ("Oakmont Elementary", ()), ("Quarry Ridge Middle School", ())),
        "Maria Delgado",
        "Thomas Whitfield",
        "Stonebridge",
        ("Riverton Unified School District", "Marsh Creek ISD", "Pine Hollow School District"),
    ),
    District(
        ("Harlow Valley Community Unit School District 117", "Harlow Valley 117", "HVCUSD 117"),
        ("HarlowValley117", "hv117news"),
        (("Harlow Valley North High School", ("HVNHS",)), ("Birchwood Elementary", ()), ("Kestrel Junior High", ())),
        "Raymond Okafor",
        "Elena Brandt",
        "Harlow",
        ("Harlow Township District 118", "Lake Ferris CUSD 4", "Glenmoor District 90"),
    ),
    District(
        ("Cedar Falls Area School District", "Cedar Falls Schools", "CFASD"),
        ("CedarFallsSchools", "cfasd_official"),
        (("Cedar Falls Senior High School", ("CFSHS",)), ("Wren Park Elementary", ()), ("Ashby Middle School", ())),
        "Priya Raman",
        "Gordon Leeds",
        "Cedar Falls",
        ("Elk River Area Schools", "Northfield Public Schools", "Sauk Prairie School District"),
    ),
)  # fmt: skip

AFFIXES = ("", "", "", "the", "real", "official", "its", "hq", "news", "team", "iam", "updates")
SUPT = ("superintendent", "supt", "Superintendent", "Supt", "SUPT", "superintendents office")
BOARD = (
    "board",
    "BOE",
    "boe",
    "BoardOfEd",
    "board of education",
    "school board",
    "BoardOfEducation",
    "Trustees",
)
PRINCIPAL = ("principal", "Principal", "asst principal", "PRINCIPAL")
WORDS = (
    "photography", "studio", "art", "design", "music", "coffee", "bakery", "fitness", "travel", "books",
    "garden", "realty", "law", "dental", "films", "yoga", "golf", "runner", "cooks", "family", "life",
    "skateboard", "superb", "principality", "boardgames", "surfboard", "supper", "aboard", "dashboard",
)  # fmt: skip


def _join(rng: random.Random, parts: list[str]) -> str:
    """Join words as handles do: no separator, `_`, `.`, or CamelCase."""
    style = rng.choice(("plain", "under", "dot", "camel", "camel"))
    words = [w for p in parts for w in p.split() if w]
    if style == "camel":
        return "".join(w[:1].upper() + w[1:] for w in words)
    sep = {"plain": "", "under": "_", "dot": "."}[style]
    return sep.join(w.lower() for w in words)


def _short(d: District, rng: random.Random) -> str:
    """A district term as handles write it: alias, acronym, compact name."""
    return rng.choice([*d.names[1:], d.names[1].replace(" ", "")])


def _affixed(rng: random.Random, parts: list[str]) -> list[str]:
    pre, post = rng.choice(AFFIXES), rng.choice(AFFIXES)
    return [p for p in (pre, *parts, post) if p]


def model(d: District) -> RoleModel:
    return RoleModel(
        district_names=d.names,
        buildings=d.buildings,
        officials=(Official(d.superintendent, "superintendent"), Official(d.board_president, "board")),
        district_label=d.names[1],
        role_titles={"superintendent": "superintendent", "board": "board", "principal": "principal"},
    )


def allowlisted(d: District) -> dict[str, tuple[str, ...]]:
    """Organisation -> its handles; each is allowlisted as seen on one platform."""
    t = d.town.replace(" ", "")
    n = d.names[1].replace(" ", "")
    return {
        f"{d.names[1]} PTA Council": (f"{n}PTA", f"{n.lower()}_pta", f"{t}PTACouncil"),
        f"{d.names[1]} Athletic Boosters": (f"{n}Boosters", f"{t.lower()}_boosters", f"{n}AthleticBoosters"),
        f"{d.town} Police Department": (f"{t}PD", f"{t.lower()}_police", f"{t}Police"),
        f"{d.buildings[0][0]} Band Boosters": (f"{d.buildings[0][1][0]}BandBoosters", f"{t}BandParents"),
    }


def detector(d: District, threshold: int = 85) -> Detector:
    protected = [ProtectedName(h, platform=Platform.X) for h in d.handles]
    tokens = [n.replace(" ", "") for n in d.names[1:]]
    protected += role_names(tokens, ("superintendent", "board", "principal"))
    # what today's policies protect, bare personal names included: the role model must drop them
    protected += [ProtectedName(d.superintendent.replace(" ", ""), kind=protected[0].kind.ROLE)]
    allow = [f"{PLATFORMS[i % 2].value}:{h}" for hs in allowlisted(d).values() for i, h in enumerate(hs)]
    return Detector(protected, allowlist=allow, threshold=threshold, roles=model(d))


# A labelled item: (district index, platform, handle, display name, category).
Item = tuple[int, Platform, str, str, str]


def _random_handle(rng: random.Random) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return "".join(rng.choice(letters) for _ in range(rng.randint(5, 9))) + str(rng.randint(0, 9999))


def positives(per_category: int = 250) -> list[Item]:
    rng = random.Random(SEED)
    out: list[Item] = []
    for _ in range(per_category):
        k = rng.randrange(len(DISTRICTS))
        d = DISTRICTS[k]
        plat = rng.choice(PLATFORMS)
        # display name only: a random handle, the district's name (or a role claim) as display name
        name = rng.choice(d.names[:2])
        shown = rng.choice(
            (
                f"{name} - Official",
                f"{name}",
                f"Official {name}",
                f"{name} | Official Account",
                f"The Real {name}",
                f"Superintendent {d.superintendent}",
                f"{d.superintendent}, Superintendent of {d.names[1]}",
                f"{d.names[1]} Board of Education",
                f"Dr. {d.superintendent.split()[-1]} - {d.names[1]}",
            )
        )
        out.append((k, plat, _random_handle(rng), shown, "display_name_only"))
        # superintendent squat, either order, with affixes
        parts = [_short(d, rng), rng.choice(SUPT)]
        rng.shuffle(parts)
        if rng.random() < 0.3:
            parts = [rng.choice(("Dr", "dr")), d.superintendent.split()[-1], _short(d, rng)]
        out.append((k, plat, _join(rng, _affixed(rng, parts)), "", "superintendent"))
        parts = [_short(d, rng), rng.choice(BOARD)]
        rng.shuffle(parts)
        out.append((k, plat, _join(rng, _affixed(rng, parts)), "", "board"))
        bname, aliases = rng.choice(d.buildings)
        parts = [rng.choice((bname, *aliases)), rng.choice(PRINCIPAL)]
        rng.shuffle(parts)
        out.append((k, plat, _join(rng, _affixed(rng, parts)), "", "principal"))
        term = rng.choice((d.names[1].replace(" ", ""), d.names[0].replace(" ", ""), d.names[1]))
        affix = rng.choice([a for a in AFFIXES if a])
        parts = [affix, term] if rng.random() < 0.5 else [term, affix]
        out.append((k, plat, _join(rng, parts), "", "district_name"))
    return out


def negatives(per_category: int = 250) -> list[Item]:
    rng = random.Random(SEED + 1)
    out: list[Item] = []
    for _ in range(per_category):
        k = rng.randrange(len(DISTRICTS))
        d = DISTRICTS[k]
        plat = rng.choice(PLATFORMS)
        first, last = d.superintendent.split()
        person = rng.choice(
            (f"{first} {last}", f"{last} {first}", f"{first[0]} {last}", f"Dr {first} {last}")
        )
        extra = rng.choice((*WORDS, str(rng.randint(1, 99)), ""))
        out.append(
            (k, plat, _join(rng, [person, extra]), rng.choice((person, f"{person} {extra}", "")), "namesake")
        )
        org, handles = rng.choice(list(allowlisted(d).items()))
        out.append((k, rng.choice(PLATFORMS), rng.choice(handles), org, "allowlisted"))
        neighbour = rng.choice(d.neighbours)
        words = neighbour.split()
        short = " ".join(words[:2])
        role = rng.choice(("", "", *SUPT, *BOARD))
        parts = [short, role] if rng.random() < 0.5 else [role, short]
        out.append((k, plat, _join(rng, [p for p in parts if p]), neighbour, "neighbour"))
        parts = [*rng.sample(WORDS, 2), rng.choice(("", str(rng.randint(1, 999))))]
        shown = " ".join(w.title() for w in parts if w)
        out.append((k, plat, _join(rng, [p for p in parts if p]), shown, "common_words"))
    return out
