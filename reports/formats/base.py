"""What a report format is: a name, a file extension, a media type and `render(report) -> bytes`.

A format never reads a file or the registry: it turns a `reports.model.Report` into bytes and
treats every string in it as hostile for its own medium (docs/reports.md, "Formats").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from reports.model import Report


class Format(ABC):
    """One output format of `auditor report`. Instances are registered in `reports.formats.FORMATS`."""

    name: ClassVar[str]  # `--format NAME`, `--attach KIND:NAME`
    extension: ClassVar[str]  # without the dot: file names of evidence packs and attachments
    media_type: ClassVar[str]  # the MIME type of an e-mailed attachment
    binary: ClassVar[bool] = False  # cannot go to a terminal: `auditor report` needs `--output`
    note: ClassVar[str] = ""  # shown after the name in `--format` help, e.g. "terminal"

    @abstractmethod
    def render(self, report: Report) -> bytes:
        """The report in this format."""

    def in_color(self, color: bool) -> Format:
        """This format for a terminal that shows colour (`color`); most formats have no colour."""
        return self
