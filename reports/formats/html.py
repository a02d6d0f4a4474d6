"""HTML: one self-contained file a compliance officer opens in any browser, prints or archives.

Safety (profile text is attacker-controlled, issue 6): a Content-Security-Policy meta tag allows no
script, no network fetch and no external style (`default-src 'none'`; inline style and `data:` images
only), every value goes through `html.escape` (quotes included), and a value becomes a link only in a
column declared as a link and only when it is an http or https URL; anything else (`javascript:`,
`data:`) is shown as text. Nothing is loaded from elsewhere: charts are inline SVG drawn here.

Layout for readers who never run the tool: the district, report and generation time first, a
plain-language summary paragraph, key figures, charts, then one table per section with a sentence
saying what it is. Print CSS repeats table headers and avoids splitting charts.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from urllib.parse import urlsplit

from auditor.model.safetext import strip_controls
from reports.formats.base import Format
from reports.model import Chart, Column, Report, Section, text_of

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'"

SEVERITY_COLOURS = {
    "critical": "#7f1d1d",
    "high": "#dc2626",
    "medium": "#d97706",
    "low": "#2563eb",
    "info": "#9ca3af",
}
BAR_COLOUR = "#2563eb"
# Cell values worth a coloured badge, in the columns that carry a verdict.
TONES = {
    "critical": "bad",
    "high": "bad",
    "missing": "bad",
    "broken": "bad",
    "pending": "warn",
    "medium": "warn",
    "stale": "warn",
    "new": "warn",
    "open": "warn",
    "low": "info",
    "info": "info",
    "waived": "info",
    "escrowed": "good",
    "resolved": "good",
    "done": "good",
    "verifies": "good",
    # The access review's flags (reports/kinds/access.py), a badge each in a `flags` cell.
    "departed": "bad",
    "no other recoverer": "bad",
    "role changed": "warn",
    "unused": "warn",
}
TONE_COLUMNS = frozenset({"severity", "state", "escrow", "status", "result", "flags"})

STYLE = """
:root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --head:#f3f4f6; --accent:#1e3a8a; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--ink);
  margin: 0 auto; padding: 24px 32px 48px; max-width: 1400px; background: #fff; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 16px; }
.district { font-size: 15px; color: var(--accent); font-weight: 600; margin: 0; }
h1 { font-size: 26px; margin: 2px 0 8px; }
h2 { font-size: 18px; margin: 28px 0 4px; color: var(--accent); }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; color: var(--muted); }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; }
.summary { font-size: 16px; background: #eff6ff; border-left: 4px solid var(--accent); padding: 12px 16px;
  margin: 16px 0; }
.figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0 8px; }
.figure { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 130px; }
.figure .value { display: block; font-size: 24px; font-weight: 700; }
.figure .label { color: var(--muted); font-size: 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 16px; margin: 16px 0;
  align-items: start; }
