"""Every command of the real command tree, run as each role on one realistic registry (issue 11,
"Enforce roles on every write at the library level ... and a test that walks every command as each
role").

One district is built once: people, accounts, escrowed credentials, a policy, two offline audit
runs, a waivable finding, an attestation, notification settings (SMTP and a webhook on loopback), a
roster source with a secret, an API token, a break-glass set, an evidence pack, a backup, and four
identities besides the first administrator: `it-nightly` (role auditor), `principal` (a building
administrator of North, the building of every account here), `spare` (an admin to remove) and
`mlee` (an admin who is offboarded). Each case copies that registry file and runs one command as
`it-admin`, as `it-nightly` or as `principal`.

`CASES` is the table: command path -> the argv runs of it, each with the outcome per role:

* ``ok``: exit 0 (or one of the case's `codes`). Run as the auditor, nothing it may not write changes:
  records only of the kinds vault/kinds.py lets an auditor write (audit runs, the audit ledger),
  the log only appended to, identities and key wraps untouched (its own passphrase excepted).
  Run as the building administrator, likewise: only the kinds a building administrator may write,
  the log appended to, identities and key wraps untouched.
* ``denied``: exit 1 with an access-denied message naming the role, and nothing written: every row
  of meta, identities, wraps, records and the log unchanged (not even a log event), and no file
  beside the registry or in the case's folder (no backup taken first). The admin's run of the same
  argv must change the registry (a dry run excepted): what the auditor is refused is a write.
* ``skip``: not run here, with the reason.

The walk is the help test's (tests/e2e/test_inventory_cli.py): a command registered without an entry
here fails `test_every_command_has_an_entry`.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from auditor.model.types import Role
from tests.e2e.conftest import Cli
from tests.e2e.test_escrow_cli import (
    BITWARDEN,
    CODE,
    IG,
    PASSWORD,
    SECRET_INPUT,
    cards,
    setup_district,
)
from tests.e2e.test_inventory_cli import COMMANDS, _command_object, _sub_names
from tests.e2e.test_roster_cli import MANIFEST, ORGS, USERS_HEADER
from vault import kinds as kinds_mod
from vault.backends.migrate import Rows, read_rows
from vault.backends.sqlite import SQLiteBackend

# The loopback SMTP server takes AUTH without TLS (it is on 127.0.0.1; TLS is tested in test_notify_cli).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

OK, DENIED, SKIP = "ok", "denied", "skip"
ROLES = ("admin", "auditor", "principal")
IDENTITY = {"admin": "it-admin", "auditor": "it-nightly", "principal": "principal"}
# How each role's refusal names it.
REFUSED_AS = {"auditor": "auditor", "principal": "building-admin"}
NIGHTLY_PASS = "nightly job passphrase 2026"
NEW_PASS = "a brand new passphrase 2026"
SMTP_USER = "auditor@d203.org"
SMTP_PASSWORD = "Smtp-relay-Pa55-role-test"
TOKEN = "x-bearer-token-role-test"
BLUESKY = "nnhs.bsky.social"
# What an auditor identity may write, as declared (and enforced) by the library.
AUDITOR_KINDS = frozenset(k.name for k in kinds_mod.KINDS.values() if Role.AUDITOR in k.writers)
# ...and a building administrator: those, credentials and tasks, and in an offboarding (`scoped`) the
# people and accounts of its scopes.
PRINCIPAL_KINDS = frozenset(
    k.name for k in kinds_mod.KINDS.values() if Role.BUILDING_ADMIN in k.writers or k.scoped is not None
)


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    admin: str
    auditor: str
    input: str | None = None
    codes: tuple[int, ...] = (0,)  # exit codes that count as "ok"
    why: str = ""  # why it is skipped, or a note for the README table
    own_identity: bool = False  # "ok" as the auditor may change its own identity row (passphrase)
    no_identity: bool = False  # the command unlocks with no identity (shares, a new registry)
    principal: str = ""  # the building administrator's outcome; "" derives it from the others

    @property
    def principal_outcome(self) -> str:
        if self.principal:
            return self.principal
        return self.auditor if self.auditor in (OK, SKIP) else DENIED


def case(*argv: str, admin: str = OK, auditor: str = DENIED, **kw: Any) -> Case:
    return Case(tuple(argv), admin, auditor, **kw)


def escrow(*argv: str, **kw: Any) -> Case:
    """An escrow command on the accounts of North: administrators and North's principal may."""
    return case(*argv, principal=OK, **kw)


