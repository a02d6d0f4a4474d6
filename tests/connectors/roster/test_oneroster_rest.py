"""OneRoster REST 1.1/1.2 through the real requests stack against the loopback fake."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date

import pytest

from auditor.model.types import PersonKind, PersonStatus, RosterEntry, Secret
from connectors.roster.base import RosterError
from connectors.roster.fakes import HTML_ERROR_PAGE, FakeOneRoster, imsx
from connectors.roster.oneroster_rest import OneRosterRestSource
from tests.connectors.roster.helpers import FakeClock, settings

TODAY = date(2026, 11, 20)
SCOPE_1P1 = "https://purl.imsglobal.org/spec/or/v1p1/scope/roster.readonly"
USERS = "/ims/oneroster/v1p1/users"
ORGS = "/ims/oneroster/v1p1/orgs"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server() -> Iterator[FakeOneRoster]:
    with FakeOneRoster(client_secret="s3cr:t/+=") as fake:
        assert isinstance(fake, FakeOneRoster)
        yield fake


def source(
    server: FakeOneRoster, clock: FakeClock, secret: str = "s3cr:t/+=", **kw: object
) -> OneRosterRestSource:
    kw.setdefault("page_size", 2)
    return OneRosterRestSource(
        server.url,
        token_url=server.token_url,
        client_id="demo-client",
        client_secret=Secret(secret),
        today=TODAY,
        http=settings(clock),
        **kw,  # type: ignore[arg-type]
    )


def test_pages_through_orgs_and_users_with_exact_requests(server: FakeOneRoster, clock: FakeClock) -> None:
    entries = source(server, clock).fetch()

    token = server.requests[0]
    assert (token.method, token.path) == ("POST", "/oauth/token")
    # Basic base64(urlencode(id):urlencode(secret)): ':' '/' '+' '=' in the secret are escaped.
    assert (
        token.headers["authorization"]
        == "Basic " + base64.b64encode(b"demo-client:s3cr%3At%2F%2B%3D").decode()
    )
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token.form == {"grant_type": "client_credentials", "scope": SCOPE_1P1}
    listing = [(r.path, r.query, r.auth_scheme) for r in server.requests[1:]]
    assert listing == [
        (ORGS, {"limit": "2", "offset": "0"}, "Bearer"),
        (ORGS, {"limit": "2", "offset": "2"}, "Bearer"),  # 3 orgs: 2 + 2 >= X-Total-Count 3, stop
        (USERS, {"limit": "2", "offset": "0"}, "Bearer"),
        (USERS, {"limit": "2", "offset": "2"}, "Bearer"),  # 4 users: stop at offset+limit >= 4
    ]
    assert all("district-social-auditor/" in r.headers["user-agent"] for r in server.requests)
    assert entries == [
        RosterEntry(source_id="u1", email="jdoe@springfield.example", name="Jane Doe", role="teacher",
                    building="Lincoln High School", employee_id="E1001"),
        RosterEntry(source_id="u2", email="bsmith@springfield.example", name="Bob Smith", role="aide",
                    building="Washington Middle School", status=PersonStatus.ON_LEAVE, employee_id="E1002"),
        RosterEntry(source_id="u3", email="ann@springfield.example", name="Ann Admin", role="administrator",
                    building="Springfield Public Schools", employee_id="E1003"),
        RosterEntry(source_id="u4", email="al@springfield.example", name="Al Old", role="teacher",
                    building="Lincoln High School", status=PersonStatus.DEPARTED, employee_id="E1004",
                    left_on=date(2026, 11, 1)),
    ]  # fmt: skip


def test_without_total_count_a_short_page_ends_the_listing(server: FakeOneRoster, clock: FakeClock) -> None:
    server.send_total = False
    entries = source(server, clock, page_size=3).fetch()
    assert [r.query["offset"] for r in server.requests_to(USERS)] == ["0", "3"]  # 3 then 1 (short)
    assert len(entries) == 4
    server.requests.clear()
    source(server, clock, page_size=2).fetch()
    # Pages of 2, 2, then an empty one: only the empty page is short.
    assert [r.query["offset"] for r in server.requests_to(USERS)] == ["0", "2", "4"]


def test_version_1p2_paths_scopes_and_roles(clock: FakeClock) -> None:
    with FakeOneRoster(version="1.2") as server:
        assert isinstance(server, FakeOneRoster)
        server.users[0]["roles"] = [
            {"roleType": "primary", "role": "teacher", "org": {"sourcedId": "wms"}, "beginDate": "2019-08-20",
             "endDate": "2026-06-30"},
            {"roleType": "primary", "role": "principal", "org": {"sourcedId": "lhs"},
             "beginDate": "2026-07-01"},
        ]  # fmt: skip
        entries = source(server, clock, secret="demo-secret", version="1.2", page_size=100).fetch()
    assert (
        server.requests[0].form["scope"]
        == "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly"
    )
    assert [r.path for r in server.requests[1:]] == [
        "/ims/oneroster/rostering/v1p2/orgs",
        "/ims/oneroster/rostering/v1p2/users",
    ]
    assert (entries[0].role, entries[0].building, entries[0].role_began_on) == (
        "principal", "Lincoln High School", date(2026, 7, 1),
    )  # fmt: skip
    assert entries[1].status is PersonStatus.ON_LEAVE  # enabledUser "false" as a string
    assert entries[2].kind is PersonKind.EMPLOYEE


def test_wrong_client_secret_is_a_clear_error_without_the_secret(
    server: FakeOneRoster, clock: FakeClock
) -> None:
    src = source(server, clock, secret="wrong-Secret-123")
    with pytest.raises(RosterError) as info:
        src.fetch()
    assert str(info.value) == (
        "OneRoster REST: the token endpoint refused the client credentials "
        "(HTTP 401: invalid_client (Client authentication failed.))"
    )
    assert "wrong-Secret-123" not in str(info.value) + info.value.hint + repr(src) + repr(src.auth)
    assert len(server.requests) == 1


def test_a_401_refreshes_the_token_once_then_gives_up(server: FakeOneRoster, clock: FakeClock) -> None:
    server.inject(ORGS, 401, imsx("unauthorisedrequest", "Token expired."))
    assert len(source(server, clock).fetch()) == 4
    assert len(server.requests_to("/oauth/token")) == 2
    server.requests.clear()
    server.inject(ORGS, 401, imsx("unauthorisedrequest", "Token expired."), times=2)
    with pytest.raises(RosterError) as info:
        source(server, clock).fetch()
    assert str(info.value) == (
        f"OneRoster REST: GET {ORGS} failed: HTTP 401 unauthorisedrequest: Token expired."
    )
    assert "scope" in info.value.hint


def test_404_imsx_unknownobject(server: FakeOneRoster, clock: FakeClock) -> None:
    src = OneRosterRestSource(
        server.url + "/tenant-x", token_url=server.token_url, client_id="demo-client",
        client_secret=Secret("s3cr:t/+="), http=settings(clock),
    )  # fmt: skip
    with pytest.raises(RosterError) as info:
        src.fetch()
    assert str(info.value) == (
        "OneRoster REST: GET /tenant-x/ims/oneroster/v1p1/orgs failed: HTTP 404 unknownobject: "
        "No resource at /tenant-x/ims/oneroster/v1p1/orgs."
    )


def test_429_server_busy_waits_as_told_then_succeeds(server: FakeOneRoster, clock: FakeClock) -> None:
    server.inject(USERS, 429, imsx("server_busy", "Try later."), {"Retry-After": "2"})
    server.inject(USERS, 429, imsx("server_busy", "Try later."))  # no Retry-After: the fallback wait
    assert len(source(server, clock).fetch()) == 4
    assert clock.sleeps == [2.01, 10.01]
    assert [r.query["offset"] for r in server.requests_to(USERS)] == ["0", "0", "0", "2"]


def test_5xx_is_retried_then_reported(server: FakeOneRoster, clock: FakeClock) -> None:
    server.inject(USERS, 500, imsx("internal_server_error", "Oops"))
    assert len(source(server, clock).fetch()) == 4
    assert clock.sleeps == [1.0]
    server.inject(USERS, 503, imsx("internal_server_error", "Down"), times=3)
    with pytest.raises(RosterError) as info:
        source(server, clock).fetch()
    assert str(info.value).startswith("OneRoster REST: HTTP 503 after 3 attempts (127.0.0.1:")
    assert clock.sleeps == [1.0, 1.0, 2.0]


def test_truncated_json_and_html_pages(server: FakeOneRoster, clock: FakeClock) -> None:
    server.inject(USERS, 200, '{"users": [{"sourcedId": "u1", "ema', {"X-Total-Count": "4"})
    with pytest.raises(RosterError, match=r"^OneRoster REST: unparseable answer \(invalid JSON, HTTP 200\)"):
        source(server, clock).fetch()
    server.inject(ORGS, 200, HTML_ERROR_PAGE)
    with pytest.raises(RosterError, match=r"^OneRoster REST: unparseable answer \(HTML page, HTTP 200\)"):
        source(server, clock).fetch()
    server.inject(ORGS, 403, HTML_ERROR_PAGE)
    with pytest.raises(RosterError) as info:
        source(server, clock).fetch()
    assert str(info.value) == f"OneRoster REST: GET {ORGS} failed: HTTP 403 with an HTML page"
    server.inject(ORGS, 502, HTML_ERROR_PAGE, times=3)
    with pytest.raises(RosterError, match=r"^OneRoster REST: HTTP 502 after 3 attempts"):
        source(server, clock).fetch()


def test_a_listing_without_the_collection_is_refused(server: FakeOneRoster, clock: FakeClock) -> None:
    server.inject(ORGS, 200, {"org": {}})
    with pytest.raises(RosterError, match=f"^OneRoster REST: GET {ORGS} answered without a 'orgs' list$"):
        source(server, clock).fetch()


def test_invalid_enabled_user_names_the_user(server: FakeOneRoster, clock: FakeClock) -> None:
    server.users[1]["enabledUser"] = "sometimes"
    with pytest.raises(
        RosterError, match=r"^OneRoster REST: user 'u2' has an invalid enabledUser: 'sometimes'$"
    ):
        source(server, clock).fetch()
