"""`auditor report` through the real CLI on the sample district: every kind as the nightly auditor
identity (inventory key only), files written 0600, evidence packs made and verified (and an altered
or damaged file named), offboarding and activity after a real `auditor offboard` and reveal.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pyotp
import pytest
from typer.testing import CliRunner, Result

from auditor.cli import app
from auditor.model.types import Role, Secret, TaskItem
from reports.kinds import KINDS
from tests.e2e.conftest import PASSPHRASE
from tests.reports.conftest import District
from vault.rekey import add_identity

NIGHTLY = "nightly job passphrase"


class ReportCli:
    def __init__(
        self, district: District, tmp: Path, identity: str = "it-admin", passphrase: str = PASSPHRASE
    ):
        self.runner = CliRunner()
        self.district = district
        self.passfile = tmp / f"{identity}.pass"
        self.passfile.write_text(passphrase + "\n")
        self.passfile.chmod(0o600)
        self.identity = identity

    def __call__(self, *args: str, input: str | None = None) -> Result:
        base = ["--registry", str(self.district.path), "--passphrase-file", str(self.passfile)]
        base += ["--identity", self.identity]
        return self.runner.invoke(app, [*base, *args], input=input, catch_exceptions=False)

    def ok(self, *args: str, **kw: str) -> Result:
        result = self(*args, **kw)
        assert result.exit_code == 0, f"exit {result.exit_code}\n{result.output}"
        return result


@pytest.fixture
def nightly(district: District, tmp_path: Path) -> ReportCli:
    reg = district.open()
    try:
        add_identity(reg, "nightly", Role.AUDITOR, Secret(NIGHTLY), kdf_profile="floor")
    finally:
        reg.close()
    return ReportCli(district, tmp_path, "nightly", NIGHTLY)


def test_every_report_as_the_nightly_auditor_identity(nightly: ReportCli, tmp_path: Path) -> None:
    for kind in KINDS:
        data = json.loads(nightly.ok("report", kind, "--format", "json").stdout)
        assert data["schema"] == f"auditor/report/{kind}"
    table = nightly.ok("report", "escrow").stdout
    assert "Bluesky account nchsband.bsky.social" in table and "days overdue" in table
    assert "correct horse" not in table  # the escrowed password of the fixture never appears
    out = tmp_path / "findings.html"
    shown = nightly.ok("report", "findings", "--format", "html", "--output", str(out))
    assert shown.stdout.strip() == str(out)
    assert out.stat().st_mode & 0o777 == 0o600
    assert out.read_text().startswith("<!DOCTYPE html>")
    refused = nightly("report", "inventory", "--format", "xlsx")
    assert refused.exit_code == 2
    assert "xlsx is a binary format" in refused.output and "--output" in refused.output
    unknown = nightly("report", "findings", "--run", "run-nope")
    assert unknown.exit_code == 1 and "no audit run 'run-nope'" in unknown.output


def test_every_report_command_has_help_with_an_example(nightly: ReportCli) -> None:
    for command in (*KINDS, "evidence", "verify"):
        help_text = CliRunner().invoke(app, ["report", command, "--help"]).output
        assert "Example:" in help_text and f"auditor report {command}" in help_text, command


def test_evidence_pack_verifies_and_names_an_altered_file(nightly: ReportCli, tmp_path: Path) -> None:
    pack = tmp_path / "evidence.zip"
    made = nightly.ok("report", "evidence", "--output", str(pack)).stdout
    assert pack.stat().st_mode & 0o777 == 0o600
    digest = made.splitlines()[1].rsplit(" ", 1)[1]
    with zipfile.ZipFile(pack) as zf:
        names = [n.split("/", 1)[1] for n in zf.namelist()]
        folder = zf.namelist()[0].split("/", 1)[0]
        manifest = json.loads(zf.read(f"{folder}/manifest.json"))
    for kind in KINDS:
        assert {f"{kind}.html", f"{kind}.csv", f"{kind}.json"} <= set(names)
    assert {"log-verification.json", "policy.toml", "manifest.json", "MANIFEST.sha256", "README.txt"} <= set(
        names
    )
    assert manifest["schema"] == "auditor/evidence-manifest" and manifest["log_verifies"] is True
    assert manifest["latest_run"] == "run-20260601-3"
    assert "correct horse" not in pack.read_bytes().decode(
        "latin-1"
    )  # deflated, but check the plain parts too

    assert made.count(digest) == 1 and "Evidence digest" in made  # one digest, named for what it is
    ok = CliRunner().invoke(app, ["report", "verify", str(pack), "--expect", digest])
    assert ok.exit_code == 0, ok.output
    assert (
        "OK: every file in evidence.zip matches MANIFEST.sha256, and MANIFEST.sha256 is the one recorded"
        in (ok.output)
    )
    # The file's own SHA-256 (what `sha256sum evidence.zip` prints) is accepted too, as what it is.
    whole = hashlib.sha256(pack.read_bytes()).hexdigest()
    ok = CliRunner().invoke(app, ["report", "verify", str(pack), "--expect", whole])
    assert ok.exit_code == 0 and "the file is byte for byte the one recorded" in ok.output, ok.output
    wrong = CliRunner().invoke(app, ["report", "verify", str(pack), "--expect", "0" * 64])
    assert (
        wrong.exit_code == 1 and "MISMATCH" in wrong.output and "not the pack that was filed" in wrong.output
    )
    unchecked = CliRunner().invoke(app, ["report", "verify", str(pack)])
    assert (
        unchecked.exit_code == 0 and "Not checked: that this is the pack that was filed" in unchecked.output
    )

    # Without the tool: `sha256sum -c` in the unzipped folder.
    if shutil.which("sha256sum"):
        with zipfile.ZipFile(pack) as zf:
            zf.extractall(tmp_path / "unzipped")
        checked = subprocess.run(
            ["sha256sum", "-c", "MANIFEST.sha256"],
            cwd=tmp_path / "unzipped" / folder,
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "findings.csv: OK" in checked.stdout

    # One byte of one file changed, and the pack zipped again.
    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(pack) as src, zipfile.ZipFile(altered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("/findings.csv"):
                data = data.replace(b"high", b"HIGH", 1)
            dst.writestr(info, data)
    bad = CliRunner().invoke(app, ["report", "verify", str(altered)])
    assert bad.exit_code == 1
    assert "ALTERED: findings.csv: altered (its SHA-256 does not match MANIFEST.sha256)" in bad.output
    assert "inventory.csv" not in bad.output

    # A byte flipped inside the zip itself: the damaged file is named.
    raw = bytearray(pack.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as zf:
        info = zf.getinfo(f"{folder}/escrow.json")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + info.compress_size // 2] ^= 0x01
    flipped = tmp_path / "flipped.zip"
    flipped.write_bytes(bytes(raw))
    damaged = CliRunner().invoke(app, ["report", "verify", str(flipped)])
    assert damaged.exit_code == 1
    assert "escrow.json:" in damaged.output and "findings.csv" not in damaged.output

    # The right files but a different manifest digest than the one recorded: refused.
    wrong = CliRunner().invoke(app, ["report", "verify", str(pack), "--expect", "0" * 64])
    assert wrong.exit_code == 1 and f"neither this pack's evidence digest ({digest})" in wrong.output


def test_offboarding_and_activity_after_a_real_offboard(district: District, tmp_path: Path) -> None:
    from vault.escrow.bundle import CredentialBundle
    from vault.escrow.rotation import Rotation
    from vault.escrow.store import Escrow
    from vault.stores.inventory import Inventory
    from vault.stores.tasks import open_tasks

    admin = ReportCli(district, tmp_path)
    admin.ok("offboard", "tokafor@naperville203.org", "--to", "praman@naperville203.org", "--yes")
    admin.ok("recover", "instagram:nchs_theatre", "--reason", "Tom left mid-season; ticket 4521")
    report = json.loads(
        admin.ok("report", "offboarding", "--person", "tokafor@naperville203.org", "--format", "json").stdout
    )
    sections = report["sections"]
    assert [(r["account"], r["new_owner"]) for r in sections["reassignments"]["rows"]] == [
        ("Bluesky account nchsband.bsky.social", "praman@naperville203.org")
    ]
    roles = {r["account"]: r["role_now"] for r in sections["accounts"]["rows"]}
    assert roles == {
        "Bluesky account nchsband.bsky.social": "none",
        "Instagram account @nchs_theatre": "none",
    }
    rotations = {r["account"]: r["status"] for r in sections["rotations"]["rows"]}
    # The band account they owned gets a task too, escrowed or not: they knew its password.
    assert rotations == {
        "Instagram account @nchs_theatre": "open",
        "Bluesky account nchsband.bsky.social": "open",
    }
    assert "was offboarded on" in report["summary"]["text"]

    # A new password stored is not a rotation done (issue 18): each step is confirmed.
    reg = district.open()
    try:
        theatre = Inventory(reg).resolve_account("instagram:nchs_theatre")
        escrow = Escrow(reg)
        escrow.store(theatre.id, CredentialBundle.create(password="a brand new long passphrase 42"))
        stored = json.loads(
            admin.ok(
                "report", "offboarding", "--person", "tokafor@naperville203.org", "--format", "json"
            ).stdout
        )["sections"]["rotations"]["rows"]
        [stored] = [r for r in stored if r["account"] == "Instagram account @nchs_theatre"]
        assert stored["status"] == "open" and "password: to do" in stored["steps"]
        rotation = Rotation(escrow)
        [task] = [t for t in open_tasks(reg) if t.account_id == theatre.id]
        for item in task.outstanding:
            if item is TaskItem.TOTP:
                rotation.stage(theatre.id, CredentialBundle.create(totp="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"))
                rotation.confirm(task.id, item, code=pyotp.TOTP("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").now())
            elif item is TaskItem.RECOVERY_CODES:
                rotation.stage(theatre.id, CredentialBundle.create(recovery_codes=["new-code-1111"]))
                rotation.confirm(task.id, item)
            else:
                rotation.confirm(task.id, item, note="done on Instagram")
    finally:
        reg.close()
    after = json.loads(
        admin.ok("report", "offboarding", "--person", "tokafor@naperville203.org", "--format", "json").stdout
    )
    [done] = [
        r for r in after["sections"]["rotations"]["rows"] if r["account"] == "Instagram account @nchs_theatre"
    ]
    assert done["status"] == "done" and "password: confirmed" in done["steps"][0]
    assert "sessions: confirmed" in done["steps"][-1] and "attested: done on Instagram" in done["steps"][-1]

    activity = json.loads(admin.ok("report", "activity", "--since", "2026-01-01", "--format", "json").stdout)
    events = activity["sections"]["events"]["rows"]
    recover = [e for e in events if e["action"] == "recover"]
    assert recover and recover[0]["reason"] == "Tom left mid-season; ticket 4521"
    assert recover[0]["identity"] == "it-admin" and recover[0]["account"] == "Instagram account @nchs_theatre"
    assert activity["sections"]["verification"]["rows"][0]["result"] == "verifies"
    assert activity["summary"]["figures"]["reveals"] == 1
    text = json.dumps(activity)
    assert "a brand new long passphrase" not in text and "correct horse" not in text


def test_the_output_files_extension_names_the_format_unless_format_is_given(
    nightly: ReportCli, tmp_path: Path
) -> None:
    html = tmp_path / "escrow.html"
    nightly.ok("report", "escrow", "--output", str(html))
    assert html.read_text().startswith("<!DOCTYPE html>")
    sheet = tmp_path / "escrow.XLSX"  # a binary format by its extension: no --format needed
    nightly.ok("report", "escrow", "--output", str(sheet))
    assert zipfile.is_zipfile(sheet)
    explicit = tmp_path / "escrow-table.json"
    nightly.ok("report", "escrow", "--format", "table", "--output", str(explicit))
    assert explicit.read_text().startswith("Credential escrow coverage:")
    unknown = tmp_path / "escrow.report"  # no format has this extension: the default, a table
    nightly.ok("report", "escrow", "--output", str(unknown))
    assert unknown.read_text().startswith("Credential escrow coverage:")


def test_an_existing_output_file_is_replaced_only_with_force(nightly: ReportCli, tmp_path: Path) -> None:
    """Last month's report (or the HTML asked for a minute ago) is not written over by accident."""
    html = tmp_path / "findings.html"
    nightly.ok("report", "findings", "--output", str(html))
    before = html.read_bytes()
    html.write_bytes(before + b"<!-- the officer's copy -->")
    for command in (("report", "escrow"), ("report", "findings", "--format", "csv"), ("report", "evidence")):
        refused = nightly(*command, "--output", str(html))
        assert refused.exit_code == 2, refused.output
        assert f"{html} exists; nothing was written" in refused.output and "--force" in refused.output
    assert html.read_bytes() == before + b"<!-- the officer's copy -->"
    nightly.ok("report", "findings", "--output", str(html), "--force")
    assert html.read_bytes().startswith(b"<!DOCTYPE html>") and b"officer's copy" not in html.read_bytes()
