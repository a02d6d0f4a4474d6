"""Notifications after an audit run: email through SMTP and JSON webhooks (Teams, Slack, generic).

Issue 6, "Notifications": IT runs `auditor audit` unattended at night and wants an email (or a chat
message) when something new is found. The pieces: `config` (what is stored in the registry, under
the inventory key so the nightly `auditor` identity can read it; the SMTP password and webhook URLs
as secrets), `summary` (what a run says, in words and as a versioned JSON envelope), `email` and
`webhook` (the two transports, each translating its library's errors into `NotifyError` without the
secret), `attachments` (reports rendered by the `reports` package) and `dispatch` (decide whether to
send, send to every channel, collect per-channel results). Nothing here prints; the CLI renders.
"""

from __future__ import annotations

from auditor.services.notify.errors import NotifyError

__all__ = ["NotifyError"]
