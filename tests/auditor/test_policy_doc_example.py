"""docs/policy.md's format example is a policy the loader accepts (a newcomer copies it)."""

from __future__ import annotations

import re
from pathlib import Path

from auditor.engine.policy import load_policy

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def test_the_format_example_in_docs_policy_md_loads(tmp_path: Path) -> None:
    found = re.search(r"## Format \(format_version 1\).*?```toml\n(.*?)```", DOC.read_text("utf-8"), re.S)
    assert found, "docs/policy.md has no ```toml block under its Format heading"
    path = tmp_path / "policy.toml"
    path.write_text(found.group(1), "utf-8")
    policy = load_policy(path)
    assert policy.impersonation_threshold == 85 and policy.probe_budget == 400
    assert policy.audit_retention is not None and "400" in str(policy.audit_retention)
