"""`--format json` output is laid out by auditor/cli/output.py's `indented_json` (Python's json
writes indented text with its slow pure-Python encoder; msgspec writes it); scripts read that text, so
it must be exactly what `json.dumps(..., indent=2, ensure_ascii=False)` writes, floats aside: the
same number may be written in another form (`0.00001` for `1e-05`), and NaN and the infinities, which JSON
(RFC 8259) has no way to write and json.dumps writes as the non-JSON words `NaN` and `Infinity`, are
written as `null`, which every JSON reader (jq included) can parse."""

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
    {"f": [-0.0, 0.1, 2.5, 1e15, 123456.789]},
    {"e": _Kind.A, "l": [_Kind.A]},
    {"x": {"y": {"z": [{"w": "v"}]}}},
]


@pytest.mark.parametrize("value", CASES, ids=range(len(CASES)))
@pytest.mark.parametrize("pad", ["", "    "])
def test_same_text_as_json_dumps(value: Any, pad: str) -> None:
    want = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + pad)
    assert indented_json(value, pad) == want


def test_floats_are_the_same_numbers_and_non_numbers_are_null() -> None:
    value = {"f": [1e100, 1e-05, 5e-324, 1.7976931348623157e308, -0.0]}
    text = indented_json(value)
    assert json.loads(text) == value
    assert [type(v) for v in json.loads(text)["f"]] == [float] * 5
    nonfinite = {"f": [float("nan"), float("inf"), float("-inf"), 1.5]}
    assert json.loads(indented_json(nonfinite)) == {"f": [None, None, None, 1.5]}
    assert "NaN" not in indented_json(nonfinite) and "Infinity" not in indented_json(nonfinite)


def test_what_msgspec_refuses_is_still_written_as_json_writes_it() -> None:
    for value in ({"big": 10**30}, {1: "int key"}, {"s": "lone \ud800 surrogate"}):
        assert indented_json(value, "  ") == json.dumps(value, indent=2, ensure_ascii=False).replace(
            "\n", "\n  "
        )


def test_envelope_of_account_rows_reads_back() -> None:
    rows = [
        {"id": f"a_{i}", "co_managers": ["x@d.org"], "approved_on": None, "two_factor": i % 2 == 0}
        for i in range(3)
    ]
    text = json_envelope("auditor/accounts", rows)
    assert json.loads(text)["items"] == rows
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False)
