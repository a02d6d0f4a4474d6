"""build_source: configuration tables become sources; secrets only ever come from the caller."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.model.errors import ConnectorError
from auditor.model.types import PersonStatus, Secret
from connectors.roster.config import build_source
from connectors.roster.fakes import FakeGraph
from connectors.roster.generic_csv import MappedCsvSource
from connectors.roster.msgraph import GraphUsersSource
from connectors.roster.oneroster_csv import OneRosterCsvSource


def test_file_sources_from_tables(tmp_path: Path) -> None:
    src = build_source("oneroster-csv", {"path": str(tmp_path), "disabled_means": "departed"}, name="sis")
    assert isinstance(src, OneRosterCsvSource)
    assert (src.name, src.disabled_means) == ("sis", PersonStatus.DEPARTED)
    hr = tmp_path / "hr.csv"
    hr.write_text("Mail,Status\nA@x.us,LOA\n", encoding="utf-8")
    table = {"path": str(hr), "mapping": {"columns": {"email": "Mail", "status": "Status"},
                                          "status_values": {"LOA": "on_leave"}}}  # fmt: skip
    csv_source = build_source("csv", table)
    assert isinstance(csv_source, MappedCsvSource)
    assert [(e.email, e.status) for e in csv_source.fetch()] == [("a@x.us", PersonStatus.ON_LEAVE)]


def test_graph_from_table_fetches_with_the_handed_secret() -> None:
    with FakeGraph() as fake:
        assert isinstance(fake, FakeGraph)
        options = {"kind": "msgraph", "tenant": fake.tenant, "client_id": "demo-client",
                   "login_url": fake.url, "graph_url": fake.url}  # fmt: skip
        src = build_source("msgraph", options, Secret("demo-secret"))
        assert isinstance(src, GraphUsersSource)
        assert len(src.fetch()) == 4


@pytest.mark.parametrize(
    ("kind", "options", "secret", "message"),
    [
        ("msgraph", {"tenant": "t", "client_id": "i", "client_secret": "x"}, None,
         "roster source msgraph: 'client_secret' must not be in the configuration file"),
        ("google-directory", {"access_token": "x"}, None,
         "roster source google-directory: 'access_token' must not be in the configuration file"),
        ("msgraph", {"tenant": "t", "client_id": "i"}, None, "roster source msgraph needs its client secret"),
        ("msgraph", {"tenant": "t", "client_id": "i", "tennant": "x"}, Secret("s"),
         "roster source msgraph: unknown option 'tennant'"),
        ("oneroster-rest", {"base_url": "http://127.0.0.1"}, Secret("s"), "roster source oneroster-rest: "),
        ("ldap", {}, None, "unknown roster source kind 'ldap'"),
    ],
)  # fmt: skip
def test_bad_tables(kind: str, options: dict[str, object], secret: Secret | None, message: str) -> None:
    with pytest.raises(ConnectorError) as info:
        build_source(kind, options, secret)
    assert str(info.value).startswith(message)
