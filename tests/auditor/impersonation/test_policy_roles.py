"""The policy side of issue 14: allowlisted organisations on any platform, role synonyms, the model."""

from __future__ import annotations

import pytest

from auditor.engine.impersonation.roles import role_model
from auditor.engine.policy import load_policy
from auditor.model.errors import PolicyError
from auditor.model.types import Platform

POLICY = """
format_version = 1
[district]
id = "sb"
name = "Stonebridge ISD"
aliases = ["Stonebridge Independent School District"]
[[buildings]]
id = "shs"
name = "Stonebridge High School"
aliases = ["SHS"]
[[protected.roles]]
id = "superintendent"
title = "Superintendent"
people = ["Maria Delgado"]
synonyms = ["Head Honcho"]
[[allowlist]]
platform = "x"
handle = "StonebridgePD"
reason = "Town police (format 1)"
[[allowlist]]
name = "Stonebridge ISD PTA Council"
handles = ["x:StonebridgeISDPTA", "instagram:stonebridge_pta", "facebook:SBPTACouncil"]
reason = "The PTA council"
"""


def test_an_allowlisted_organisation_matches_its_handles_on_every_platform() -> None:
    policy = load_policy(POLICY)
    assert len(policy.allowlist) == 4
    for platform in (Platform.X, Platform.INSTAGRAM, Platform.TIKTOK):
        for handle in ("StonebridgePD", "stonebridgeisdpta", "stonebridge_pta", "SBPTACouncil"):
            assert policy.is_allowlisted(platform, handle) is not None
    assert policy.is_allowlisted(Platform.X, "stonebridge_pta").organisation == "Stonebridge ISD PTA Council"  # type: ignore[union-attr]


def test_an_organisation_handle_without_a_platform_is_an_error() -> None:
    text = POLICY.replace('"facebook:SBPTACouncil"', '"SBPTACouncil"')
    with pytest.raises(PolicyError, match="platform:handle"):
        load_policy(text, origin="policy.toml")


def test_the_role_model_reads_policy_synonyms_people_and_buildings() -> None:
    model = role_model(load_policy(POLICY))
    assert model.claim("HeadHonchoStonebridgeISD") is not None
    assert model.claim("Supt_StonebridgeISD") is not None
    assert model.claim("SHS_Principal") is not None
    assert model.claim("MariaDelgado") is None
    claim = model.claim("DrDelgado_StonebridgeISD")
    assert claim is not None and "Maria Delgado" in claim.rule
