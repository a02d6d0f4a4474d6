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
* strangers: @naperville2o3 on X (the letter o for the digit 0), a "TheReal203Superintendent" on
  Bluesky, and an orchestra account on Bluesky claiming a district school without being listed.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from connectors.fakes import FakeAccount

if TYPE_CHECKING:
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


def platform_accounts(today: date) -> dict[str, list[FakeAccount]]:
    """What each platform's loopback server holds, by platform value."""

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
            FakeAccount(
                "naperville2o3",
                id="1666",
                name="Naperville 203",
                bio="Official news of Naperville 203. DM us your questions!",
                created_at=_stamp(today, 9),
                last_post_at=recent,
            ),
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
            FakeAccount(
                "thereal203superintendent.bsky.social",
                id="did:plc:squat",
                name="Naperville 203 Superintendent",
                bio="Superintendent of Naperville 203.",
                created_at=_stamp(today, 5),
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


def demo_policy(preset_text: str, urls: dict[str, str]) -> str:
    """The Naperville 203 preset, adapted to the sample district: its junior high, the loopback
    platform servers, and an addendum for the renewals the guidelines leave to the district."""
    replacements = [
        (
            r'(?m)^\[\[buildings\]\]\nid = "district-office"',
            '[[buildings]]\nid = "kennedy"\nname = "Kennedy Junior High School"\naliases = ["Kennedy JH"]\n'
            'administrator_role = "Principal"\n\n[[buildings]]\nid = "district-office"',
        ),
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
