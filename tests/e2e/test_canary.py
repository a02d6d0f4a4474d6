"""The canary: recognisable secrets go into escrow, every escrow command runs (failures included,
with -v), and none of the secrets may appear in any output, in the registry file in clear, in its
WAL, or in any backup or encrypted export (issue 3, "Tests")."""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.conftest import Cli
from tests.e2e.test_escrow_cli import IG, add_identity, cards, setup_district

PASSWORD = "CanaryPw-0f9e8d7c"
SEED = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
CODE = "canary-rc-5151"
CANARIES = (PASSWORD, SEED, CODE, CODE.upper(), "canaryrc5151")
INPUT = f"password={PASSWORD}\ntotp={SEED}\nrecovery_codes={CODE}, canary-rc-6262\n"


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_no_secret_leaks_anywhere(cli: Cli) -> None:
    from vault import exportfile

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
    run("recover", "x:nnhs", "--reason", "nothing escrowed", expect=1)
    run("breakglass", "recover", "--reason", "drill", input="not a share at all\n", expect=1)
    # Commands that reveal on purpose are run too, but their output is checked separately below.
    revealing = [
        cli("-v", "secret", "show", IG, "--reason", "canary"),
        cli("-v", "secret", "totp", IG, "--reason", "canary"),
        cli("-v", "recover", IG, "--reason", "canary"),
    ]
    assert all(r.exit_code == 0 for r in revealing) and PASSWORD in revealing[0].stdout
    setup = cli("-v", "breakglass", "setup", "--shares", "2", "--threshold", "2")
    shares = cards(setup.stdout)
    result = cli(
        "-v", "breakglass", "recover", "--reason", "canary drill", input=f"{shares[0]}\n{shares[1]}\ndone\n"
    )
    assert result.exit_code == 0, result.output
    outputs.append(result.stdout + result.stderr)

    for text in outputs:
        for canary in CANARIES:
            assert canary not in text, f"{canary} leaked into: {text[:300]}"
    for revealed in revealing:
        assert all(c not in revealed.stderr for c in CANARIES)
    files = _files(cli.tmp)
    assert any("backups" in str(p) for p in files)
    for path in files:
        if path.name in ("plain.json", "bw.json", "bad.json") or path.suffix == ".pass":
            continue
        data = path.read_bytes()
        for canary in CANARIES:
            assert canary.encode() not in data, f"{canary} found in clear in {path}"
