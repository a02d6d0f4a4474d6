"""The district policy: model, TOML loading and validation, and the presets shipped as data files.

`load_policy(text_or_path)` returns a frozen `Policy` (`auditor.engine.validation.validate` lists
problems that need the whole file and the check catalogue in view); `dump_preset(name)` returns a preset's TOML text for `auditor policy init`.
See docs/policy.md for the file format and how each requirement maps clauses to checks.
"""

from auditor.engine.policy.loader import (
    FORMAT_VERSION,
    PRESETS,
    best_practice_framework,
    dump_preset,
    load_policy,
    load_preset,
    preset_names,
    source_text,
)
from auditor.engine.policy.model import (
    AGREEMENT_KINDS,
    REQUIREMENT_FLAGS,
    AllowlistEntry,
    Building,
    Framework,
    Period,
    PlatformRule,
    PlatformSettings,
    Policy,
    ProtectedRole,
    Requirement,
)
from auditor.model.errors import PolicyError

__all__ = [
    "AGREEMENT_KINDS",
    "FORMAT_VERSION",
    "PRESETS",
    "REQUIREMENT_FLAGS",
    "AllowlistEntry",
    "Building",
    "Framework",
    "Period",
    "PlatformRule",
    "PlatformSettings",
    "Policy",
    "PolicyError",
    "ProtectedRole",
    "Requirement",
    "best_practice_framework",
    "dump_preset",
    "load_policy",
    "load_preset",
    "preset_names",
    "source_text",
]
