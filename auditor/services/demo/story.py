"""The sample district's story: who works there, what the platforms show, and what went wrong.

The data files in `data/` are written as of REFERENCE_DAY (people, accounts, an HR export). Every
date in them, and in the platform profiles below, is moved by the distance between that day and the
day the demo runs, so the story reads the same whenever it is told: an approval that lapsed three
months ago, a training done fifteen months ago, a band director who left a month ago.

What the story shows, by the check that finds it:

* the district's X account: its approval renewal lapsed (`approval.lapsed`);
* the district's Facebook page: escrowed, then a co-manager added (`escrow.stale`); no Facebook
  token, so its profile cannot be read this run (`profile.unknown`);
* NNHS Athletics on Instagram: a Gmail login, two-step login off, public comments nobody monitors,
  renewal due within the month, its owner's training lapsed, nothing escrowed;
* the district's news on Bluesky, under its own domain (news.naperville203.org): the domain's record
  was dropped, so the handle no longer verifies (`profile.handle_unverified`);
* the NCHS Band on Bluesky (a platform the guidelines do not approve): its owner left (roster sync),
  a student is left alone on it, and its rotation task is overdue;
* Kennedy Junior High on Mastodon: its bio does not say it is the district's, a sixth-grader helps
  run it, its owner has not signed the acceptable-use policy, and it has not posted in ten months;
* the NNHS YouTube channel: never approved, and suspended by YouTube;
* the NCHS Yearbook on X: run by a student alone from a Gmail address, and suspended by X;
* NNHS Theatre on X: renamed on the platform (found again by its id); NCHS Robotics on Instagram:
  gone from the platform;
* NCHS Spirit on Snapchat (checked by hand: an attestation): used for a classroom, which the
  guidelines do not allow, by someone whose role changed (roster sync);
* strangers: impostors on every platform the district's fakes serve (`impostors`): squats of a
  handle, role squats, and display-name-only ones behind a random handle, some that only a search
  finds and some that only probing variants finds (too new for the search index); an orchestra
  account on Bluesky claiming a district school without being listed; and what must never be
  flagged (`legitimate`): the neighbouring district, the PTA council, the booster club and the
  town police (allowlisted: one organisation, handles on several platforms), and a photographer
  who shares the superintendent's name;
* a handle a parent reported (`watched`, on the watchlist): an impostor on the first nights, gone
  from X on night `WATCHED_GONE_ON` (`platform_accounts(today, night)`), when its finding resolves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from connectors.fakes import FakeAccount

REFERENCE_DAY = date(2026, 11, 21)
IG_OWN_ID = "17841405309211844"  # the district's own Instagram business account (the API asks as it)
DEMO_TOKEN = "demo-platform-token"  # noqa: S105 - the token the loopback fakes accept; not a secret
CLOSED_URL = "http://127.0.0.1:9"  # the discard port: platforms without a fake are refused, never reached

_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def shift_dates(text: str, today: date) -> str:
    """Every YYYY-MM-DD in `text`, moved by (today - REFERENCE_DAY)."""
    delta = today - REFERENCE_DAY

    def move(match: re.Match[str]) -> str:
        return (date(int(match[1]), int(match[2]), int(match[3])) + delta).isoformat()

    return _DATE.sub(move, text)


def _stamp(today: date, days_ago: int) -> str:
    moment = datetime(today.year, today.month, today.day, 15, 0, tzinfo=UTC) - timedelta(days=days_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


SUPERINTENDENT = "Elena Delgado"  # the sample district's superintendent (fictional)


@dataclass(frozen=True)
class Stranger:
    """An account outside the inventory the story puts on a platform, and what the audit must say.

    `found_by`: "search", "probe" (variants by exact lookup; the account is not in the search index)
    or "watch" (the watchlist). `imitates`: "handle" or "display name" (its handle is random).
    `reason`: for an impostor, words its finding's message must contain (the rule or the
    characters); for what must not be flagged, what it is.
    """

    platform: str
    account: FakeAccount
    found_by: str
    imitates: str = "handle"
    reason: str = ""

    @property
    def handle(self) -> str:
        return self.account.handle


def _impostors(today: date) -> list[Stranger]:
    new = _stamp(today, 6)
    acct = FakeAccount
    return [
        # X has no search: probing variants of the district's handles and names finds these.
        Stranger(
            "x",
            acct("naperville2o3", id="1666", name="Naperville 203", bio="Official news of Naperville 203. "
                 "DM us your questions!", created_at=_stamp(today, 9), last_post_at=_stamp(today, 2)),
            "probe", reason="o for 0",
        ),
        Stranger(
            "x", acct("District_203_HQ", id="1667", name="D203 HQ", bio="News and closings.", created_at=new),
            "probe", reason="affix hq",
        ),
        # Instagram has no search either.
        Stranger(
            "instagram",
            acct("naperville.203.official", id="17841400000000666", name="Naperville 203",
                 bio="Official page of Naperville 203 schools.", created_at=new),
            "probe", reason="affix official",
        ),
        # Bluesky: a role squat search finds, a display name copying a school's, and a handle squat
        # too new for the search index (only getProfiles of the variant finds it).
        Stranger(
            "bluesky",
            acct("thereal203superintendent.bsky.social", id="did:plc:squat", name="Naperville 203 Superintendent",
                 bio="Superintendent of Naperville 203.", created_at=_stamp(today, 5)),
            "search", reason="affix the+real",
        ),
        Stranger(
            "bluesky",
            acct("xhoyl5702.bsky.social", id="did:plc:xhoyl5702", name="Naperville North High School Official",
                 bio="Go Huskies!", created_at=new),
            "search", "display name", reason="display name copies the school name Naperville North High School",
        ),
        Stranger(
            "bluesky",
            acct("naperville203-hq.bsky.social", id="did:plc:hq", name="HQ", bio="", created_at=new,
                 searchable=False),
            "probe", reason="affix hq",
        ),
        # Mastodon: search only (a lookup needs the home instance).
        Stranger(
            "mastodon",
            acct("kq4471@mastodon.example", id="109000000000000666", name="Kennedy Junior High School - Official",
                 bio="News from Kennedy.", created_at=new),
            "search", "display name", reason="display name copies the school name Kennedy Junior High School",
        ),
        Stranger(
            "mastodon",
            acct("kennedy_jh@mastodon.example", id="109000000000000667", name="Kennedy JH",
                 bio="Kennedy JH news.", created_at=new),
            "search", reason="separator _ added",
        ),
        # YouTube: a channel title copying the district's name, and a forHandle variant no search
        # shows yet.
        Stranger(
            "youtube",
            acct("xq88213", id="UCxq88213000000000000000",
                 name="Naperville Community Unit School District 203 Official", bio="Videos.", created_at=new),
            "search", "display name", reason="display name copies the district name",
        ),
        Stranger(
            "youtube",
            acct("Naperville_North_HS_Official", id="UCnnhsfake0000000000000", name="NNHS", bio="",
                 created_at=new, searchable=False),
            "probe", reason="affix official",
        ),
    ]  # fmt: skip


def _legitimate(today: date) -> list[Stranger]:
    acct = FakeAccount
    pta = "Naperville 203 PTA Council"
    boosters = "Naperville North Athletic Boosters"
    police = "Naperville Police Department"
    officers = "Serving Naperville. School resource officers at Naperville 203."
    return [
        Stranger("bluesky", acct("naperville203pta.bsky.social", id="did:plc:pta", name=pta,
                                 bio="Parents and teachers of Naperville 203."), "search", reason="PTA"),
        Stranger("youtube", acct("Naperville203PTA", id="UCpta0000000000000000000", name=pta,
                                 bio="Meetings of the Naperville 203 PTA Council."), "search", reason="PTA"),
        Stranger("mastodon", acct("n203pta@mastodon.example", id="109000000000000800", name=pta,
                                  bio="Parents and teachers of Naperville 203."), "search", reason="PTA"),
        Stranger("bluesky", acct("nnhsboosters.bsky.social", id="did:plc:boost", name=boosters,
                                 bio="Supporting Naperville North High School athletics."), "search",
                 reason="booster club"),
        Stranger("youtube", acct("NNHSBoosters", id="UCboost00000000000000000", name=boosters,
                                 bio="Naperville North High School athletics highlights."), "search",
                 reason="booster club"),
        Stranger("bluesky", acct("napervillepd.bsky.social", id="did:plc:npd", name=police, bio=officers),
                 "search", reason="town police"),
        Stranger("mastodon", acct("napervillepd@mastodon.example", id="109000000000000801", name=police,
                                  bio=officers), "search", reason="town police"),
        Stranger("youtube", acct("IPSD204", id="UCipsd204000000000000000", name="Indian Prairie School District 204",
                                 bio="The school district next door."), "search", reason="neighbouring district"),
        Stranger("youtube", acct("ElenaDelgadoPhoto", id="UCdelgado0000000000000000",
                                 name="Elena Delgado Photography", bio="Weddings and portraits around Chicago."),
                 "search", reason="namesake of the superintendent"),
    ]  # fmt: skip


# The handle a parent reported to the front office (`auditor watch add`): a display-name impostor
# behind a random handle, which X has suspended by the third night.
WATCHED_GONE_ON = 3


def _watched(today: date) -> Stranger:
    return Stranger(
        "x",
        FakeAccount("xhoyl5702", id="1777", name="Naperville 203 - Official", bio="Official news of Naperville 203.",
                    created_at=_stamp(today, 4), last_post_at=_stamp(today, 1)),
        "watch", "display name", reason="display name copies the district name Naperville 203",
    )  # fmt: skip


def impostors(today: date) -> list[Stranger]:
    """Every impostor the story plants, the watched one included (the Done-when test reads these)."""
    return [*_impostors(today), _watched(today)]


def legitimate(today: date) -> list[Stranger]:
    """Look-alikes that are no impostors: allowlisted organisations, the neighbour, the namesake."""
    return _legitimate(today)


def watched(today: date) -> Stranger:
    return _watched(today)


# Allowlisted organisations (docs/policy.md, [[allowlist]]): one entry each, every platform's handle.
ALLOWLIST = (
    ("Naperville 203 PTA Council", "The PTA council: a separate organisation",
     ("bluesky:naperville203pta.bsky.social", "youtube:Naperville203PTA", "mastodon:n203pta@mastodon.example")),
    ("Naperville North Athletic Boosters", "The booster club: parents, not the district",
     ("bluesky:nnhsboosters.bsky.social", "youtube:NNHSBoosters")),
    ("Naperville Police Department", "The town police",
     ("bluesky:napervillepd.bsky.social", "mastodon:napervillepd@mastodon.example")),
)  # fmt: skip


def platform_accounts(today: date, night: int = 1) -> dict[str, list[FakeAccount]]:
    """What each platform's loopback server holds on the story's `night`, by platform value."""

    data = _own_accounts(today)
    strangers = [*_impostors(today), *_legitimate(today)]
    if night < WATCHED_GONE_ON:
        strangers.append(_watched(today))
    for s in strangers:
        data.setdefault(s.platform, []).append(replace(s.account))
    return data


def _own_accounts(today: date) -> dict[str, list[FakeAccount]]:
    recent = _stamp(today, 2)
    return {
        "x": [
            FakeAccount(
                "naperville203",
                id="1001",
                name="Naperville 203",
                bio="Official account of Naperville Community Unit School District 203, run by the "
                "Communications Department.",
                website="https://www.naperville203.org",
                last_post_at=recent,
            ),
            FakeAccount(
                "nnhs_stage",
                id="1003",
                name="NNHS Theatre",
                bio="Official account of the Naperville North High School theatre department, Naperville 203.",
                last_post_at=recent,
            ),
            FakeAccount("nchs_yearbook", id="1004", status="suspended", name="NCHS Yearbook"),
        ],
        "instagram": [
            FakeAccount(
                "nnhs_athletics",
                id="17841400000000014",
                name="NNHS Athletics",
                bio="Official athletics of Naperville North High School, Naperville 203. "
                "Athletic Director Priya Raman.",
                last_post_at=recent,
            ),
        ],
        "bluesky": [
            FakeAccount(
                "nchsband.bsky.social",
                id="did:plc:nchsband",
                name="NCHS Band",
                bio="The band of Naperville Central High School (Naperville 203). Director: Tom Okafor.",
                last_post_at=recent,
            ),
            # The district's news handle is its own domain's name; a DNS change dropped the
            # `_atproto` record, so Bluesky no longer finds it by handle and shows it by its DID
            # (recorded in the registry) as handle.invalid (profile.handle_unverified).
            FakeAccount(
                "news.naperville203.org",
                id="did:plc:d203news",
                status="handle_invalid",
                name="Naperville 203 News",
                bio="News from Naperville 203, by the Communications Department.",
                last_post_at=recent,
            ),
            FakeAccount(
                "nnhsorchestra.bsky.social",
                id="did:plc:orchestra",
                name="Orchestra (Naperville 203)",
                bio="Orchestra of Naperville North High School.",
            ),
        ],
        "mastodon": [
            FakeAccount(
                "kennedyjh@mastodon.example",
                id="109000000000000001",
                name="Kennedy Junior High",
                bio="Go Cougars! Photos from our school day.",
                last_post_at=_stamp(today, 300),
            ),
        ],
        "youtube": [FakeAccount("NapervilleNorthHS", id="UCnnhs0000000000000000", status="suspended")],
    }


def _allowlist() -> str:
    out = []
    for name, reason, handles in ALLOWLIST:
        listed = ", ".join(f'"{h}"' for h in handles)
        out.append(f'[[allowlist]]\nname = "{name}"\nhandles = [{listed}]\nreason = "{reason}"\n')
    return "\n".join(out)


# The discovery budget, spelled out so the sample policy shows where it is set (docs/policy.md).
_IMPERSONATION = "[impersonation]\nthreshold = 85\nprobe_budget = 400\nsearch_budget = 25\n\n" + _allowlist()


def demo_policy(preset_text: str, urls: dict[str, str]) -> str:
    """The Naperville 203 preset, adapted to the sample district: its junior high, the loopback
    platform servers, and an addendum for the renewals the guidelines leave to the district."""
    replacements = [
        (
            r'(?m)^\[\[buildings\]\]\nid = "district-office"',
            '[[buildings]]\nid = "kennedy"\nname = "Kennedy Junior High School"\naliases = ["Kennedy JH"]\n'
            'administrator_role = "Principal"\n\n[[buildings]]\nid = "district-office"',
        ),
        (r"(?m)^people = \[\].*$", f'people = ["{SUPERINTENDENT}"]'),
        (r"(?m)^\[impersonation\]\nthreshold = 85\n", _IMPERSONATION),
        (r'(?m)^approval = "".*$', 'approval = "12m"'),
        (r'(?m)^training = "".*$', 'training = "12m"'),
        (r"(?m)^required = \[\].*$", 'required = ["procedure", "aup"]'),
    ]
    text = preset_text
    for pattern, new in replacements:
        text, count = re.subn(pattern, new, text, count=1)
        if count != 1:
            raise RuntimeError(
                f"the naperville-203 preset changed; update auditor/services/demo/story.py ({pattern!r})"
            )
    # Every platform points at loopback: the demo never reaches a real platform.
    text = re.sub(r'(?m)^base_url = "https://[^"]*"$', f'base_url = "{CLOSED_URL}"', text)
    settings = []
    for platform, url in urls.items():
        header = f"[platform_settings.{platform}]"
        block = f'{header}\nbase_url = "{url}"\n'
        if platform == "instagram":
            block += f'api_version = "v25.0"\nig_user_id = "{IG_OWN_ID}"\n'
        if platform == "mastodon":
            block += 'search_instance = "mastodon.example"\n'
        if header in text:
            text = re.sub(re.escape(header) + r"\n(?:[^\[\n][^\n]*\n)*", block, text, count=1)
        else:
            settings.append(block)
    for platform in ("facebook", "tiktok", "threads", "linkedin"):
        if f"[platform_settings.{platform}]" not in text and platform not in urls:
            settings.append(f'[platform_settings.{platform}]\nbase_url = "{CLOSED_URL}"\n')
    text = text.replace("[renewal]", "\n".join(settings) + "\n[renewal]", 1)
    return text + ADDENDUM


ADDENDUM = """
[[framework.requirements]]
id = "SAMPLE-ADDENDUM-1"
section = "Sample district addendum (not part of Naperville 203's guidelines)"
text = "Approvals of district social media accounts are renewed every year. Employees who manage them renew their social media training every year and keep the signed procedure and acceptable use policy on file."
checks = ["approval.expiring", "approval.lapsed", "training.lapsed", "agreement.missing"]
"""
