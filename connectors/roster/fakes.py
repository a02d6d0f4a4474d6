"""Loopback stand-ins for the three REST roster services, for the tests and for `auditor demo`.

Each fake is a stdlib `ThreadingHTTPServer` on 127.0.0.1 with an ephemeral port that answers with
the request and response shapes of docs reference section 8: OneRoster REST (Basic-authenticated
client-credentials token, `limit`/`offset` with `X-Total-Count` and `Link`, `imsx_StatusInfoDType`
errors), Microsoft Graph (form client-credentials token, `$select`/`$top`, `@odata.nextLink` with a
`$skiptoken`, `{"error":{"code","message","innerError"}}`), and the Google Directory API
(`customer`/`maxResults`/`pageToken`, `nextPageToken`, Google error JSON). Every request is recorded
(`server.requests`) so tests can assert exactly what a client sent, and `inject()` queues canned
faults (429 with Retry-After, 5xx, truncated JSON, an HTML page) for the next matching requests.
The credentials they accept are fixed demo values, never real ones.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = "demo-secret"  # noqa: S105 - a fixed value the loopback fake accepts
DEMO_TENANT = "springfield.example"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it. Header names are lower-cased."""

    method: str
    path: str
    raw_query: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.raw_query, keep_blank_values=True).items()}

    @property
    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    @property
    def auth_scheme(self) -> str:
        return self.headers.get("authorization", "").partition(" ")[0]


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, data: Any, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})


HTML_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>The proxy server received an invalid response.</p></body></html>"
)


class FakeServer:
    """Base: threading, recording, fault injection. Subclasses implement `answer()`."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._faults: list[tuple[str, Reply]] = []
        self._lock = threading.Lock()
        self._tokens: set[str] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # TCP_NODELAY: without it the body's send waited ~40 ms for the client's delayed ACK of
            # the headers' send on every keep-alive request (Nagle's algorithm).
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = RecordedRequest(
                    method=self.command,
                    path=unquote(parts.path),
                    raw_query=parts.query,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                reply = owner._dispatch(request)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read .requests
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeServer:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- scripting -----------------------------------------------------------------------------

    def inject(
        self,
        path_prefix: str,
        status: int,
        body: bytes | str | Mapping[str, Any] | list[Any] = b"",
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests whose path starts with `path_prefix` with this reply."""
        if isinstance(body, Mapping | list):
            reply = json_reply(status, body, headers)
        else:
            data = body.encode() if isinstance(body, str) else body
            kind = "text/html" if data.lstrip()[:1] == b"<" else "application/json"
            reply = Reply(status, data, {"Content-Type": kind, **(headers or {})})
        with self._lock:
            self._faults.extend([(path_prefix, reply)] * times)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    # -- internals -----------------------------------------------------------------------------

    def _dispatch(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            for i, (prefix, reply) in enumerate(self._faults):
                if request.path.startswith(prefix):
                    del self._faults[i]
                    return reply
        return self.answer(request)

    def _issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        return token

    def _bearer_ok(self, request: RecordedRequest) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            return scheme.lower() == "bearer" and token in self._tokens

    def answer(self, request: RecordedRequest) -> Reply:
        raise NotImplementedError


def _page(items: list[Any], offset: int, size: int) -> list[Any]:
    return items[offset : offset + size]


# --------------------------------------------------------------------------------------------------
# OneRoster REST


def imsx(code_minor: str, description: str) -> dict[str, Any]:
    """An imsx_StatusInfoDType error body (OneRoster 1.2 OpenAPI)."""
    return {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": code_minor}
            ]
        },
    }


