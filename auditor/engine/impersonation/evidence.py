"""Adjust a lookalike match with what the profile itself says (bio, display name, links, age).

A name alone cannot tell a typo-squat from a neighbouring district (lookalikes.md, "Beyond the
string"). Evidence that raises the score: the bio or display name names the district or claims a
protected official role (and, read with the role model's rules when the context has one, "bio
claims the superintendent role with the district's name: +5" more), a link to the district's domain, a very
new account. Evidence that lowers
it: the bio names a different district or an allowlisted organisation, or labels itself parody /
unofficial. A Bluesky handle on the district's own domain is proof of control and ends the matter.
Every adjustment is appended to the match's reasons with its points.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from auditor.engine.impersonation.normalise import _FOLD, is_ignorable, skeleton_table
from auditor.engine.impersonation.roles import RoleModel
from auditor.engine.impersonation.scoring import Match
from auditor.model.types import Platform

NAMES_DISTRICT = 5
CLAIMS_ROLE = 5
CLAIMS_ROLE_OF_DISTRICT = 5  # on top: by the role model's rules (a role with the district's name...)
SAYS_OFFICIAL = 3
LINKS_DISTRICT = 5
NEW_ACCOUNT = 5  # created less than NEW_DAYS ago
RECENT_ACCOUNT = 2  # created less than RECENT_DAYS ago
NEW_DAYS = 30
RECENT_DAYS = 180
OTHER_ORGANISATION = -30
DISCLAIMER = -10

_DISTRICT_NUMBER_RE = re.compile(
    r"\b(?:district|dist|d|cusd|ccsd|usd|sd|isd|ipsd|unit|school district)\s*#?\s*(\d{1,4})\b"
)
_DISCLAIMERS = ("parody", "fan account", "not affiliated", "unofficial", "not the official")


@dataclass(frozen=True)
class DistrictContext:
    """What the policy file says about the district, as evidence needs it."""

    names: tuple[str, ...] = ()  # names and aliases: "Naperville 203", "District 203", "D203"
    domains: tuple[str, ...] = ()  # "naperville203.org"
    roles: tuple[str, ...] = ()  # "superintendent", "board of education", "principal"
    other_organisations: tuple[str, ...] = ()  # allowlisted organisations' names
    other_domains: tuple[str, ...] = ()  # their domains
    # the role model (roles.role_model(policy)): a bio or display name that claims a role of this
    # district by its rules ("Superintendent of Stonebridge ISD") is stronger evidence than a
    # bare role word
    role_model: RoleModel | None = None


def plain(text: str) -> str:
    """Lower-case words with look-alike letters mapped and invisible characters removed, spaced."""
    table = skeleton_table()
    out: list[str] = []
    for ch in unicodedata.normalize("NFKC", text):
        if is_ignorable(ch):
            continue
        for c in unicodedata.normalize("NFD", ch.casefold()):
            if unicodedata.combining(c):
                continue
            out.append(table.get(c, c) if not c.isascii() else c)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", "".join(out)).split())


_LEET = str.maketrans(_FOLD)


def _mentions(text: str, phrase: str) -> bool:
    """Whole-word mention, tolerant of look-alike digits ("Naperville 2O3" names Naperville 203)."""
    p = plain(phrase).translate(_LEET)
    folded = text.translate(_LEET)
    return bool(p) and re.search(rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])", folded) is not None


def _host(link: str) -> str:
    text = link.strip()
    if "//" not in text:
        text = "//" + text
    return (urlsplit(text).hostname or "").casefold()


def _on(host: str, domains: Iterable[str]) -> str:
    for d in domains:
        d = d.strip().casefold()
        if d and (host == d or host.endswith("." + d)):
            return d
    return ""


def _district_numbers(district: DistrictContext) -> set[str]:
    return {n.lstrip("0") for name in district.names for n in re.findall(r"\d+", name)}


def apply_evidence(
    match: Match,
    district: DistrictContext,
    *,
    bio: str = "",
    display_name: str = "",
    links: Sequence[str] = (),
    created_at: datetime | None = None,
    now: datetime | None = None,
    platform: Platform | None = None,
) -> Match:
    """Return `match` with its score adjusted (0-100) and one reason per adjustment."""
    platform = platform or match.platform
    reasons: list[str] = []
    if platform is not None and platform.info.handle_is_domain:
        own = _on(match.candidate.strip().lstrip("@").casefold(), district.domains)
        if own:
            reasons.append(
                f"handle is on the district's own domain {own}: proof of control, not impersonation"
            )
            return dataclasses.replace(match, score=0, reasons=(*match.reasons, *reasons))
    delta = 0
    texts = (("display name", plain(display_name)), ("bio", plain(bio)))

    for where, text in texts:
        named = next((n for n in district.names if _mentions(text, n)), "")
        if named:
            delta += NAMES_DISTRICT
            reasons.append(f"{where} names the district ({named}): +{NAMES_DISTRICT}")
            break
    for where, text in texts:
        role = next((r for r in district.roles if _mentions(text, r)), "")
        if role:
            delta += CLAIMS_ROLE
            reasons.append(f"{where} claims the role {role}: +{CLAIMS_ROLE}")
            break
    if district.role_model is not None:
        for where, raw in (("display name", display_name), ("bio", bio)):
            claim = district.role_model.claim(raw) if raw.strip() else None
            if claim is not None:
                delta += CLAIMS_ROLE_OF_DISTRICT
                reasons.append(f"{where} {claim.rule}: +{CLAIMS_ROLE_OF_DISTRICT}")
                break
    if any(_mentions(text, "official") for _, text in texts):
        delta += SAYS_OFFICIAL
        reasons.append(f"profile says official: +{SAYS_OFFICIAL}")
    for link in links:
        d = _on(_host(link), district.domains)
        if d:
            delta += LINKS_DISTRICT
            reasons.append(f"links to the district's domain {d}: +{LINKS_DISTRICT}")
            break
    if created_at is not None and now is not None:
        age = (now - created_at).days
        if age < NEW_DAYS:
            delta += NEW_ACCOUNT
            reasons.append(f"account created {age} days ago: +{NEW_ACCOUNT}")
        elif age < RECENT_DAYS:
            delta += RECENT_ACCOUNT
            reasons.append(f"account created {age} days ago: +{RECENT_ACCOUNT}")

    ours = _district_numbers(district)
    other = ""
    for _, text in texts:
        for m in _DISTRICT_NUMBER_RE.finditer(text):
            if m.group(1).lstrip("0") not in ours:
                other = m.group(0)
                break
        other = other or next((o for o in district.other_organisations if _mentions(text, o)), "")
        if other:
            break
    if not other:
        for link in links:
            other = _on(_host(link), district.other_domains)
            if other:
                break
    if other:
        delta += OTHER_ORGANISATION
        reasons.append(f"profile names a different organisation ({other}): {OTHER_ORGANISATION}")
    disclaimer = next((d for d in _DISCLAIMERS for _, text in texts if _mentions(text, d)), "")
    if disclaimer:
        delta += DISCLAIMER
        reasons.append(f"profile says {disclaimer}: {DISCLAIMER}")

    if not reasons:
        return match
    score = max(0, min(100, match.score + delta))
    return dataclasses.replace(match, score=score, reasons=(*match.reasons, *reasons))
