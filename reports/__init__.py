"""Compliance reports: build a report of one kind from the registry, render it in one format.

    report = build_report("findings", registry)          # a format-independent reports.model.Report
    data = render(report, "html")                         # bytes
    write_report(report, "xlsx", Path("findings.xlsx"))   # atomic, mode 0600
    build_evidence_pack(registry, Path("evidence.zip"))   # five reports, log check, policy, hashes

Kinds live in reports/kinds/ (one module each), formats in reports/formats/ (one module each); both
are imported only when used, so importing this package costs nothing at CLI start-up. Every report
reads the registry under the inventory key only: none can contain a secret (docs/reports.md).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reports.model import Report
    from vault.registry import Registry

KINDS: tuple[str, ...] = ("inventory", "findings", "escrow", "activity", "offboarding")
FORMATS: tuple[str, ...] = ("table", "csv", "json", "html", "xlsx")


class ReportKind(str, enum.Enum):
    INVENTORY = "inventory"
    FINDINGS = "findings"
    ESCROW = "escrow"
    ACTIVITY = "activity"
    OFFBOARDING = "offboarding"


class ReportFormat(str, enum.Enum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    HTML = "html"
    XLSX = "xlsx"


def build_report(
    kind: str,
    registry: Registry,
    *,
    run: str | None = None,
    since: date | str | None = None,
    person: str | None = None,
    now: datetime | None = None,
) -> Report:
    """Build a report of `kind` (one of KINDS). `run`: a run id, prefix, `latest` or `previous`
    (findings); `since`: first day of the period (activity); `person`: email, id or name (offboarding;
    all departed staff when omitted); `now`: the report's clock (UTC)."""
    from auditor.model.errors import UsageError
    from reports.kinds import kind_module

    name = kind.value if isinstance(kind, enum.Enum) else str(kind)
    if name not in KINDS:
        raise UsageError(f"unknown report kind {name!r}", "Kinds: " + ", ".join(KINDS) + ".")
    report: Report = kind_module(name).build(registry, run=run, since=since, person=person, now=now)
    return report


def render(report: Report, fmt: str, *, color: bool = False) -> bytes:
    """The report in format `fmt` (one of FORMATS). `color` applies to the terminal table only."""
    from auditor.model.errors import UsageError
    from reports.formats import format_module

    name = fmt.value if isinstance(fmt, enum.Enum) else str(fmt)
    if name not in FORMATS:
        raise UsageError(f"unknown report format {name!r}", "Formats: " + ", ".join(FORMATS) + ".")
    module = format_module(name)
    data: bytes = module.render(report, color=color) if name == "table" else module.render(report)
    return data


def write_file(path: Path, data: bytes) -> Path:
    """Write `data` to `path` atomically with mode 0600 (reports name people and accounts)."""
    import os
    import tempfile

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


def build_evidence_pack(registry: Registry, path: Path, *, now: datetime | None = None) -> Path:
    """A zip of the five reports (HTML, CSV, JSON), the log verification, the policy in force and a
    SHA-256 manifest (`MANIFEST.sha256`, `manifest.json`). Written atomically, mode 0600."""
    from reports.evidence import build_pack

    return write_file(Path(path), build_pack(registry, now=now))


def verify_evidence_pack(path: Path) -> list[str]:
    """Problems found in a pack (empty: every file matches the manifest)."""
    from reports.evidence import verify_pack

    return verify_pack(Path(path))
