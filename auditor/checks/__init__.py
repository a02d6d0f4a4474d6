"""The checks library: one module per family, an explicit registry, and the context they read.

See docs/checks.md for the catalogue and how to add a check. The engine (auditor/engine.py) runs
them with crash isolation and the new/open/resolved diff.
"""

from .base import (
    AccountCheck,
    Check,
    CheckContext,
    Coverage,
    ImpersonationCandidate,
    ProfileCheck,
)
from .registry import CHECK_ERROR_ID, CHECKS, default_check_ids, expand_ids, get_check, select_checks

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