def read(*argv: str, **kw: Any) -> Case:
    """A command every role may run."""
    return case(*argv, admin=OK, auditor=OK, **kw)


def skip(why: str) -> Case:
    return Case((), SKIP, SKIP, why=why)


# Placeholders: {d} the shared data folder (input files), {out} this case's own folder, and the
# values the district's setup produced (finding id, evidence digest, share cards, ports...).
# fmt: off
CASES: dict[str, list[Case]] = {
    # Inventory
    "account add": [case("account", "add", "instagram", "nnhs_band", "--owner", "dcho@d203.org", "--purpose", "activity")],
    "account edit": [case("account", "edit", "x:nnhs", "--co-manager", "dcho@d203.org")],
    "account import": [
        case("account", "import", "{d}/more-accounts.csv"),
        case("account", "import", "{d}/more-accounts.csv", "--dry-run"),
    ],
    "account list": [read("account", "list")],
    "account retire": [case("account", "retire", "x:nnhs", "--reason", "merged into the district account")],
    "account show": [read("account", "show", IG)],
    "account history": [read("account", "history", IG)],
    "person add": [case("person", "add", "--name", "Nia Coach", "--email", "ncoach@d203.org")],
    "person edit": [case("person", "edit", "dcho@d203.org", "--role", "Director of Communications")],
    "person import": [
        case("person", "import", "{d}/more-people.csv"),
        case("person", "import", "{d}/more-people.csv", "--dry-run"),
    ],
    "person import-training": [
        case("person", "import-training", "{d}/completions.csv"),
        case("person", "import-training", "{d}/completions.csv", "--dry-run"),
    ],
    "person import-agreements": [case("person", "import-agreements", "{d}/envelopes.csv", "--format", "json")],
    "person list": [read("person", "list")],
    "person remove": [case("person", "remove", "vic@d203.org", "--yes")],
    "person show": [read("person", "show", "mlee@d203.org")],
    "person history": [read("person", "history", "mlee@d203.org")],
    # Escrow and credentials
    "secret export": [
        escrow("secret", "export", "-o", "{out}/handover.age", "--recipient", "{recipient}", "--reason", "handover")
    ],
    "secret generate": [escrow("secret", "generate", IG)],
    "secret history": [read("secret", "history", IG)],
    "secret import": [
        # The export's passwords differ from the escrowed ones: --replace (issue 13, never demote).
        escrow("secret", "import", "{d}/bitwarden.json", "--replace"),
        escrow("secret", "import", "{d}/bitwarden.json", "--dry-run", "--replace"),
    ],
    "secret set": [escrow("secret", "set", IG, "--stdin", input=SECRET_INPUT)],
    "secret show": [escrow("secret", "show", IG, "--reason", "season opener")],
    "secret totp": [escrow("secret", "totp", IG, "--reason", "sign-in")],
    "secret use-code": [escrow("secret", "use-code", IG, "--stdin", input=CODE + "\n")],
    "recover": [escrow("recover", IG, "--reason", "owner left mid-season")],
    "offboard": [escrow("offboard", "mlee@d203.org", "--to", "dcho@d203.org", "--yes")],
    "task list": [read("task", "list", "--all")],
    "task show": [read("task", "show", "{task}")],
    "task confirm": [escrow("task", "confirm", "{task}", "password")],
    "task cancel": [
        escrow("task", "cancel", "{task}", "--reason", "opened by mistake", "--yes"),
        escrow("task", "cancel", "{task}", "--pending-only", "--reason", "the platform refused it"),
    ],
    # Identities and keys
    "identity add": [
        case("identity", "add", "clerk", "--role", "admin", "--new-passphrase-file", "{d}/new.pass"),
        case("identity", "add", "robot", "--role", "auditor", "--new-passphrase-file", "{d}/new.pass"),
    ],
    "identity grant": [case("identity", "grant", "principal", "--scope", "District", "--reason", "covering")],
    "identity revoke": [case("identity", "revoke", "principal", "--scope", "North", "--reason", "moved")],
    "identity list": [read("identity", "list")],
    "identity passwd": [
        read("identity", "passwd", "--new-passphrase-file", "{d}/new.pass", own_identity=True),
        case("identity", "passwd", "--rotate", "--new-passphrase-file", "{d}/new.pass"),
    ],
    "identity remember": [
        skip("asks for the passphrase on a terminal and stores it in the OS keyring; the tests have neither "
             "(it writes nothing to the registry)")
    ],
    "identity remove": [case("identity", "remove", "spare", "--yes")],
    "identity rotate": [case("identity", "rotate", "it-nightly", "--new-passphrase-file", "{d}/new.pass", "--yes")],
    # Break-glass
    "breakglass setup": [case("breakglass", "setup", "--shares", "3", "--threshold", "2", "--replace")],
    "breakglass recover": [
        read(
            "breakglass", "recover", "--reason", "all admins away", "--operator", "R. Diaz", "--reveal", IG,
            input="{share0}\n{share2}\n", no_identity=True,
            why="opened by K shares, not by an identity: --identity plays no part",
        )
    ],
    # Rosters, tokens, notifications, policy
    "roster add": [case("roster", "add", "hr", "--kind", "oneroster-csv", "--option", "path={d}/oneroster.zip")],
    "roster history": [read("roster", "history", "--changes")],
    "roster list": [read("roster", "list")],
    "roster remove": [case("roster", "remove", "sis")],
    "roster set-secret": [case("roster", "set-secret", "entra", "--secret-stdin", input="new-client-secret\n")],
    "roster sync": [case("roster", "sync", "sis"), read("roster", "sync", "sis", "--dry-run")],
    "connector list": [read("connector", "list")],
    "connector set-token": [case("connector", "set-token", "x", "--stdin", input=TOKEN + "\n")],
    "connector test": [read("connector", "test", "bluesky", "--handle", BLUESKY)],
    "profile attest": [case("profile", "attest", "snapchat", "nnhs.spirit", "--display-name", "NNHS Spirit")],
    "profile fetch": [read("profile", "fetch", "bluesky", BLUESKY)],
    "notify clear": [case("notify", "clear", "--yes")],
    "notify email password": [case("notify", "email", "password", "--stdin", input=SMTP_PASSWORD + "\n")],
    "notify email set": [
        case(
            "notify", "email", "set", "--host", "127.0.0.1", "--port", "{smtp_port}", "--security", "none",
            "--username", SMTP_USER, "--from", SMTP_USER, "--to", "it@d203.org",
        )
    ],
    "notify show": [read("notify", "show")],
    "notify test": [read("notify", "test")],
    "notify webhook remove": [case("notify", "webhook", "remove", "generic")],
    "notify webhook set": [
        case("notify", "webhook", "set", "--flavour", "slack", "--stdin", input="{webhook}\n")
    ],
    "policy check": [read("policy", "check"), read("policy", "check", "{d}/policy.toml")],
    "policy edit": [case("policy", "edit")],
    "policy import": [case("policy", "import", "{d}/policy.toml")],
    "policy init": [
        case("policy", "init", "--preset", "moline-coal-valley", "--force"),
        read("policy", "init", "--preset", "moline-coal-valley", "--output", "{out}/preset.toml"),
    ],
    "policy show": [read("policy", "show")],
    # Audits and findings
    "audit": [
        read("audit", "--offline", codes=(0, 3)),
        read("audit", "--offline", "--as", "auditor", codes=(0, 3)),
    ],
    "audit diff": [read("audit", "diff", "previous", "latest")],
    "audit compact": [case("audit", "compact"), case("audit", "compact", "--dry-run")],
    "audit history": [read("audit", "history")],
    "check list": [read("check", "list")],
    "check show": [read("check", "show", "escrow.stale")],
    "finding list": [read("finding", "list", "--all")],
    "finding show": [read("finding", "show", "{finding}")],
    "watch add": [case("watch", "add", "x:nnhs_0fficial", "--note", "reported by a parent")],
    "watch import": [case("watch", "import", "{d}/watch.csv")],
    "watch list": [read("watch", "list", "--format", "json")],
    "watch remove": [case("watch", "remove", "x:d203_supt")],
    "finding waive": [case("finding", "waive", "{finding}", "--reason", "Board exception", "--until", "2099-12-31")],
    "schedule install": [
        read(
            "schedule", "install", "--systemd", "--user", "--no-enable", "--dest", "{out}/units",
            "--identity", "it-nightly", "--passphrase-file", "{d}/nightly.pass",
            why="writes unit files only (--dest, --no-enable); `systemctl enable` is not run here",
        ),
        read("schedule", "install", "--cron", "--dest", "{out}/cron.d", "--identity", "it-nightly"),
    ],
    "schedule show": [read("schedule", "show", "--systemd")],
    # Reports and the log
    "report access": [read("report", "access", "--format", "html")],
    "report activity": [read("report", "activity")],
    "report escrow": [read("report", "escrow")],
    "report evidence": [read("report", "evidence", "--output", "{out}/evidence.zip")],
    "report findings": [read("report", "findings", "--format", "csv")],
    "report inventory": [read("report", "inventory", "--format", "json")],
    "report offboarding": [read("report", "offboarding")],
    "report verify": [read("report", "verify", "{d}/evidence.zip", "--expect", "{digest}")],
    "log show": [read("log", "show")],
    "log verify": [read("log", "verify")],
    # Registry maintenance
    "init": [
        read(
            "--registry", "{out}/fresh.db", "init", "--admin", "first", "--new-passphrase-file", "{d}/new.pass",
            no_identity=True, why="creates a new registry; no identity exists yet",
        )
    ],
    "registry backup": [read("registry", "backup", "-o", "{out}/backup.db"), read("registry", "backup")],
    "registry check": [read("registry", "check")],
    "registry info": [read("registry", "info")],
    "registry migrate": [read("registry", "migrate", "--from", "{registry}", "--to", "{out}/copy.db")],
    "registry restore": [case("registry", "restore", "{d}/backup.db", "--yes")],
    "registry upgrade": [
        read(
            "registry", "upgrade",
            why="the registry is current: nothing to do; an upgrade that needs keys refuses an auditor "
            "(tests/e2e/test_registry_upgrade.py)",
        )
    ],
    "demo": [
        skip("builds its own registry in a new temporary directory and never opens this one "
             "(tests/e2e/test_demo.py)")
    ],
}
# fmt: on


