"""Settings, registry, token stores, the manual connector and the rate-limit header parsers."""

from __future__ import annotations

import email.utils
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from auditor.model.errors import ConnectorError
from auditor.model.types import Platform, ProfileStatus, Secret
from connectors.base import ConnectorSettings, NotSupportedError
from connectors.http import (
    BlueskyRateLimits,
    MastodonRateLimits,
    MetaRateLimits,
    XRateLimits,
    parse_retry_after,
)
from connectors.platforms.manual import (
    Attestation,
    JsonAttestationStore,
    ManualConnector,
    MemoryAttestationStore,
)
from connectors.registry import CONNECTORS, connector_class
from connectors.tokens import KeyringTokenStore, MemoryTokenStore, TokenStoreError

from .helpers import CASES, TOKEN, connect, start


def test_every_platform_has_a_connector() -> None:
    assert set(CONNECTORS) == set(Platform)
    for platform, cls in CONNECTORS.items():
        assert cls.platform is platform
    assert connector_class("twitter").platform is Platform.X


def test_settings_layer_defaults_config_then_environment() -> None:
    defaults = ConnectorSettings(base_url="https://api.x.com", timeout=10)
    env = {
        "AUDITOR_X_BASE_URL": "http://127.0.0.1:9",
        "AUDITOR_X_TIMEOUT": "3.5",
        "AUDITOR_X_IG_USER_ID": "1",
    }
    got = ConnectorSettings.load(
        Platform.X, defaults, {"timeout": 5, "retries": 4, "region": "us"}, env, ["ig_user_id"]
    )
    assert got.base_url == "http://127.0.0.1:9"
    assert got.timeout == 3.5 and got.retries == 4
    assert got.extra == {"region": "us", "ig_user_id": "1"}


def test_bad_number_in_settings_is_a_connector_error_with_hint() -> None:
    with pytest.raises(ConnectorError) as err:
        ConnectorSettings.load(Platform.X, env={"AUDITOR_X_TIMEOUT": "soon"})
    assert "AUDITOR_X_TIMEOUT" in err.value.message and err.value.hint


def test_keyring_store_without_a_backend_refuses_and_never_falls_back(tmp_path: Path) -> None:
    store = KeyringTokenStore()
    with pytest.raises(TokenStoreError) as err:
        store.set(Platform.X, Secret(TOKEN))
    assert "no OS keyring" in err.value.message and TOKEN not in err.value.message
    with pytest.raises(TokenStoreError):
        store.get(Platform.X)
    assert not any(TOKEN in p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file())


def test_memory_token_store_round_trip() -> None:
    store = MemoryTokenStore()
    assert store.get(Platform.X) is None
    store.set(Platform.X, Secret(TOKEN))
    assert store.get(Platform.X) == Secret(TOKEN)
    assert store.delete(Platform.X) and not store.delete(Platform.X)


def test_token_never_appears_in_reasons_even_when_the_platform_echoes_it() -> None:
    case = CASES["x"]
    with start(case) as server:
        server.fail(
            "status",
            status=403,
            body={"title": "Forbidden", "detail": f"token {TOKEN} is banned", "type": "about:blank"},
        )
        connector = connect(case, server)
        profile = connector.lookup_many(["lincolnhs", "other"])
    assert all(TOKEN not in p.reason and TOKEN not in repr(p) for p in profile.values())
    assert all(p.status is ProfileStatus.UNKNOWN for p in profile.values())


def test_lookup_by_id_not_supported_raises_clearly() -> None:
    case = CASES["linkedin"]
    with start(case) as server, pytest.raises(NotSupportedError):
        connect(case, server).lookup_by_id("123")


def test_manual_connector_returns_the_attestation(tmp_path: Path) -> None:
    store = JsonAttestationStore(tmp_path / "attest.json")
    store.put(
        Attestation(
            Platform.SNAPCHAT,
            "lincolnhs",
            "pat@district.example",
            date(2026, 10, 5),
            display_name="Lincoln HS",
            bio="Official Snapchat of Lincoln HS",
        )
    )
    connector = CONNECTORS[Platform.SNAPCHAT](store=JsonAttestationStore(tmp_path / "attest.json"))  # type: ignore[call-arg]
    seen = connector.lookup("@LincolnHS")
    assert seen.status is ProfileStatus.FOUND and seen.source == "manual"
    assert seen.attested_by == "pat@district.example"
    assert seen.fetched_at == datetime(2026, 10, 5, tzinfo=UTC)
    assert connector.lookup("unknown_acct").reason == "no manual check recorded"
    other = ManualConnector.for_platform(Platform.TIKTOK)(store=MemoryAttestationStore())
    assert other.platform is Platform.TIKTOK and other.lookup("x").status is ProfileStatus.UNKNOWN


def test_rate_limit_header_parsers() -> None:
    now = 1_800_000_000.0
    x = XRateLimits().observe({"x-rate-limit-remaining": "0", "x-rate-limit-reset": "1800000060"}, now)
    assert x is not None and x.remaining == 0 and x.reset_at == 1_800_000_060
    iso = MastodonRateLimits().observe(
        {"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "2027-01-15T08:00:00.000000Z"}, now
    )
    assert iso is not None and iso.reset_at == datetime(2027, 1, 15, 8, tzinfo=UTC).timestamp()
    bsky = BlueskyRateLimits().observe({"RateLimit-Remaining": "0", "RateLimit-Policy": "3000;w=300"}, now)
    assert bsky is not None and bsky.reset_at == now + 300
    meta = MetaRateLimits()
    headers = {
        "X-Business-Use-Case-Usage": '{"1":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":7}]}'
    }
    assert meta.wait_seconds(400, headers, b'{"error":{"code":80001}}', now) == 420
    assert meta.is_throttled(400, b'{"error":{"code":17}}') and not meta.is_throttled(
        400, b'{"error":{"code":803}}'
    )
    date_header = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date_header, now) == pytest.approx(30, abs=1)
    assert parse_retry_after("12", now) == 12


def test_search_failure_exception_never_contains_the_key_sent_in_the_query() -> None:
    from connectors.fakes import FakeClock
    from connectors.http import HttpFailure

    case = CASES["youtube"]
    with start(case) as server:
        server.fail("status", status=503, body={}, times=2)  # both attempts of the first search
        server.fail("html", status=200, path="/youtube/v3/search")
        connector = connect(case, server, clock=FakeClock())
        with pytest.raises(HttpFailure) as first:
            connector.search("lincoln")
        with pytest.raises(HttpFailure) as second:
            connector.search("lincoln")
    assert first.value.reason == "HTTP 503 after 2 attempts"
    assert second.value.reason.startswith("unparseable answer (HTML page")
    for err in (first.value, second.value):
        assert TOKEN not in str(err) and TOKEN not in repr(err.args) and "key=" not in str(err)
