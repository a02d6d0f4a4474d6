"""Email and webhook transports against real servers on loopback, and what a message says.

SMTP: aiosmtpd with STARTTLS (a throwaway CA made with `cryptography`) and AUTH; webhooks: an
http.server. Every failure must name the relay or host and never the password or the webhook token.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.model.types import AuditRun, Finding, FindingState, Platform, Secret, Severity
from auditor.services.notify.config import (
    EmailSettings,
    Flavour,
    Security,
    WebhookSettings,
    check_webhook_url,
)
from auditor.services.notify.email import Attachment, compose, send
from auditor.services.notify.errors import NotifyError
from auditor.services.notify.summary import NotifyMode, RunSummary, reopened_this_run
from auditor.services.notify.webhook import payload, post
from tests.auditor.notify.servers import SmtpServer, WebhookServer, free_port, make_ca_and_cert

PASSWORD = "smtp-Pa55word-do-not-leak"
TOKEN = "s3cr3t-webhook-token"
STARTED = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def finding(check: str, severity: Severity, state: FindingState = FindingState.NEW, n: int = 1) -> Finding:
    return Finding(
        check_id=check,
        severity=severity,
        subject=f"account:a{n}",
        message=f"X account @school{n} breaks {check}.",
        platform=Platform.X,
        clauses=("N203-SMR-3",),
        remediation=f"auditor account edit x:school{n} --login-email social@naperville203.org",
        state=state,
    )


def run_with(
    *findings: Finding, unknown: int = 0, run_id: str = "run-1", started: datetime = STARTED
) -> AuditRun:
    return AuditRun(
        id=run_id,
        started_at=started,
        finished_at=started,
        identity="nightly",
        checks=tuple(sorted({f.check_id for f in findings})),
        accounts_checked=4,
        profiles_unknown=unknown,
        findings=findings,
    )


def settings(port: int, **kw: object) -> EmailSettings:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "security": Security.NONE,
        "sender": "auditor@naperville203.org",
        "recipients": ("it-alerts@naperville203.org", "compliance@naperville203.org"),
    }
    values.update(kw)
    return EmailSettings(**values)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# What a message says


def test_subject_counts_new_findings_and_the_worst_severities() -> None:
    run = run_with(
        finding("login.non_district_email", Severity.HIGH, n=1),
        finding("escrow.missing", Severity.MEDIUM, n=2),
        finding("profile.not_found", Severity.MEDIUM, n=3),
        finding("owner.departed", Severity.HIGH, FindingState.OPEN, n=4),
        unknown=2,
    )
    s = RunSummary.from_run(run, "Naperville 203")
    assert s.subject() == "[auditor] Naperville 203: 3 new findings (1 high); 2 profiles not checked"
    assert s.should_send(NotifyMode.ON_NEW) and s.should_send(NotifyMode.ALWAYS)
    assert not s.should_send(NotifyMode.NEVER)
    body = s.text(["findings-run-1.html"])
    assert "Active findings by severity: 0 critical, 2 high, 2 medium, 0 low, 0 info." in body
    assert "States: 3 new, 1 open, 0 waived, 0 resolved since the last run." in body
    assert "Profiles unknown this run: 2 could not be checked" in body
    # New findings, worst first, with clause and the command that fixes them; the open one is not listed.
    assert "1. [HIGH] X account @school1 breaks login.non_district_email." in body
    assert "   Policy clause: N203-SMR-3" in body
    assert "   Fix: auditor account edit x:school1 --login-email social@naperville203.org" in body
    assert "@school4" not in body
    assert "Attached: findings-run-1.html." in body


def test_on_new_stays_quiet_when_nothing_is_new() -> None:
    s = RunSummary.from_run(run_with(finding("owner.departed", Severity.HIGH, FindingState.OPEN)), "D203")
    assert not s.should_send(NotifyMode.ON_NEW)
    assert s.should_send(NotifyMode.ALWAYS)
    assert s.subject() == "[auditor] D203: no new findings (1 open)"


def test_a_waiver_that_expired_this_run_counts_as_new_once() -> None:
    waived = finding("owner.departed", Severity.HIGH, FindingState.WAIVED)
    reopened = finding("owner.departed", Severity.HIGH, FindingState.OPEN)
    first = run_with(waived, run_id="run-1")
    second = run_with(reopened, run_id="run-2", started=STARTED.replace(day=2))
    third = run_with(reopened, run_id="run-3", started=STARTED.replace(day=3))
    runs = [first, second, third]
    again = reopened_this_run(runs, second)
    assert again == {reopened.fingerprint}
    s = RunSummary.from_run(second, "D203", reopened_fingerprints=again)
    assert s.should_send(NotifyMode.ON_NEW)
    assert "New findings (1), 1 reopened because a waiver expired:" in s.text()
    # The night after, it is merely open: no message.
    assert reopened_this_run(runs, third) == set()


def test_webhook_url_must_be_https_except_on_loopback() -> None:
    assert check_webhook_url(Secret("https://hooks.slack.com/services/T/B/x")) == "hooks.slack.com"
    assert check_webhook_url(Secret("http://127.0.0.1:8080/x")) == "127.0.0.1"
    with pytest.raises(NotifyError, match="plain http") as err:
        check_webhook_url(Secret(f"http://example.org/{TOKEN}"))
    assert TOKEN not in str(err.value) + err.value.hint


# --------------------------------------------------------------------------------------------------
# SMTP


def test_starttls_and_auth_deliver_every_recipient_with_attachments(tmp_path: Path) -> None:
    ca, cert, key = make_ca_and_cert(tmp_path)
    with SmtpServer(user="auditor@naperville203.org", password=PASSWORD, cert=(cert, key)) as server:
        cfg = settings(
            server.port, security=Security.STARTTLS, username="auditor@naperville203.org", ca_file=str(ca)
        )
        msg = compose(
            cfg,
            "[auditor] D203: 1 new finding (1 high)",
            "body text\n",
            [Attachment("findings-run-1.csv", b"id,severity\r\nf1,high\r\n", "text", "csv")],
        )
        send(cfg, msg, Secret(PASSWORD))
    [got] = server.messages
    assert got.tls and got.authenticated_as == "auditor@naperville203.org"
    assert got.rcpt_tos == ["it-alerts@naperville203.org", "compliance@naperville203.org"]
    assert got.message["Subject"] == "[auditor] D203: 1 new finding (1 high)"
    parts = list(got.message.iter_attachments())
    assert [(p.get_filename(), p.get_content_type()) for p in parts] == [("findings-run-1.csv", "text/csv")]
    assert parts[0].get_content() == "id,severity\r\nf1,high\r\n"


def test_wrong_password_untrusted_certificate_and_a_down_relay_are_clear_errors(tmp_path: Path) -> None:
    ca, cert, key = make_ca_and_cert(tmp_path)
    with SmtpServer(user="auditor", password=PASSWORD, cert=(cert, key)) as server:
        cfg = settings(server.port, security=Security.STARTTLS, username="auditor", ca_file=str(ca))
        with pytest.raises(NotifyError) as wrong:
            send(cfg, compose(cfg, "s", "b"), Secret("not-the-password"))
        assert (
            wrong.value.message
            == f"SMTP relay 127.0.0.1:{server.port} rejected the login for 'auditor' (SMTP 535)"
        )
        untrusted = settings(server.port, security=Security.STARTTLS, username="auditor")  # system CAs only
        with pytest.raises(NotifyError, match="TLS certificate was not trusted"):
            send(untrusted, compose(untrusted, "s", "b"), Secret(PASSWORD))
    assert server.messages == []
    down = settings(free_port())
    with pytest.raises(NotifyError) as refused:
        send(down, compose(down, "s", "b"), None)
    assert refused.value.message == f"SMTP relay 127.0.0.1:{down.port} refused the connection"
    for err in (wrong.value, refused.value):
        assert PASSWORD not in f"{err.message} {err.hint} {err!r}"
        assert err.__cause__ is None and err.__suppress_context__


def test_a_user_name_without_a_stored_password_is_named_before_connecting() -> None:
    cfg = settings(free_port(), username="auditor")
    with pytest.raises(NotifyError, match="no SMTP password is stored"):
        send(cfg, compose(cfg, "s", "b"), None)


# --------------------------------------------------------------------------------------------------
# Webhooks


@pytest.mark.parametrize("flavour", list(Flavour))
def test_each_flavour_posts_its_json_shape(flavour: Flavour) -> None:
    s = RunSummary.from_run(run_with(finding("login.non_district_email", Severity.HIGH)), "Naperville 203")
    with WebhookServer() as hook:
        status = post(WebhookSettings("h", flavour, "127.0.0.1"), Secret(hook.url()), payload(flavour, s))
    assert status == 200
    [hit] = hook.hits
    assert hit.path == "/hooks/T000/B000/s3cr3t-webhook-token"
    assert hit.headers["Content-Type"] == "application/json; charset=utf-8"
    subject = "[auditor] Naperville 203: 1 new finding (1 high)"
    if flavour is Flavour.SLACK:
        assert set(hit.body) == {"text"}
        assert hit.body["text"].startswith(f"*{subject}*\nActive findings by severity: 0 critical, 1 high")
        assert "- [HIGH] X account @school1 breaks login.non_district_email. (N203-SMR-3)" in hit.body["text"]
    elif flavour is Flavour.TEAMS:
        assert hit.body["type"] == "message" and hit.body["summary"] == subject
        [card] = hit.body["attachments"]
        assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
        title, text = card["content"]["body"]
        assert (title["text"], title["color"]) == (subject, "Attention")
        assert "- [HIGH] X account @school1 breaks login.non_district_email. (N203-SMR-3)" in text["text"]
    else:
        assert hit.body["schema"] == "auditor/notification" and hit.body["version"] == 1
        assert list(hit.body) == ["schema", "version", "test", "district", "subject", "run", "new_findings"]
        assert hit.body["run"]["active_by_severity"] == {
            "critical": 0,
            "high": 1,
            "medium": 0,
            "low": 0,
            "info": 0,
        }
        assert [f["check_id"] for f in hit.body["new_findings"]] == ["login.non_district_email"]
        assert hit.body["new_findings"][0]["remediation"].startswith("auditor account edit x:school1")


def test_webhook_failures_name_the_host_never_the_url(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # as if a caller turned on debug logging
    hook_cfg = WebhookSettings("alerts", Flavour.SLACK, "127.0.0.1")
    body = {"text": "x"}
    with WebhookServer(status=500) as hook, pytest.raises(NotifyError) as err500:
        post(hook_cfg, Secret(hook.url()), body)
    assert err500.value.message == "webhook 'alerts' (127.0.0.1) answered HTTP 500"
    # A redirect to another host is not followed (it would resend the message elsewhere).
    with (
        WebhookServer() as elsewhere,
        WebhookServer(redirect_to=elsewhere.url().replace("127.0.0.1", "localhost")) as hook,
        pytest.raises(
            NotifyError, match=r"redirected \(HTTP 307\) to another host \(localhost\); not followed"
        ) as moved,
    ):
        post(hook_cfg, Secret(hook.url()), body)
    assert len(hook.hits) == 1 and elsewhere.hits == []
    # Same scheme, host and port: followed (with the same body).
    with WebhookServer(redirect_to="/final") as hook:
        assert post(hook_cfg, Secret(hook.url()), body) == 200
    assert [h.path for h in hook.hits] == ["/hooks/T000/B000/s3cr3t-webhook-token", "/final"]
    assert hook.hits[1].body == body
    # Another port on the same address is another server: not followed.
    with (
        WebhookServer() as other,
        WebhookServer(redirect_to=other.url("/final")) as hook,
        pytest.raises(NotifyError, match="another host"),
    ):
        post(hook_cfg, Secret(hook.url()), body)
    assert other.hits == []
    down = f"http://127.0.0.1:{free_port()}/hooks/{TOKEN}"
    with pytest.raises(NotifyError) as refused:
        post(hook_cfg, Secret(down), body)
    assert refused.value.message == "webhook 'alerts' (127.0.0.1): cannot connect"
    for err in (err500.value, moved.value, refused.value):
        text = f"{err.message} {err.hint} {err!r}"
        assert TOKEN not in text and "/hooks/" not in text
        assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    assert TOKEN not in caplog.text and "/hooks/" not in caplog.text
