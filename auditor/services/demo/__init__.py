"""`auditor demo`: a sample district told end to end through the real code, in a temporary directory.

The demo creates a registry with an administrator and a nightly auditor identity (generated
passphrases in 0600 files inside the demo directory, never printed), stores the district policy
(the Naperville 203 preset adapted to the sample district, see `story.py`), imports the sample
people and accounts through the import path users take, syncs an HR export as a roster, escrows
some credentials, records a manual check of a Snapchat account, starts loopback servers that answer
like the platforms' APIs, runs a full audit with the auditor identity, and writes an HTML findings
report. Nothing outside the demo directory is touched and no request leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.engine.policy import dump_preset
from auditor.model.attestation import Attestation
from auditor.model.errors import AuditorError
from auditor.model.types import Platform, Role, Secret, Severity
from auditor.services.audit import AuditOptions, run_audit
from auditor.services.demo.story import (
    DEMO_TOKEN,
    IG_OWN_ID,
    demo_policy,
    platform_accounts,
    shift_dates,
    watched,
)
from auditor.services.imports import parse_accounts, parse_people
from auditor.services.inventory import import_accounts, import_people
from auditor.services.policy import save_policy
from auditor.services.reporting import build_report
from auditor.services.roster import sync
from auditor.services.watchlist import add as watch_add
from connectors.fakes import FakeBluesky, FakeInstagram, FakeMastodon, FakeX, FakeYouTube
from connectors.roster.generic_csv import CsvMapping, MappedCsvSource
from reports import write_report
from vault.backends.sqlite import SQLiteBackend
from vault.escrow.bundle import CredentialBundle
from vault.escrow.rotation import Rotation
from vault.escrow.store import Escrow
from vault.registry import Registry
from vault.rekey import add_identity
from vault.stores.attestations import RegistryAttestationStore
from vault.stores.inventory import Inventory
from vault.stores.tasks import open_task
from vault.stores.tokens import RegistryTokenStore

if TYPE_CHECKING:
    from auditor.services.audit import AuditOutcome
    from connectors.fakes import FakeServer
    from vault.registry import Registry

DISTRICT = "Naperville Community Unit School District 203 (sample data)"
ADMIN = "demo-admin"
NIGHTLY = "demo-nightly"
ADMIN_EMAIL = "dwhitfield@naperville203.org"  # Dana Whitfield in data/people.csv

Step = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    directory: Path
    registry: Path
    passphrase_file: Path
    people: int
    accounts: int
    summary: str
    nightly_passphrase_file: Path | None = None
    run_id: str = ""
    finding_kinds: frozenset[str] = frozenset()
    findings: tuple[Any, ...] = ()
    report: Path | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def data_file(name: str) -> Path:
    return Path(str(resources.files("auditor.services.demo").joinpath("data", name)))


def _write_private(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def start_platforms(today: date, night: int = 1) -> dict[str, FakeServer]:
    """Loopback servers answering like X, Instagram, Bluesky, Mastodon and YouTube with what the
    story's platforms hold on `night` (the caller stops them). `platform_urls` gives their base
    URLs in the form the policy's `[platform_settings]` and AUDITOR_<PLATFORM>_BASE_URL take."""

    data = platform_accounts(today, night)
    servers: dict[str, FakeServer] = {
        "x": FakeX(data["x"], token=DEMO_TOKEN),
        "instagram": FakeInstagram(data["instagram"], token=DEMO_TOKEN, own_id=IG_OWN_ID),
        "bluesky": FakeBluesky(data["bluesky"]),
        "mastodon": FakeMastodon(data["mastodon"]),
        "youtube": FakeYouTube(data["youtube"], token=DEMO_TOKEN),
    }
    started: dict[str, FakeServer] = {}
    try:
        for name, server in servers.items():
            started[name] = server.start()
    except BaseException:
        for server in started.values():
            server.stop()
        raise
    return started


def platform_urls(servers: dict[str, FakeServer]) -> dict[str, str]:
    urls = {name: server.url for name, server in servers.items()}
    urls["mastodon"] = servers["mastodon"].url + "/_i/{instance}"
    return urls


