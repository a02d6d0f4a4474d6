"""Webhooks: POST a JSON summary to Slack, Microsoft Teams, or any endpoint (the generic envelope).

Bodies: Slack incoming webhooks take `{"text": ...}` (mrkdwn); Teams gets an Adaptive Card in a
`{"type": "message", "attachments": [...]}` envelope, the shape both Teams Workflows ("Post to a
channel when a webhook request is received") and the older Incoming Webhook connectors accept; the generic flavour gets the versioned `auditor/notification` envelope
(summary.py). The URL is a secret (Slack and Teams put the token in its path): requests exceptions
quote the URL, so they are never copied; errors name the webhook and its host only. Redirects are
followed only to the same scheme and host (at most 3); a redirect elsewhere is an error, since it
would resend the message (and, for some servers, the token) to somebody else.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from auditor.model.types import Secret
from auditor.services.notify.config import Flavour, WebhookSettings
from auditor.services.notify.errors import NotifyError
from auditor.services.notify.summary import RunSummary

TIMEOUT = 20.0
MAX_REDIRECTS = 3
USER_AGENT = "district-social-auditor (notifications)"


def payload(flavour: Flavour, summary: RunSummary) -> dict[str, Any]:
    """The JSON body for one flavour."""
    if flavour is Flavour.GENERIC:
        return summary.envelope()
    if summary.test:
        text = f"Test message from auditor for {summary.district}: notifications reach this channel."
    else:
        lines = [summary.severity_line()]
        if summary.profiles_unknown:
            lines.append(f"Profiles unknown this run: {summary.profiles_unknown}.")
        for f in summary.new[:10]:
            clause = f" ({', '.join(f.clauses)})" if f.clauses else ""
            lines.append(f"- [{f.severity.value.upper()}] {f.message}{clause}")
        if len(summary.new) > 10:
            lines.append(f"- ... and {len(summary.new) - 10} more: `auditor finding list`")
        lines.append(f"Run {summary.run_id}.")
        text = "\n".join(lines)
    title = summary.subject()
    if flavour is Flavour.SLACK:
        return {"text": f"*{title}*\n{text}"}
    colour = "Default"
    for severities, c in ((("critical", "high"), "Attention"), (("medium",), "Warning")):
        if any(f.severity.value in severities for f in summary.new):
            colour = c
            break
    # An Adaptive Card in a "message" envelope: what Teams Workflows ("Post to a channel when a
    # webhook request is received") require, and what the older Incoming Webhook connectors accept.
    return {
        "type": "message",
        "summary": title,
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": title,
                            "weight": "Bolder",
                            "size": "Medium",
                            "color": colour,
                            "wrap": True,
                        },
                        # TextBlock Markdown: a blank line separates lines.
                        {"type": "TextBlock", "text": text.replace("\n", "\n\n"), "wrap": True},
                    ],
                },
            }
        ],
    }


def post(hook: WebhookSettings, url: Secret, body: dict[str, Any], *, timeout: float = TIMEOUT) -> int:
    """POST `body`; return the HTTP status. NotifyError (host only, never the URL) on any failure."""
    import requests

    where = f"webhook {hook.name!r} ({hook.host})"
    target = url.reveal_str()
    origin = urlsplit(target)
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    with requests.Session() as session, _quiet_urllib3():
        session.trust_env = False  # no proxy from the environment sees the token; no .netrc auth
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = session.post(
                    target, data=data, headers=headers, timeout=timeout, allow_redirects=False
                )
            except requests.Timeout:
                raise NotifyError(f"{where} did not answer within {timeout:g} s") from None
            except requests.exceptions.SSLError:
                raise NotifyError(f"{where}: TLS failed (certificate not trusted?)") from None
            except requests.ConnectionError:
                raise NotifyError(f"{where}: cannot connect", "Check the network and the URL.") from None
            except requests.RequestException as exc:
                raise NotifyError(f"{where}: request failed ({type(exc).__name__})") from None
            status = response.status_code
            location = response.headers.get("Location", "")
            response.close()
            if status in (301, 302, 303, 307, 308) and location:
                nxt = urlsplit(urljoin(target, location))
                if (nxt.scheme, nxt.hostname, nxt.port) != (origin.scheme, origin.hostname, origin.port):
                    raise NotifyError(
                        f"{where} redirected (HTTP {status}) to another host ({nxt.hostname}); not followed",
                        "Store the final webhook URL with `auditor notify webhook set`.",
                    )
                target = nxt.geturl()
                continue
            if not 200 <= status < 300:
                hint = (
                    "The webhook may have been deleted or its URL rotated."
                    if status in (401, 403, 404, 410)
                    else ""
                )
                raise NotifyError(f"{where} answered HTTP {status}", hint)
            return status
    raise NotifyError(f"{where} redirected more than {MAX_REDIRECTS} times")


@contextlib.contextmanager
def _quiet_urllib3() -> Iterator[None]:
    """urllib3 logs each request line (with the path: the webhook's token) at DEBUG; whatever
    logging a caller configured (e.g. for -v), keep it above DEBUG while a webhook is posted."""
    loggers = [logging.getLogger(n) for n in ("urllib3", "urllib3.connectionpool")]
    before = [lg.level for lg in loggers]
    for lg, level in zip(loggers, before, strict=True):
        lg.setLevel(max(level, logging.INFO))
    try:
        yield
    finally:
        for lg, level in zip(loggers, before, strict=True):
            lg.setLevel(level)
