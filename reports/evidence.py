"""The evidence pack: everything a compliance officer files to show later what the district's state
was, and that nothing in the file was altered since.

One zip holding one folder `evidence-<UTC time>/` with every report kind in HTML, CSV and JSON, the
reveal log's verification result, the policy in force (its exact TOML text), a README saying how to
check the pack, `manifest.json` (what the pack is, every file with its size and SHA-256) and
`MANIFEST.sha256` in `sha256sum -c` format covering every other file. `verify_pack` recomputes every
hash and names each altered, damaged, missing or unlisted file. The manifest protects the files
against change only together with a copy of the manifest's own digest kept elsewhere (the command
prints it: put it in the ticket or the e-mail that files the pack); docs/reports.md says so. A pack
is a pure function of a `ReportInput` read with everything every kind reads
(auditor/services/reporting.py `build_evidence_pack`) and the clock.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reports.formats import FORMATS
from reports.input import ReportInput
from reports.kinds import KINDS

MANIFEST = "MANIFEST.sha256"
MANIFEST_JSON = "manifest.json"
PACK_FORMATS = ("html", "csv", "json")
SCHEMA = "auditor/evidence-manifest"

README = """Evidence pack: {district}
Generated {generated} under policy {policy}.

What is here
{kinds}  log-verification.json  the reveal-log chain check on its own
  policy.toml    the district policy the audit applied, exactly as stored
  manifest.json  what this pack is, and every file's size and SHA-256
Each report comes as .html (open in a browser), .csv (open in Excel) and .json (for programs).

How to check that nothing was altered
  auditor report verify {pack}
or, without the tool, after unzipping:
  cd {folder} && sha256sum -c MANIFEST.sha256
Every line must say OK. Then compare the SHA-256 of MANIFEST.sha256 itself with the digest recorded
when the pack was filed (the `auditor report evidence` command printed it).
"""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _zip_info(name: str, when: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info


def _kinds_listed() -> str:
    """The README's line per kind: `  findings.*     the latest audit's findings, ...`."""
    width = max(len(f"{name}.*") for name in KINDS) + 2
    return "".join(f"  {f'{name}.*':<{width}}{kind.pack_note}\n" for name, kind in KINDS.items())


def pack_files(data: ReportInput, *, now: datetime) -> tuple[str, dict[str, bytes]]:
    """(folder name, {file name: content}) of a pack, MANIFEST.sha256 last."""

    when = now.astimezone(UTC).replace(microsecond=0)
    files: dict[str, bytes] = {}
    reports = {name: kind.build(data, now=when) for name, kind in KINDS.items()}
    for name, report in reports.items():
        for fmt in (FORMATS[f] for f in PACK_FORMATS):
            files[f"{name}.{fmt.extension}"] = fmt.render(report)
    verification = reports["activity"].section("verification").rows[0]
    files["log-verification.json"] = (
        json.dumps(
            {"schema": "auditor/log-verify", "version": 1, "checked_at": when.isoformat(), **verification},
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    ).encode("utf-8")
    stored = data.policy
    files["policy.toml"] = (stored.text if stored else "").encode("utf-8")
    findings = reports["findings"]
    folder = f"evidence-{when:%Y%m%dT%H%M%SZ}"
    files["README.txt"] = README.format(
        district=findings.district,
        generated=when.strftime("%Y-%m-%d %H:%M UTC"),
        policy=findings.policy,
        kinds=_kinds_listed(),
        pack=f"{folder}.zip",
        folder=folder,
    ).encode("utf-8")
    manifest: dict[str, Any] = {
        "schema": SCHEMA,
        "version": 1,
        "generated_at": when.isoformat(),
        "district": findings.district,
        "policy": findings.policy,
        "policy_stored": {
            "source": stored.source if stored else "",
            "set_at": stored.set_at if stored else "",
            "set_by": stored.set_by if stored else "",
            "version": stored.version if stored else 0,
        },
        "registry_id": data.registry_id,
        "latest_run": findings.scope.get("run", ""),
        "log_verifies": verification["result"] == "verifies",
        "files": [{"name": n, "bytes": len(d), "sha256": sha256(d)} for n, d in files.items()],
    }
    files[MANIFEST_JSON] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    files[MANIFEST] = "".join(f"{sha256(d)}  {n}\n" for n, d in files.items()).encode("utf-8")
    return folder, files


def build_pack(data: ReportInput, *, now: datetime) -> bytes:
    """The pack as zip bytes (same input and clock: same files and hashes)."""
    folder, files = pack_files(data, now=now)
    when = datetime.strptime(folder.removeprefix("evidence-"), "%Y%m%dT%H%M%SZ")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in files.items():
            zf.writestr(_zip_info(f"{folder}/{name}", when), content)
    return buf.getvalue()


def manifest_digest(path: Path) -> str:
    """SHA-256 of the pack's MANIFEST.sha256: the one digest to record when filing the pack."""
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.rsplit("/", 1)[-1] == MANIFEST)
        return sha256(zf.read(name))


def verify_pack(path: Path) -> list[str]:
    """One sentence per problem, naming the file; empty when every file matches the manifest."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"{path.name}: not a readable zip file ({exc})"]
    with zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        manifests = [n for n in names if n.rsplit("/", 1)[-1] == MANIFEST]
        if len(manifests) != 1:
            return [f"{path.name}: expected one {MANIFEST}, found {len(manifests)}"]
        prefix = manifests[0][: -len(MANIFEST)]
        try:
            listed_text = zf.read(manifests[0]).decode("utf-8")
        except (zipfile.BadZipFile, zlib.error, UnicodeDecodeError) as exc:
            return [f"{MANIFEST}: damaged, cannot be read ({exc})"]
        problems: list[str] = []
        listed: dict[str, str] = {}
        for n, line in enumerate(listed_text.splitlines(), start=1):
            digest, sep, name = line.partition("  ")
            if not sep or len(digest) != 64 or not name:
                problems.append(f"{MANIFEST} line {n}: not `<sha256>  <file>`")
                continue
            listed[name] = digest.lower()
        present = {n[len(prefix) :]: n for n in names if n.startswith(prefix) and n != manifests[0]}
        for name, digest in listed.items():
            member = present.get(name)
            if member is None:
                problems.append(f"{name}: missing from the pack")
                continue
            try:
                data = zf.read(member)
            except (zipfile.BadZipFile, zlib.error, OSError) as exc:
                problems.append(f"{name}: damaged, cannot be read ({exc})")
                continue
            if sha256(data) != digest:
                problems.append(f"{name}: altered (its SHA-256 does not match {MANIFEST})")
        for name in sorted(set(present) - set(listed)):
            problems.append(f"{name}: not listed in {MANIFEST} (added after the pack was made)")
        outside = [n for n in names if not n.startswith(prefix)]
        problems += [f"{n}: not listed in {MANIFEST} (added after the pack was made)" for n in outside]
        return problems