def build_demo(
    directory: Path | None = None,
    *,
    today: date | None = None,
    step: Step | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoResult:
    """Tell the sample district's story in `directory` (default: a new temporary directory)."""

    say = step or (lambda _msg: None)
    day = today or datetime.now(UTC).date()
    base = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="auditor-demo-"))
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    registry_path = base / "registry.db"
    pass_file = _write_private(base / "passphrase", secrets.token_urlsafe(24) + "\n")
    nightly_file = _write_private(base / "nightly.passphrase", secrets.token_urlsafe(24) + "\n")
    kdf = os.environ.get("AUDITOR_KDF_PROFILE", "floor")

    say("Creating the encrypted registry (administrator and nightly auditor identities)")
    # The administrator is the communications director, who also owns the district's own accounts:
    # nobody else can open their escrow scope (escrow.no_secondary_admin) until someone is granted it.
    reg = Registry.create(
        SQLiteBackend(registry_path), ADMIN, Secret(_read(pass_file)), kdf_profile=kdf, email=ADMIN_EMAIL
    )
    try:
        add_identity(reg, NIGHTLY, Role.AUDITOR, Secret(_read(nightly_file)), kdf_profile=kdf)
        say("Starting loopback servers that answer like X, Instagram, Bluesky, Mastodon and YouTube")
        servers = start_platforms(day)
        try:
            people, accounts = _set_up(reg, base, day, servers, say)
            reg.close()
            say("Running the audit as the nightly auditor identity (no access to escrowed passwords)")
            outcome, report = _audit(registry_path, nightly_file, base, progress)
        finally:
            for server in servers.values():
                server.stop()
    finally:
        reg.close()

    findings = tuple(outcome.run.findings)
    summary = _summary(base, registry_path, pass_file, nightly_file, people, accounts, outcome, report)
    return DemoResult(
        directory=base,
        registry=registry_path,
        passphrase_file=pass_file,
        people=people,
        accounts=accounts,
        summary=summary,
        nightly_passphrase_file=nightly_file,
        run_id=outcome.run.id,
        finding_kinds=frozenset(f.check_id for f in findings),
        findings=findings,
        report=report,
        notes=outcome.notes,
    )


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def _set_up(
    reg: Registry, base: Path, day: date, servers: dict[str, FakeServer], say: Step
) -> tuple[int, int]:

    say("Storing the district policy: the Naperville 203 preset with a sample addendum")
    policy = demo_policy(dump_preset("naperville-203"), platform_urls(servers))
    save_policy(reg, policy, "sample district policy")
    (base / "policy.toml").write_text(policy, encoding="utf-8")

    say("Importing people.csv and accounts.csv")
    for name in ("people.csv", "accounts.csv", "hr-export-october.csv", "hr-export.csv"):
        (base / name).write_text(
            shift_dates(data_file(name).read_text(encoding="utf-8"), day), encoding="utf-8"
        )
    inv = Inventory(reg)
    import_people(inv, parse_people(base / "people.csv"), dry_run=False)
    by_email = {p.email: p for p in inv.people()}
    import_accounts(inv, parse_accounts(base / "accounts.csv", by_email), dry_run=False)

    say("Storing the platform API tokens in the registry (no Facebook token: that page stays unchecked)")
    tokens = RegistryTokenStore(reg)
    for platform in (Platform.X, Platform.INSTAGRAM, Platform.YOUTUBE):
        tokens.set(platform, Secret(DEMO_TOKEN))

    say("Syncing the HR export as the staff roster: October's as the baseline, then today's")
    _sync_roster(reg, base / "hr-export-october.csv", day - timedelta(days=30))
    say("  today's export has a departure and a role change")
    _sync_roster(reg, base / "hr-export.csv", day)

    say("Escrowing credentials, then adding a co-manager and opening an overdue rotation task")
    _escrow(reg, inv, day)

    say("Recording a manual check of the Snapchat account")
    _attest(reg, day)

    reported = watched(day)
    say(f"Watching {reported.platform}:{reported.handle}, a handle a parent reported (`auditor watch add`)")
    watch_add(reg, f"{reported.platform}:{reported.handle}", "reported by a parent to the front office")
    return len(inv.people()), len(inv.accounts())


def _sync_roster(reg: Registry, path: Path, day: date) -> None:

    mapping = CsvMapping.from_dict(
        {
            "columns": {
                "employee_id": "Employee ID",
                "email": "Work Email",
                "name": "Full Name",
                "role": "Job Title",
                "building": "Location",
                "status": "Employment Status",
                "role_began_on": "Title Effective",
                "left_on": "Termination Date",
            },
            "status_values": {"Leave of Absence": "on_leave"},
        }
    )
    now = datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC)
    outcome = sync(reg, MappedCsvSource(path, mapping, name="hr"), now=now)
    if not outcome.applied:
        raise AuditorError("the sample roster sync did not apply", "; ".join(outcome.plan.warnings))


