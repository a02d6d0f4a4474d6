"""Reports attached to the email, rendered by the `reports` package (`--attach KIND:FORMAT`).

The default is the run's findings report as HTML (one self-contained file a compliance officer
opens in a browser) and CSV (opens in Excel). `reports` is imported here, lazily, through its public
API only: `build_report(kind, registry, *, run=None, since=None, person=None, now=None) -> Report`
and `render(report, fmt) -> bytes`. A report that cannot be built is not worth losing the whole
notification for: it is left out and named in the message (and on stderr by the CLI).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from auditor.services.notify.email import Attachment
from auditor.services.notify.errors import NotifyError

if TYPE_CHECKING:
    from vault.registry import Registry

KINDS = ("inventory", "findings", "escrow", "activity", "offboarding")
FORMATS = {
    # format: (extension, MIME maintype, subtype)
    "html": ("html", "text", "html"),
    "csv": ("csv", "text", "csv"),
    "json": ("json", "application", "json"),
    "table": ("txt", "text", "plain"),
    "xlsx": ("xlsx", "application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pdf": ("pdf", "application", "pdf"),
}
DEFAULT_ATTACH = ("findings:html", "findings:csv")


@dataclass(frozen=True)
class AttachSpec:
    kind: str
    fmt: str

    def filename(self, run_id: str) -> str:
        return f"{self.kind}-{run_id}.{FORMATS[self.fmt][0]}"


def parse_attach(values: Sequence[str]) -> tuple[AttachSpec, ...]:
    """`findings:html` → AttachSpec; `none` alone means no attachment."""
    if [v.strip().lower() for v in values] == ["none"]:
        return ()
    out: list[AttachSpec] = []
    for raw in values:
        kind, sep, fmt = raw.strip().lower().partition(":")
        if not sep or kind not in KINDS or fmt not in FORMATS:
            raise NotifyError(
                f"--attach: {raw!r} is not KIND:FORMAT",
                f"Kinds: {', '.join(KINDS)}; formats: {', '.join(FORMATS)}; e.g. findings:html, or none.",
            )
        spec = AttachSpec(kind, fmt)
        if spec not in out:
            out.append(spec)
    return tuple(out)


def render_attachments(
    registry: Registry, specs: Sequence[AttachSpec], run_id: str, *, now: datetime | None = None
) -> tuple[list[Attachment], list[str]]:
    """(attachments, problems). A missing `reports` package or a failing report is a problem, not a crash."""
    if not specs:
        return [], []
    try:
        from reports import build_report, render
    except ImportError:
        return [], [
            "reports could not be attached: the reports package is not available in this installation"
        ]
    out: list[Attachment] = []
    problems: list[str] = []
    cache: dict[str, Any] = {}
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
        if isinstance(content, str):
            content = content.encode("utf-8")
        _, maintype, subtype = FORMATS[spec.fmt]
        out.append(Attachment(spec.filename(run_id), bytes(content), maintype, subtype))
    return out, problems
