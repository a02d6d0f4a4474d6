"""The activity report: the reveal log for a period (who saw or changed which credential, when and
why) and the result of verifying the whole chain.

It reads what `auditor log show` and `log verify` read (`Reads.LOG`): the log is encrypted under a key
derived from the inventory key (vault/revealog.py), so an auditor identity can build it. Events never hold a
secret; their details are shown as `name=value` without the key epoch (storage bookkeeping).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from auditor.model.log import REASON_REQUIRED as REVEALING
from auditor.model.types import Person, parse_date
from reports.input import Reads, ReportInput
from reports.kinds._common import Kind, day, load
from reports.model import Figure, Report, Section, columns, count_phrase


def details_text(details: Any) -> str:
    shown = {k: v for k, v in dict(details).items() if k != "log_epoch" and v not in (None, "", [], {})}
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))


def build(
    data: ReportInput,
    *,
    run: str | None = None,
    since: date | str | None = None,
    person: Person | None = None,
    now: datetime,
) -> Report:
    # The actions that show a secret or let it leave the registry are those that need a reason.

    source = load(data, now)
    start = parse_date(since)
    events = [e for e in source.events if (start is None or e.at.date() >= start) and e.at <= source.now]
    verified = source.log_check
    rows = tuple(
        {
            "seq": e.seq,
            "at": day(e.at),
            "identity": e.identity,
            "action": e.action,
            "account": source.account_label(e.account_id),
            "reason": e.reason,
            "details": details_text(e.details),
        }
        for e in events
    )
    reveals = [e for e in events if e.action in REVEALING]
    who = Counter(e.identity for e in reveals)
    period = f"since {start.isoformat()}" if start else "since the log began"
    summary = f"{count_phrase(len(events), 'log event')} {period}"
    summary += (
        f", {count_phrase(len(reveals), 'reveal')} of credentials by {count_phrase(len(who), 'identity', 'identities')}"
        if reveals
        else ", no credential was revealed"
    )
    summary += ". " + ("The log verifies: " if verified.ok else "WARNING: the log does not verify. ")
    summary += verified.message
    figures = (
        Figure("events", "Events in the period", len(events)),
        Figure("reveals", "Credentials revealed", len(reveals)),
        Figure("identities", "Identities revealing", len(who)),
        Figure("chain", "Log chain", "verifies" if verified.ok else "BROKEN"),
    )
    verification = (
        {
            "result": "verifies" if verified.ok else "broken",
            "events_checked": verified.checked,
            "message": verified.message,
            "first_bad_event": verified.first_bad_seq,
        },
    )
    return Report(
        kind="activity",
        title="Credential activity (reveal log)",
        generated_at=source.now,
        district=source.district,
        policy=source.policy_label,
        scope={"since": start.isoformat() if start else "", "until": day(source.now)},
        summary=summary,
        figures=figures,
        sections=(
            Section(
                "verification",
                "Log verification",
                columns(
                    ("result", "Result"),
                    ("events_checked", "Events checked"),
                    ("message", "Message"),
                    ("first_bad_event", "First bad event"),
                ),
                verification,
                description="The whole chain is checked: every event present, in order and unaltered.",
            ),
            Section(
                "events",
                "Log events",
                columns(
                    ("seq", "#"),
                    ("at", "When"),
                    ("identity", "Who"),
                    ("action", "Action"),
                    ("account", "Account"),
                    ("reason", "Reason"),
                    ("details", "Details"),
                ),
                rows,
                description="Who saw or changed which credential, when and why, oldest first.",
                empty="No log event in this period.",
            ),
        ),
    )


KIND = Kind(
    "activity",
    build,
    "the reveal log (who saw which credential, when, why) and its verification",
    reads=frozenset({Reads.LOG}),
)
