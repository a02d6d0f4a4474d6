"""`--format json` output is laid out by auditor/cli/output.py's `indented_json` (Python's json
writes indented text with its slow pure-Python encoder); scripts read that text, so it must be
exactly what `json.dumps(..., indent=2, ensure_ascii=False)` writes."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest

from auditor.cli.output import indented_json, json_envelope


class _Kind(str, enum.Enum):
    A = "a"


CASES: list[Any] = [
    {},
    [],
    "plain",
    3,
    None,
    10**30,
    _Kind.A,
    {"a": [], "b": {}, "c": [[[]]]},
    {"a": [1, 2.5, True, False, None, 'é \n " \\ \u202e', {"b": ()}]},
    (1, "two"),
    {1: "int key", "s": 2},
    {True: 1},
    {"f": [float("nan"), float("inf"), -0.0, 1e100, 0.1]},
    {"e": _Kind.A, "l": [_Kind.A]},
    {"x": {"y": {"z": [{"w": "v"}]}}},
]


@pytest.mark.parametrize("value", CASES, ids=range(len(CASES)))
@pytest.mark.parametrize("pad", ["", "    "])
def test_same_text_as_json_dumps(value: Any, pad: str) -> None:
    want = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + pad)
    assert indented_json(value, pad) == want


def test_envelope_of_account_rows_reads_back() -> None:
    rows = [
        {"id": f"a_{i}", "co_managers": ["x@d.org"], "approved_on": None, "two_factor": i % 2 == 0}
        for i in range(3)
    ]
    text = json_envelope("auditor/accounts", rows)
    assert json.loads(text)["items"] == rows
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False)