def _runnable_paths() -> set[str]:
    """Every command that does something when run: the leaves of the tree, and groups that run
    their own callback without a subcommand (`audit`)."""
    out = set()
    for path in COMMANDS:
        cmd = _command_object(path)
        subs = _sub_names(cmd)
        if not subs or (path and getattr(cmd, "invoke_without_command", False)):
            out.add(" ".join(path))
    return out


def test_every_command_has_an_entry() -> None:
    paths = _runnable_paths()
    assert len(paths) > 80
    missing = sorted(paths - set(CASES))
    assert not missing, f"commands without an entry in tests/e2e/test_roles.py CASES: {missing}"
    stale = sorted(set(CASES) - paths)
    assert not stale, f"CASES names commands that no longer exist: {stale}"
    for path, runs in CASES.items():
        assert runs, path
        for c in runs:
            assert {c.admin, c.auditor, c.principal_outcome} <= {OK, DENIED, SKIP}, path
            assert c.admin != DENIED, f"{path}: an admin is never refused"
            assert (SKIP not in (c.admin, c.auditor)) or c.why, f"{path}: a skip needs its reason"
            assert c.argv or c.admin == SKIP, path


# ---------------------------------------------------------------------------------------------
# The district, built once


@dataclass
class District:
    root: Path
    registry: Path
    nightly: Path
    spare: Path  # the passphrase of `spare`, `principal` and `mlee`
    values: dict[str, str] = field(default_factory=dict)


