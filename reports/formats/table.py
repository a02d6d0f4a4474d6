"""The terminal format: a header, the summary paragraph, key figures, then each section as a table.

Text from platforms and people is attacker-controlled, so every control and bidi character (escape
sequences that could recolour, hide or retitle the terminal, a CR that overwrites a line, a
right-to-left override) is shown as a visible escape such as `\\x1b`
(`auditor.model.safetext.terminal_cell`). Colour (bold headings) is used only when asked for, and the CLI
asks only on a terminal without NO_COLOR (https://no-color.org).
Long cells wrap so a report stays readable in 120 columns.
"""

from __future__ import annotations

import textwrap

from auditor.model.safetext import terminal_cell
from reports.formats.base import Format
from reports.model import Report, Section, text_of

WIDTH = 100
MAX_CELL = 48  # characters per line of a wrapped cell


def _clean(value: object) -> str:
    return terminal_cell(text_of(value))  # type: ignore[arg-type]


_WRAP = textwrap.TextWrapper(width=MAX_CELL)


def _wrapped(text: str) -> str:
    """A cell wrapped to MAX_CELL columns as tabulate's `maxcolwidths` wraps it (each line wrapped,
    blank lines dropped), done here once per cell: tabulate's own wrapping measured every word of
    every cell again and took most of a 10,000-account table's time (issue 17). A short cell of
    printable text (the usual one) fits as it is, without its trailing spaces."""
    if len(text) <= MAX_CELL and text.isprintable():
        return text.rstrip(" ") if text.strip(" ") else ""
    return "\n".join("\n".join(_WRAP.wrap(line)) for line in text.splitlines() if line.strip() != "")


def _bold(text: str, color: bool) -> str:
    return f"\x1b[1m{text}\x1b[0m" if color else text


def section_text(section: Section, color: bool = False) -> str:
    from tabulate import tabulate

    lines = [_bold(section.title, color), "-" * len(section.title)]
    if section.description:
        lines.append(section.description)
    if not section.rows:
        lines.append(section.empty)
    else:
        lines.append(
            tabulate(
                [[_wrapped(_clean(v)) for v in section.row_values(row)] for row in section.rows],
                headers=[c.heading for c in section.columns],
                tablefmt="simple",
                disable_numparse=True,
            )
        )
    lines += [f"Note: {_clean(n)}" for n in section.notes]
    return "\n".join(lines)


def text(report: Report, *, color: bool = False) -> bytes:
    """The whole report as terminal text; `color`: bold headings."""
    head = [
        _bold(f"{report.title}: {_clean(report.district)}", color),
        f"Generated {report.generated_at.strftime('%Y-%m-%d %H:%M UTC')} under policy {_clean(report.policy)}",
    ]
    head += [f"{k.replace('_', ' ').capitalize()}: {_clean(v)}" for k, v in report.scope.items() if v]
    parts = ["\n".join(head), textwrap.fill(_clean(report.summary), WIDTH)]
    if report.figures:
        parts.append("\n".join(f"  {f.label}: {_clean(f.value)}" for f in report.figures))
    parts += [section_text(s, color) for s in report.sections]
    return ("\n\n".join(parts) + "\n").encode("utf-8")


class Table(Format):
    name = "table"
    extension = "txt"
    media_type = "text/plain"
    note = "terminal"

    def __init__(self, color: bool = False) -> None:
        self.color = color

    def render(self, report: Report) -> bytes:
        return text(report, color=self.color)

    def in_color(self, color: bool) -> Format:
        return Table(color=color)
