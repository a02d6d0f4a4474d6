"""Every line of the threat model in docs/escrow.md names the test that proves it: those tests exist.

A reference is a path (`tests/.../test_x.py`), optionally with `::test_name`, or a tamper-kit
vector id (`kit ...`, possibly with `*`). If a test is renamed or a vector removed, the document
would promise something nothing checks; this test says which reference went stale.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "escrow.md"


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Threat model")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _joined(section: str) -> str:
    # References may wrap across lines inside backticks ("wrap-to-admin-same-\n  version").
    return re.sub(r"-\n\s+", "-", re.sub(r"::\n\s+", "::", section))


def test_every_test_the_threat_model_names_exists() -> None:
    section = _joined(_section())
    refs = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", section)
    refs += re.findall(r"(tests/[\w/]+\.py)::\s*(\w+)", section)
    assert len(refs) >= 15, "the threat model should cite its tests"
    missing = []
    for path, name in refs:
        file = ROOT / path
        if not file.exists():
            missing.append(path)
        elif name and not re.search(rf"def {name}\(", file.read_text(encoding="utf-8")):
            missing.append(f"{path}::{name}")
    assert not missing, missing


def test_every_tamper_vector_the_threat_model_names_exists() -> None:
    from tests.vault.test_tamper_kit import VECTORS

    ids = {v.id for v in VECTORS}
    section = _joined(_section())
    cited: list[str] = []
    for clause in re.findall(r"kit\s+((?:`[^`]+`(?:,\s*|\s+and\s+|\s*)?)+)", section):
        cited += re.findall(r"`([^`]+)`", clause)
    assert len(cited) >= 20
    unmatched = [c for c in cited if not fnmatch.filter(ids, c)]
    assert not unmatched, unmatched
    # And the kit's size is what the document says.
    stated = re.search(r"\((\d+) vectors", section)
    assert stated and int(stated.group(1)) == len(VECTORS)
