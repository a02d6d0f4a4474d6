"""The district policy as the registry keeps it: its exact TOML text and where it came from.

auditor/services/policy.py reads and writes the record; the value itself is pure, so a report (an
evidence pack files the policy's text) can hold one without reaching the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.engine.policy.loader import load_policy
from auditor.engine.policy.model import Policy


@dataclass(frozen=True)
class StoredPolicy:
    """The district policy as stored: its TOML text and where it came from."""

    text: str
    source: str  # "preset naperville-203", "file policy.toml"
    set_at: str
    set_by: str
    version: int

    def load(self) -> Policy:
        return load_policy(self.text, origin="stored policy")
