"""The notification package's errors: one `NotifyError`, whose message never carries a secret.

The SMTP password and webhook URLs (Slack and Teams embed their token in the URL) are secrets:
every library exception is translated here into a message naming the channel and the host only.
"""

from __future__ import annotations

from auditor.model.errors import AuditorError


class NotifyError(AuditorError):
    """A notification could not be configured or delivered. Never contains a password or a URL path."""
