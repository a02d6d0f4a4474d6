"""Every platform has one row of facts (auditor/model/platforms.py) and one connector, and the facts
agree with each other and with the code that reads them."""

from __future__ import annotations

import re

import pytest

from auditor.engine.impersonation.normalise import canonical_handle, split_handle
from auditor.engine.impersonation.variants import is_valid, variants
from auditor.model.platforms import PLATFORMS, Lookup, Platform
from auditor.model.types import display_handle
from connectors.platforms.manual import ManualConnector
from connectors.registry import CONNECTORS
from vault.escrow.credential_import import normalise_url, profile_key

ALL = list(Platform)


def test_every_platform_has_a_row_and_a_connector() -> None:
    assert list(PLATFORMS) == ALL  # in the enum's order: derived tables keep their order
    assert set(CONNECTORS) == set(Platform)
    for platform, cls in CONNECTORS.items():
        assert cls.platform is platform, platform


def test_names_aliases_hosts_and_title_words_belong_to_one_platform_each() -> None:
    names = [p.value for p in Platform] + [a for info in PLATFORMS.values() for a in info.aliases]
    assert len(names) == len(set(names))
    hosts = [h for info in PLATFORMS.values() for h in info.hosts]
    assert len(hosts) == len(set(hosts))
    words = [w.casefold() for info in PLATFORMS.values() for w in (*info.title_words, *info.title_marks)]
    assert len(words) == len(set(words))
    labels = [info.label for info in PLATFORMS.values()]
    assert len(labels) == len(set(labels))


@pytest.mark.parametrize("platform", ALL)
def test_every_name_of_a_platform_parses_back_to_it(platform: Platform) -> None:
    info = PLATFORMS[platform]
    assert platform.label == info.label and platform.info is info
    assert Platform.parse(info.label) is platform
    assert Platform.parse(platform.value.upper()) is platform
    for alias in info.aliases:
        assert alias == alias.strip().lower() and "-" not in alias and " " not in alias, alias
        assert Platform.parse(alias) is platform and Platform.parse(alias.title()) is platform


@pytest.mark.parametrize("platform", ALL)
def test_every_url_host_parses_back_to_its_platform(platform: Platform) -> None:
    info = PLATFORMS[platform]
    for host in info.hosts:
        assert host == host.lower() and not host.startswith(("www.", "m.")), host
        for url in (f"https://{host}/lincolnhs", f"https://www.{host}/lincolnhs", f"{host}/lincolnhs/"):
            key = profile_key(url)
            assert key is not None and key.platform is platform, url
        # every host of a platform means the same page: the first one
        assert normalise_url(f"https://www.{host}/LincolnHS/") == f"{info.hosts[0]}/lincolnhs"
    if info.federated:
        key = profile_key("https://k12.social/@lincolnhs")
        assert key is not None and key.platform is platform and key.handle == "lincolnhs@k12.social"


@pytest.mark.parametrize("platform", ALL)
def test_handles_are_shown_with_the_platform_prefix(platform: Platform) -> None:
    prefix = PLATFORMS[platform].display_prefix
    assert prefix in ("", "@")
    assert display_handle(platform, " @lincolnhs ") == prefix + "lincolnhs"


@pytest.mark.parametrize("platform", ALL)
def test_handle_grammar_separators_and_domains_agree(platform: Platform) -> None:
    info = PLATFORMS[platform]
    re.compile(info.handle_pattern)
    suffix = "." + info.default_domain if info.handle_is_domain else ""
    assert info.default_domain == "" or info.handle_is_domain
    assert is_valid("lincolnhs" + suffix, platform)
    assert not is_valid("lincoln hs" + suffix, platform)
    for sep in info.separators:  # a separator can join two words of a valid handle
        assert is_valid(f"lincoln{sep}hs{suffix}", platform), sep
    for ch in info.ignored_in_handle:  # an ignored character does not make another account
        assert canonical_handle(f"lincoln{ch}hs", platform) == canonical_handle("lincolnhs", platform)
    if info.handle_is_domain:
        home = info.default_domain
        assert split_handle(f"lincolnhs.{home}", platform) == ("lincolnhs", home)
    if info.federated:
        assert split_handle("@lincolnhs@K12.social", platform) == ("lincolnhs", "k12.social")
    out = variants("lincolnhs" + suffix, platform, limit=50)
    assert out and all(is_valid(v, platform) for v in out)


@pytest.mark.parametrize("platform", ALL)
def test_the_lookup_style_is_the_connectors(platform: Platform) -> None:
    info = PLATFORMS[platform]
    cls = CONNECTORS[platform]
    connector = cls()
    try:
        assert (info.lookup is Lookup.MANUAL) == issubclass(cls, ManualConnector), info.lookup
        assert (info.lookup is Lookup.BATCH) == (cls.batch_size > 1), info.lookup
        assert info.search == connector.supports_search
        if info.probe_lookalikes:
            assert info.lookup in (Lookup.EXACT, Lookup.BATCH)
        if cls.test_handle:
            name = split_handle(cls.test_handle, platform)[0] if info.federated else cls.test_handle
            assert is_valid(name, platform), cls.test_handle
    finally:
        connector.close()
