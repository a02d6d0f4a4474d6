"""Impersonation detection: lookalike handles of district accounts and protected official roles.

Pure library (no network, no registry): `normalise` turns a handle into its key and core,
`score_pair` scores one candidate against one protected name with reasons in plain words,
`Detector` scans many candidates against many protected names fast, `apply_evidence` adjusts a
match with what the profile says, and `variants` / `search_queries` produce what connectors should
look up. The recipe and the numbers it must beat are in `shared/reference/lookalikes.md`; the
policy clause is Naperville 203's "Do not claim to represent a District official unless
authorized. For example, @TheReal203Superintendent". rapidfuzz and numpy are imported lazily, so
importing this package stays cheap for the CLI.
"""

from __future__ import annotations

from auditor.engine.impersonation.detector import Detector
from auditor.engine.impersonation.evidence import DistrictContext, apply_evidence
from auditor.engine.impersonation.normalise import (
    DEFAULT_AFFIXES,
    Normalised,
    canonical_handle,
    core_of,
    key_of,
    normalise,
)
from auditor.engine.impersonation.roles import inventory_names, role_names
from auditor.engine.impersonation.scoring import (
    DEFAULT_THRESHOLD,
    Match,
    ProtectedKind,
    ProtectedName,
    Tier,
    score_pair,
)
from auditor.engine.impersonation.variants import is_valid, search_queries, variants

__all__ = [
    "DEFAULT_AFFIXES",
    "DEFAULT_THRESHOLD",
    "Detector",
    "DistrictContext",
    "Match",
    "Normalised",
    "ProtectedKind",
    "ProtectedName",
    "Tier",
    "apply_evidence",
    "canonical_handle",
    "core_of",
    "inventory_names",
    "is_valid",
    "key_of",
    "normalise",
    "role_names",
    "score_pair",
    "search_queries",
    "variants",
]