class FakeOneRoster(FakeServer):
    """OneRoster 1.1 (`/ims/oneroster/v1p1`) or 1.2 (`/ims/oneroster/rostering/v1p2`) with a token
    endpoint at `/oauth/token`."""

    TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a password

    def __init__(
        self,
        users: list[dict[str, Any]] | None = None,
        orgs: list[dict[str, Any]] | None = None,
        *,
        version: str = "1.1",
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        send_total: bool = True,
    ) -> None:
        super().__init__()
        self.version = version
        self.root = "/ims/oneroster/v1p1" if version == "1.1" else "/ims/oneroster/rostering/v1p2"
        self.users = users if users is not None else demo_oneroster_users(version)
        self.orgs = orgs if orgs is not None else demo_oneroster_orgs()
        self.client_id = client_id
        self.client_secret = client_secret
        self.send_total = send_total

    @property
    def token_url(self) -> str:
        return self.url + self.TOKEN_PATH

    def answer(self, request: RecordedRequest) -> Reply:
        if request.path == self.TOKEN_PATH and request.method == "POST":
            return self._token(request)
        if request.method != "GET":
            return json_reply(405, imsx("invaliddata", "Method not allowed"))
        if not self._bearer_ok(request):
            return json_reply(401, imsx("unauthorisedrequest", "The request was not correctly authorised."))
        collections = {f"{self.root}/users": ("users", self.users), f"{self.root}/orgs": ("orgs", self.orgs)}
        if request.path not in collections:
            for key, (_, items) in collections.items():
                if request.path.startswith(key + "/"):
                    wanted = request.path.rsplit("/", 1)[-1]
                    found = [i for i in items if i.get("sourcedId") == wanted]
                    if found:
                        return json_reply(200, {key.rsplit("/", 1)[-1][:-1]: found[0]})
            return json_reply(404, imsx("unknownobject", f"No resource at {request.path}."))
        name, items = collections[request.path]
        try:
            limit = int(request.query.get("limit", "100"))
            offset = int(request.query.get("offset", "0"))
            if limit < 1 or offset < 0:
                raise ValueError
        except ValueError:
            return json_reply(400, imsx("invalid_selection_field", "limit and offset must be whole numbers."))
        headers = {}
        if self.send_total:
            headers["X-Total-Count"] = str(len(items))
        links = []
        base = self.url + request.path
        if offset + limit < len(items):
            links.append(f'<{base}?{urlencode({"limit": limit, "offset": offset + limit})}>; rel="next"')
        last = max(0, (len(items) - 1) // limit * limit)
        links.append(f'<{base}?{urlencode({"limit": limit, "offset": last})}>; rel="last"')
        headers["Link"] = ", ".join(links)
        return json_reply(200, {name: _page(items, offset, limit)}, headers)

    def _token(self, request: RecordedRequest) -> Reply:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            pair = base64.b64decode(encoded).decode() if scheme.lower() == "basic" else ""
        except ValueError:
            pair = ""
        raw_id, _, raw_secret = pair.partition(":")
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return json_reply(400, {"error": "unsupported_grant_type"})
        if (unquote(raw_id), unquote(raw_secret)) != (self.client_id, self.client_secret):
            return json_reply(
                401, {"error": "invalid_client", "error_description": "Client authentication failed."}
            )
        return json_reply(
            200,
            {"access_token": self._issue_token(), "token_type": "bearer", "expires_in": 3600,
             "scope": form.get("scope", "")},
        )  # fmt: skip


def demo_oneroster_orgs() -> list[dict[str, Any]]:
    return [
        {"sourcedId": "dist1", "status": "active", "name": "Springfield Public Schools", "type": "district"},
        {"sourcedId": "lhs", "status": "active", "name": "Lincoln High School", "type": "school"},
        {"sourcedId": "wms", "status": "active", "name": "Washington Middle School", "type": "school"},
    ]


def demo_oneroster_users(version: str = "1.1") -> list[dict[str, Any]]:
    people = [
        ("u1", "Jane", "Doe", "jdoe@springfield.example", "E1001", "teacher", "lhs", "active", "true"),
        ("u2", "Bob", "Smith", "bsmith@springfield.example", "E1002", "aide", "wms", "active", "false"),
        (
            "u3",
            "Ann",
            "Admin",
            "ann@springfield.example",
            "E1003",
            "administrator",
            "dist1",
            "active",
            "true",
        ),
        ("u4", "Al", "Old", "al@springfield.example", "E1004", "teacher", "lhs", "tobedeleted", "true"),
    ]  # enabledUser as the 1.1 binding (and the recorded v1p1_rest.json) spell it: a string
    users = []
    for sid, given, family, email, ident, role, org, status, enabled in people:
        user: dict[str, Any] = {
            "sourcedId": sid, "status": status, "dateLastModified": "2026-11-01T12:00:00.000Z",
            "enabledUser": enabled, "username": email.split("@")[0], "givenName": given, "familyName": family,
            "identifier": ident, "email": email, "grades": [],
        }  # fmt: skip
        ref = {"href": f"/orgs/{org}", "sourcedId": org, "type": "org"}
        if version == "1.1":
            user.update(role=role, orgs=[ref])
        else:
            user["roles"] = [{"roleType": "primary", "role": role, "org": ref, "beginDate": "2020-08-20"}]
            user["primaryOrg"] = ref
        users.append(user)
    return users


# --------------------------------------------------------------------------------------------------
# Microsoft Graph


def graph_error(code: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": "2026-11-20T06:00:00",
                "request-id": "00000000-0000-0000-0000-000000000000",
                "client-request-id": "00000000-0000-0000-0000-000000000000",
            },
        }
    }  # fmt: skip


