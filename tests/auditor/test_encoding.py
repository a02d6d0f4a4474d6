"""The per-type encoders (issue 17): the records the registry stores encode to exactly what the
generic dataclass walk gave, so records already on disk load and re-encode to the same bytes; the
cyclic GC pause always ends; the best-practice framework is parsed once."""

from __future__ import annotations

import dataclasses
import enum
import gc
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.engine.policy import loader
from auditor.model.gcpause import gc_paused
from auditor.model.types import (
    Account,
    AccountStatus,
    Approval,
    AuditRun,
    CredentialRef,
    FieldSource,
    Finding,
    FindingState,
    Person,
    PersonKind,
    PersonStatus,
    Platform,
    Profile,
    ProfileStatus,
    Purpose,
    RosterEntry,
    RotationTask,
    Secret,
    Severity,
    to_plain,
)
from vault.backends.sqlite import SQLiteBackend
from vault.registry import Registry
from vault.stores.inventory import ACCOUNT, Inventory


def legacy_encode(value: Any) -> Any:
    """The generic encoder every record was written with before issue 17, verbatim."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Secret):
        raise TypeError("refusing to serialise a Secret")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: legacy_encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [legacy_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): legacy_encode(v) for k, v in value.items()}
    return value


def stored_bytes(data: Mapping[str, Any]) -> bytes:
    """What vault/crypto.py seals."""
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8")


NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
FINDING = Finding(
    "approval.missing",
    Severity.HIGH,
    "account:a_0001",
    "Bluesky account nnhs.bsky.social has no approval on record.",
    "a_0001",
    "",
    Platform.BLUESKY,
    "nnhs",
    ("N203-APPROVAL",),
    "File the form.",
    {
        "clauses": [{"id": "N203-APPROVAL", "citation": "Naperville 203, item 2", "text": "must inform"}],
        "handle": "nnhs.bsky.social",
        "days": 3,
    },
    FindingState.WAIVED,
    date(2026, 12, 31),
    "Board approved",
)
ACCOUNT_REC = Account(
    "a_0001",
    Platform.BLUESKY,
    "nnhs.bsky.social",
    "https://bsky.app/profile/nnhs.bsky.social",
    "did:plc:x1",
    "NNHS",
    "nnhs",
    Purpose.ATHLETICS,
    "p_1",
    ("p_2",),
    ("p_3",),
    "nnhs@d203.org",
    True,
    None,
    ("p_2",),
    Approval(date(2025, 1, 1), date(2025, 1, 2), "Principal Lee", date(2026, 1, 2), "FORM-7"),
    AccountStatus.ACTIVE,
    "Note é",
    ("fall", "sports"),
    NOW,
    NOW,
    NOW,
    3,
)
PROFILE = Profile(
    Platform.X,
    "nnhs",
    ProfileStatus.FOUND,
    "",
    "NNHS",
    "1002",
    "NNHS Sports",
    "Official.",
    "https://d203.org",
    ("https://d203.org/nnhs",),
    True,
    "blue",
    NOW,
    1200,
    NOW,
    "https://x.com/nnhs",
    NOW,
    "api",
    "nnhs_old",
    "",
    False,
)

# Written by the encoder before issue 17 (sort_keys JSON, as sealed in the registry).
LEGACY_ACCOUNT = (
    '{"approval":{"approved_by":"Principal Lee","approved_on":"2025-01-02","reference":"FORM-7",'
    '"renewal_due":"2026-01-02","requested_on":"2025-01-01"},"building":"nnhs","co_manager_ids":["p_2"],'
    '"comment_monitor_ids":["p_2"],"created_at":"2026-03-04T05:06:07+00:00","display_name":"NNHS",'
    '"handle":"nnhs.bsky.social","id":"a_0001","login_email":"nnhs@d203.org",'
    '"managers_changed_at":"2026-03-04T05:06:07+00:00","notes":"Note \\u00e9","owner_id":"p_1",'
    '"platform":"bluesky","platform_id":"did:plc:x1","profile_url":"https://bsky.app/profile/nnhs.bsky.social",'
    '"public_comments":null,"purpose":"athletics","status":"active","student_manager_ids":["p_3"],'
    '"tags":["fall","sports"],"two_factor":true,"updated_at":"2026-03-04T05:06:07+00:00"}'
)
LEGACY_FINDING = (
    '{"account_id":"a_0001","building":"nnhs","check_id":"approval.missing","clauses":["N203-APPROVAL"],'
    '"evidence":{"clauses":[{"citation":"Naperville 203, item 2","id":"N203-APPROVAL","text":"must inform"}],'
    '"days":3,"handle":"nnhs.bsky.social"},"message":"Bluesky account nnhs.bsky.social has no approval '
    'on record.","person_id":"","platform":"bluesky","remediation":"File the form.","severity":"high",'
    '"state":"waived","subject":"account:a_0001","waived_until":"2026-12-31","waiver_reason":"Board approved"}'
)
LEGACY_PROFILE = (
    '{"attested_by":"","bio":"Official.","created_at":"2026-03-04T05:06:07+00:00","display_name":"NNHS Sports",'
    '"fetched_at":"2026-03-04T05:06:07+00:00","followers":1200,"handle":"nnhs","handle_unverified":false,'
    '"last_post_at":"2026-03-04T05:06:07+00:00","links":["https://d203.org/nnhs"],"platform":"x",'
    '"platform_handle":"NNHS","platform_id":"1002","reason":"","renamed_from":"nnhs_old","source":"api",'
    '"status":"found","url":"https://x.com/nnhs","verified":true,"verified_kind":"blue","website":"https://d203.org"}'
)


def every_stored_type() -> list[Any]:
    person = Person(
        "p_1",
        "Ava Brooks",
        "ava@d203.org",
        PersonKind.STUDENT,
        False,
        date(2010, 1, 1),
        "07",
        "Yearbook editor",
        "nchs",
        PersonStatus.DEPARTED,
        "E7",
        date(2025, 8, 22),
        None,
        date(2025, 8, 23),
        None,
        date(2026, 1, 1),
        "line one\nline two",
        NOW,
        NOW,
        {"role": FieldSource("roster:oneroster", "2026-01-01T00:00:00+00:00")},
        4,
    )
    run = AuditRun(
        "run-1", NOW, NOW, "it-admin", "naperville-203", True, ("x",), ("approval",), 3, 1, (FINDING,) * 2
    )
    return [
        person,
        Person("p_2", "Bare"),
        ACCOUNT_REC,
        Account("a_2", Platform.X, "bare"),
        PROFILE,
        Profile.unknown(Platform.X, "gone", "HTTP 503"),
        FINDING,
        Finding("c", Severity.LOW, "s", "m", evidence={1: (NOW, date(2026, 1, 1)), "e": Severity.INFO}),
        run,
        AuditRun("run-2", NOW),
        CredentialRef("a_1", True, 2, NOW, "it-admin", None, True, True, 10, 8),
        RotationTask(
            "t_1", "a_1", "owner left", NOW, date(2026, 4, 1), "it-admin", None, 0, ("rotate_password",)
        ),
        RosterEntry("s1", "ava@d203.org", "Ava", buildings=("nchs", "nnhs")),
    ]


@pytest.mark.parametrize("obj", every_stored_type(), ids=lambda o: type(o).__name__)
def test_each_stored_type_encodes_as_the_generic_walk_did(obj: Any) -> None:
    expected = legacy_encode(obj)
    assert to_plain(obj) == expected
    if isinstance(obj, Person | Account):
        expected.pop("version")
    assert obj.to_dict() == expected
    assert stored_bytes(obj.to_dict()) == stored_bytes(expected)


@pytest.mark.parametrize("cls", [Person, Account, Profile, Finding, AuditRun])
def test_a_field_added_to_a_hand_written_encoder_s_type_is_encoded(cls: type) -> None:
    """Each hot type's `to_dict` names its fields one by one; a new field must be added there."""
    names = {f.name for f in dataclasses.fields(cls)} - {"version"}
    sample = next(o for o in every_stored_type() if type(o) is cls)
    assert set(sample.to_dict()) == names


