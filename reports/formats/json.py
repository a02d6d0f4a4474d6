"""JSON: the versioned envelope `{"schema": "auditor/report/<kind>", "version": 1, ...}`.

Keys come in a fixed order (reports/model.py `Report.to_dict`, documented in docs/reports.md); a key
may be added in a minor release, never renamed or removed without raising `version` (docs/json.md).
"""

from __future__ import annotations

import json

from auditor.model.safetext import json_safe
from reports.formats.base import Format
from reports.model import Report


class Json(Format):
    name = "json"
    extension = "json"
    media_type = "application/json"

    def render(self, report: Report) -> bytes:
        """UTF-8 JSON; control and bidi characters are `\\u` escapes, so the file is inert on a terminal."""
        return (json_safe(json.dumps(report.to_dict(), indent=2, ensure_ascii=False)) + "\n").encode("utf-8")
