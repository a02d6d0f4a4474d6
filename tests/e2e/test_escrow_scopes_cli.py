"""Escrow scopes through the CLI (issue 19), on SQLite and on a real PostgreSQL: a principal
recovers and rotates their own school's accounts and nothing else; the refusal says why, shows
nothing of the other school's credential, and is in the log; revoking re-keys exactly that scope."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import PgCluster
from tests.e2e.conftest import Cli

PEOPLE = (
    "name,email,kind,role,building,status\n"
    "Jin Park,jpark@d203.org,employee,Principal,North High,active\n"
    "Ana Ruiz,aruiz@d203.org,employee,Principal,Central High,active\n"
    "Dana Cho,dcho@d203.org,employee,Comms,District Office,active\n"
)
ACCOUNTS = (
    "platform,handle,owner_email,purpose,building,profile_url\n"
    "instagram,north_athletics,jpark@d203.org,athletics,North High,https://www.instagram.com/north_athletics/\n"
    "instagram,central_band,aruiz@d203.org,activity,Central High,https://www.instagram.com/central_band/\n"
    "x,d203,dcho@d203.org,district,,https://x.com/d203\n"
)
NORTH, CENTRAL, DISTRICT = "instagram:north_athletics", "instagram:central_band", "x:d203"
NORTH_PW, CENTRAL_PW, DISTRICT_PW = "North-Pw-1182!ab", "Central-Pw-9930!cd", "District-Pw-4471!ef"
PRINCIPAL_PASS = "jin park's own passphrase"


@pytest.fixture(params=["sqlite", "postgres"])
def site(request: pytest.FixtureRequest, cli: Cli) -> Cli:
    if request.param == "postgres":
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        cli.registry = cluster.url(request.getfixturevalue("pg_db"))  # type: ignore[assignment]
    return cli


def _district(cli: Cli) -> Path:
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS)))
    for ref, pw in ((NORTH, NORTH_PW), (CENTRAL, CENTRAL_PW), (DISTRICT, DISTRICT_PW)):
        cli.ok("secret", "set", ref, "--stdin", input=f"login=x\npassword={pw}\n")
    passfile = cli.file("jpark.pass", PRINCIPAL_PASS)
    os.chmod(passfile, 0o600)
    cli.ok(
        "identity", "add", "jpark", "--role", "building-admin", "--scope", "north high",
        "--email", "jpark@d203.org", "--new-passphrase-file", str(passfile),
    )  # fmt: skip
    return passfile


def test_a_principal_opens_their_school_and_is_refused_the_others(site: Cli) -> None:
    passfile = _district(site)
    listed = json.loads(site.ok("--identity", "it-admin", "identity", "list", "--json").output)["items"]
    assert {i["name"]: (i["role"], i["scopes"]) for i in listed} == {
        "it-admin": ("district-admin", "every scope"),
        "jpark": ("building-admin", "North High"),
    }

    def as_jpark(*args: str) -> object:
        return site("--identity", "jpark", *args, passfile=passfile)

    shown = as_jpark("secret", "show", NORTH, "--reason", "game day")
    assert shown.exit_code == 0 and NORTH_PW in shown.output  # type: ignore[attr-defined]
    recovered = as_jpark("recover", NORTH, "--reason", "coach left", "--field", "password")
    assert recovered.exit_code == 0 and NORTH_PW in recovered.output  # type: ignore[attr-defined]

    recipient = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
    for ref in (CENTRAL, DISTRICT):
        for args in (
            ("secret", "show", ref, "--reason", "curious"),
            ("recover", ref, "--reason", "curious", "--field", "password"),
            ("secret", "totp", ref, "--reason", "curious"),
            ("secret", "set", ref, "--stdin"),
            ("secret", "use-code", ref, "--stdin"),
            ("secret", "export", "-o", str(site.tmp / f"{ref}.age"), "--account", ref, "-r", recipient,
             "--reason", "curious"),
        ):  # fmt: skip
            refused = site("--identity", "jpark", *args, passfile=passfile, input="password=planted\n")
            out = refused.output  # type: ignore[attr-defined]
            assert refused.exit_code != 0, out  # type: ignore[attr-defined]
            assert "escrow scope" in out and "not granted" in out, out
            assert f"account @{ref.split(':')[1]}" in out, out  # the account as the user named it, no id
            assert CENTRAL_PW not in out and DISTRICT_PW not in out and "version" not in out.casefold()
            assert not list(site.tmp.glob("*.age"))  # no export file, not even an empty one
    # Rotation: a principal stages a new password for their own school only.
    assert as_jpark("secret", "generate", NORTH).exit_code == 0  # type: ignore[attr-defined]
    assert as_jpark("secret", "generate", CENTRAL).exit_code != 0  # type: ignore[attr-defined]

    events = json.loads(site.ok("--identity", "it-admin", "log", "show", "--json").output)["items"]
    refusals = [e for e in events if e["action"] == "scope-refused"]
    assert refusals and {e["identity"] for e in refusals} == {"jpark"}
    assert {e["details"]["scope"] for e in refusals} == {"Central High", "district"}
    # The access review's summary names both kinds of grant.
    site.ok("--identity", "it-admin", "policy", "init", "--preset", "naperville-203")
    review = json.loads(site.ok("--identity", "it-admin", "report", "access", "--format", "json").output)
    assert "through district-wide grants and the North High scope;" in review["summary"]["text"]
    # A district administrator still opens every school.
    assert (
        CENTRAL_PW in site.ok("--identity", "it-admin", "secret", "show", CENTRAL, "--reason", "audit").output
    )


def test_revoking_a_scope_rekeys_it_and_opens_tasks_for_exactly_its_accounts(site: Cli) -> None:
    passfile = _district(site)
    site.ok(
        "--identity",
        "it-admin",
        "identity",
        "grant",
        "jpark",
        "--scope",
        "Central High",
        "--reason",
        "covering",
    )
    assert (
        CENTRAL_PW
        in site(
            "--identity", "jpark", "secret", "show", CENTRAL, "--reason", "cover", passfile=passfile
        ).output
    )
    out = site.ok(
        "--identity",
        "it-admin",
        "identity",
        "revoke",
        "jpark",
        "--scope",
        "Central High",
        "--reason",
        "cover ended",
    ).output
    assert "Opened 1 rotation task" in out
    tasks = json.loads(site.ok("--identity", "it-admin", "task", "list", "--json").output)["items"]
    assert [t["account"] for t in tasks] == ["Instagram account @central_band"]  # the one it could read
    refused = site("--identity", "jpark", "secret", "show", CENTRAL, "--reason", "again", passfile=passfile)
    assert refused.exit_code != 0 and "not granted" in refused.output
    assert (
        NORTH_PW
        in site(
            "--identity", "jpark", "secret", "show", NORTH, "--reason", "still mine", passfile=passfile
        ).output
    )
    assert "Registry is healthy." in site.ok("--identity", "it-admin", "registry", "check").output


def test_moving_an_account_moves_its_credentials_to_the_new_school(site: Cli) -> None:
    passfile = _district(site)
    site.ok("--identity", "it-admin", "account", "edit", CENTRAL, "--building", "North High")
    shown = site("--identity", "jpark", "secret", "show", CENTRAL, "--reason", "moved", passfile=passfile)
    assert shown.exit_code == 0 and CENTRAL_PW in shown.output
    site.ok("--identity", "it-admin", "account", "edit", CENTRAL, "--building", "Central High")
    refused = site("--identity", "jpark", "secret", "show", CENTRAL, "--reason", "moved", passfile=passfile)
    assert refused.exit_code != 0 and "not granted" in refused.output
    moves = [
        e
        for e in json.loads(site.ok("--identity", "it-admin", "log", "show", "--json").output)["items"]
        if e["action"] == "scope-move"
    ]
    assert [(e["details"]["from"], e["details"]["to"]) for e in moves] == [
        ("Central High", "North High"),
        ("North High", "Central High"),
    ]


def test_identity_add_checks_role_and_scope(cli: Cli) -> None:
    cli.init()
    cli.ok("person", "import", str(cli.file("people.csv", PEOPLE)))
    cli.ok("account", "import", str(cli.file("accounts.csv", ACCOUNTS)))
    passfile = cli.file("p.pass", PRINCIPAL_PASS)
    os.chmod(passfile, 0o600)
    base = ("identity", "add", "x", "--new-passphrase-file", str(passfile))
    no_scope = cli(*base, "--role", "building-admin")
    assert no_scope.exit_code != 0 and "--scope" in no_scope.output
    typo = cli(*base, "--role", "building-admin", "--scope", "Nroth High")
    assert typo.exit_code != 0 and "North High" in typo.output and "Central High" in typo.output
    wrong_role = cli(*base, "--role", "auditor", "--scope", "North High")
    assert wrong_role.exit_code != 0 and "building administrators" in wrong_role.output
    names = [i["name"] for i in json.loads(cli.ok("identity", "list", "--json").output)["items"]]
    assert names == ["it-admin"]


def test_a_principal_offboards_their_school_and_leaves_the_rest_for_a_district_admin(site: Cli) -> None:
    """A coach of North High owns its athletics account, co-manages Central High's band account and
    has an identity. The North principal's offboarding hands over North's account, opens its task
    and marks the coach departed; Central's account and the identity are listed, untouched, for a
    district administrator, whose offboarding of the same person finishes it."""
    passfile = _district(site)
    admin = ("--identity", "it-admin")
    site.ok(
        *admin, "person", "add", "--name", "Sam Lee", "--email", "slee@d203.org", "--building", "North High"
    )
    site.ok(*admin, "account", "edit", NORTH, "--owner", "slee@d203.org")
    site.ok(*admin, "account", "edit", CENTRAL, "--co-manager", "slee@d203.org")
    coach_pass = site.file("slee.pass", "sam lee's own passphrase")
    os.chmod(coach_pass, 0o600)
    site.ok(
        *admin, "identity", "add", "slee", "--role", "building-admin", "--scope", "North High",
        "--email", "slee@d203.org", "--new-passphrase-file", str(coach_pass),
    )  # fmt: skip

    def accounts() -> dict[str, dict[str, object]]:
        items = json.loads(site.ok(*admin, "account", "list", "--json").output)["items"]
        return {f"{i['platform']}:{i['handle'].lstrip('@')}": i for i in items}

    before = accounts()
    done = site(
        "--identity",
        "jpark",
        "offboard",
        "slee@d203.org",
        "--to",
        "jpark@d203.org",
        "--yes",
        passfile=passfile,
    )
    out = done.output
    assert done.exit_code == 0, out
    assert "As building administrator of North High" in out
    assert "Left for a district administrator:" in out
    assert "@central_band (escrow scope Central High)" in out and "identity slee" in out
    assert "auditor offboard slee@d203.org --identity NAME" in out
    after = accounts()
    assert after[NORTH]["owner"] == "jpark@d203.org"
    assert after[CENTRAL] == before[CENTRAL]  # another school's account: not a field changed
    assert after[DISTRICT] == before[DISTRICT]
    tasks = json.loads(site.ok(*admin, "task", "list", "--json").output)["items"]
    assert [t["account"] for t in tasks] == ["Instagram account @north_athletics"]
    people = {p["email"]: p for p in json.loads(site.ok(*admin, "person", "list", "--json").output)["items"]}
    assert people["slee@d203.org"]["status"] == "departed"
    names = [i["name"] for i in json.loads(site.ok(*admin, "identity", "list", "--json").output)["items"]]
    assert "slee" in names  # only a district administrator re-keys
    event = [
        e
        for e in json.loads(site.ok(*admin, "log", "show", "--json").output)["items"]
        if e["action"] == "offboard"
    ]
    assert event[-1]["identity"] == "jpark"
    assert event[-1]["details"]["scopes"] == ["North High"] and event[-1]["details"]["identities_left"] == [
        "slee"
    ]

    # Another school's principal may not offboard someone with nothing in her school.
    ana_pass = site.file("aruiz.pass", "ana ruiz's own passphrase")
    os.chmod(ana_pass, 0o600)
    site.ok(
        *admin, "identity", "add", "aruiz", "--role", "building-admin", "--scope", "Central High",
        "--new-passphrase-file", str(ana_pass),
    )  # fmt: skip
    refused = site("--identity", "aruiz", "offboard", "jpark@d203.org", "--yes", passfile=ana_pass)
    assert refused.exit_code != 0 and "may not offboard Jin Park" in refused.output, refused.output
    assert accounts()[NORTH] == after[NORTH]

    # The district administrator finishes the job.
    finished = site.ok(*admin, "offboard", "slee@d203.org", "--yes").output
    assert "Removed identity slee" in finished and "Left for a district administrator" not in finished
    assert "slee@d203.org" not in str(accounts()[CENTRAL])
    names = [i["name"] for i in json.loads(site.ok(*admin, "identity", "list", "--json").output)["items"]]
    assert "slee" not in names
    tasks = json.loads(site.ok(*admin, "task", "list", "--json").output)["items"]
    assert sorted(t["account"] for t in tasks) == [
        "Instagram account @central_band",
        "Instagram account @north_athletics",
    ]
