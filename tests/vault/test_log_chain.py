"""Reveal-log chain: every kind of tampering is found, and the sentence names the first bad event."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from auditor.model.log import GENESIS, Event, Head, LogChainError
from auditor.model.types import Secret
from vault import log_chain as lc

KEY = b"k" * 32
T0 = datetime(2025, 2, 3, 14, 0, tzinfo=UTC)


def make_log(n: int = 6, key: bytes = KEY) -> list[Event]:
    events: list[Event] = []
    prev = None
    for i in range(n):
        action = ("set", "reveal", "totp", "rotate", "export", "offboard")[i % 6]
        prev = lc.chain(
            prev,
            {
                "at": T0 + timedelta(minutes=i),
                "identity": "admin-okafor",
                "action": action,
                "account_id": f"acct-{i % 3}",
                "reason": f"ticket INC-{100 + i}: principal locked out",
                "details": {"version": i, "fields": ("password", "totp")},
            },
            key,
        )
        events.append(prev)
    return events


def test_a_clean_log_verifies_and_head_matches() -> None:
    events = make_log()
    result = lc.verify(events, KEY, head=lc.head_digest(events[-1]))
    assert result.ok and result.checked == 6
    assert result.message == "All 6 events verify (events 1 to 6)."
    assert result.head == Head(6, events[-1].digest)


def test_chain_fills_seq_prev_hash_and_mac() -> None:
    events = make_log(2)
    assert [e.seq for e in events] == [1, 2]
    assert events[0].prev_hash == GENESIS and events[1].prev_hash == events[0].digest
    assert len(events[1].mac) == 64 and events[1].mac == lc.compute_mac(events[1], Secret(KEY))
    assert events[1].details == {"fields": ["password", "totp"], "version": 1}


def test_storage_round_trip_keeps_the_chain_valid() -> None:
    events = [Event.from_dict(json.loads(json.dumps(e.to_dict()))) for e in make_log()]
    assert events == make_log()
    assert lc.verify(events, KEY).ok


def test_edit_is_named() -> None:
    events = make_log()
    events[2] = replace(events[2], reason="routine check")
    result = lc.verify(events, KEY)
    assert not result.ok and result.problem == "mac" and result.first_bad_seq == 3
    assert result.message == "Event 3 fails its MAC: it was altered or forged after it was written."
    assert result.checked == 2


def test_edit_with_recomputed_mac_breaks_the_next_link() -> None:
    # Someone with the MAC key rewrites event 3: event 4's prev_hash still betrays it.
    events = make_log()
    edited = replace(events[2], identity="someone-else")
    events[2] = replace(edited, mac=lc.compute_mac(edited, KEY))
    result = lc.verify(events, KEY)
    assert (result.problem, result.first_bad_seq) == ("prev-hash", 4)
    assert result.message.startswith("Event 4 does not follow event 3")


def test_delete_is_named() -> None:
    events = make_log()
    del events[3]
    result = lc.verify(events, KEY)
    assert (result.problem, result.first_bad_seq) == ("gap", 5)
    assert result.message == "Event 4 is missing: the log jumps from event 3 to event 5."
    two = make_log()
    del two[1:3]
    assert lc.verify(two, KEY).message == "Events 2 to 3 are missing: the log jumps from event 1 to event 4."
    first = make_log()[1:]
    assert lc.verify(first, KEY).message == "Event 1 is missing: the log jumps from the start to event 2."


def test_reorder_is_named() -> None:
    events = make_log()
    events[2], events[3] = events[3], events[2]
    result = lc.verify(events, KEY)
    assert (result.problem, result.first_bad_seq, result.position) == ("reordered", 4, 3)
    assert result.message == "Event 4 appears before event 3: the log is out of order."


def test_forged_insert_is_named() -> None:
    events = make_log()
    # The forger has no key: a plausible event with the right seq and prev_hash, and a made-up MAC.
    forged = replace(events[3], identity="intruder", reason="looking around", mac="0" * 64)
    events.insert(3, forged)
    renumbered = events[:4] + [replace(e, seq=e.seq + 1) for e in events[4:]]
    result = lc.verify(renumbered, KEY)
    assert (result.problem, result.first_bad_seq) == ("mac", 4)
    # ...and without renumbering, the copy shows as a duplicate
    dup = make_log()
    dup.insert(3, replace(dup[2], mac=lc.compute_mac(dup[2], b"wrong key" * 4)))
    assert lc.verify(dup, KEY).message == "Event 3 appears twice in a row: one copy was inserted."


def test_wrong_key_fails_the_first_event() -> None:
    result = lc.verify(make_log(), b"another key")
    assert (result.problem, result.first_bad_seq) == ("mac", 1)


def test_tail_truncation_needs_the_external_head() -> None:
    events = make_log()
    head = lc.head_digest(events[-1])
    cut = events[:4]
    assert lc.verify(cut, KEY).ok  # undetectable from the chain alone ...
    assert "not checked against a recorded head" in lc.verify(cut, KEY).message
    result = lc.verify(cut, KEY, head=head)  # ... but not against the head kept elsewhere
    assert (result.ok, result.problem, result.first_bad_seq) == (False, "truncated", 5)
    assert result.message == (
        "The log ends at event 4 but the recorded head is event 6: events 5 to 6 were removed from the end."
    )
    empty = lc.verify([], KEY, head=head)
    assert not empty.ok and "ends at event 0" in empty.message
    assert lc.verify([], KEY, head=lc.head_digest(None)).ok


def test_replaced_last_event_and_stale_head() -> None:
    events = make_log()
    head = lc.head_digest(events[-1])
    other = lc.chain(events[-2], {"identity": "x", "action": "set", "at": T0}, KEY)
    result = lc.verify([*events[:-1], other], KEY, head=head)
    assert (result.problem, result.message) == (
        "head",
        "Event 6 differs from the recorded head: the last event was replaced.",
    )
    stale = lc.verify(events, KEY, head=lc.head_digest(events[3]))
    assert stale.problem == "head" and "past the recorded head (event 4)" in stale.message


def test_head_serialises() -> None:
    head = lc.head_digest(make_log(3)[-1])
    assert Head.parse(str(head)) == head
    with pytest.raises(LogChainError, match="malformed"):
        Head.parse("3:abc")


def test_verify_a_suffix_from_a_known_event() -> None:
    events = make_log()
    assert lc.verify(events[3:], KEY, start=events[2]).ok


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"identity": "a", "action": "reveal"}, "a reason is required to log a 'reveal' event"),
        ({"identity": "a", "action": "totp", "reason": "  "}, "reason is required"),
        ({"identity": "a", "action": "peek"}, "unknown log action 'peek'"),
        ({"action": "set"}, "needs the acting identity"),
        ({"identity": "a", "action": "set", "details": {"password": "x"}}, "looks like a secret"),
        ({"identity": "a", "action": "set", "details": {"new": {"Seed": "x"}}}, "looks like a secret"),
        ({"identity": "a", "action": "set", "details": {"v": Secret("hunter2")}}, "is a secret"),
        ({"identity": "a", "action": "set", "details": {"v": object()}}, "not a plain JSON value"),
        ({"identity": "a", "action": "set", "at": datetime(2025, 1, 1)}, "timezone-aware"),
        ({"identity": "a", "action": "set", "secret": "x"}, "unknown log event fields"),
    ],
)
def test_chain_refuses_bad_events(fields: dict[str, object], message: str) -> None:
    with pytest.raises(LogChainError, match=message) as info:
        lc.chain(None, fields, KEY)
    assert "hunter2" not in str(info.value)


def test_canonical_bytes_exclude_the_mac_and_are_stable() -> None:
    e = make_log(1)[0]
    assert b'"mac"' not in lc.canonical_bytes(e)
    assert lc.canonical_bytes(replace(e, mac="f" * 64)) == lc.canonical_bytes(e)
    assert b'"at":"2025-02-03T14:00:00.000000Z"' in lc.canonical_bytes(e)
