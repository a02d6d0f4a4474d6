"""Microsoft Graph users through the real requests stack against the loopback fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from auditor.model.types import PersonKind, PersonStatus, RosterEntry, Secret
from connectors.roster.base import RosterError
from connectors.roster.fakes import DEMO_TENANT, HTML_ERROR_PAGE, FakeGraph, graph_error
from connectors.roster.msgraph import SELECT, GraphUsersSource, token_roles
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


# -- the missing User-LifeCycleInfo.Read.All permission (issue 15) --------------------------------


def _token(server: FakeGraph) -> str:
    import requests

    reply = requests.post(
        server.url + TOKEN_PATH,
        data={"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret"},
        timeout=5,
    )
    token: str = reply.json()["access_token"]
    return token


def test_the_fake_token_is_a_jwt_whose_roles_claim_the_source_reads() -> None:
    with FakeGraph(roles=("User.Read.All",)) as server:
        assert isinstance(server, FakeGraph)
        token = _token(server)
    assert token.count(".") == 2
    assert token_roles(token) == frozenset({"User.Read.All"})
    for opaque in ("not-a-jwt", "a.b.c", "eyJ0eXAiOiJKV1QiLCJhbGciOi.REPLAYED.TOKEN"):  # the recorded one
        assert token_roles(opaque) is None


@pytest.mark.parametrize("granted", ["User-LifeCycleInfo.Read.All", "User-LifeCycleInfo.ReadWrite.All"])
def test_with_a_lifecycle_permission_there_is_no_note(granted: str, clock: FakeClock) -> None:
    with FakeGraph(roles=("User.Read.All", granted)) as server:
        assert isinstance(server, FakeGraph)
        src = source(server, clock)
        entries = src.fetch()
        snapshot = src.snapshot()
    assert src.notes == [] and snapshot.notes == ()
    assert (entries[1].status, entries[1].left_on) == (PersonStatus.DEPARTED, date(2026, 10, 31))


@pytest.mark.parametrize("roles", [("User.Read.All",), ("User.Read.All", "User.ReadWrite.All")])
def test_without_it_graph_nulls_leave_dates_silently_and_the_source_says_so(
    roles: tuple[str, ...], clock: FakeClock
) -> None:
    with FakeGraph(roles=roles) as server:
        assert isinstance(server, FakeGraph)
        src = source(server, clock)
        entries = src.fetch()
        snapshot = src.snapshot()
    # Bob's passed leave date comes back null: he stays active; Al (disabled) still departs.
    assert entries[1].status is PersonStatus.ACTIVE
    assert entries[3].status is PersonStatus.DEPARTED
    assert src.notes == [
        "Microsoft Graph users: the app is not granted User-LifeCycleInfo.Read.All (its token's roles do "
        "not include it), so Graph answers employeeLeaveDateTime as null for everyone: leave dates cannot "
        "be read, and departures come only from accountEnabled. Grant the application permission "
        "User-LifeCycleInfo.Read.All with admin consent in Entra ID (docs/roster.md)."
    ]
    assert snapshot.notes == tuple(src.notes)


def _users(n: int, *, one_dated: bool) -> list[dict[str, Any]]:
    from connectors.roster.fakes import demo_graph_users

    first = demo_graph_users()[0]
    return [
        {**first, "id": f"id-{i}", "mail": f"u{i}@springfield.example", "userPrincipalName": f"u{i}@springfield.example",
         "employeeHireDate": "2015-08-20T00:00:00Z" if one_dated and i == 7 else None, "employeeLeaveDateTime": None}
        for i in range(n)
    ]  # fmt: skip


def test_an_opaque_token_falls_back_to_a_listing_without_any_date(clock: FakeClock) -> None:
    with FakeGraph(_users(25, one_dated=False), jwt=False) as server:
        assert isinstance(server, FakeGraph)
        src = source(server, clock)
        src.fetch()
    [note] = src.notes
    assert "(not one of the 25 users has a hire or leave date)" in note
    # One date anywhere, or too few users to tell: no note.
    for users in (_users(25, one_dated=True), _users(19, one_dated=False)):
        with FakeGraph(users, jwt=False) as server:
            assert isinstance(server, FakeGraph)
            src = source(server, clock)
            src.fetch()
        assert src.notes == []


def test_roster_sync_cli_shows_the_missing_permission_and_still_applies(tmp_path: Any) -> None:
    from tests.e2e.conftest import Cli

    cli = Cli(tmp_path)
    cli.init()
    people = "name,email,kind,role,building,status,employee_id\n" + "".join(
        f"{u['displayName']},{u['mail']},employee,{u['jobTitle']},{u['department']},active,{u['employeeId']}\n"
        for u in FakeGraph().users
    )
    cli.ok("person", "import", str(cli.file("people.csv", people)))
    with FakeGraph(roles=("User.Read.All",)) as graph:
        args = ["-o", f"tenant={DEMO_TENANT}", "-o", "client_id=demo-client", "-o", f"login_url={graph.url}",
                "-o", f"graph_url={graph.url}"]  # fmt: skip
        cli.ok("roster", "add", "entra", "--kind", "msgraph", *args, "--secret-stdin", input="demo-secret\n")
        dry = cli.ok("roster", "sync", "entra", "--dry-run").output
        applied = json.loads(cli.ok("roster", "sync", "entra", "--format", "json").output)
        history = json.loads(cli.ok("roster", "history", "--json").output)
    assert "Source notes (the sync still applies):" in dry
    assert "! entra: the app is not granted User-LifeCycleInfo.Read.All" in dry
    assert "departures come only from accountEnabled" in dry
    # A note, not a warning: the sync is applied (Al, disabled, departs), nothing is refused.
    assert applied["applied"] is True and applied["warnings"] == []
    assert [n[:50] for n in applied["notes"]] == ["entra: the app is not granted User-LifeCycleInfo.R"]
    assert applied["counts"]["departures"] == 1
    assert history["items"] and "demo-secret" not in json.dumps(applied)
