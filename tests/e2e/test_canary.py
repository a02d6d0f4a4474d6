"""The canary: recognisable secrets go into escrow, every escrow command runs (failures included,
with -v), and none of the secrets may appear in any output, in the registry file in clear, in its
WAL, or in any backup or encrypted export (issue 3, "Tests")."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyotp
import pytest

from tests.e2e.conftest import PASSPHRASE as ADMIN_PASSPHRASE
from tests.e2e.conftest import Cli
from tests.e2e.test_escrow_cli import IG, add_identity, cards, setup_district
from tests.e2e.test_recover import FakeClipboard

PASSWORD = "CanaryPw-0f9e8d7c"
SEED = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
CODE = "canary-rc-5151"
NEW_SEED = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE4ZT"  # the re-enrolled two-factor key (issue 18)
NEW_CODE = "canary-rc-7373"
CANARIES = (PASSWORD, SEED, CODE, CODE.upper(), "canaryrc5151", NEW_SEED, NEW_CODE, "canaryrc7373")
INPUT = f"password={PASSWORD}\ntotp={SEED}\nrecovery_codes={CODE}, canary-rc-6262\n"


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_no_secret_leaks_anywhere(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.cli import clipboard
    from vault.escrow import exportfile

    board = FakeClipboard()
    monkeypatch.setattr(clipboard, "_backend", board)
    monkeypatch.setattr(clipboard.time, "sleep", lambda seconds: None)

    setup_district(cli, secret=False)
    outputs: list[str] = []

    def run(*args: str, input: str | None = None, expect: int | None = None) -> None:
        result = cli("-v", *args, input=input)
        outputs.append(result.stdout + result.stderr)
        if expect is not None:
            assert result.exit_code == expect, (args, result.output)

    passfile = cli.file("export.pass", "export passphrase 2026")
    os.chmod(passfile, 0o600)
    _identity, recipient = exportfile.age_keypair()
    run("secret", "set", IG, "--stdin", input=INPUT, expect=0)
    run("secret", "set", IG, "--stdin", input=f"password={PASSWORD}\nbogus_key=1\n", expect=1)
    run("secret", "set", IG, "--stdin", input=f'{{"password": "{PASSWORD}", ', expect=1)
    run("secret", "set", IG, "--stdin", input=f"totp=otpauth://hotp/x?secret={SEED}&counter=x\n", expect=1)
    run("secret", "set", "x:nope", "--stdin", input=INPUT, expect=1)
    run("secret", "set", IG, expect=2)  # no terminal, no --stdin
    run("secret", "history", IG, expect=0)
    run("secret", "history", "x:nnhs", expect=1)
    run("secret", "show", IG, expect=2)
    run("secret", "totp", "x:nnhs", "--reason", "none escrowed", expect=1)
    run("secret", "use-code", IG, "--stdin", input="not-a-code\n", expect=1)
    run("secret", "use-code", IG, "--stdin", input=CODE + "\n", expect=0)
    run("secret", "use-code", IG, "--stdin", input=CODE + "\n", expect=1)
    run("secret", "generate", IG, "--length", "8", expect=2)
    run(
        "secret",
        "export",
        "-o",
        str(cli.tmp / "out.aex"),
        "--reason",
        "r",
        "--export-passphrase-file",
        str(passfile),
        expect=0,
    )
    run(
        "secret",
        "export",
        "-o",
        str(cli.tmp / "out.age"),
        "--reason",
        "r",
        "--recipient",
        recipient,
        expect=0,
    )
    run(
        "secret",
        "export",
        "-o",
        str(cli.tmp / "bad.age"),
        "--reason",
        "r",
        "--recipient",
        "age1invalid",
        expect=1,
    )
    run(
        "secret",
        "export",
        "-o",
        str(cli.tmp / "handover-bitwarden.json"),
        "--as",
        "bitwarden",
        "--reason",
        "r",
        "--export-passphrase-file",
        str(passfile),
        expect=0,
    )
    run("secret", "export", "-o", str(cli.tmp / "plain.json"), "--reason", "r", "--plaintext", expect=2)
    run("secret", "import", str(cli.tmp / "out.aex"), "--dry-run", expect=2)
    run(
        "secret",
        "import",
        str(
            cli.file(
                "bw.json", '{"items": [{"type": 1, "name": "x", "login": {"password": "' + PASSWORD + '"}}]}'
            )
        ),
        expect=1,
    )
    run("secret", "import", str(cli.file("bad.json", '{"items": [' + PASSWORD)), expect=1)
    run("log", "show", expect=0)
    run("log", "show", "--format", "csv", expect=0)
    run("log", "verify", "--json", expect=0)
    run("task", "list", "--all", expect=0)
    run("breakglass", "setup", "--shares", "3", "--threshold", "4", expect=2)
    add_identity(cli, "mlee", email="mlee@d203.org")
    run("--identity", "it-admin", "identity", "remove", "nobody", "--yes", expect=1)
    run("--identity", "it-admin", "offboard", "mlee@d203.org", "--to", "dcho@d203.org", "--yes", expect=0)
    run("task", "list", expect=0)
    run("recover", "x:nnhs", "--reason", "nothing escrowed", expect=0)  # says so; nothing to show
    run("recover", IG, "--reason", "canary", expect=0)  # prints no field unless asked for one
    run("recover", IG, "--reason", "canary", "--field", "password", "--copy", expect=0)  # the clipboard
    run("recover", IG, "--reason", "canary", "--field", "seed", expect=2)
    # Issue 18: a two-phase rotation, every step, with its mistakes.
    [task] = [
        t["id"]
        for t in json.loads(cli.ok("task", "list", "--json").output)["items"]
        if t["account"] == "Instagram account @nnhs_athletics"
    ]
    run("task", "show", task, expect=0)
    run("task", "show", task, "--format", "json", expect=0)
    run("secret", "generate", IG, expect=0)
    run(
        "secret",
        "set",
        IG,
        "--pending",
        "--stdin",
        input=f"totp={NEW_SEED}\nrecovery_codes={NEW_CODE}\n",
        expect=0,
    )
    run("task", "confirm", task, "totp", "--stdin", input="000000\n")
    run("task", "confirm", task, "totp", "--stdin", input=pyotp.TOTP(SEED).now() + "\n", expect=2)
    run("task", "confirm", task, "totp", "--stdin", input=pyotp.TOTP(NEW_SEED).now() + "\n", expect=0)
    run("task", "confirm", task, "password", expect=0)
    run("task", "confirm", task, "recovery-codes", expect=0)
    run("task", "confirm", task, "sessions", expect=2)  # no --note
    run("task", "confirm", task, "sessions", "--note", "signed out", expect=0)
    run("task", "show", task, expect=0)
    run("secret", "history", IG, expect=0)
    run("policy", "init", "--preset", "naperville-203", expect=0)
    run("report", "offboarding", "--format", "json", expect=0)
    run("report", "access", expect=0)
    run("report", "access", "--format", "json", expect=0)
    run("task", "cancel", task, "--pending-only", "--reason", "nothing pending", expect=2)
    run("breakglass", "recover", "--reason", "drill", input="not a share at all\n", expect=1)
    # Issue 19: a building administrator of another scope is refused, then granted, then revoked.
    principal = cli.file("principal.pass", "principal passphrase 2026")
    os.chmod(principal, 0o600)
    run("identity", "add", "principal", "--role", "building-admin", "--scope", "District",
        "--new-passphrase-file", str(principal), expect=0)  # fmt: skip

    def as_principal(*args: str, expect: int) -> None:
        result = cli("-v", "--identity", "principal", *args, passfile=principal)
        outputs.append(result.stdout + result.stderr)
        assert result.exit_code == expect, (args, result.output)

    as_principal("recover", IG, "--reason", "canary", expect=1)
    as_principal("secret", "show", IG, "--reason", "canary", expect=1)
    as_principal("secret", "totp", IG, "--reason", "canary", expect=1)
    run(
        "--identity",
        "it-admin",
        "identity",
        "grant",
        "principal",
        "--scope",
        "North",
        "--reason",
        "c",
        expect=0,
    )
    as_principal("recover", IG, "--reason", "canary", expect=0)  # prints no field unless asked for one
    run(
        "--identity",
        "it-admin",
        "identity",
        "revoke",
        "principal",
        "--scope",
        "North",
        "--reason",
        "c",
        expect=0,
    )
    as_principal("recover", IG, "--reason", "canary", expect=1)
    run("--identity", "it-admin", "identity", "list", expect=0)
    run("--identity", "it-admin", "identity", "remove", "principal", "--yes", expect=0)
    # Commands that reveal on purpose are run too, but their output is checked separately below.
    revealing = [
        cli("-v", "secret", "show", IG, "--reason", "canary"),
        cli("-v", "secret", "totp", IG, "--reason", "canary"),
        cli("-v", "recover", IG, "--reason", "canary", "--field", "password"),
    ]
    assert all(r.exit_code == 0 for r in revealing) and NEW_SEED in revealing[0].stdout
    new_password = json.loads(cli.ok("secret", "show", IG, "--reason", "canary", "--json").output)["items"][
        0
    ]["password"]
    assert new_password != PASSWORD and new_password in revealing[2].stdout
    assert board.history == [PASSWORD, ""]  # the copied field went to the clipboard only, then cleared
    setup = cli("-v", "breakglass", "setup", "--shares", "2", "--threshold", "2")
    shares = cards(setup.stdout)
    result = cli(
        "-v", "breakglass", "recover", "--reason", "canary drill", input=f"{shares[0]}\n{shares[1]}\ndone\n"
    )
    assert result.exit_code == 0, result.output
    outputs.append(result.stdout + result.stderr)

    canaries = (*CANARIES, new_password)
    for text in outputs:
        for canary in canaries:
            assert canary not in text, f"{canary} leaked into: {text[:300]}"
    for revealed in revealing:
        assert all(c not in revealed.stderr for c in CANARIES)
    files = _files(cli.tmp)
    assert any("backups" in str(p) for p in files)
    for path in files:
        if path.name in ("plain.json", "bw.json", "bad.json") or path.suffix == ".pass":
            continue
        data = path.read_bytes()
        for canary in canaries:
            assert canary.encode() not in data, f"{canary} found in clear in {path}"


# --------------------------------------------------------------------------------------------------
# Issue 11: the commands added since (re-keying, upgrade, restore, check, tokens and settings secrets,
# attestations), each with -v, failures included, against servers that echo what they are sent.

MLEE_PASS = ("canary mlee passphrase one", "canary mlee passphrase two", "canary mlee passphrase three")
NIGHTLY_PASS = ("canary nightly passphrase one", "canary nightly passphrase two")
TOKEN = "canary-api-token-9d8c7b6a5f4e"
ROSTER_SECRET = ("canary-roster-secret-4e3d2c", "canary-roster-secret-1b0a9f")
SMTP_PASSWORD = "canary-smtp-pw-2b1a0f9e"
HOOK_TOKEN = "canaryhook5c4b3a2918"
SECRETS = (
    *CANARIES,
    SEED.lower(),
    ADMIN_PASSPHRASE,
    *MLEE_PASS,
    *NIGHTLY_PASS,
    TOKEN,
    *ROSTER_SECRET,
    SMTP_PASSWORD,
    HOOK_TOKEN,
)


class _EchoServer:
    """A loopback HTTP server that answers every request with an error whose body repeats what it
    was sent (path, headers, body): the worst a platform, a roster or a webhook endpoint can do."""

    def __init__(self) -> None:
        import http.server
        import threading

        received: list[str] = []
        self.received = received

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                echo = f"refused {self.command} {self.path}\n{self.headers}\n".encode() + body
                received.append(echo.decode(errors="replace"))
                self.send_response(401)
                self.send_header("Content-Type", "text/plain")
                self.send_header(
                    "WWW-Authenticate", f'Bearer error="{self.headers.get("Authorization", "")}"'
                )
                self.send_header("Content-Length", str(len(echo)))
                self.end_headers()
                self.wfile.write(echo)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _EchoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _copy_registry(src: Path, dst: Path) -> Path:
    import shutil

    for suffix in ("", "-wal"):
        if Path(str(src) + suffix).exists():
            shutil.copy(str(src) + suffix, str(dst) + suffix)
    return dst


def _tamper(path: Path, how: str) -> None:
    """Edit the registry file the way someone with write access to it could (not through auditor)."""
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    try:
        if how == "credential blob":
            rowid, blob = db.execute(
                "SELECT rowid, blob FROM records WHERE kind='credential' LIMIT 1"
            ).fetchone()
            flipped = bytes(blob[:-1]) + bytes([blob[-1] ^ 1])
            db.execute("UPDATE records SET blob=? WHERE rowid=?", (flipped, rowid))
        elif how == "identity key":
            db.execute(
                "UPDATE identities SET public_key=? WHERE rowid=(SELECT max(rowid) FROM identities)",
                (os.urandom(32),),
            )
        elif how == "wrap":
            rowid, stanza = db.execute("SELECT rowid, stanza FROM wraps LIMIT 1").fetchone()
            db.execute(
                "UPDATE wraps SET stanza=? WHERE rowid=?",
                (bytes(stanza[:-1]) + bytes([stanza[-1] ^ 1]), rowid),
            )
        elif how == "log cut":
            db.execute("DROP TRIGGER IF EXISTS log_no_delete")
            db.execute("DELETE FROM log WHERE seq=(SELECT max(seq) FROM log)")
        elif how == "manifest":
            name, value = db.execute(
                "SELECT name, value FROM meta WHERE name LIKE 'manifest%' LIMIT 1"
            ).fetchone()
            db.execute("UPDATE meta SET value=? WHERE name=?", (value[:-8] + "00000000", name))
        else:
            raise AssertionError(how)
    finally:
        db.close()


def _assert_no_secret(texts: list[str], secrets: tuple[str, ...], where: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into {where}: {text[:400]}"


def _scan_files(root: Path, secrets: tuple[str, ...], *, inputs: tuple[str, ...] = ()) -> int:
    """Every file under `root` but the passphrase files and the inputs we wrote on purpose: the
    registry, its WAL, every backup, the home directory (seen-state, keyring), reports. Returns how
    many files were read."""
    n = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".pass" or path.name in inputs:
            continue
        data = path.read_bytes()
        n += 1
        for secret in secrets:
            assert secret.encode() not in data, f"{secret!r} found in clear in {path}"
    return n


def _passfile(cli: Cli, name: str, text: str) -> Path:
    path = cli.file(f"{name}.pass", text + "\n")
    os.chmod(path, 0o600)
    return path


class _Runner:
    """Runs CLI commands with -v and keeps everything they print; a traceback is a failure."""

    def __init__(self, cli: Cli) -> None:
        self.cli = cli
        self.outputs: list[str] = []

    def __call__(
        self, *args: str, input: str | None = None, expect: int | None = 0, passfile: Path | None = None
    ) -> str:
        result = self.cli("-v", *args, input=input, passfile=passfile)
        text = result.stdout + result.stderr
        self.outputs.append(text)
        if expect is not None:
            assert result.exit_code == expect, (args, text)
        assert "Traceback" not in text, (args, text)
        return text

    def decrypted_log(self) -> dict[str, object]:
        """`log show --format json`: every event's details, decrypted."""
        return dict(json.loads(self("log", "show", "--format", "json")))


