"""Microsoft Graph users through the real requests stack against the loopback fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from auditor.model.types import PersonKind, PersonStatus, RosterEntry, Secret
from connectors.roster.base import RosterError
from connectors.roster.fakes import DEMO_TENANT, HTML_ERROR_PAGE, FakeGraph, graph_error
from connectors.roster.msgraph import SELECT, GraphUsersSource
from tests.connectors.roster.helpers import FakeClock, settings

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
TOKEN_PATH = f"/{DEMO_TENANT}/oauth2/v2.0/token"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server() -> Iterator[FakeGraph]:
    with FakeGraph(page_size=2) as fake:
        assert isinstance(fake, FakeGraph)
        yield fake


def source(server: FakeGraph, clock: FakeClock, secret: str = "demo-secret", **kw: Any) -> GraphUsersSource:
    return GraphUsersSource(
        tenant=DEMO_TENANT,
        client_id="demo-client",
        client_secret=Secret(secret),
        login_url=server.url,
        graph_url=server.url,
        now=lambda: NOW,
        http=settings(clock),
        **kw,
    )


def test_token_then_every_next_link_with_exact_requests(server: FakeGraph, clock: FakeClock) -> None:
    server.users.append(
        {**server.users[0], "id": "5", "mail": None,
         "userPrincipalName": "Kim.Lee@Students.Springfield.example", "employeeType": "Student",
         "jobTitle": None, "department": "Lincoln High School", "employeeId": None}
    )  # fmt: skip
    entries = source(server, clock).fetch()

    token = server.requests[0]
    assert (token.method, token.path, token.auth_scheme) == ("POST", TOKEN_PATH, "")
    assert token.form == {
        "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/.default",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
    }
    pages = server.requests[1:]
    assert [r.path for r in pages] == ["/v1.0/users"] * 3  # 5 users, pages of 2
    assert pages[0].raw_query == f"$select={SELECT}&$top=999"
    assert pages[0].query == {"$select": SELECT, "$top": "999"}
    # The next pages are the ENTIRE nextLink: $select and $top carried, plus the $skiptoken.
    assert [sorted(r.query) for r in pages[1:]] == [["$select", "$skiptoken", "$top"]] * 2
    assert all(r.headers["authorization"].startswith("Bearer ") for r in pages)

    assert entries[0] == RosterEntry(
        source_id="11111111-1111-1111-1111-111111111111", email="jdoe@springfield.example", name="Jane Doe",
        role="Teacher", building="Lincoln High School", employee_id="E1001",
    )  # fmt: skip
    # Leave date passed -> departed on that day; disabled account -> departed.
    assert (entries[1].status, entries[1].left_on) == (PersonStatus.DEPARTED, date(2026, 10, 31))
    assert (entries[2].status, entries[2].role) == (PersonStatus.ACTIVE, "Communications Director")
    assert (entries[3].status, entries[3].left_on) == (PersonStatus.DEPARTED, None)
    assert (entries[4].email, entries[4].kind, entries[4].role) == (
        "kim.lee@students.springfield.example", PersonKind.STUDENT, "",
    )  # fmt: skip


def test_future_leave_date_is_still_active(server: FakeGraph, clock: FakeClock) -> None:
    server.users[0]["employeeLeaveDateTime"] = "2027-06-30T00:00:00Z"
    assert source(server, clock).fetch()[0].status is PersonStatus.ACTIVE


def test_wrong_secret(server: FakeGraph, clock: FakeClock) -> None:
    with pytest.raises(RosterError) as info:
        source(server, clock, secret="nope-9f8e7d").fetch()
    assert str(info.value) == (
        "Microsoft Graph users: the token endpoint refused the client credentials "
        "(HTTP 401: invalid_client (AADSTS7000215: Invalid client secret provided.))"
    )
    assert "nope-9f8e7d" not in str(info.value) + info.value.hint


def test_429_and_503_with_retry_after_wait_then_succeed(server: FakeGraph, clock: FakeClock) -> None:
    server.inject(
        "/v1.0/users", 429, graph_error("TooManyRequests", "Too many requests"), {"Retry-After": "3"}
    )
    server.inject("/v1.0/users", 503, graph_error("serviceNotAvailable", "Busy"), {"Retry-After": "1"})
    assert len(source(server, clock).fetch()) == 4
    assert clock.sleeps == [3.01, 1.0]


def test_404_graph_error_and_401_after_refresh(server: FakeGraph, clock: FakeClock) -> None:
    server.inject(
        "/v1.0/users", 404, graph_error("Request_ResourceNotFound", "Resource 'users' does not exist.")
    )
    with pytest.raises(RosterError) as info:
        source(server, clock).fetch()
    assert str(info.value) == (
        "Microsoft Graph users: GET /v1.0/users failed: HTTP 404 Request_ResourceNotFound: "
        "Resource 'users' does not exist."
    )
    err = graph_error("Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    server.inject("/v1.0/users", 403, err)
    with pytest.raises(RosterError) as info:
        source(server, clock).fetch()
    assert "User.Read.All" in info.value.hint
    server.requests.clear()
    server.inject(
        "/v1.0/users", 401, graph_error("InvalidAuthenticationToken", "Lifetime validation failed.")
    )
    assert len(source(server, clock).fetch()) == 4
    assert len(server.requests_to(TOKEN_PATH)) == 2


def test_5xx_retried_then_reported_and_bad_bodies(server: FakeGraph, clock: FakeClock) -> None:
    server.inject("/v1.0/users", 500, HTML_ERROR_PAGE, times=3)
    with pytest.raises(RosterError, match=r"^Microsoft Graph users: HTTP 500 after 3 attempts"):
        source(server, clock).fetch()
    server.inject("/v1.0/users", 200, '{"value": [{"id": "1", "mail": "a@')
    with pytest.raises(RosterError, match=r"unparseable answer \(invalid JSON, HTTP 200\)"):
        source(server, clock).fetch()
    server.inject("/v1.0/users", 200, HTML_ERROR_PAGE)
    with pytest.raises(RosterError, match=r"unparseable answer \(HTML page, HTTP 200\)"):
        source(server, clock).fetch()


def test_next_link_to_another_host_is_not_followed(server: FakeGraph, clock: FakeClock) -> None:
    server.inject(
        "/v1.0/users", 200, {"value": [], "@odata.nextLink": "https://evil.example/v1.0/users?$skiptoken=x"}
    )
    with pytest.raises(RosterError, match=r"@odata\.nextLink points away from"):
        source(server, clock).fetch()
    assert [r.path for r in server.requests] == [TOKEN_PATH, "/v1.0/users"]
