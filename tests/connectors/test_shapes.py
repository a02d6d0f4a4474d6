"""Hostile JSON from a platform: every connector reads the fake's real answer with one part of it
replaced by the wrong shape (a string or a list where the profile object belongs, a number for the
username, null, nesting 100,000 levels deep) and must report that account UNKNOWN with the reason
"the platform answered in an unexpected shape", never raise and never call it found."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from auditor.model.types import ProfileStatus
from connectors.fakes.server import RecordedRequest, Reply
from connectors.http import SHAPE_REASON

from .helpers import CASES, JsonPath, connect, start

DEEP = b"[" * 100_000 + b"]" * 100_000

# Per platform: the request paths that answer the profile (single and batch lookups), where the
# profile object sits in each JSON answer, and its username key (each case's `profile_at` and
# `username_key` in helpers.py).
Path = JsonPath
WHERE: dict[str, tuple[dict[str, Path], str]] = {
    name: (case.profile_at, case.username_key) for name, case in CASES.items() if case.profile_at
}


def _replace(body: Any, path: tuple[str | int, ...], value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(body)
    node = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


def _set_key(body: Any, path: tuple[str | int, ...], key: str, value: Any) -> Any:
    *inner, last = key.split(".")
    out = copy.deepcopy(body)
    node = out
    for step in (*path, *inner):
        node = node[step]
    node[last] = value
    return out


Mutation = Callable[[Any, tuple[str | int, ...], str], Any]
MUTATIONS: dict[str, Mutation] = {
    "profile is a string": lambda b, p, k: _replace(b, p, "lincolnhs"),
    "profile is a list": lambda b, p, k: _replace(b, p, [{"username": "lincolnhs"}, 2]),
    "profile is a number": lambda b, p, k: _replace(b, p, 4242),
    "username is a number": lambda b, p, k: _set_key(b, p, k, 4242),
    "username is an object": lambda b, p, k: _set_key(b, p, k, {"text": "lincolnhs"}),
    "username nested 100,000 deep": lambda b, p, k: (
        json.dumps(_set_key(b, p, k, "@@DEEP@@")).encode().replace(b'"@@DEEP@@"', DEEP)
    ),
    "whole answer nested 100,000 deep": lambda b, p, k: DEEP,
    "whole answer is a string": lambda b, p, k: "ok",
    "whole answer is a list": lambda b, p, k: [b],
}
# null where the profile belongs is "nothing here" on some platforms (X: not mentioned; Instagram:
# no business_discovery): always UNKNOWN, with the platform's own reason where it has one.
NULLS: dict[str, Mutation] = {
    "profile is null": lambda b, p, k: _replace(b, p, None),
    "whole answer is null": lambda b, p, k: None,
}


def _hostile(server: Any, name: str, mutate: Mutation) -> None:
    endpoints, key = WHERE[name]
    real = server.route

    def route(req: RecordedRequest) -> Reply:
        reply = real(req)
        path = endpoints.get(req.path)
        if path is not None and reply.status == 200 and not isinstance(reply.body, bytes):
            reply.body = mutate(reply.body, path, key)
            if not isinstance(reply.body, bytes):
                reply.body = json.dumps(reply.body).encode()
        return reply

    server.route = route


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
@pytest.mark.parametrize("name", sorted(WHERE))
def test_a_wrongly_shaped_answer_is_unknown_with_a_clear_reason(name: str, mutation: str) -> None:
    case = CASES[name]
    with start(case) as server:
        _hostile(server, name, MUTATIONS[mutation])
        connector = connect(case, server)
        single = connector.lookup(case.handle)
        many = connector.lookup_many([case.handle])[case.handle]
    for profile in (single, many):
        assert profile.status is ProfileStatus.UNKNOWN, (profile.status, profile.reason)
        assert profile.reason.startswith(SHAPE_REASON), profile.reason
        assert "Traceback" not in profile.reason and "lincolnhs" not in profile.reason.split("(")[0]
    assert {r.path for r in server.requests} & set(WHERE[name][0]), "the hostile answer was served"


@pytest.mark.parametrize("mutation", sorted(NULLS))
@pytest.mark.parametrize("name", sorted(WHERE))
def test_null_where_the_profile_belongs_is_unknown(name: str, mutation: str) -> None:
    case = CASES[name]
    with start(case) as server:
        _hostile(server, name, NULLS[mutation])
        profile = connect(case, server).lookup(case.handle)
    assert profile.status is ProfileStatus.UNKNOWN, (profile.status, profile.reason)
    assert profile.reason


def test_the_reason_names_the_part_of_the_answer_that_was_wrong() -> None:
    case = CASES["x"]
    with start(case) as server:
        _hostile(server, "x", MUTATIONS["username is a number"])
        profile = connect(case, server).lookup(case.handle)
    assert profile.reason == f"{SHAPE_REASON} (data.username is a number, not text)"


@pytest.mark.parametrize("name", ["bluesky", "mastodon", "youtube"])
def test_search_answer_of_the_wrong_shape_is_a_clear_error_not_a_crash(name: str) -> None:
    from auditor.model.errors import ConnectorError

    case = CASES[name]
    endpoint = {
        "bluesky": "/xrpc/app.bsky.actor.searchActors",
        "mastodon": "/api/v2/search",
        "youtube": "/youtube/v3/search",
    }[name]
    with start(case) as server:
        real = server.route

        def route(req: RecordedRequest) -> Reply:
            reply = real(req)
            if endpoint in req.path:
                reply.body = DEEP if name == "bluesky" else {"accounts": "none", "items": [7]}
            return reply

        server.route = route  # type: ignore[method-assign]
        connector = connect(case, server, extra={"search_instance": "k12.social"})
        with pytest.raises(ConnectorError) as caught:
            connector.search("Lincoln High", 5)
    assert str(caught.value.message).startswith(SHAPE_REASON)


def test_a_wrongly_shaped_date_is_unknown_not_a_crash() -> None:
    case = CASES["bluesky"]
    with start(case) as server:
        _hostile(server, "bluesky", lambda b, p, k: {**b, "createdAt": "last Tuesday"})
        profile = connect(case, server).lookup(case.handle)
    assert profile.status is ProfileStatus.UNKNOWN
    assert profile.reason == f"{SHAPE_REASON} (createdAt is not a date and time)"


def test_every_platform_connector_is_covered_by_the_hostile_shapes() -> None:
    """Adding a connector to helpers.CASES without saying where its profile sits fails here."""
    assert set(WHERE) == set(CASES)
