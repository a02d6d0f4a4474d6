"""The format upgrade steps themselves (the CLI path is in tests/e2e/test_registry_upgrade.py)."""

from __future__ import annotations

import pytest

from vault import upgrades


def test_a_missing_step_is_an_error_not_a_silent_skip() -> None:
    with pytest.raises(LookupError, match="no upgrade step from format 1 to 2"):
        upgrades.pending(1, 2)
