"""Compliance reports: a report of one kind from what the registry holds, rendered in one format.

    data = auditor.services.reporting.read_input(registry, KINDS["findings"].reads)  # the service reads
    report = build_report("findings", data, now=now)      # a format-independent reports.model.Report
    content = render(report, "html")                      # bytes
    write_report(report, "xlsx", Path("findings.xlsx"))   # atomic, mode 0600
    verify_evidence_pack(Path("evidence.zip"))            # problems found, one sentence each

Kinds live in reports/kinds/ (one module each, listed in `reports.kinds.KINDS`), formats in
reports/formats/ (one class each, listed in `reports.formats.FORMATS`). Everything here is a pure
function of a `reports.input.ReportInput`: no registry, no vault, no network. Reading the registry
is auditor/services/reporting.py's (`build_report`, `build_evidence_pack` from a registry), under
the inventory key only: no report can contain a secret (docs/reports.md).
"""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime
from pathlib import Path

from auditor.model.types import Person
from reports.evidence import verify_pack
from reports.formats import format_named
from reports.input import ReportInput
from reports.kinds import kind_named
from reports.model import Report


def build_report(
    kind: str,
    data: ReportInput,
    *,
    run: str | None = None,
    since: date | str | None = None,
    person: Person | None = None,
    now: datetime,
) -> Report:
    """A report of `kind` (a name in `reports.kinds.KINDS`). `run`: a run id, prefix, `latest` or
    `previous` (findings); `since`: first day of the period (activity); `person`: the person
    (offboarding; all departed staff when None); `now`: the report's clock."""
    return kind_named(kind).build(data, run=run, since=since, person=person, now=now)


def render(report: Report, fmt: str, *, color: bool = False) -> bytes:
    """The report in format `fmt` (a name in `reports.formats.FORMATS`). `color` applies to the
    terminal table only."""
    return format_named(fmt).in_color(color).render(report)


def write_file(path: Path, data: bytes) -> Path:
    """Write `data` to `path` atomically with mode 0600 (reports name people and accounts)."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_report(report: Report, fmt: str, path: Path) -> Path:
    """Render and write atomically, mode 0600. Returns the path written."""
    return write_file(Path(path), render(report, fmt))


def verify_evidence_pack(path: Path) -> list[str]:
    """Problems found in a pack (empty: every file matches the manifest)."""
    return verify_pack(Path(path))
