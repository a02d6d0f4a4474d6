"""Reports attached to the email (`--attach KIND:FORMAT`), built by `auditor.services.reporting`.

The default is the run's findings report as HTML (one self-contained file a compliance officer
opens in a browser) and CSV (opens in Excel). Kinds and formats are `reports.kinds.KINDS` and
`reports.formats.FORMATS`, so `--attach` is checked against them before the audit runs: a format
that does not exist (say `pdf`) is refused up front, with the list of those that do. A report that
cannot be built is not worth losing the whole notification for: it is left out and named in the
message (and on stderr by the CLI).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from auditor.services.notify.email import Attachment
from auditor.services.notify.errors import NotifyError
from auditor.services.reporting import build_report
from reports import render
from reports.formats import FORMATS
from reports.kinds import KINDS
from reports.model import Report

if TYPE_CHECKING:
    from vault.registry import Registry

DEFAULT_ATTACH = ("findings:html", "findings:csv")


def _listed() -> str:
    return f"Kinds: {', '.join(KINDS)}; formats: {', '.join(FORMATS)}; e.g. findings:html, or none."


@dataclass(frozen=True)
class AttachSpec:
    """One report to attach: a kind of `reports.kinds.KINDS` in a format of `reports.formats.FORMATS`
    (refused here otherwise, so no spec can fail only once the audit has run)."""

    kind: str
    fmt: str

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise NotifyError(f"--attach: there is no report format {self.fmt!r}", _listed())
        if self.kind not in KINDS:
            raise NotifyError(f"--attach: there is no report kind {self.kind!r}", _listed())

    def filename(self, run_id: str) -> str:
        return f"{self.kind}-{run_id}.{FORMATS[self.fmt].extension}"


def parse_attach(values: Sequence[str]) -> tuple[AttachSpec, ...]:
    """`findings:html` → AttachSpec; `none` alone means no attachment."""
    if [v.strip().lower() for v in values] == ["none"]:
        return ()
    out: list[AttachSpec] = []
    for raw in values:
        kind, sep, fmt = raw.strip().lower().partition(":")
        if sep and kind in KINDS and fmt and fmt not in FORMATS:
            raise NotifyError(f"--attach: {raw!r}: there is no report format {fmt!r}", _listed())
        if not sep or kind not in KINDS or fmt not in FORMATS:
            raise NotifyError(f"--attach: {raw!r} is not KIND:FORMAT", _listed())
        spec = AttachSpec(kind, fmt)
        if spec not in out:
            out.append(spec)
    return tuple(out)


def render_attachments(
    registry: Registry, specs: Sequence[AttachSpec], run_id: str, *, now: datetime | None = None
) -> tuple[list[Attachment], list[str]]:
    """(attachments, problems). A failing report is a problem, not a crash."""
    if not specs:
        return [], []
    out: list[Attachment] = []
    problems: list[str] = []
    cache: dict[str, Report] = {}
    for spec in specs:
        try:
            if spec.kind not in cache:
                cache[spec.kind] = build_report(
                    spec.kind, registry, run=run_id if spec.kind == "findings" else None, now=now
                )
            content = render(cache[spec.kind], spec.fmt)
        except Exception as exc:  # one failing report must not lose the message
            reason = getattr(exc, "message", "") or type(exc).__name__
            problems.append(f"the {spec.kind} report ({spec.fmt}) could not be attached: {reason}")
            continue
        maintype, _, subtype = FORMATS[spec.fmt].media_type.partition("/")
        out.append(Attachment(spec.filename(run_id), bytes(content), maintype, subtype))
    return out, problems
