"""Google Directory users.list through the real requests stack against the loopback fake."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from auditor.model.types import PersonKind, PersonStatus, RosterEntry, Secret
from connectors.roster.base import RosterError
from connectors.roster.fakes import HTML_ERROR_PAGE, FakeGoogleDirectory, google_error
from connectors.roster.google_directory import PATH, GoogleDirectorySource
from tests.connectors.roster.helpers import FakeClock, settings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server() -> Iterator[FakeGoogleDirectory]:
    with FakeGoogleDirectory(page_size=3) as fake:
        assert isinstance(fake, FakeGoogleDirectory)
        yield fake


def source(
    server: FakeGoogleDirectory, clock: FakeClock, token: str = "demo-google-token", **kw: Any
) -> GoogleDirectorySource:
    return GoogleDirectorySource(access_token=Secret(token), base_url=server.url, http=settings(clock), **kw)


def test_pages_with_next_page_token_and_maps_fields(server: FakeGoogleDirectory, clock: FakeClock) -> None:
    entries = source(server, clock).fetch()
    first, second = server.requests
    assert (first.method, first.path) == ("GET", PATH)
    assert first.query == {"customer": "my_customer", "maxResults": "500", "projection": "full"}
    assert first.headers["authorization"] == "Bearer demo-google-token"
    assert second.query == {
        "customer": "my_customer",
        "maxResults": "500",
        "projection": "full",
        "pageToken": "Mw==",
    }
    assert entries == [
        RosterEntry(source_id="101", email="jdoe@springfield.example", name="Jane Doe", role="Teacher",
                    building="Lincoln High School", employee_id="E1001"),
        RosterEntry(source_id="102", email="bsmith@springfield.example", name="Bob Smith", role="Aide",
                    building="Washington Middle School", status=PersonStatus.DEPARTED, employee_id="E1002"),
        RosterEntry(source_id="103", email="al@springfield.example", name="Al Old", role="Teacher",
                    building="Lincoln High School", status=PersonStatus.DEPARTED, employee_id="E1004"),
        RosterEntry(source_id="104", email="kim.lee@students.springfield.example", name="Kim Lee",
                    kind=PersonKind.STUDENT),
    ]  # fmt: skip


def test_options_suspended_on_leave_domain_query_and_org_unit_buildings(
    server: FakeGoogleDirectory, clock: FakeClock
) -> None:
    entries = source(
        server, clock, domain="springfield.example", query="orgUnitPath=/Staff",
        suspended_means=PersonStatus.ON_LEAVE, building_from_org_unit=True,
    ).fetch()  # fmt: skip
    assert server.requests[0].query == {
        "domain": "springfield.example", "maxResults": "500", "projection": "full",
        "query": "orgUnitPath=/Staff",
    }  # fmt: skip
    assert (entries[0].building, entries[1].status, entries[1].left_on) == (
        "Lincoln High", PersonStatus.ON_LEAVE, None,
    )  # fmt: skip


def test_expired_token_is_a_clear_error_without_the_token(
    server: FakeGoogleDirectory, clock: FakeClock
) -> None:
    with pytest.raises(RosterError) as info:
        source(server, clock, token="ya29.expired-token").fetch()
    assert str(info.value) == (
        f"Google Directory users: GET {PATH} failed: HTTP 401 authError: "
        "Request had invalid authentication credentials."
    )
    assert "ya29" not in str(info.value) + info.value.hint and "readonly" in info.value.hint


def test_404_not_found_and_429_wait(server: FakeGoogleDirectory, clock: FakeClock) -> None:
    server.inject(PATH, 404, google_error(404, "Resource Not Found: userKey", "notFound"))
    with pytest.raises(RosterError, match=r"HTTP 404 notFound: Resource Not Found: userKey$"):
        source(server, clock).fetch()
    server.inject(
        PATH, 429, google_error(429, "Rate Limit Exceeded", "rateLimitExceeded"), {"Retry-After": "1"}
    )
    assert len(source(server, clock).fetch()) == 4
    assert clock.sleeps == [1.01]


def test_5xx_retried_then_reported_truncated_and_html(server: FakeGoogleDirectory, clock: FakeClock) -> None:
    server.inject(PATH, 503, HTML_ERROR_PAGE)
    assert len(source(server, clock).fetch()) == 4
    server.inject(PATH, 500, google_error(500, "Backend Error", "backendError"), times=3)
    with pytest.raises(RosterError, match=r"^Google Directory users: HTTP 500 after 3 attempts"):
        source(server, clock).fetch()
    server.inject(PATH, 200, '{"kind": "admin#directory#users", "users": [{"id": "1"')
    with pytest.raises(RosterError, match=r"unparseable answer \(invalid JSON, HTTP 200\)"):
        source(server, clock).fetch()
    server.inject(PATH, 200, HTML_ERROR_PAGE)
    with pytest.raises(RosterError, match=r"unparseable answer \(HTML page, HTTP 200\)"):
        source(server, clock).fetch()


def test_repeated_page_token_stops(server: FakeGoogleDirectory, clock: FakeClock) -> None:
    server.inject(PATH, 200, {"users": [], "nextPageToken": "same"}, times=2)
    with pytest.raises(RosterError, match="repeated a page token"):
        source(server, clock).fetch()
