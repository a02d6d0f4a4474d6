"""The findings report: a run's findings with severity, clauses, remediation and state; counts by
severity, building and platform; the trend across past runs; the policy clauses cited.

"A run's findings" is the ledger as that run left it (auditor/engine/ledger.py `ledger`): the latest
result of every check over all runs up to it, so an `--offline` or `--check` run does not hide the findings of
checks it skipped. Without `--run` it is the latest run, with today's waivers applied (as `finding
list` does); with `--run ID` the states are those recorded then.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from auditor.engine.ledger import apply_waivers_now, finding_id, resolve_run
from auditor.model.types import AuditRun, Finding, FindingState, Person, Severity
from reports.input import Reads, ReportInput
from reports.kinds._common import ACTIVE_STATES, Kind, Source, building_name, day, load
from reports.model import Chart, Figure, Report, Section, columns, count_phrase, join

TREND_RUNS = 20  # runs drawn in the trend chart: more would not be readable
SEVERITIES = tuple(sorted(Severity, key=lambda s: -s.rank))  # critical first

FINDING_COLUMNS = columns(
    ("id", "Id"),
    ("severity", "Severity"),
    ("state", "State"),
    ("check", "Check"),
    ("account", "Account"),
    ("building", "Building"),
    ("platform", "Platform"),
    ("message", "Finding"),
    ("clauses", "Policy clauses"),
    ("remediation", "Remediation"),
    ("waiver_reason", "Waiver reason"),
    ("waived_until", "Waived until"),
)


sort_key = Finding.display_key  # the order `finding list` uses


def active(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.state in ACTIVE_STATES]


def run_findings(source: Source, run_ref: str | None) -> tuple[AuditRun | None, list[Finding], int]:
    """(the run, its ledger, its index in the stored runs). No run at all: (None, [], -1)."""

    runs = source.runs
    if not runs and run_ref is None:
        return None, [], -1
    run = resolve_run(runs, run_ref or "latest")
    index = runs.index(run)
    findings = source.ledger_after(index)
    if index == len(runs) - 1 and run_ref is None:
        findings = apply_waivers_now(findings, source.snapshot.waivers, source.today)
    return run, sorted(findings, key=sort_key), index


def finding_rows(source: Source, findings: Sequence[Finding]) -> tuple[dict[str, Any], ...]:
    platforms = {p: p.label for p in {f.platform for f in findings} if p}  # once per platform

    return tuple(
        {
            "id": finding_id(f.fingerprint),
            "severity": f.severity.value,
            "state": f.state.value,
            "check": f.check_id,
            "account": source.account_label(f.account_id) if f.account_id else "",
            "building": building_name(source, f.building) if f.building else "",
            "platform": platforms[f.platform] if f.platform else "",
            "message": f.message,
            "clauses": list(f.clauses),
            "remediation": f.remediation,
            "waiver_reason": f.waiver_reason,
            "waived_until": day(f.waived_until),
        }
        for f in findings
    )


def _counts(title: str, key: str, heading: str, groups: dict[str, list[Finding]], sid: str) -> Section:
    rows = tuple(
        {
            key: name,
            "open": len(items),
            "new": sum(1 for f in items if f.state is FindingState.NEW),
            "high_or_worse": sum(1 for f in items if f.severity.rank >= Severity.HIGH.rank),
        }
        for name, items in groups.items()
    )
    return Section(
        sid,
        title,
        columns((key, heading), ("open", "Open"), ("new", "New"), ("high_or_worse", "High or critical")),
        rows,
        empty="No open findings.",
    )


def _group(findings: Sequence[Finding], key: Any) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(key(f), []).append(f)
    return dict(sorted(out.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def _trend(source: Source, index: int) -> tuple[Section, Chart]:

    runs = source.runs[: index + 1][-TREND_RUNS:]
    start = index + 1 - len(runs)
    rows: list[dict[str, Any]] = []
    for offset, run in enumerate(runs):
        by_sev, new, resolved = source.trend_counts(start + offset)  # the run's stored summary
        rows.append(
            {
                "run": run.id,
                "started": day(run.started_at),
                "scope": "offline" if run.offline else ("partial" if run.platforms else "full"),
                "open": sum(by_sev.get(s.value, 0) for s in SEVERITIES),
                **{s.value: by_sev.get(s.value, 0) for s in SEVERITIES},
                "new": new,
                "resolved": resolved,
            }
        )
    section = Section(
        "trend",
        "Trend across runs",
        columns(
            ("run", "Run"),
            ("started", "Started"),
            ("scope", "Scope"),
            ("open", "Open"),
            *((s.value, s.value.capitalize()) for s in SEVERITIES),
            ("new", "New in run"),
            ("resolved", "Resolved in run"),
        ),
        tuple(rows),
        description=f"Open findings after each of the last {len(rows)} runs, oldest first.",
        empty="No audit has been run yet.",
    )
    chart = Chart(
        "trend",
        "Open findings after each run",
        "stacked",
        _labels([run.started_at for run in runs]),
        tuple((s.value, tuple(r[s.value] for r in rows)) for s in SEVERITIES),
    )
    return section, chart


def _labels(times: Sequence[datetime]) -> tuple[str, ...]:
    """Run dates for the chart; with the time where two runs share a day."""
    days = [t.strftime("%Y-%m-%d") for t in times]
    return tuple(
        t.strftime("%Y-%m-%d %H:%M") if days.count(d) > 1 else d for t, d in zip(times, days, strict=True)
    )


def _clause_section(source: Source, findings: Sequence[Finding]) -> Section:
    cited: dict[str, dict[str, Any]] = {}
    framework = source.snapshot.policy.framework
    for f in findings:
        stored = {c.get("id"): c for c in f.evidence.get("clauses", []) if isinstance(c, dict)}
        for cid in f.clauses:
            entry = cited.setdefault(cid, {"clause": cid, "citation": "", "text": "", "open": 0})
            req = framework.requirement(cid)
            known = stored.get(cid) or {}
            entry["citation"] = entry["citation"] or str(
                known.get("citation") or (req.citation if req else "")
            )
            entry["text"] = entry["text"] or str(known.get("text") or (req.text if req else ""))
            if f.state in ACTIVE_STATES:
                entry["open"] += 1
    return Section(
        "clauses",
        "Policy clauses cited",
        columns(("clause", "Clause"), ("citation", "Where"), ("text", "What it says"), ("open", "Open")),
        tuple(sorted(cited.values(), key=lambda e: str(e["clause"]))),
        description="Each clause of the district policy that a finding cites, quoted.",
        empty="No finding cites a policy clause.",
    )


def _summary(run: AuditRun | None, findings: Sequence[Finding]) -> str:
    if run is None:
        return "No audit has been run yet, so there are no findings to report. Run `auditor audit` first."
    open_ = active(findings)
    by_sev = Counter(f.severity for f in open_)
    parts = [f"{by_sev[s]} {s.value}" for s in SEVERITIES if by_sev[s]]
    new = sum(1 for f in open_ if f.state is FindingState.NEW)
    waived = sum(1 for f in findings if f.state is FindingState.WAIVED)
    resolved = sum(1 for f in findings if f.state is FindingState.RESOLVED)
    text = f"As of audit run {run.id} ({day(run.started_at)}): {count_phrase(len(open_), 'open finding')}"
    text += f" ({join(parts)})" if parts else ""
    text += f", {new} new since the previous run." if open_ else "."
    if waived or resolved:
        text += f" {count_phrase(waived, 'finding')} waived, {resolved} resolved by this run."
    urgent = [f for f in open_ if f.severity.rank >= Severity.HIGH.rank]
    if urgent:
        text += " Most urgent: " + urgent[0].message.rstrip(".") + "."
        if len(urgent) > 1:
            text += f" There {'is' if len(urgent) == 2 else 'are'} {len(urgent) - 1} more high or critical."
    elif not open_:
        text += " Nothing needs attention."
    return text


def build(
    data: ReportInput,
    *,
    run: str | None = None,
    since: date | str | None = None,
    person: Person | None = None,
    now: datetime,
) -> Report:
    source = load(data, now)
    the_run, findings, index = run_findings(source, run)
    open_ = active(findings)
    groups = {
        "severity": {s.value: [f for f in open_ if f.severity is s] for s in SEVERITIES},
        "building": _group(open_, lambda f: building_name(source, f.building) or "(none)"),
        "platform": _group(open_, lambda f: f.platform.label if f.platform else "(none)"),
    }
    trend, trend_chart = _trend(source, index) if the_run is not None else (None, None)
    sections = [
        Section(
            "findings",
            "Findings",
            FINDING_COLUMNS,
            finding_rows(source, findings),
            description="Every finding of the run: open ones first, most severe first.",
            empty="No findings: every check passed.",
        ),
        _counts("Open findings by severity", "severity", "Severity", groups["severity"], "by_severity"),
        _counts("Open findings by building", "building", "Building", groups["building"], "by_building"),
        _counts("Open findings by platform", "platform", "Platform", groups["platform"], "by_platform"),
    ]
    if trend is not None:
        sections.append(trend)
    sections.append(_clause_section(source, findings))
    charts = [
        Chart(
            f"by_{name}",
            f"Open findings by {name}",
            "bar",
            tuple(g),
            (("open", tuple(len(v) for v in g.values())),),
        )
        for name, g in groups.items()
    ]
    if trend_chart is not None:
        charts.append(trend_chart)
    by_sev = Counter(f.severity for f in open_)
    figures = (
        Figure("open", "Open findings", len(open_)),
        Figure("new", "New since the previous run", sum(1 for f in open_ if f.state is FindingState.NEW)),
        Figure("critical", "Critical", by_sev[Severity.CRITICAL]),
        Figure("high", "High", by_sev[Severity.HIGH]),
        Figure("waived", "Waived", sum(1 for f in findings if f.state is FindingState.WAIVED)),
        Figure(
            "resolved", "Resolved by this run", sum(1 for f in findings if f.state is FindingState.RESOLVED)
        ),
    )
    scope = {"run": the_run.id if the_run else "", "run_started": day(the_run.started_at) if the_run else ""}
    if the_run is not None:
        scope["run_identity"] = the_run.identity
        scope["run_scope"] = (
            "offline" if the_run.offline else (", ".join(the_run.platforms) or "all platforms")
        )
    return Report(
        kind="findings",
        title="Audit findings",
        generated_at=source.now,
        district=source.district,
        policy=the_run.policy if the_run is not None and the_run.policy else source.policy_label,
        scope=scope,
        summary=_summary(the_run, findings),
        figures=figures,
        sections=tuple(sections),
        charts=tuple(charts),
    )


KIND = Kind(
    "findings",
    build,
    "the latest audit's findings, counts, trend, policy clauses cited",
    reads=frozenset({Reads.RUNS}),
)
