"""The format-independent report: what every kind builds and every format renders.

A `Report` is plain data: a kind, a title, when it was generated, for which district and under which
policy, its scope (run id, period, person), a plain-language summary with key figures, sections
(each a table with fixed columns, rows and notes) and chart series. Kinds (reports/kinds/) build it
from the registry; formats (reports/formats/) turn it into bytes without knowing the kind. Cell
values are `str`, `int`, `bool`, `None` or a list of strings; every string may come from a platform
or a person (attacker-controlled), so each format neutralises it for its own medium.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SCHEMA_VERSION = 1

Cell = str | int | bool | None | list[str]


@dataclass(frozen=True)
class Column:
    """A table column. `link`: the value is a URL shown as a link where safe (http/https only)."""

    key: str
    heading: str
    link: bool = False


@dataclass(frozen=True)
class Section:
    """One table of the report. Its columns are fixed by the kind, whatever the data."""

    id: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Mapping[str, Any], ...] = ()
    notes: tuple[str, ...] = ()
    empty: str = "Nothing to show."
    description: str = ""  # one sentence saying what the table is, for readers of the report

    def row_values(self, row: Mapping[str, Any]) -> list[Cell]:
        return [row.get(c.key) for c in self.columns]


@dataclass(frozen=True)
class Chart:
    """A chart series: `kind` "bar" (one value per label) or "stacked" (one value per series per
    label, e.g. open findings per severity per run)."""

    id: str
    title: str
    kind: str
    labels: tuple[str, ...]
    series: tuple[tuple[str, tuple[int, ...]], ...]  # (series name, one value per label)


@dataclass(frozen=True)
class Figure:
    """A key figure shown at the top: `12 open findings`."""

    key: str
    label: str
    value: int | str


@dataclass(frozen=True)
class Report:
    kind: str
    title: str
    generated_at: datetime
    district: str
    policy: str
    scope: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""
    figures: tuple[Figure, ...] = ()
    sections: tuple[Section, ...] = ()
    charts: tuple[Chart, ...] = ()

    @property
    def schema(self) -> str:
        return f"auditor/report/{self.kind}"

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (docs/reports.md): keys in a fixed order, rows keyed by column."""
        return {
            "schema": self.schema,
            "version": SCHEMA_VERSION,
            "kind": self.kind,
            "title": self.title,
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "district": self.district,
            "policy": self.policy,
            "scope": dict(self.scope),
            "summary": {
                "text": self.summary,
                "figures": {f.key: f.value for f in self.figures},
            },
            "sections": {
                s.id: {
                    "title": s.title,
                    "columns": [c.key for c in s.columns],
                    "rows": [{c.key: _plain(row.get(c.key)) for c in s.columns} for row in s.rows],
                    "notes": list(s.notes),
                }
                for s in self.sections
            },
            "charts": {
                c.id: {
                    "title": c.title,
                    "kind": c.kind,
                    "labels": list(c.labels),
                    "series": {name: list(values) for name, values in c.series},
                }
                for c in self.charts
            },
        }


def _plain(value: Cell) -> Cell:
    return list(value) if isinstance(value, list | tuple) else value


def text_of(value: Cell) -> str:
    """A cell as one line of text: lists joined by ", ", booleans as yes/no, None as blank."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def count_phrase(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def columns(*pairs: tuple[str, str] | Column) -> tuple[Column, ...]:
    return tuple(p if isinstance(p, Column) else Column(*p) for p in pairs)


def join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