def _escrow(reg: Registry, inv: Any, day: date) -> None:
    import dataclasses

    escrow = Escrow(reg)
    accounts = {(a.platform, a.handle.casefold()): a for a in inv.accounts()}
    for platform, handle in (
        (Platform.X, "naperville203"),
        (Platform.FACEBOOK, "naperville203"),
        (Platform.BLUESKY, "nchsband.bsky.social"),
        (Platform.MASTODON, "kennedyjh@mastodon.example"),
        (Platform.X, "nnhs_theatre"),
    ):
        account = accounts[(platform, handle)]
        bundle = CredentialBundle.create(login=account.login_email, password=secrets.token_urlsafe(18))
        escrow.store(account.id, bundle, reason="sample district set-up")
    # A co-manager added after the Facebook password was escrowed may know it: escrow.stale.
    page = inv.get_account(accounts[(Platform.FACEBOOK, "naperville203")].id)
    marcus = inv.person_by_email("mlee@naperville203.org")
    inv.save_account(dataclasses.replace(page, co_manager_ids=(*page.co_manager_ids, marcus.id)))
    # The band director left: the band's password should have been changed within the deadline.
    band = accounts[(Platform.BLUESKY, "nchsband.bsky.social")]
    opened = datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC) - timedelta(days=19)
    open_task(
        reg,
        band.id,
        "Tom Okafor left the district",
        opened_by=ADMIN,
        now=opened,
        due_on=day - timedelta(days=5),
    )
    # Kennedy Junior High's adviser moved to another building three days ago: a new password is
    # staged, waiting to be set on Mastodon and confirmed step by step (escrow.rotation_pending).
    kennedy = accounts[(Platform.MASTODON, "kennedyjh@mastodon.example")]
    started = datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC) - timedelta(days=3)
    open_task(reg, kennedy.id, "the adviser moved to another building", opened_by=ADMIN, now=started)
    Rotation(Escrow(reg, clock=lambda: started)).generate(kennedy.id)


def _attest(reg: Registry, day: date) -> None:

    RegistryAttestationStore(reg).put(
        Attestation(
            platform=Platform.SNAPCHAT,
            handle="nchs_spirit",
            checked_by=ADMIN,
            checked_on=day - timedelta(days=3),
            display_name="NCHS Spirit",
            bio="Official Snapchat of the Naperville Central High School spirit club, Naperville 203. "
            "Club sponsor: Luis Ortega.",
        )
    )


def _audit(
    registry_path: Path, nightly_file: Path, base: Path, progress: Callable[[str, int, int], None] | None
) -> tuple[AuditOutcome, Path]:

    reg = Registry.open(SQLiteBackend(registry_path))
    try:
        reg.unlock(NIGHTLY, Secret(_read(nightly_file)), as_role=Role.AUDITOR)
        outcome = run_audit(reg, AuditOptions(), progress=progress)
        report = _html_report(reg, base, outcome)
    finally:
        reg.close()
    return outcome, report


def _html_report(reg: Registry, base: Path, outcome: AuditOutcome) -> Path:
    """The findings report a compliance officer would receive."""

    report = build_report("findings", reg, run=outcome.run.id)
    return write_report(report, "html", base / "findings-report.html")


def _summary(
    base: Path,
    registry_path: Path,
    pass_file: Path,
    nightly_file: Path,
    people: int,
    accounts: int,
    outcome: AuditOutcome,
    report: Path | None,
) -> str:
    from tabulate import tabulate

    order = {s.value: i for i, s in enumerate(reversed(list(Severity)))}
    findings = sorted(outcome.run.findings, key=lambda f: (order[f.severity.value], f.check_id, f.message))
    rows = [[f.severity.value, f.check_id, ", ".join(f.clauses) or "-", f.message] for f in findings]
    kinds = len({f.check_id for f in findings})
    counts = outcome.run.counts_by_severity()
    lines = [
        f"Sample district: {DISTRICT}",
        f"Registry:        {registry_path}",
        f"Passphrases:     {pass_file} (administrator), {nightly_file} (nightly auditor); both mode 0600",
        f"Imported {people} people and {accounts} accounts; audit {outcome.run.id} checked "
        f"{outcome.run.accounts_checked} accounts.",
        "",
        tabulate(
            rows,
            headers=["Severity", "Check", "Clause", "Finding"],
            tablefmt="simple",
            maxcolwidths=[None, None, 18, 80],
        ),
        "",
        f"{len(findings)} findings of {kinds} kinds: "
        + ", ".join(f"{n} {sev}" for sev, n in sorted(counts.items(), key=lambda kv: order[kv[0]]) if n),
    ]
    if outcome.discovery:
        lines += ["", "Look-alike discovery (the policy's [impersonation] budget, per platform and night):"]
        lines += [f"  {use.line()}" for use in outcome.discovery]
    if report is not None:
        lines += ["", f"HTML report for compliance: {report}"]
    lines += [
        "",
        "Explore it yourself (the platform servers have stopped, so a new audit reports profiles as unknown):",
        f"  export AUDITOR_REGISTRY={registry_path} AUDITOR_IDENTITY={ADMIN} AUDITOR_PASSPHRASE_FILE={pass_file}",
        "  auditor finding list",
        "  auditor finding show <ID>           # the clause, the remediation, the history",
        "  auditor account list",
        "  auditor audit --offline             # the checks that need no network",
        "  auditor watch list                  # the handles staff reported, looked at every night",
        f"  rm -r {base}                        # when you are done",
    ]
    return "\n".join(lines)
