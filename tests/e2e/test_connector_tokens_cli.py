"""`auditor connector set-token` stores tokens in the encrypted registry, where scheduled audits read them."""

from __future__ import annotations

from tests.e2e.conftest import Cli

TOKEN = "AAAAcanaryXbearerTOKEN0123456789"


def test_set_token_goes_to_the_registry_encrypted_and_is_seen_by_connector_list(cli: Cli) -> None:
    cli.init()
    before = cli.ok("connector", "list").output
    assert "X" in before and "missing" in before.split("\nX ")[1].splitlines()[0]
    out = cli.ok("connector", "set-token", "x", "--stdin", input=TOKEN + "\n").output
    assert "Stored the X token." in out and TOKEN not in out
    listing = cli.ok("connector", "list").output
    x_line = next(line for line in listing.splitlines() if line.startswith("X "))
    assert "configured" in x_line and TOKEN not in listing
    raw = b"".join(p.read_bytes() for p in cli.tmp.rglob("*") if p.is_file())
    assert TOKEN.encode() not in raw


def test_keyring_option_without_a_keyring_is_a_clear_error(cli: Cli) -> None:
    cli.init()
    result = cli("connector", "set-token", "x", "--stdin", "--keyring", input=TOKEN + "\n")
    assert result.exit_code == 1 and "error:" in result.output and TOKEN not in result.output


def test_connector_commands_use_the_base_urls_of_the_stored_policy(cli: Cli) -> None:
    from auditor.engine.policy import dump_preset
    from connectors.fakes.platforms import FakeBluesky
    from connectors.fakes.server import FakeAccount

    cli.init()
    with FakeBluesky([FakeAccount("nchsband.bsky.social", name="NCHS Band")]) as server:
        text = dump_preset("naperville-203").replace('"https://public.api.bsky.app"', f'"{server.url}"')
        assert server.url in text
        cli.ok("policy", "import", str(cli.file("policy.toml", text)))
        listing = cli.ok("connector", "list").output
        assert server.url in next(line for line in listing.splitlines() if line.startswith("Bluesky"))
        out = cli.ok("profile", "fetch", "bluesky", "nchsband.bsky.social").output
        assert "found" in out and "NCHS Band" in out
        assert [r.path for r in server.requests] == ["/xrpc/app.bsky.actor.getProfile"]