.chart { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; break-inside: avoid; }
.chart h3 { font-size: 14px; margin: 0 0 6px; }
.chart svg { max-width: 100%; height: auto; display: block; }
nav.toc { font-size: 13px; color: var(--muted); margin: 8px 0; }
nav.toc a { color: var(--accent); margin-right: 12px; }
p.desc { color: var(--muted); margin: 0 0 8px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { border: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; white-space: nowrap; }
td { overflow-wrap: break-word; max-width: 520px; }
td.c-id, td.c-severity, td.c-state, td.c-check, td.c-seq, td.c-at, td.c-when, td.c-due, td.c-opened,
td.c-approved_on, td.c-renewal_due, td.c-started, td.c-run, td.c-task { white-space: nowrap; }
td.c-message, td.c-summary, td.c-why, td.c-reason, td.c-text { min-width: 240px; }
td.c-remediation { min-width: 180px; }
tbody tr:nth-child(even) td { background: #fafafa; }
td.num { text-align: right; white-space: nowrap; }
.empty { color: var(--muted); font-style: italic; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
  white-space: nowrap; }
.bad { background: #fee2e2; color: #991b1b; } .warn { background: #fef3c7; color: #92400e; }
.info { background: #e0e7ff; color: #3730a3; } .good { background: #dcfce7; color: #166534; }
.note { color: var(--muted); font-size: 13px; }
footer { margin-top: 32px; border-top: 1px solid var(--line); padding-top: 8px; color: var(--muted);
  font-size: 12px; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { padding: 0; max-width: none; font-size: 11px; }
  .summary { background: none; }
  nav.toc { display: none; }
  table { font-size: 10px; } thead { display: table-header-group; } tr, .chart { break-inside: avoid; }
  .table-wrap { overflow: visible; }
  td { min-width: 0 !important; }
  h2 { break-after: avoid; }
}
"""


def esc(value: object) -> str:
    return _esc_text(value if type(value) is str else text_of(value))  # type: ignore[arg-type]


def _esc_text(text: str) -> str:
    """`esc` of a string (`strip_controls` returns a printable one, nearly every cell, at once)."""
    return escape(strip_controls(text, " "), quote=True)


def safe_url(value: str) -> str | None:
    """The URL if it is a plain http(s) URL with a host; None for anything else (javascript:...)."""
    text = value.strip()
    if not text or any(ch.isspace() or ord(ch) < 32 for ch in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return text


class _Column:
    """A column's cell markup, worked out once per section instead of once per cell."""

    def __init__(self, column: Column) -> None:
        self.key = column.key
        self.link = column.link
        self.css = css = f"c-{esc(column.key)}"
        self.empty = f'<td class="{css}"></td>'
        self.open = f'<td class="{css}">'
        self.num = f'<td class="{css} num">'
        self.tones = column.key in TONE_COLUMNS
        # A column's cells repeat (severity, check, state, building, platform, clause: a dozen
        # values over 28,000 rows at 10,000 accounts), so a text's markup is made once: the
        # first MEMO distinct texts of the column are remembered.
        self.memo: dict[str, str] = {}

    MEMO = 2048

    def cell(self, value: object) -> str:
        if type(value) is str:
            made = self.memo.get(value)
            if made is None:
                made = self._text(value) if value else self.empty
                if len(self.memo) < self.MEMO:
                    self.memo[value] = made
            return made
        if value is None or value == []:
            return self.empty
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{self.num}{value}</td>"
        if self.tones and isinstance(value, list):  # a list of verdicts (flags): a badge each
            return self.open + " ".join(self._badge(str(v)) for v in value) + "</td>"
        return self._text(text_of(value))  # type: ignore[arg-type]

    def _badge(self, text: str) -> str:
        tone = TONES.get(text)
        return f'<span class="badge {tone}">{_esc_text(text)}</span>' if tone else _esc_text(text)

    def _text(self, text: str) -> str:
        if self.link:
            url = safe_url(text)
            if url is not None:
                return (
                    f'{self.open}<a href="{esc(url)}" rel="noopener noreferrer nofollow">{esc(url)}</a></td>'
                )
        tone = TONES.get(text) if self.tones else None
        if tone:
            return f'{self.open}<span class="badge {tone}">{_esc_text(text)}</span></td>'
        return f"{self.open}{_esc_text(text)}</td>"


def section_html(section: Section) -> str:
    out = [f'<section id="s-{esc(section.id)}">', f"<h2>{esc(section.title)}</h2>"]
    if section.description:
        out.append(f'<p class="desc">{esc(section.description)}</p>')
    if not section.rows:
        out.append(f'<p class="empty">{esc(section.empty)}</p>')
    else:
        head = "".join(f'<th scope="col">{esc(c.heading)}</th>' for c in section.columns)
        cols = [(c.key, _Column(c).cell) for c in section.columns]
        body = "\n".join(
            "<tr>" + "".join([cell(row.get(key)) for key, cell in cols]) + "</tr>" for row in section.rows
        )
        out.append(
            f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table></div>'
        )
    out += [f'<p class="note">{esc(n)}</p>' for n in section.notes]
    out.append("</section>")
    return "\n".join(out)


# ---- charts (inline SVG) ----------------------------------------------------------------------------


def _bars(chart: Chart) -> str:
    """Horizontal bars, one per label, with the count at the end: readable printed in grey too."""
    values = chart.series[0][1] if chart.series else ()
    pairs = list(zip(chart.labels, values, strict=False))
    if not pairs or not any(values):
        return '<p class="empty">No open findings.</p>'
    row, label_w, bar_w = 24, 200, 220
    top = max(values) or 1
    height = row * len(pairs) + 8
    parts = []
    for i, (label, value) in enumerate(pairs):
        y = 4 + i * row
        w = round(bar_w * value / top) if value else 0
        colour = SEVERITY_COLOURS.get(label, BAR_COLOUR) if chart.id == "by_severity" else BAR_COLOUR
        short = label if len(label) <= 30 else label[:29] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" font-size="12" fill="#1f2937">'
            f"{esc(short)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{row - 8}" rx="2" fill="{colour}"/>'
            f'<text x="{label_w + w + 6}" y="{y + 16}" font-size="12" fill="#1f2937">{value}</text>'
        )
    return _svg(chart, label_w + bar_w + 40, height, parts)


def _stacked(chart: Chart) -> str:
    """Vertical stacked bars, one per run (oldest left), a segment per severity, and a legend."""
    n = len(chart.labels)
    if not n:
        return '<p class="empty">No audit has been run yet.</p>'
    totals = [sum(values[i] for _, values in chart.series) for i in range(n)]
    top = max(totals) or 1
    plot_h, left, bottom, legend_h = 150, 34, 48, 36
    step = max(16, min(64, 400 // n))
    bar = max(8, step - 6)
    width = left + step * n + 10
    height = legend_h + plot_h + bottom
    parts = [
        f'<line x1="{left}" y1="{legend_h + plot_h}" x2="{width - 4}" y2="{legend_h + plot_h}" stroke="#9ca3af"/>',
        f'<text x="{left - 6}" y="{legend_h + 10}" text-anchor="end" font-size="11" fill="#6b7280">{top}</text>',
        f'<text x="{left - 6}" y="{legend_h + plot_h}" text-anchor="end" font-size="11" fill="#6b7280">0</text>',
    ]
    x_legend = left
    for name, _ in chart.series:
        colour = SEVERITY_COLOURS.get(name, BAR_COLOUR)
        parts.append(
            f'<rect x="{x_legend}" y="4" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x_legend + 14}" y="13" font-size="11" fill="#1f2937">{esc(name)}</text>'
        )
        x_legend += 14 + 7 * len(name) + 12
    width = max(width, x_legend)
    for i, label in enumerate(chart.labels):
        x = left + i * step + 3
        y = legend_h + plot_h
        for name, values in chart.series:
            h = round(plot_h * values[i] / top)
            if h:
                y -= h
                parts.append(
                    f'<rect x="{x}" y="{y}" width="{bar}" height="{h}" fill="{SEVERITY_COLOURS.get(name, BAR_COLOUR)}">'
                    f"<title>{esc(label)}: {values[i]} {esc(name)}</title></rect>"
                )
        parts.append(
            f'<text x="{x + bar / 2}" y="{y - 3}" text-anchor="middle" font-size="10" fill="#1f2937">{totals[i]}</text>'
        )
        if n <= 12 or i % max(1, n // 8) == 0 or i == n - 1:
            parts.append(
                f'<text x="{x + bar / 2}" y="{legend_h + plot_h + 14}" text-anchor="end" font-size="10" '
                f'fill="#6b7280" transform="rotate(-35 {x + bar / 2} {legend_h + plot_h + 14})">{esc(label[5:])}</text>'
            )
    return _svg(chart, width, height, parts)


def _svg(chart: Chart, width: int, height: int, parts: Sequence[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{esc(chart.title)}"><title>{esc(chart.title)}</title>'
        + "".join(parts)
        + "</svg>"
    )


def chart_html(chart: Chart) -> str:
    body = _stacked(chart) if chart.kind == "stacked" else _bars(chart)
    return f'<figure class="chart" id="c-{esc(chart.id)}"><h3>{esc(chart.title)}</h3>{body}</figure>'


def document(report: Report) -> bytes:
    """The whole page."""
    meta = [("Generated", report.generated_at.strftime("%Y-%m-%d %H:%M UTC")), ("Policy", report.policy)]
    meta += [(k.replace("_", " ").capitalize(), v) for k, v in report.scope.items() if v]
    meta_html = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in meta)
    figures = "".join(
        f'<div class="figure"><span class="value">{esc(f.value)}</span><span class="label">{esc(f.label)}</span></div>'
        for f in report.figures
    )
    charts = "".join(chart_html(c) for c in report.charts)
    toc = " ".join(f'<a href="#s-{esc(s.id)}">{esc(s.title)}</a>' for s in report.sections)
    doc = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(report.title)}: {esc(report.district)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<p class="district">{esc(report.district)}</p>
<h1>{esc(report.title)}</h1>
<dl class="meta">{meta_html}</dl>
</header>
<main>
<p class="summary">{esc(report.summary)}</p>
<div class="figures">{figures}</div>
{f'<div class="charts">{charts}</div>' if charts else ""}
<nav class="toc">Sections: {toc}</nav>
{"".join(section_html(s) for s in report.sections)}
</main>
<footer>Produced by the district's social-media auditor ({esc(report.schema)}, version 1). This report holds
no password, code or other secret. Text quoted from social-media profiles is shown as written and was not
made active.</footer>
</body>
</html>
"""
    return doc.encode("utf-8")


class Html(Format):
    name = "html"
    extension = "html"
    media_type = "text/html"

    def render(self, report: Report) -> bytes:
        return document(report)