MORE_PEOPLE = "name,email,kind,role,building,status\nOla Park,opark@d203.org,employee,Coach,North,active\n"
MORE_ACCOUNTS = (
    "platform,handle,owner_email,co_manager_emails,purpose,building,profile_url\n"
    "youtube,@nnhsmedia,dcho@d203.org,,school,North,https://www.youtube.com/@nnhsmedia\n"
)
ROSTER_USERS = (
    "u1,,,true,lhs,Athletic Director,praman,,Priya,Raman,,E1,praman@d203.org,,,,,\n"
    "u2,,,true,lhs,administrator,mlee,,Marcus,Lee,,E2,mlee@d203.org,,,,,\n"
    "u3,,,true,dist1,Comms,dcho,,Dana,Cho,,E3,dcho@d203.org,,,,,\n"
    "u4,,,true,dist1,volunteer,vic,,Vic,Volunteer,,E4,vic@d203.org,,,,,\n"
)


def _file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def _environment(mp: pytest.MonkeyPatch, home: Path, bluesky_url: str) -> None:
    """What tests/conftest.py's autouse fixture gives each test, for the module-wide setup."""
    for name in list(os.environ):
        if (
            name.startswith("AUDITOR_") and not name.startswith("AUDITOR_TEST_")
        ) or name == "CREDENTIALS_DIRECTORY":
            mp.delenv(name, raising=False)
    home.mkdir(exist_ok=True)
    mp.setenv("HOME", str(home))
    mp.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    mp.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    mp.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    mp.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    mp.setenv("NO_COLOR", "1")
    mp.setenv("AUDITOR_KDF_PROFILE", "floor")
    mp.setenv("AUDITOR_BLUESKY_BASE_URL", bluesky_url)
    mp.setenv("AUDITOR_IDENTITY", "it-admin")


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    from connectors.fakes import FakeAccount, FakeBluesky
    from tests.auditor.notify.servers import SmtpServer, WebhookServer

    with (
        FakeBluesky([FakeAccount(BLUESKY, name="NNHS")]) as bluesky,
        SmtpServer(user=SMTP_USER, password=SMTP_PASSWORD) as smtp,
        WebhookServer() as hook,
    ):
        yield {"bluesky": bluesky, "smtp": smtp, "webhook": hook}


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory, servers: dict[str, Any]) -> Iterator[District]:
    from vault.escrow import exportfile

    root = tmp_path_factory.mktemp("roles-district")
    with pytest.MonkeyPatch.context() as mp:
        _environment(mp, root / "home", servers["bluesky"].url)
        cli = Cli(root)
        setup_district(cli)  # it-admin; people, two accounts, the Instagram credential escrowed
        cli.ok("secret", "set", "x:nnhs", "--stdin", input="password=X-Pw-2026-role!\n")
        cli.ok("secret", "generate", "x:nnhs")  # a rotation task with a pending password
        task = json.loads(cli.ok("task", "list", "--json").output)["items"][0]["id"]
        cli.ok("person", "add", "--name", "Vic Volunteer", "--email", "vic@d203.org", "--kind", "volunteer")
        cli.ok("policy", "init", "--preset", "naperville-203")
        nightly = _file(root / "nightly.pass", NIGHTLY_PASS + "\n")
        _file(root / "new.pass", NEW_PASS + "\n")
        spare = _file(root / "spare.pass", "spare admin passphrase\n")
        cli.ok("identity", "add", "it-nightly", "--role", "auditor", "--new-passphrase-file", str(nightly))
        cli.ok("identity", "add", "spare", "--role", "admin", "--new-passphrase-file", str(spare))
        cli.ok("identity", "add", "principal", "--role", "building-admin", "--scope", "North",
               "--new-passphrase-file", str(spare))  # fmt: skip
        cli.ok(
            "identity",
            "add",
            "mlee",
            "--role",
            "admin",
            "--email",
            "mlee@d203.org",
            "--new-passphrase-file",
            str(spare),
        )
        cli.ok("connector", "set-token", "x", "--stdin", input=TOKEN + "\n")
        smtp, hook = servers["smtp"], servers["webhook"]
        cli.ok("notify", "email", "set", "--host", "127.0.0.1", "--port", str(smtp.port), "--security", "none",
               "--username", SMTP_USER, "--from", SMTP_USER, "--to", "it@d203.org")  # fmt: skip
        cli.ok("notify", "email", "password", "--stdin", input=SMTP_PASSWORD + "\n")
        cli.ok("notify", "webhook", "set", "--flavour", "generic", "--stdin", input=hook.url() + "\n")
        zip_path = root / "oneroster.zip"
        with zipfile.ZipFile(zip_path, "w") as zf:
            for name, text in {
                "manifest.csv": MANIFEST,
                "orgs.csv": ORGS,
                "users.csv": USERS_HEADER + ROSTER_USERS,
            }.items():
                zf.writestr(name, text)
        cli.ok("roster", "add", "sis", "--kind", "oneroster-csv", "--option", f"path={zip_path}")
        cli.ok("roster", "add", "entra", "--kind", "msgraph", "--option", "tenant=d203.org",
               "--option", "client_id=demo", "--secret-stdin", input="client-secret-one\n")  # fmt: skip
        cli.ok("profile", "attest", "snapchat", "nnhs.huskies", "--display-name", "NNHS Huskies")
        cli.ok("watch", "add", "x:d203_supt", "--note", "reported by the front office")
        as_nightly = ("--identity", "it-nightly")
        for _ in range(2):
            run = cli(*as_nightly, "audit", "--offline", "--as", "auditor", passfile=nightly)
            assert run.exit_code in (0, 3), run.output
        findings = json.loads(cli.ok("finding", "list", "--json").output)["items"]
        assert findings, "the district's audit found nothing to waive"
        shares = cards(cli.ok("breakglass", "setup", "--shares", "3", "--threshold", "2").output)
        cli.ok("registry", "backup", "-o", str(root / "backup.db"))
        pack = cli.ok("report", "evidence", "--output", str(root / "evidence.zip")).output
        digest = next(w for w in pack.split() if len(w) == 64 and all(c in "0123456789abcdef" for c in w))
        cli.file("more-people.csv", MORE_PEOPLE)
        cli.file(
            "completions.csv",
            "User Email,Course Name,Completion Date\npraman@d203.org,Social Media,2026-09-14\n",
        )
        cli.file(
            "envelopes.csv",
            "Subject,Status,Recipient Email,Completed\nAcceptable Use Policy,Completed,dcho@d203.org,9/2/2026\n",
        )
        cli.file("more-accounts.csv", MORE_ACCOUNTS)
        cli.file("watch.csv", "platform,handle,note\nx,nnhs_0fficial,parent\ninstagram,nnhs.offical,\n")
        cli.file("bitwarden.json", json.dumps(BITWARDEN))
        cli.file("policy.toml", cli.ok("policy", "show").stdout + "\n# reviewed by the board\n")
        _, recipient = exportfile.age_keypair()
    values = {
        "d": str(root),
        "finding": findings[0]["id"],
        "task": task,
        "digest": digest,
        "recipient": recipient,
        "smtp_port": str(smtp.port),
        "webhook": hook.url("/hooks/second"),
        "bluesky": servers["bluesky"].url,
        **{f"share{i}": s for i, s in enumerate(shares)},
    }
    yield District(root, cli.registry, nightly, spare, values)


