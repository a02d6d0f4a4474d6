"""The checks library: one module per family, an explicit registry, and the context they read.

See docs/checks.md for the catalogue and how to add a check. The engine (auditor/engine/evaluate.py) runs
them with crash isolation and the new/open/resolved diff.
"""

from auditor.engine.checks.base import (
    AccountCheck,
    Check,
    CheckContext,
    Coverage,
    ImpersonationCandidate,
    ProfileCheck,
)
from auditor.engine.checks.registry import (
    CHECK_ERROR_ID,
    CHECKS,
    default_check_ids,
    expand_ids,
    get_check,
    select_checks,
)

__all__ = [
    "CHECKS",
    "CHECK_ERROR_ID",
    "AccountCheck",
    "Check",
    "CheckContext",
    "Coverage",
    "ImpersonationCandidate",
    "ProfileCheck",
    "default_check_ids",
    "expand_ids",
    "get_check",
    "select_checks",
]
