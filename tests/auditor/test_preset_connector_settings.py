"""A preset's platform base URLs must be the connectors' own defaults: a wrong path in a preset
(e.g. YouTube's `/youtube/v3` twice) would make every real lookup fail as "unknown"."""

from __future__ import annotations

import pytest

from auditor.engine.policy import PRESETS, load_preset
from auditor.model.types import Platform
from connectors.registry import connector_class


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_base_urls_match_the_connector_defaults(preset: str) -> None:
    policy = load_preset(preset)
    checked = 0
    for platform in Platform:
        settings = policy.settings_for(platform)
        if settings is None or not settings.base_url:
            continue
        default = connector_class(platform).from_environment(None, env={}).settings.base_url
        assert settings.base_url.rstrip("/") == default.rstrip("/"), platform
        checked += 1
    assert checked >= 3