GRAPH_ROLES = ("User.Read.All", "User-LifeCycleInfo.Read.All")
LIFECYCLE_FIELDS = ("employeeHireDate", "employeeLeaveDateTime")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class FakeGraph(FakeServer):
    """The Microsoft identity platform token endpoint and Graph `/v1.0/users` on one port.

    `page_size` caps a page below the client's `$top`, so paging can be exercised with few users.
    The access token is JWT-shaped like Entra's app-only tokens: header.payload.signature, the
    payload's `roles` claim listing the application permissions granted (`roles`). Without
    User-LifeCycleInfo.Read.All (or .ReadWrite.All) Graph answers `employeeHireDate` and
    `employeeLeaveDateTime` as null for everyone, with no error (Azure/LogicAppsUX#4925, recorded in
    fixtures/real-api/msgraph); so does this fake. `jwt=False` issues an opaque token instead.
    """

    def __init__(
        self,
        users: list[dict[str, Any]] | None = None,
        *,
        tenant: str = DEMO_TENANT,
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        page_size: int = 999,
        roles: tuple[str, ...] = GRAPH_ROLES,
        jwt: bool = True,
    ) -> None:
        super().__init__()
        self.users = users if users is not None else demo_graph_users()
        self.tenant = tenant
        self.client_id = client_id
        self.client_secret = client_secret
        self.page_size = page_size
        self.roles = roles
        self.jwt = jwt

    @property
    def reads_lifecycle(self) -> bool:
        return bool({"User-LifeCycleInfo.Read.All", "User-LifeCycleInfo.ReadWrite.All"} & set(self.roles))

    def _graph_token(self) -> str:
        """An Entra-shaped app-only token: the claims a client could read, a made-up signature."""
        if not self.jwt:
            return self._issue_token()
        header = {"typ": "JWT", "alg": "RS256", "kid": "fake-key"}
        claims = {
            "aud": "https://graph.microsoft.com", "iss": f"https://sts.windows.net/{self.tenant}/",
            "appid": self.client_id, "idtyp": "app", "roles": list(self.roles), "tid": self.tenant,
            "ver": "1.0",
        }  # fmt: skip
        token = ".".join(
            (_b64url(json.dumps(header).encode()), _b64url(json.dumps(claims).encode()),
             _b64url(secrets.token_bytes(32)))
        )  # fmt: skip
        with self._lock:
            self._tokens.add(token)
        return token

    def answer(self, request: RecordedRequest) -> Reply:
        if request.method == "POST" and request.path == f"/{self.tenant}/oauth2/v2.0/token":
            form = request.form
            if form.get("grant_type") != "client_credentials":
                return json_reply(400, {"error": "unsupported_grant_type"})
            if (form.get("client_id"), form.get("client_secret")) != (self.client_id, self.client_secret):
                return json_reply(
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret provided.",
                    },
                )
            token = self._graph_token()
            return json_reply(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                    "access_token": token})  # fmt: skip
        if request.method == "POST" and request.path.endswith("/oauth2/v2.0/token"):
            return json_reply(
                400, {"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found."}
            )
        if not self._bearer_ok(request):
            return json_reply(
                401, graph_error("InvalidAuthenticationToken", "Access token validation failure.")
            )
        query = request.query
        select = [s for s in query.get("$select", "").split(",") if s]

        def shape(user: dict[str, Any]) -> dict[str, Any]:
            out = {k: user.get(k) for k in select} if select else dict(user)
            if not self.reads_lifecycle:
                out.update({k: None for k in LIFECYCLE_FIELDS if k in out})
            return out

        if request.path == "/v1.0/users":
            try:
                top = min(int(query.get("$top", "100")), self.page_size)
                skip = (
                    int(base64.urlsafe_b64decode(query["$skiptoken"]).decode())
                    if "$skiptoken" in query
                    else 0
                )
            except (ValueError, KeyError):
                return json_reply(400, graph_error("BadRequest", "Invalid paging parameters."))
            body: dict[str, Any] = {
                "@odata.context": f"{self.url}/v1.0/$metadata#users",
                "value": [shape(u) for u in _page(self.users, skip, top)],
            }
            if skip + top < len(self.users):
                token = base64.urlsafe_b64encode(str(skip + top).encode()).decode()
                carried = {k: v for k, v in query.items() if k != "$skiptoken"}
                carried["$skiptoken"] = token
                body["@odata.nextLink"] = f"{self.url}/v1.0/users?{urlencode(carried, safe='$,')}"
            return json_reply(200, body)
        if request.path.startswith("/v1.0/users/"):
            key = request.path.rsplit("/", 1)[-1].lower()
            for user in self.users:
                if key in (str(user.get("id", "")).lower(), str(user.get("userPrincipalName", "")).lower()):
                    return json_reply(200, shape(user))
        return json_reply(
            404,
            graph_error(
                "Request_ResourceNotFound",
                f"Resource '{request.path.rsplit('/', 1)[-1]}' does not exist or one of its queried "
                "reference-property objects are not present.",
            ),
        )