@pytest.mark.parametrize(
    ("cls", "text", "expected"),
    [
        (Account, LEGACY_ACCOUNT, ACCOUNT_REC),
        (Finding, LEGACY_FINDING, FINDING),
        (Profile, LEGACY_PROFILE, PROFILE),
    ],
)
def test_a_record_written_by_the_old_encoder_loads_and_re_encodes_to_the_same_bytes(
    cls: Any, text: str, expected: Any
) -> None:
    data = json.loads(text)
    loaded = cls.from_dict(data, 3) if cls is Account else cls.from_dict(data)
    assert loaded == expected
    assert stored_bytes(loaded.to_dict()) == text.encode("utf-8")


def test_an_account_sealed_with_the_old_encoding_is_listed_by_the_registry(tmp_path: Path) -> None:
    reg = Registry.create(
        SQLiteBackend(tmp_path / "r.db"), "admin", Secret("a passphrase 0123"), kdf_profile="floor"
    )
    old = legacy_encode(ACCOUNT_REC)
    old.pop("version")
    reg.put(ACCOUNT, ACCOUNT_REC.id, old, expected_version=0)
    (listed,) = Inventory(reg).accounts()
    assert listed == dataclasses.replace(ACCOUNT_REC, version=1)
    assert stored_bytes(listed.to_dict()) == stored_bytes(old)


