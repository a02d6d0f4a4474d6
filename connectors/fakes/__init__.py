"""Loopback fake platform servers for tests, `auditor demo` and the benchmarks (see server.py)."""

from connectors.fakes.platforms import (
    FakeBluesky,
    FakeFacebook,
    FakeInstagram,
    FakeLinkedIn,
    FakeMastodon,
    FakeThreads,
    FakeTikTok,
    FakeX,
    FakeYouTube,
)
from connectors.fakes.server import FakeAccount, FakeClock, FakeServer, Fault, RecordedRequest, Reply

__all__ = [
    "FakeAccount",
    "FakeBluesky",
    "FakeClock",
    "FakeFacebook",
    "FakeInstagram",
    "FakeLinkedIn",
    "FakeMastodon",
    "FakeServer",
    "FakeThreads",
    "FakeTikTok",
    "FakeX",
    "FakeYouTube",
    "Fault",
    "RecordedRequest",
    "Reply",
]
