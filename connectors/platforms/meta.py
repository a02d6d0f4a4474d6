"""Shared Meta Graph API helpers for the Facebook, Instagram and Threads connectors (reference §2.3).

Meta reports failures as `{"error": {"message", "type", "code", "error_subcode", ...}}` with a 4xx
status that is not reliable, so callers branch on `code`/`error_subcode`. Tokens travel in the
`access_token` query parameter (never in a message: the HTTP layer keeps URLs out of errors).
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.http import Doc, HttpResponse, UnparseableResponse

# Graph error codes (graph-api/guides/error-handling and overview/rate-limiting).
NOT_FOUND_ALIAS = 803  # "(#803) Some of the aliases you requested do not exist"
UNSUPPORTED_GET = 100  # with subcode 33: does not exist / no permission / not supported
MISSING_FEATURE = 10  # needs pages_read_engagement or the PPCA / PPMA feature
BAD_TOKEN = 190
IG_NOT_FOUND = 110  # with subcode 2207013: not found, or not a business/creator account
IG_NOT_FOUND_SUBCODES = frozenset({2207013, 2207006})


@dataclass(frozen=True)
class GraphError:
    code: int
    subcode: int
    message: str
    type: str = ""


def graph_error(resp: HttpResponse) -> GraphError | None:
    """The Graph error object of a response, None for a success body (whose shape the caller
    checks with `resp.doc()`)."""
    body = resp.json()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        if resp.status >= 400:
            raise UnparseableResponse(f"unparseable answer (HTTP {resp.status} without a Graph error)")
        return None
    doc = Doc(error, "error", host=resp.host)
    return GraphError(
        code=doc.count("code") or 0,
        subcode=doc.count("error_subcode") or 0,
        message=doc.text("message")[:200],
        type=doc.text("type"),
    )


def describe(error: GraphError) -> str:
    """A short reason for an UNKNOWN profile."""
    sub = f"/{error.subcode}" if error.subcode else ""
    if error.code == BAD_TOKEN:
        return f"Meta rejected the access token (Graph error 190{sub})"
    if error.code == MISSING_FEATURE:
        return "the token lacks Page Public Metadata Access or pages_read_engagement (Graph error 10)"
    return f"Graph error {error.code}{sub}: {error.message}"
