"""Send a run's notification to every configured channel and say how each one went.

`notify_run` is what `auditor audit --notify MODE` calls after the run is stored: it decides from the
mode and the run whether to send (`RunSummary.should_send`), renders the attachments once, and tries
every channel even when one fails, returning a `Delivery` per channel. It never raises for a
delivery failure and never touches the stored run: a notification that cannot be sent is reported,
the audit stands (docs/notify.md, "Exit codes"). `send_test` sends the test message the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from auditor.services.audit import load_runs
from auditor.services.notify import config as cfg
from auditor.services.notify import email, webhook
from auditor.services.notify.attachments import AttachSpec, render_attachments
from auditor.services.notify.errors import NotifyError
from auditor.services.notify.summary import NotifyMode, RunSummary, district_label, reopened_this_run

if TYPE_CHECKING:
    from auditor.services.audit import AuditOutcome
    from vault.registry import Registry


@dataclass(frozen=True)
class Delivery:
    channel: str  # "email" or "webhook NAME"
    ok: bool
    detail: str  # "sent to 2 recipients" or the error message (never a secret)
    hint: str = ""


@dataclass(frozen=True)
class NotifyResult:
    sent: bool  # whether a message was due at all
    reason: str  # why (not) sent, for -v and the docs
    deliveries: tuple[Delivery, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)  # e.g. an attachment left out

    @property
    def failed(self) -> bool:
        return any(not d.ok for d in self.deliveries)


def _deliver(
    registry: Registry,
    config: cfg.NotifyConfig,
    summary: RunSummary,
    specs: Sequence[AttachSpec],
    *,
    now: datetime | None,
) -> tuple[list[Delivery], list[str]]:

    deliveries: list[Delivery] = []
    problems: list[str] = []
    if config.email is not None:
        try:
            attachments, problems = (
                render_attachments(registry, specs, summary.run_id, now=now) if not summary.test else ([], [])
            )
            body = summary.text([a.filename for a in attachments], problems)
            message = email.compose(config.email, summary.subject(), body, attachments)
            email.send(config.email, message, cfg.smtp_password(registry))
            n = len(config.email.recipients)
            deliveries.append(Delivery("email", True, f"sent to {n} recipient{'s' if n != 1 else ''}"))
        except NotifyError as exc:
            deliveries.append(Delivery("email", False, exc.message, exc.hint))
    for hook in config.webhooks:
        channel = f"webhook {hook.name}"
        try:
            url = cfg.webhook_url(registry, hook.name)
            if url is None:
                raise NotifyError(
                    f"webhook {hook.name!r}: its URL is missing from the registry",
                    f"Store it again: `auditor notify webhook set --name {hook.name} --stdin`.",
                )
            status = webhook.post(hook, url, webhook.payload(hook.flavour, summary))
            deliveries.append(Delivery(channel, True, f"{hook.host} answered HTTP {status}"))
        except NotifyError as exc:
            deliveries.append(Delivery(channel, False, exc.message, exc.hint))
    return deliveries, problems


def notify_run(
    registry: Registry,
    outcome: AuditOutcome,
    mode: NotifyMode,
    attach: Sequence[AttachSpec] = (),
    *,
    now: datetime | None = None,
) -> NotifyResult:
    """Notify about a stored run according to `mode`."""
    if mode is NotifyMode.NEVER:
        return NotifyResult(False, "--notify never")
    reopened: set[str] = set()
    if outcome.expired_waivers:
        reopened = reopened_this_run(load_runs(registry), outcome.run)
    summary = RunSummary.from_run(outcome.run, district_label(registry), reopened_fingerprints=reopened)
    if not summary.should_send(mode):
        return NotifyResult(False, "no new findings this run (--notify on-new)")
    try:
        config = cfg.load_config(registry)
    except NotifyError as exc:
        return NotifyResult(True, "", (Delivery("settings", False, exc.message, exc.hint),))
    if config.empty:
        return NotifyResult(
            True,
            "",
            (
                Delivery(
                    "settings",
                    False,
                    "a notification was due but no channel is configured",
                    "Configure one as an administrator: `auditor notify email set ...` or "
                    "`auditor notify webhook set --flavour teams --stdin`.",
                ),
            ),
        )
    deliveries, problems = _deliver(registry, config, summary, attach, now=now)
    reason = "new findings" if summary.has_new else "--notify always"
    return NotifyResult(True, reason, tuple(deliveries), tuple(problems))


def send_test(registry: Registry) -> NotifyResult:
    """A test message to every configured channel (`auditor notify test`)."""
    config = cfg.load_config(registry)
    if config.empty:
        raise NotifyError(
            "no notification channel is configured",
            "`auditor notify email set ...` or `auditor notify webhook set --flavour slack --stdin`.",
        )
    deliveries, problems = _deliver(
        registry, config, RunSummary.test_message(district_label(registry)), (), now=None
    )
    return NotifyResult(True, "test", tuple(deliveries), tuple(problems))
