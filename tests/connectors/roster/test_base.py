"""The roster registry, shared value parsing, and that no source shows its secret."""

from __future__ import annotations

from datetime import date

import pytest

from auditor.model.errors import ConnectorError, InputError
from auditor.model.types import PersonKind, PersonStatus, Secret
from connectors.roster.base import (
    RosterFileError,
    RosterSource,
    SourceKind,
    oneroster_kind,
    oneroster_status,
    parse_bool,
    parse_iso_date,
    source_class,
)
from connectors.roster.google_directory import GoogleDirectorySource
from connectors.roster.msgraph import GraphUsersSource
from connectors.roster.oneroster_rest import OneRosterRestSource


def test_every_source_kind_has_an_implementation() -> None:
    for kind in SourceKind:
        cls = source_class(kind)
        assert issubclass(cls, RosterSource) and cls.kind == kind.value
    with pytest.raises(ConnectorError, match="unknown roster source kind 'ldap'") as info:
        source_class("ldap")
    assert "oneroster-csv" in info.value.hint


def test_file_error_is_an_input_error_with_position() -> None:
    err = RosterFileError("users.csv", "is bad", line=3, column="email", hint="fix it")
    assert isinstance(err, InputError)
    assert (str(err), err.file, err.line, err.column, err.hint) == (
        "users.csv, line 3, column 'email': is bad", "users.csv", 3, "email", "fix it",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), ("FALSE", False), (" 1 ", True), ("", None), (None, None)],
)
def test_parse_bool_accepts_booleans_and_strings(value: object, expected: bool | None) -> None:
    assert parse_bool(value) is expected


def test_parse_bool_and_date_reject_garbage() -> None:
    with pytest.raises(ValueError):
        parse_bool("perhaps")
    with pytest.raises(ValueError):
        parse_iso_date("31/12/2026")
    assert parse_iso_date("2026-06-30T23:30:00.000-05:00") == date(2026, 6, 30)
    assert parse_iso_date("2026-06-30T12:00:00Z") == date(2026, 6, 30)


def test_oneroster_role_and_status_rules() -> None:
    assert [oneroster_kind(r) for r in ("teacher", "Student", "guardian", "districtAdministrator")] == [
        PersonKind.EMPLOYEE, PersonKind.STUDENT, PersonKind.COMMUNITY, PersonKind.EMPLOYEE,
    ]  # fmt: skip
    assert oneroster_status("tobedeleted", True, PersonStatus.ON_LEAVE) is PersonStatus.DEPARTED
    assert oneroster_status("inactive", None, PersonStatus.ON_LEAVE) is PersonStatus.DEPARTED
    assert oneroster_status("", False, PersonStatus.ON_LEAVE) is PersonStatus.ON_LEAVE
    assert oneroster_status("active", None, PersonStatus.ON_LEAVE) is PersonStatus.ACTIVE


def test_secrets_never_appear_in_reprs_and_must_be_secret_objects() -> None:
    sources = [
        OneRosterRestSource("http://127.0.0.1:1", token_url="http://127.0.0.1:1/t", client_id="id",
                            client_secret=Secret("TOPSECRET-1")),
        GraphUsersSource(tenant="t", client_id="id", client_secret=Secret("TOPSECRET-2")),
        GoogleDirectorySource(access_token=Secret("TOPSECRET-3")),
    ]  # fmt: skip
    for src in sources:
        text = repr(src) + str(vars(src))
        assert "TOPSECRET" not in text
    with pytest.raises(TypeError):
        GraphUsersSource(tenant="t", client_id="id", client_secret="plain")  # type: ignore[arg-type]
    with pytest.raises(ConnectorError, match="tenant must be"):
        GraphUsersSource(tenant="a/b", client_id="id", client_secret=Secret("x"))