# ---------------------------------------------------------------------------------------------
# Running one case


def _snapshot(path: Path) -> Rows:
    backend = SQLiteBackend(str(path))
    backend.open()
    try:
        return read_rows(backend)
    finally:
        backend.close()


def _changed_kinds(before: Rows, after: Rows) -> set[str]:
    kinds = set(before.records) | set(after.records)
    return {k for k in kinds if before.records.get(k, []) != after.records.get(k, [])}


def _changed_meta(before: Rows, after: Rows) -> set[str]:
    old, new = dict(before.meta), dict(after.meta)
    return {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}


def _log_only_appended(before: Rows, after: Rows) -> bool:
    return after.log[: len(before.log)] == before.log


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def _params() -> Iterator[Any]:
    for path in sorted(CASES):
        for n, c in enumerate(CASES[path]):
            for role in ROLES:
                outcome = c.principal_outcome if role == "principal" else getattr(c, role)
                label = f"{path}#{n}-{role}"
                marks = [pytest.mark.skip(reason=c.why)] if outcome == SKIP else []
                yield pytest.param(path, c, role, id=label, marks=marks)


@pytest.mark.parametrize(("path", "run", "role"), list(_params()))
def test_command_as_role(
    district: District, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, run: Case, role: str
) -> None:
    monkeypatch.setenv("AUDITOR_BLUESKY_BASE_URL", district.values["bluesky"])
    work = tmp_path / "registry"
    work.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    cli = Cli(work)  # writes the admin's passphrase file
    shutil.copy(district.registry, cli.registry)
    passfile = {"admin": cli.passfile, "auditor": district.nightly, "principal": district.spare}[role]
    outcome = run.principal_outcome if role == "principal" else getattr(run, role)
    editor = _file(tmp_path / "editor.sh", 'printf "\\n# edited\\n" >> "$1"\n', 0o700)
    monkeypatch.setenv("EDITOR", f"sh {editor}")
    values = {**district.values, "out": str(out), "registry": str(cli.registry)}
    argv = [a.format(**values) for a in run.argv]
    stdin = run.input.format(**values) if run.input is not None else None

    before_files = _files(work)
    before = _snapshot(cli.registry)
    result = cli("--identity", IDENTITY[role], *argv, input=stdin, passfile=passfile)
    after = _snapshot(cli.registry)
    shown = f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.output, shown
    assert PASSWORD not in result.output or role in ("admin", "principal") or run.no_identity, shown
    if outcome == DENIED:
        assert result.exit_code == 1, shown
        assert "error:" in result.stderr and REFUSED_AS[role] in result.stderr and "admin" in result.stderr, (
            shown
        )
        assert not _changed_kinds(before, after), shown
        assert _changed_meta(before, after) == set(), shown
        assert (before.identities, before.wraps) == (after.identities, after.wraps), shown
        assert len(after.log) == len(before.log), (
            f"{shown}\nlogged {len(after.log) - len(before.log)} event(s)"
        )
        new_files = _files(work) - before_files - {"registry.db-wal", "registry.db-shm"}
        assert not new_files and not _files(out), f"{shown}\nwrote {sorted(new_files | _files(out))}"
        return
    assert result.exit_code in run.codes, shown
    if role == "admin" and run.auditor == DENIED and "--dry-run" not in run.argv:
        # What the auditor is refused is a write: the admin's run of it changed the registry.
        assert before != after, f"{shown}\nthe admin's run changed nothing"
    if role != "admin" and not run.no_identity:
        assert _changed_kinds(before, after) <= (AUDITOR_KINDS if role == "auditor" else PRINCIPAL_KINDS), (
            shown
        )
        assert _log_only_appended(before, after), shown
        if not run.own_identity:
            assert (before.identities, before.wraps) == (after.identities, after.wraps), shown