def demo_graph_users() -> list[dict[str, Any]]:
    rows = [
        ("11111111-1111-1111-1111-111111111111", "Jane Doe", "jdoe@springfield.example", True, "Teacher",
         "Lincoln High School", "E1001", "Employee", None),
        ("22222222-2222-2222-2222-222222222222", "Bob Smith", "bsmith@springfield.example", True, "Aide",
         "Washington Middle School", "E1002", "Employee", "2026-10-31T00:00:00Z"),
        ("33333333-3333-3333-3333-333333333333", "Ann Admin", "ann@springfield.example", True,
         "Communications Director", "District Office", "E1003", "Employee", None),
        ("44444444-4444-4444-4444-444444444444", "Al Old", "al@springfield.example", False, "Teacher",
         "Lincoln High School", "E1004", "Employee", None),
    ]  # fmt: skip
    return [
        {"id": i, "displayName": n, "userPrincipalName": m, "mail": m, "accountEnabled": en, "jobTitle": t,
         "department": d, "employeeId": e, "employeeType": ty, "employeeHireDate": "2015-08-20T00:00:00Z",
         "employeeLeaveDateTime": leave, "businessPhones": [], "givenName": n.split()[0]}
        for i, n, m, en, t, d, e, ty, leave in rows
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Google Directory


def google_error(code: int, message: str, reason: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message,
                      "errors": [{"message": message, "domain": "global", "reason": reason}]}}  # fmt: skip


class FakeGoogleDirectory(FakeServer):
    """Admin SDK Directory `users.list` and `users.get`; accepts one fixed bearer token."""

    PATH = "/admin/directory/v1/users"

    def __init__(
        self,
        users: list[dict[str, Any]] | None = None,
        *,
        access_token: str = "demo-google-token",  # noqa: S107 - the loopback fake's fixed value
        page_size: int = 500,
    ) -> None:
        super().__init__()
        self.users = users if users is not None else demo_google_users()
        self.page_size = page_size
        self._tokens.add(access_token)

    def answer(self, request: RecordedRequest) -> Reply:
        if not self._bearer_ok(request):
            return json_reply(
                401,
                google_error(401, "Request had invalid authentication credentials.", "authError"),
            )
        query = request.query
        if request.path == self.PATH:
            if not query.get("customer") and not query.get("domain"):
                return json_reply(400, google_error(400, "Bad Request", "badRequest"))
            try:
                size = min(int(query.get("maxResults", "100")), self.page_size)
                start = (
                    int(base64.urlsafe_b64decode(query["pageToken"]).decode())
                    if query.get("pageToken")
                    else 0
                )
            except (ValueError, KeyError):
                return json_reply(400, google_error(400, "Invalid Value", "invalid"))
            body: dict[str, Any] = {"kind": "admin#directory#users", "etag": '"fake-etag"'}
            page = _page(self.users, start, size)
            if page:
                body["users"] = page
            if start + size < len(self.users):
                body["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
            return json_reply(200, body)
        if request.path.startswith(self.PATH + "/"):
            key = request.path.rsplit("/", 1)[-1].lower()
            for user in self.users:
                if key in (str(user.get("id", "")).lower(), str(user.get("primaryEmail", "")).lower()):
                    return json_reply(200, user)
        return json_reply(404, google_error(404, "Resource Not Found: userKey", "notFound"))


def demo_google_users() -> list[dict[str, Any]]:
    def user(
        uid: str, email: str, given: str, family: str, ou: str, title: str, dept: str, **extra: Any
    ) -> dict[str, Any]:
        return {
            "kind": "admin#directory#user", "id": uid, "primaryEmail": email,
            "name": {"givenName": given, "familyName": family, "fullName": f"{given} {family}"},
            "isAdmin": False, "suspended": False, "archived": False, "orgUnitPath": ou,
            "organizations": [{"title": title, "department": dept, "primary": True}] if title else [],
            "externalIds": [{"value": extra.pop("employee_id", ""), "type": "organization"}],
            "creationTime": "2015-08-20T12:00:00.000Z", **extra,
        }  # fmt: skip

    return [
        user("101", "jdoe@springfield.example", "Jane", "Doe", "/Staff/Lincoln High", "Teacher",
             "Lincoln High School", employee_id="E1001"),
        user("102", "bsmith@springfield.example", "Bob", "Smith", "/Staff/Washington Middle", "Aide",
             "Washington Middle School", employee_id="E1002", suspended=True, suspensionReason="ADMIN"),
        user("103", "al@springfield.example", "Al", "Old", "/Former Staff", "Teacher", "Lincoln High School",
             employee_id="E1004", archived=True),
        user("104", "kim.lee@students.springfield.example", "Kim", "Lee", "/Students/Lincoln High", "", ""),
    ]  # fmt: skip