def _district_with_identities(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> tuple[_Runner, list[Path], list[Path]]:
    setup_district(cli, secret=False)
    monkeypatch.setenv("AUDITOR_IDENTITY", "it-admin")  # --identity NAME picks another
    run = _Runner(cli)
    mlee = [_passfile(cli, f"mlee{i}", p) for i, p in enumerate(MLEE_PASS)]
    nightly = [_passfile(cli, f"nightly{i}", p) for i, p in enumerate(NIGHTLY_PASS)]
    run("secret", "set", IG, "--stdin", input=INPUT)
    run("identity", "add", "mlee", "--role", "admin", "--new-passphrase-file", str(mlee[0]))
    run("identity", "add", "nightly", "--role", "auditor", "--new-passphrase-file", str(nightly[0]))
    return run, mlee, nightly


@pytest.mark.slow
def test_no_secret_leaks_from_tokens_roster_and_notification_secrets(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`connector set-token`, `roster add/set-secret`, `notify email password`, `notify webhook set`
    and `profile attest`, then the platform, roster and webhook calls that use those secrets against
    a server that echoes back everything it is sent (path, headers, body) in its error."""
    run, _mlee, nightly = _district_with_identities(cli, monkeypatch)
    with _EchoServer() as echo:
        run("connector", "set-token", "x", "--stdin", input=TOKEN + "\n")
        run("--identity", "nightly", "connector", "set-token", "x", "--stdin", input=TOKEN + "\n",
            passfile=nightly[0], expect=1)  # fmt: skip
        run("connector", "set-token", "x", "--stdin", input=f"{TOKEN}\n{TOKEN}\n")
        run("connector", "list")
        monkeypatch.setenv("AUDITOR_X_BASE_URL", echo.url)
        run("profile", "fetch", "x", "nnhs", expect=1)
        run("profile", "fetch", "x", "nnhs", "--format", "json", expect=1)
        run("connector", "test", "x", expect=1)
        monkeypatch.delenv("AUDITOR_X_BASE_URL")
        roster = ["--option", "tenant=d203.example", "--option", "client_id=demo-client",
                  "--option", f"login_url={echo.url}", "--option", f"graph_url={echo.url}"]  # fmt: skip
        run(
            "roster",
            "add",
            "entra",
            "--kind",
            "msgraph",
            *roster,
            "--secret-stdin",
            input=ROSTER_SECRET[0] + "\n",
        )
        run("roster", "set-secret", "entra", "--secret-stdin", input=ROSTER_SECRET[1] + "\n")
        run(
            "roster",
            "set-secret",
            "entra",
            "--secret-stdin",
            input=f"{ROSTER_SECRET[1]}\nsecond line\n",
            expect=2,
        )
        run("roster", "list")
        run("roster", "list", "--json")
        run("roster", "sync", "entra", "--dry-run", expect=None)
        run("notify", "email", "set", "--host", "127.0.0.1", "--port", str(_closed_port()), "--security", "none",
            "--username", "auditor@d203.org", "--from", "auditor@d203.org", "--to", "it@d203.org")  # fmt: skip
        run("notify", "email", "password", "--stdin", input=SMTP_PASSWORD + "\n")
        run("--identity", "nightly", "notify", "email", "password", "--stdin", input=SMTP_PASSWORD + "\n",
            passfile=nightly[0], expect=1)  # fmt: skip
        run(
            "notify",
            "webhook",
            "set",
            "--flavour",
            "generic",
            "--stdin",
            input=f"{echo.url}/hook/{HOOK_TOKEN}\n",
        )
        run("notify", "webhook", "set", "--flavour", "slack", "--name", "bad", "--stdin",
            input=f"http://hooks.example.org/{HOOK_TOKEN}\n", expect=1)  # fmt: skip
        run("notify", "show")
        run("notify", "show", "--json")
        run("notify", "test", expect=1)
        run("--identity", "nightly", "notify", "test", passfile=nightly[0], expect=1)
    # The secrets really went out, and came back in the error answers.
    sent = "\n".join(echo.received)
    assert TOKEN in sent and ROSTER_SECRET[1] in sent and HOOK_TOKEN in sent, sent[:2000]
    run("profile", "attest", "snapchat", "nchs_spirit", "--display-name", "NCHS Spirit", "--bio", "Official")
    run("profile", "attest", "snapchat", "nchs_spirit", "--remove")
    run("profile", "attest", "snapchat", "nchs_spirit", "--remove", expect=1)
    log = run.decrypted_log()
    actions = {row["action"] for row in log["items"]}  # type: ignore[attr-defined]
    assert {"token-set", "roster-change", "notify-change", "attest", "attest-remove"} <= actions, actions
    run("log", "show")
    run("log", "show", "--format", "csv")
    _assert_no_secret(run.outputs, SECRETS, "a command's output")
    _assert_no_secret([json.dumps(log)], SECRETS, "the decrypted log")
    _scan_files(cli.tmp, SECRETS)


@pytest.mark.slow
def test_no_secret_leaks_from_passphrase_changes_rotations_backups_restore_and_breakglass(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`identity passwd` (plain and --rotate), `identity rotate`, `registry backup/check/restore`,
    `breakglass recover`, each with its failures, and `registry check` on tampered copies of the file."""
    run, mlee, nightly = _district_with_identities(cli, monkeypatch)
    short = _passfile(cli, "short", "too short")
    run(
        "--identity",
        "mlee",
        "identity",
        "passwd",
        "--new-passphrase-file",
        str(short),
        passfile=mlee[0],
        expect=1,
    )
    run(
        "--identity",
        "mlee",
        "identity",
        "passwd",
        "--new-passphrase-file",
        str(mlee[1]),
        passfile=nightly[0],
        expect=1,
    )
    run("--identity", "mlee", "identity", "passwd", "--new-passphrase-file", str(mlee[1]), passfile=mlee[0])
    run(
        "--identity",
        "mlee",
        "identity",
        "passwd",
        "--rotate",
        "--new-passphrase-file",
        str(mlee[2]),
        passfile=mlee[1],
    )
    run("--identity", "nightly", "identity", "passwd", "--rotate", "--new-passphrase-file", str(nightly[1]),
        passfile=nightly[0], expect=1)  # fmt: skip
    run("identity", "rotate", "nightly", "--new-passphrase-file", str(nightly[1]), "--yes")
    run("identity", "rotate", "nobody", "--new-passphrase-file", str(nightly[1]), "--yes", expect=1)
    run("identity", "rotate", "mlee", "--new-passphrase-file", str(short), "--yes", expect=1)
    run("--identity", "nightly", "identity", "list", passfile=nightly[0], expect=1)  # the old passphrase
    run("--identity", "nightly", "identity", "list", passfile=nightly[1])
    run("task", "list")

    backup = cli.tmp / "manual-backup.db"
    run("registry", "backup", "-o", str(backup))
    run("registry", "backup", "-o", str(backup), expect=2)
    run("registry", "backup")
    run("registry", "check")
    run("registry", "check", "--json")
    run("--identity", "nightly", "registry", "check", passfile=nightly[1])
    run("registry", "upgrade")  # nothing to do
    run("secret", "set", IG, "--stdin", input=f"password={PASSWORD}-after-backup\n")
    run("registry", "restore", str(cli.tmp / "missing.db"), "--yes", expect=2)
    run("registry", "restore", str(backup), "--yes")
    run("registry", "check")

    # The setup output is the one place the shares are shown; they are canaries everywhere else.
    setup = cli("-v", "breakglass", "setup", "--shares", "2", "--threshold", "2")
    assert setup.exit_code == 0, setup.output
    _assert_no_secret([setup.stdout + setup.stderr], SECRETS, "the break-glass setup output")
    shares = cards(setup.stdout)
    share_canaries = (*shares, *(" ".join(s.split()[:6]) for s in shares))
    run(
        "breakglass",
        "recover",
        "--reason",
        "canary drill",
        input=f"{shares[0]}\n{shares[0]}\n{shares[1][:-4]}zzzz\n",
        expect=1,
    )
    run(
        "breakglass",
        "recover",
        "--reason",
        "canary drill",
        "--operator",
        "R. Diaz",
        input=f"{shares[0]}\n{shares[1]}\ndone\n",
    )
    run(
        "breakglass",
        "recover",
        "--reason",
        "canary drill",
        input=f"{shares[0]}\n{shares[1]}\ndone\n",
        expect=1,
    )
    run("registry", "check")

    # Tampered copies of the file: `registry check` names the problem, and nothing else.
    for how in ("credential blob", "identity key", "wrap", "log cut", "manifest"):
        copy = _copy_registry(cli.registry, cli.tmp / f"tampered-{how.replace(' ', '-')}.db")
        _tamper(copy, how)
        run("--registry", str(copy), "registry", "check", expect=1)
    run("--registry", str(copy), "registry", "check", "--json", expect=1)
    run("--registry", str(copy), "log", "verify", expect=None)

    log = run.decrypted_log()
    actions = {row["action"] for row in log["items"]}  # type: ignore[attr-defined]
    assert {"identity-passwd", "identity-rotate", "backup", "restore", "break-glass"} <= actions, actions
    run("log", "show")
    run("log", "verify")
    _assert_no_secret(run.outputs, SECRETS + share_canaries, "a command's output")
    _assert_no_secret([json.dumps(log)], SECRETS + share_canaries, "the decrypted log")
    _scan_files(cli.tmp, SECRETS + share_canaries)
    backups = [p for p in cli.tmp.rglob("*.db") if "backups" in p.parts]
    assert len(backups) >= 4, backups  # passwd --rotate, rotate, backup, restore, break-glass: all scanned


def test_no_secret_leaks_from_the_format1_upgrade(cli: Cli) -> None:
    """`registry upgrade` of the previous release's file (its passphrases and escrowed password are
    canaries), refused and then done, with the checks and the log after it."""
    import shutil

    data = Path(__file__).parents[1] / "vault" / "data"
    fixture = json.loads((data / "format1.json").read_text())
    secrets = (
        fixture["admin_passphrase"],
        fixture["auditor_passphrase"],
        fixture["password"],
        *fixture["shares"],
        *(" ".join(s.split()[:6]) for s in fixture["shares"]),
    )
    shutil.copy(data / "format1.db", cli.registry)
    admin = _passfile(cli, "f1admin", fixture["admin_passphrase"])
    nightly = _passfile(cli, "f1nightly", fixture["auditor_passphrase"])
    wrong = _passfile(cli, "f1wrong", "not the passphrase at all")
    run = _Runner(cli)
    run("--identity", "it-admin", "person", "list", passfile=admin, expect=1)
    run("--identity", "it-admin", "registry", "check", passfile=admin, expect=1)
    run("--identity", "it-admin", "registry", "info", passfile=admin, expect=0)  # says it needs an upgrade
    run("--identity", "it-nightly", "registry", "upgrade", passfile=nightly, expect=1)
    run("--identity", "it-admin", "registry", "upgrade", passfile=wrong, expect=1)
    run("--identity", "it-admin", "registry", "upgrade", passfile=admin, expect=0)
    run("--identity", "it-admin", "registry", "upgrade", passfile=admin, expect=0)
    run("--identity", "it-admin", "registry", "check", passfile=admin, expect=0)
    run("--identity", "it-nightly", "registry", "check", passfile=nightly, expect=0)
    run("--identity", "it-admin", "secret", "history", fixture["account"], passfile=admin, expect=0)
    run("--identity", "it-admin", "log", "verify", passfile=admin, expect=0)
    log = run("--identity", "it-admin", "log", "show", "--format", "json", passfile=admin, expect=0)
    assert json.loads(log)["items"]
    _assert_no_secret(run.outputs, secrets, "a command's output")
    assert _scan_files(cli.tmp, secrets) >= 3