def test_a_secret_is_still_never_encoded() -> None:
    with pytest.raises(TypeError, match="Secret"):
        to_plain({"password": Secret("hunter2")})
    with pytest.raises(TypeError, match="Secret"):
        dataclasses.replace(FINDING, evidence={"token": Secret("x")}).to_dict()


# --------------------------------------------------------------------------------------------------
# The cyclic GC pause


def test_the_gc_pause_ends_when_the_block_ends_even_on_an_error() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: the inner one leaves the pause to the outer
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), gc_paused():
        assert not gc.isenabled()
        _ = 1 / 0
    assert gc.isenabled()


def test_the_gc_pause_keeps_a_collector_the_caller_disabled_disabled() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_reading_records_pauses_the_gc_and_a_reader_that_stops_early_ends_the_pause(tmp_path: Path) -> None:
    reg = Registry.create(
        SQLiteBackend(tmp_path / "r.db"), "admin", Secret("a passphrase 0123"), kdf_profile="floor"
    )
    inv = Inventory(reg)
    with reg.transaction():
        inv.upsert_accounts([Account("", Platform.X, f"school{i}") for i in range(5)])
    states = [gc.isenabled() for _ in reg.scan(ACCOUNT)]
    assert states == [False] * 5 and gc.isenabled()
    records = reg.scan(ACCOUNT)
    next(records)
    assert not gc.isenabled()
    records.close()
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        for _ in reg.scan(ACCOUNT):
            raise RuntimeError("a reader fails half-way")
    assert gc.isenabled()


# --------------------------------------------------------------------------------------------------
# The best-practice framework


def test_the_best_practice_framework_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    parses = []
    real = loader.tomllib.loads

    def counting(text: str) -> dict[str, Any]:
        parses.append(text)
        return real(text)

    loader.best_practice_framework.cache_clear()
    monkeypatch.setattr(loader.tomllib, "loads", counting)
    try:
        first = loader.best_practice_framework()
        assert all(loader.best_practice_framework() is first for _ in range(1000))
        assert len(parses) == 1
        assert first.for_check("login.two_factor_off")  # the same practices as before
    finally:
        loader.best_practice_framework.cache_clear()


def _stored_finding(subject: str, **extra: Any) -> dict[str, Any]:
    clause = {"id": "N203-SMR-1", "citation": "Naperville 203, item 1", "text": "must inform administration"}
    return {
        "check_id": "approval.missing",
        "severity": "high",
        "subject": subject,
        "message": "X account @a has no approval on record.",
        "account_id": subject.split(":")[-1],
        "platform": "x",
        "clauses": ["N203-SMR-1"],
        "evidence": {"clauses": [dict(clause)], "seen": 1},
        "state": "open",
        **extra,
    }


def test_finding_with_is_dataclasses_replace_and_refuses_a_field_that_does_not_exist() -> None:
    from auditor.model.types import finding_with

    f = Finding.from_dict(_stored_finding("account:a_1"))
    for changes in (
        {"state": FindingState.RESOLVED},
        {"state": FindingState.WAIVED, "waived_until": date(2027, 1, 1), "waiver_reason": "r"},
        {"evidence": {**f.evidence, "carried_over": True}},
    ):
        assert finding_with(f, **changes) == dataclasses.replace(f, **changes)
        assert finding_with(f, **changes).to_dict() == dataclasses.replace(f, **changes).to_dict()
    assert f.state is FindingState.OPEN  # the original is untouched
    with pytest.raises(TypeError, match="no field"):
        finding_with(f, stat=FindingState.NEW)


def test_stored_findings_share_the_clauses_they_quote_and_still_read_as_stored() -> None:
    a = Finding.from_dict(_stored_finding("account:a_1"))
    b = Finding.from_dict(_stored_finding("account:a_2"))
    assert a.evidence["clauses"][0] is b.evidence["clauses"][0]  # one dict for the whole ledger
    assert a.to_dict()["evidence"] == _stored_finding("account:a_1")["evidence"]
    odd = Finding.from_dict(_stored_finding("account:a_3", evidence={"clauses": [{"id": 1}, "text"]}))
    assert odd.evidence["clauses"] == [{"id": 1}, "text"]  # anything else is kept as it was
    unknown = Finding.from_dict(
        _stored_finding("account:a_4", severity="HIGH", platform="twitter", state="Open")
    )
    assert (unknown.severity, unknown.platform, unknown.state) == (
        Severity.HIGH,
        Platform.X,
        FindingState.OPEN,
    )
