"""The terminal format: a header, the summary paragraph, key figures, then each section as a table.

Text from platforms and people is attacker-controlled, so every control and bidi character (escape
sequences that could recolour, hide or retitle the terminal, a CR that overwrites a line, a
right-to-left override) is shown as a visible escape such as `\\x1b`
(`auditor.model.safetext.terminal_cell`). Colour (bold headings) is used only when asked for, and the CLI
asks only on a terminal without NO_COLOR (https://no-color.org).
Long cells wrap so a report stays readable in 120 columns.
"""

from __future__ import annotations

import re
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
    return "\n".join("\n".join(_wrap_line(line)) for line in text.splitlines() if line.strip() != "")


def _wrap_line(line: str) -> list[str]:
    """`_WRAP.wrap(line)`, the same lines. A printable line of words between single spaces (the
    usual long cell) is cut into textwrap's chunks word by word, only a word with a hyphen through
    textwrap's expression (its chunks depend on the word alone), and filled as textwrap fills them:
    the expression over every line was most of the wrapping's time."""
    if not line.isprintable() or "  " in line or line.startswith(" "):
        return _WRAP.wrap(line)
    if "-" not in line:
        return _fill_words(line, MAX_CELL)
    chunks: list[str] = []
    for word in line.split(" "):
        if "-" in word:
            chunks += [c for c in _WRAP.wordsep_re.split(word) if c]
        elif word:
            chunks.append(word)
        chunks.append(" ")
    chunks.pop()  # the space after the last word (a trailing space stays: its word was "")
    return _fill(chunks, MAX_CELL)


def _fill_words(line: str, width: int) -> list[str]:
    """`_fill` for a line of words between single spaces without a hyphen, by the positions of its
    spaces: a line ends at the last space that fits (dropped), or, when the word after it is longer
    than any line, is filled up with the start of that word."""
    lines: list[str] = []
    pos, n = 0, len(line)
    while n - pos > width:
        space = line.rfind(" ", pos, pos + width + 1)
        if space < 0 or (
            space - pos < width and line.find(" ", space + 1, space + width + 2) < 0 and n - space - 1 > width
        ):
            lines.append(line[pos : pos + width])  # a word longer than a line, cut
            pos += width
        else:
            lines.append(line[pos:space])
            pos = space + 1
    rest = line[pos:].rstrip(" ")
    if rest:
        lines.append(rest)
    return lines


def _fill(chunks: list[str], width: int) -> list[str]:
    """textwrap.TextWrapper._wrap_chunks with its defaults (no indent, long words broken, at a hyphen
    if one fits, whitespace dropped at the ends of lines), for chunks whose only whitespace is " "."""
    lines: list[str] = []
    i, n = 0, len(chunks)
    while i < n:
        if lines and chunks[i] == " ":
            i += 1
        line: list[str] = []
        size = 0
        while i < n and size + len(chunks[i]) <= width:
            size += len(chunks[i])
            line.append(chunks[i])
            i += 1
        if i < n and len(chunks[i]) > width:  # a word longer than any line: cut it
            chunk = chunks[i]
            space = width - size
            end = space
            hyphen = chunk.rfind("-", 0, space)
            if hyphen > 0 and any(c != "-" for c in chunk[:hyphen]):
                end = hyphen + 1
            line.append(chunk[:end])
            chunks[i] = chunk[end:]
        if line and line[-1] == " ":
            line.pop()
        if line:
            lines.append("".join(line))
    return lines


_LINE_BREAK = re.compile("[\r\n]")


def simple_table(rows: list[list[str]], headers: list[str]) -> str:
    """`tabulate(rows, headers, tablefmt="simple", disable_numparse=True)` for rows of strings, the
    same text: tabulate's type detection, ANSI search and per-cell padding calls were most of a
    10,000-account findings table's time (issue 17). As tabulate does: each cell stripped, a column
    as wide as its widest line or its heading and 2, every cell left-aligned, lines joined by two
    spaces and stripped at the end. When the table has a newline or CR anywhere, each cell is split
    into its lines and a row is as tall as its tallest cell. Where tabulate would measure wide
    characters (wcwidth installed) or ANSI codes, it is tabulate that renders."""
    import tabulate as tabulate_module

    texts = [*headers, *(c for row in rows for c in row)]
    multiline = any("\n" in t or "\r" in t for t in texts)
    wide = getattr(tabulate_module, "wcwidth", None) is not None and tabulate_module.WIDE_CHARS_MODE
    if any("\x1b" in t for t in texts) or (wide and not all(t.isascii() for t in texts)):
        return tabulate_module.tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
    if multiline and not all(h.isprintable() for h in headers):
        return tabulate_module.tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
    widths = [len(h) + 2 for h in headers]  # tabulate's MIN_PADDING around a heading
    table: list[tuple[list[str], bool]] = []  # a row's cells, and whether one of them has lines
    for row in rows:
        cells = [cell.strip() for cell in row]
        tall = False
        for i, cell in enumerate(cells):
            if multiline and not cell.isprintable():
                tall = True
                lines = cell.splitlines()
                if "\r" in cell or len(lines) != cell.count("\n") + 1:  # other line breaks
                    width = max(map(len, _LINE_BREAK.split(cell)))
                else:
                    width = max(map(len, lines))
            else:
                width = len(cell)
            if width > widths[i]:
                widths[i] = width
        table.append((cells, tall))
    out = [
        "  ".join(map(str.ljust, headers, widths)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    for cells, tall in table:
        if not tall:
            out.append("  ".join(map(str.ljust, cells, widths)).rstrip())
            continue
        cell_lines = [cell.splitlines() or [""] for cell in cells]
        height = max(map(len, cell_lines))
        padded = [
            [*(line.ljust(w) for line in cell), *[" " * w] * (height - len(cell))]
            for cell, w in zip(cell_lines, widths, strict=True)
        ]
        out += ["  ".join(line).rstrip() for line in zip(*padded, strict=True)]
    return "\n".join(out)


def _bold(text: str, color: bool) -> str:
    return f"\x1b[1m{text}\x1b[0m" if color else text


def section_text(section: Section, color: bool = False) -> str:
    lines = [_bold(section.title, color), "-" * len(section.title)]
    if section.description:
        lines.append(section.description)
    if not section.rows:
        lines.append(section.empty)
    else:
        lines.append(
            simple_table(
                [[_wrapped(_clean(v)) for v in section.row_values(row)] for row in section.rows],
                [c.heading for c in section.columns],
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
