"""SIGKILL in the middle of every command that re-keys or rewrites a registry (issue 11, "Tests").

A real child process runs the real CLI (`auditor identity remove`, `identity rotate`, `breakglass
recover`, `registry upgrade`, `registry restore`, `secret import`) on a sizeable registry (N
accounts, each with an escrowed credential, three identities, a break-glass set, an attestation and
a setting), and is killed with SIGKILL:

* at chosen *points*: the child counts every backend write, every outermost transaction's BEGIN,
  the moment before its COMMIT and the moment after, every backup and every file swap, and sends
  itself SIGKILL at point k. Each operation is first run once to the end (that run is also checked:
  it is the "new" state), which gives its list of points; then it is killed right before and right
  after the COMMIT of every write transaction and at random points spread over the whole run;
* at random *times*: the parent sends SIGKILL after a random share of the time a full run took, so
  some kills land inside SQLite's or PostgreSQL's own code (a COMMIT, a page write, an executemany).

Every kill starts from a fresh copy of the same prepared registry. Afterwards the registry opens,
`check_registry` (every record decrypted and authenticated, the log chain and head, the key
metadata against the manifests) is healthy, the data is unchanged, and the state is exactly the
old one or exactly the new one: the old domain keys open every current record and the old
passphrases work, or they open none and the new passphrase works; never a mix. The upgrade and the
restore are then run again and complete.

`AUDITOR_TEST_KILL_SEED=<n>` replays a run's random choices (the seed is in every failure message).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from auditor.model.types import Account, Person, Platform, Role, Secret
from vault import crypto
from vault import kinds as kinds_mod
from vault.backends.storage import Backend
from vault.errors import IdentityError, NeedsUpgradeError, VaultError, WrongPassphraseError
from vault.registry import DOMAINS, ESCROW, FORMAT_VERSION, INVENTORY, Registry

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
FORMAT1 = json.loads((DATA / "format1.json").read_text())

N = 150  # accounts, each with an escrowed credential: the re-keys open N rotation tasks
ADMIN, ADMIN_PASS = "admin", "kill test admin passphrase"
LEAVER, LEAVER_PASS = "leaver", "kill test leaver passphrase"
NIGHTLY, NIGHTLY_PASS = "nightly", "kill test nightly passphrase"
NEW_PASS = "kill test brand new passphrase"
SEED = int(os.environ.get("AUDITOR_TEST_KILL_SEED") or random.SystemRandom().randrange(2**32))
USER_KINDS = ("person", "account", "attestation", "setting", "credential", "credential-meta")
RANDOM_POINTS = 1  # per operation, besides the COMMIT boundaries
RANDOM_TIMES = 1  # per operation: kills after a random share of a full run's time

# The child: the real CLI, with a counter at every point where a kill matters.
CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    from contextlib import contextmanager

    KILL_AT = int(os.environ.get("KILLTEST_AT") or 0)
    TRACE = os.environ.get("KILLTEST_TRACE")
    points = []

    def point(name):
        points.append(name)
        if len(points) == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)

    def counted(fn, name):
        def inner(*args, **kwargs):
            point(name)
            return fn(*args, **kwargs)
        return inner

    def counted_transaction(orig):
        @contextmanager
        def transaction(self):
            if getattr(self, "_depth", 0):
                with orig(self):
                    yield
                return
            point("begin")
            with orig(self):
                yield
                point("commit")
            point("committed")
        return transaction

    from vault.backends.sqlite import SQLiteBackend
    from vault.backends.postgres import PostgresBackend

    WRITES = ("meta_set", "meta_delete", "add_identity", "update_identity", "delete_identity", "put_wrap",
              "put", "put_many", "delete", "log_append", "run_schema_sql", "backup_to")
    for cls in (SQLiteBackend, PostgresBackend):
        for name in WRITES:
            if name in cls.__dict__:
                setattr(cls, name, counted(cls.__dict__[name], name))
        cls.transaction = counted_transaction(cls.__dict__["transaction"])
    real_replace = os.replace
    os.replace = counted(os.replace, "replace")

    from auditor.cli import main

    sys.argv = ["auditor", *sys.argv[1:]]
    try:
        main()
    finally:
        point("exit")
        if TRACE:  # whole or not at all: a timed kill may land while it is written
            with open(TRACE + ".part", "w") as fh:
                json.dump(points, fh)
            real_replace(TRACE + ".part", TRACE)
    """
)


# --------------------------------------------------------------------------------------------------
# Where the registries live: fresh copies of one prepared registry, on either backend


class Site:
    """Fresh copies of one prepared registry: files on SQLite, databases cloned from a template on
    PostgreSQL (`CREATE DATABASE ... TEMPLATE`)."""

    def __init__(self, kind: str, tmp: Path, request: pytest.FixtureRequest) -> None:
        self.kind = kind
        self.tmp = tmp
        self.cluster: Any = request.getfixturevalue("pg_cluster") if kind == "postgres" else None
        self.databases: list[str] = []
        self.n = 0
        self.pristine = ""

    def backend(self, location: str, *, older_schema: bool = False) -> Backend:
        if self.kind == "postgres":
            from vault.backends.postgres import PostgresBackend

            backend: Backend = PostgresBackend(location)
        else:
            from vault.backends.sqlite import SQLiteBackend

            backend = SQLiteBackend(location)
        if older_schema:
            backend.allow_older_schema = True
        return backend

    def new_location(self) -> str:
        """An empty place for a registry."""
        self.n += 1
        if self.kind == "postgres":
            name = self.cluster.new_database("kill")
            self.databases.append(name)
            return str(self.cluster.url(name))
        path = self.tmp / f"r{self.n:02d}" / "registry.db"
        path.parent.mkdir()
        return str(path)

    def set_pristine(self, location: str) -> None:
        self.pristine = location

    def fresh(self) -> str:
        """A new copy of the pristine registry."""
        self.n += 1
        if self.kind == "postgres":
            name = f"kill_{uuid.uuid4().hex[:12]}"
            template = self.pristine.rsplit("/", 1)[1]
            self.cluster.sql(f"CREATE DATABASE {name} TEMPLATE {template}")
            self.databases.append(name)
            return str(self.cluster.url(name))
        path = self.tmp / f"r{self.n:02d}" / "registry.db"
        path.parent.mkdir()
        for suffix in ("", "-wal"):
            if Path(self.pristine + suffix).exists():
                shutil.copy(self.pristine + suffix, str(path) + suffix)
        return str(path)

    def from_sqlite(self, path: Path) -> str:
        """The registry in the SQLite file `path`, copied to a new location of this site's kind."""
        if self.kind == "sqlite":
            return str(path)
        from vault.backends.migrate import copy_registry
        from vault.backends.sqlite import SQLiteBackend

        location = self.new_location()
        source = SQLiteBackend(path)
        source.open()
        target = self.backend(location)
        try:
            copy_registry(source, target)
        finally:
            source.close()
            target.close()
        return location

    def open(self, location: str, identity: str, passphrase: str) -> Registry:
        reg = Registry.open(self.backend(location))
        try:
            reg.unlock(identity, Secret(passphrase))
        except BaseException:
            reg.close()
            raise
        return reg

    def cleanup(self) -> None:
        for name in self.databases:
            self.cluster.drop_database(name)


@pytest.fixture
def site(backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Site]:
    s = Site(backend_kind, tmp_path, request)
    yield s
    s.cleanup()


# --------------------------------------------------------------------------------------------------
# The child process


@dataclass
class Run:
    rc: int
    out: str
    err: str
    seconds: float
    points: list[str] = field(default_factory=list)

    @property
    def killed(self) -> bool:
        return self.rc == -signal.SIGKILL


def run_child(
    tmp: Path,
    location: str,
    args: list[str],
    *,
    passphrase: str,
    stdin: str = "",
    kill_at: int = 0,
    kill_after: float | None = None,
) -> Run:
    """Run `auditor --registry LOCATION --passphrase-file ... ARGS` in a child; kill it at point
    `kill_at`, or `kill_after` seconds after it started (SIGKILL either way)."""
    passfile = tmp / f"pass-{uuid.uuid4().hex[:8]}"
    passfile.write_text(passphrase + "\n")
    os.chmod(passfile, 0o600)
    trace = tmp / f"trace-{uuid.uuid4().hex[:8]}.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), "KILLTEST_AT": str(kill_at), "KILLTEST_TRACE": str(trace)}
    cmd = [sys.executable, "-c", CHILD, "--registry", location, "--passphrase-file", str(passfile), *args]
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    try:
        out, err = proc.communicate(stdin, timeout=kill_after if kill_after is not None else 120)
    except subprocess.TimeoutExpired:
        if kill_after is None:
            proc.kill()
            proc.communicate()
            raise
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
    seconds = time.monotonic() - started
    points = json.loads(trace.read_text()) if trace.exists() else []
    return Run(proc.returncode, out, err, seconds, points)


def commit_points(points: list[str]) -> list[int]:
    """1-based indices of the moments just before and just after the COMMIT of every transaction
    that is more than one log event (a log event alone is the `backup` or `reveal` line)."""
    out: list[int] = []
    writes: list[str] = []
    for i, name in enumerate(points, 1):
        if name == "begin":
            writes = []
        elif name == "commit":
            if sorted(writes) != ["log_append", "meta_set"]:
                out += [i, i + 1]
        elif name not in ("committed", "replace", "backup_to"):
            writes.append(name)
    return out


def spread(rng: random.Random, total: int, count: int, taken: set[int]) -> list[int]:
    """`count` random points, one in each of `count` equal slices of 1..total."""
    out = []
    for slot in range(count):
        lo = 1 + slot * total // count
        hi = max(lo, (slot + 1) * total // count)
        candidates = [p for p in range(lo, hi + 1) if p not in taken]
        if candidates:
            pick = rng.choice(candidates)
            out.append(pick)
            taken.add(pick)
    return out


@dataclass
class Operation:
    """One command to kill, and how to tell the old state from the new one."""

    name: str
    args: list[str]
    passphrase: str
    classify: Callable[[str], str]  # checks a location, returns "old", "new" (or another legal state)
    stdin: str = ""
    finish: Callable[[str, str], None] | None = None  # (location, state): run it again to the end


def hammer(
    site: Site, op: Operation, *, boundaries: Callable[[list[str]], list[int]] = commit_points
) -> Counter[str]:
    """Run `op` once to the end, then kill it at every COMMIT boundary, at random points and at
    random times, each on a fresh copy; every outcome is classified (and finished, if `op` says how)."""
    rng = random.Random(f"{SEED}:{op.name}:{site.kind}")
    where = f"(seed {SEED}, {op.name} on {site.kind})"
    location = site.fresh()
    full = run_child(site.tmp, location, op.args, passphrase=op.passphrase, stdin=op.stdin)
    assert full.rc == 0, f"{where}: the uninterrupted run failed: {full.out}{full.err}"
    assert op.classify(location) == "new", f"{where}: the uninterrupted run did not reach the new state"
    total = len(full.points)
    at = sorted(set(boundaries(full.points)))
    at += spread(rng, total, RANDOM_POINTS, set(at))
    outcomes: Counter[str] = Counter()
    kills: list[tuple[str, float | int]] = [("point", p) for p in sorted(at)]
    kills += [("time", rng.uniform(0.15, 0.95) * full.seconds) for _ in range(RANDOM_TIMES)]
    for how, value in kills:
        location = site.fresh()
        if how == "point":
            run = run_child(
                site.tmp, location, op.args, passphrase=op.passphrase, stdin=op.stdin, kill_at=int(value)
            )
            label = f"point {value}/{total} ({full.points[int(value) - 1]})"
            assert run.killed, f"{where}: not killed at {label}: rc {run.rc} {run.out}{run.err}"
        else:
            run = run_child(
                site.tmp, location, op.args, passphrase=op.passphrase, stdin=op.stdin, kill_after=value
            )
            label = f"{value:.2f}s of {full.seconds:.2f}s"
            assert run.killed or run.rc == 0, f"{where}: {label}: rc {run.rc} {run.out}{run.err}"
        assert "Traceback" not in run.err, f"{where}: {label}: {run.err}"
        try:
            state = op.classify(location)
        except AssertionError as exc:
            raise AssertionError(f"{where}: after a SIGKILL at {label}: {exc}") from None
        outcomes[f"{state}{'' if run.killed else ' (finished first)'}"] += 1
        if op.finish is not None:
            op.finish(location, state)
    summary = (
        f"{sum(outcomes.values())} kills, {dict(outcomes)}; full run {full.seconds:.2f}s, {total} points"
    )
    print(f"\n{op.name} on {site.kind}: {summary}")
    return outcomes


# --------------------------------------------------------------------------------------------------
# The prepared district and what is checked after each kill


def build_district(path: Path) -> dict[str, Any]:
    """A sizeable registry in an SQLite file: three identities, N accounts with credentials, people,
    an attestation, a setting and a 2-of-3 break-glass set. Returns the shares."""
    from datetime import date

    from connectors.platforms.manual import Attestation
    from vault.backends.sqlite import SQLiteBackend
    from vault.escrow import breakglass as bg
    from vault.escrow.bundle import CredentialBundle
    from vault.escrow.store import Escrow
    from vault.rekey import add_identity, breakglass_setup
    from vault.stores.attestations import RegistryAttestationStore
    from vault.stores.inventory import Inventory

    path.parent.mkdir(parents=True, exist_ok=True)
    reg = Registry.create(SQLiteBackend(path), ADMIN, Secret(ADMIN_PASS), kdf_profile="floor")
    try:
        add_identity(reg, LEAVER, Role.ADMIN, Secret(LEAVER_PASS), kdf_profile="floor")
        add_identity(reg, NIGHTLY, Role.AUDITOR, Secret(NIGHTLY_PASS), kdf_profile="floor")
        inv = Inventory(reg)
        escrow = Escrow(reg)
        with reg.transaction():
            inv.upsert_people(
                [Person(id="", name=f"Staff {i}", email=f"staff{i}@d203.org") for i in range(20)]
            )
            inv.upsert_accounts(
                [
                    Account(
                        id="",
                        platform=Platform.X,
                        handle=f"school_{i}",
                        profile_url=f"https://x.com/school_{i}",
                    )
                    for i in range(N)
                ]
            )
            for account in inv.accounts():
                escrow.store(account.id, CredentialBundle.create(password=f"old-{account.handle}-pw"))
            reg.set_setting("notify.email", {"host": "smtp.d203.org"})
        RegistryAttestationStore(reg).put(
            Attestation(
                platform=Platform.SNAPCHAT,
                handle="nchs_spirit",
                checked_by=ADMIN,
                checked_on=date(2026, 9, 1),
            )
        )
        split = breakglass_setup(reg, bg.single_group(2, 3))
        return {"shares": [card.words.reveal_str() for card in split.cards]}
    finally:
        reg.close()


@dataclass
class View:
    versions: dict[str, int]
    data: dict[tuple[str, str], Any]
    tasks: int
    actions: list[str]
    breakglass: dict[str, Any] | None
    old_key_opens: dict[str, tuple[int, int]]  # domain -> (records the old key opens, records)


def inspect(
    site: Site, location: str, old_keys: dict[str, bytes], identity: str = ADMIN, passphrase: str = ADMIN_PASS
) -> View:
    """Open, check (healthy or fail), and read everything that tells the old state from the new."""
    from vault import scopes as scopes_mod
    from vault.maintenance import check_registry
    from vault.revealog import RevealLog
    from vault.stores import tasks as tasks_mod

    reg = site.open(location, identity, passphrase)
    try:
        report = check_registry(reg)
        problems = [
            *report.database_problems,
            *(str(t) for t in report.tampered),
            *(p.message for p in report.problems),
        ]
        assert report.healthy, f"registry check is not healthy: {problems}"
        assert not report.skipped_kinds
        data = {}
        for kind in USER_KINDS:
            for rec in reg.scan(kind):
                assert not isinstance(rec, VaultError), rec
                if kind in scopes_mod.SCOPED_KINDS:  # what the bundle holds, not its key version
                    plain = {k: v for k, v in rec.data.items() if k not in ("box", "scope_version")}
                    data[(kind, rec.id)] = {
                        **plain,
                        "bundle": scopes_mod.Scopes(reg).open(kind, rec.id, rec.data),
                    }
                else:
                    data[(kind, rec.id)] = rec.data
        opens: dict[str, tuple[int, int]] = {}
        for domain in DOMAINS:
            ok = n = 0
            for kind in kinds_mod.kinds_in(domain):
                for row in reg.backend.scan(kind):
                    n += 1
                    aad = crypto.record_aad(reg.registry_id, row.kind, row.id, row.version)
                    try:
                        crypto.open_json(old_keys[domain], row.blob, aad)
                    except crypto.DecryptError:
                        continue
                    ok += 1
            opens[domain] = (ok, n)
        return View(
            versions={d: reg.key_version(d) for d in DOMAINS},
            data=data,
            tasks=len(tasks_mod.open_tasks(reg)),
            actions=[e.action for e in RevealLog(reg).events()],
            breakglass=reg.breakglass_info(),
            old_key_opens=opens,
        )
    finally:
        reg.close()


def unlocks(site: Site, location: str, identity: str, passphrase: str) -> bool:
    """Whether `identity` unlocks with `passphrase`: its wrapped keys open and verify."""
    try:
        site.open(location, identity, passphrase).close()
    except (WrongPassphraseError, IdentityError):
        return False
    return True


def refused(site: Site, location: str, identity: str, passphrase: str) -> bool:
    """Whether `passphrase` is not (or no longer) `identity`'s: a wrong passphrase or no such identity."""
    reg = Registry.open(site.backend(location))
    try:
        reg.check_passphrase(identity, Secret(passphrase))
    except (WrongPassphraseError, IdentityError):
        return True
    finally:
        reg.close()
    return False


def old_or_new(view: View, domains: tuple[str, ...], base: dict[str, int]) -> str:
    """'old' when every re-keyed domain is at its old version and the old key opens all its
    records, 'new' when every one is one version up and the old key opens none; anything else fails."""
    old = all(view.versions[d] == base[d] for d in domains)
    new = all(view.versions[d] == base[d] + 1 for d in domains)
    assert old or new, f"key versions {view.versions}, were {base}: a domain was re-keyed without the other"
    for d in DOMAINS:
        ok, n = view.old_key_opens[d]
        if old or d not in domains:
            assert view.versions[d] == base[d] and ok == n, f"{d}: the old key opens {ok} of {n} records"
        else:
            assert ok == 0, f"{d}: after the re-key the old key still opens {ok} of {n} records"
    return "old" if old else "new"


@dataclass
class District:
    site: Site
    shares: list[str]
    old_keys: dict[str, bytes]
    base: View


@pytest.fixture
def district(site: Site, tmp_path: Path) -> District:
    path = tmp_path / "build" / "registry.db"
    shares = build_district(path)["shares"]
    location = site.from_sqlite(path)
    reg = site.open(location, ADMIN, ADMIN_PASS)
    old_keys = reg.held_keys()
    reg.close()
    base = inspect(site, location, old_keys)
    site.set_pristine(location)
    return District(site, shares, old_keys, base)


# --------------------------------------------------------------------------------------------------
# The operations


@pytest.mark.slow
def test_sigkill_mid_identity_removal_leaves_the_old_or_the_new_keys(district: District) -> None:
    site, base = district.site, district.base

    def classify(location: str) -> str:
        view = inspect(site, location, district.old_keys)
        state = old_or_new(view, DOMAINS, base.versions)
        assert view.data == base.data, "a record changed"
        if state == "old":
            assert view.tasks == 0 and "identity-remove" not in view.actions
            assert unlocks(site, location, LEAVER, LEAVER_PASS)
        else:
            assert view.tasks == N and view.actions.count("identity-remove") == 1
            assert refused(site, location, LEAVER, LEAVER_PASS)
            assert unlocks(site, location, NIGHTLY, NIGHTLY_PASS)  # re-wrapped for those who remain
        return state

    outcomes = hammer(
        site,
        Operation(
            "identity remove",
            ["--identity", ADMIN, "identity", "remove", LEAVER, "--yes"],
            ADMIN_PASS,
            classify,
        ),
    )
    assert outcomes["old"] and outcomes["new"]


@pytest.mark.slow
def test_sigkill_mid_identity_rotation_leaves_the_old_or_the_new_passphrase(district: District) -> None:
    site, base = district.site, district.base
    newfile = site.tmp / "new.pass"
    newfile.write_text(NEW_PASS + "\n")
    os.chmod(newfile, 0o600)

    def classify(location: str) -> str:
        view = inspect(site, location, district.old_keys)
        state = old_or_new(view, DOMAINS, base.versions)
        assert view.data == base.data, "a record changed"
        if state == "old":
            assert unlocks(site, location, LEAVER, LEAVER_PASS) and refused(site, location, LEAVER, NEW_PASS)
            assert view.tasks == 0
        else:
            assert unlocks(site, location, LEAVER, NEW_PASS) and refused(site, location, LEAVER, LEAVER_PASS)
            assert view.tasks == N
            assert view.actions.count("identity-rotate") == 1
            assert unlocks(site, location, NIGHTLY, NIGHTLY_PASS)  # re-wrapped for the others too
        return state

    args = ["--identity", ADMIN, "identity", "rotate", LEAVER, "--new-passphrase-file", str(newfile), "--yes"]
    outcomes = hammer(site, Operation("identity rotate", args, ADMIN_PASS, classify))
    assert outcomes["old"] and outcomes["new"]


def _breakglass_state(district: District, location: str) -> str:
    """'old' (the set intact, nothing rotated) or 'new' (the set used and dropped, and both domain
    keys rotated, in the same transaction as its log event). There is no state in between: the used
    shares never open a current key. After it, the revealed account's rotation task is opened before
    its reveal, so a reveal is never logged without its task."""
    from vault.rekey import breakglass_session

    site, base = district.site, district.base
    view = inspect(site, location, district.old_keys)
    state = old_or_new(view, DOMAINS, base.versions)
    assert view.data == base.data, "a record changed"
    reg = Registry.open(site.backend(location))
    try:
        if view.breakglass is not None:
            assert state == "old" and "break-glass" not in view.actions, "the set survived its use"
            session = breakglass_session(reg)
            for share in district.shares[:2]:
                session.add(Secret(share))
            session.finish()  # the envelopes still open the set
            assert view.tasks == 0
            return "old"
        with pytest.raises(VaultError, match="no break-glass set"):
            breakglass_session(reg)
    finally:
        reg.close()
    assert state == "new", "the set was burned but the keys were not rotated"
    assert view.actions.count("break-glass") == 1
    assert view.tasks <= 1 and view.actions.count("reveal") <= view.tasks
    return "new"


@pytest.mark.slow
def test_sigkill_mid_breakglass_recovery_and_rotation(district: District) -> None:
    site = district.site
    args = [
        "breakglass",
        "recover",
        "--reason",
        "kill drill",
        "--operator",
        "tester",
        "--reveal",
        "x:@school_7",
    ]
    op = Operation(
        "breakglass recover",
        args,
        ADMIN_PASS,
        lambda location: _breakglass_state(district, location),
        stdin="\n".join(district.shares[:2]) + "\n",
    )
    outcomes = hammer(site, op)
    # Only the old state or the new one; a timed kill that lands after the run ended (a loaded
    # machine) is the new state too, counted as "new (finished first)".
    states = {k.removesuffix(" (finished first)") for k in outcomes}
    assert outcomes["old"] and outcomes["new"] and states == {"old", "new"}


@pytest.mark.slow
def test_sigkill_mid_secret_import_leaves_all_or_none(district: District) -> None:
    site, base = district.site, district.base
    items = [
        {
            "type": 1,
            "name": f"X school_{i}",
            "login": {
                "uris": [{"uri": f"https://x.com/school_{i}"}],
                "username": f"school_{i}",
                "password": f"new-{i}-pw",
            },
        }
        for i in range(N)
    ]
    export = site.tmp / "bitwarden.json"
    export.write_text(json.dumps({"encrypted": False, "items": items}))

    def classify(location: str) -> str:
        view = inspect(site, location, district.old_keys)
        assert old_or_new(view, DOMAINS, base.versions) == "old", "an import re-keyed"
        metas = {k: v for k, v in view.data.items() if k[0] == "credential-meta"}
        assert len(metas) == N
        versions = Counter(int(v["version"]) for v in metas.values())
        assert versions in (Counter({1: N}), Counter({2: N})), (
            f"a partial import: credential versions {versions}"
        )
        passwords = {v["bundle"]["password"] for k, v in view.data.items() if k[0] == "credential"}
        if versions[1]:
            assert view.data == base.data and "import" not in view.actions
            return "old"
        assert view.actions.count("import") == N and {f"new-{i}-pw" for i in range(N)} <= passwords
        return "new"

    outcomes = hammer(
        site,
        Operation(
            "secret import",
            # New passwords over the escrowed ones: a replacement (issue 13), so --replace.
            ["--identity", ADMIN, "secret", "import", str(export), "--replace"],
            ADMIN_PASS,
            classify,
        ),
    )
    assert outcomes["old"] and outcomes["new"]


def _restore_setup(district: District) -> tuple[str, View]:
    """A registry newer than its backup: the admin's key pair was rotated after the backup, so the
    two states have different keys and passphrases. Returns the backup and the current state."""
    from vault.backup import take_backup
    from vault.rekey import rotate_identity

    site = district.site
    current = site.fresh()
    reg = site.open(current, ADMIN, ADMIN_PASS)
    backup = take_backup(reg, "kill-test", directory=site.tmp / "saved")
    rotate_identity(reg, ADMIN, Secret(NEW_PASS), kdf_profile="floor", open_tasks=False, backup=False)
    reg.close()
    site.set_pristine(current)  # every kill starts from this registry, newer than the backup
    return backup, inspect(site, current, district.old_keys, ADMIN, NEW_PASS)


def _restore_state(district: District, location: str, rotated: View) -> str:
    site = district.site
    try:
        view = inspect(site, location, district.old_keys, ADMIN, NEW_PASS)
    except WrongPassphraseError:  # the backup's admin passphrase, from before the rotation
        view = inspect(site, location, district.old_keys, ADMIN, ADMIN_PASS)
        old_or_new(view, DOMAINS, district.base.versions)  # the backup's keys: the old key opens all
        assert view.data == district.base.data and view.actions[-1] == "restore"
        return "new"
    assert refused(site, location, ADMIN, ADMIN_PASS)
    assert view.versions == rotated.versions and view.data == rotated.data
    assert view.actions == rotated.actions
    return "old"


# `registry restore` replaces an SQLite file (a PostgreSQL registry is restored with `registry migrate`).
sqlite_only = pytest.mark.parametrize("backend_kind", ["sqlite"])


@pytest.mark.slow
@sqlite_only
def test_sigkill_mid_restore_leaves_the_current_or_the_restored_registry(district: District) -> None:
    backup, rotated = _restore_setup(district)

    def boundaries(points: list[str]) -> list[int]:
        # Also just before and just after the swap of the file itself (the last os.replace).
        swap = len(points) - points[::-1].index("replace")
        return [*commit_points(points), swap, swap + 1]

    args = ["--identity", ADMIN, "registry", "restore", backup, "--yes"]
    op = Operation("registry restore", args, ADMIN_PASS, lambda loc: _restore_state(district, loc, rotated))
    outcomes = hammer(district.site, op, boundaries=boundaries)
    assert outcomes["old"] and outcomes["new"]


@sqlite_only
def test_a_restore_killed_just_before_the_swap_can_be_run_again(district: District) -> None:
    backup, rotated = _restore_setup(district)
    site = district.site
    args = ["--identity", ADMIN, "registry", "restore", backup, "--yes"]
    full = run_child(site.tmp, site.fresh(), args, passphrase=ADMIN_PASS)
    swap = len(full.points) - full.points[::-1].index("replace")  # the last os.replace: the swap
    location = site.fresh()
    run = run_child(site.tmp, location, args, passphrase=ADMIN_PASS, kill_at=swap)
    assert run.killed and _restore_state(district, location, rotated) == "old"
    again = run_child(site.tmp, location, args, passphrase=ADMIN_PASS)
    assert again.rc == 0, again.out + again.err
    assert _restore_state(district, location, rotated) == "new"


@sqlite_only
def test_the_same_backup_can_be_restored_twice(district: District) -> None:
    backup, rotated = _restore_setup(district)
    site = district.site
    location = site.fresh()
    args = ["--identity", ADMIN, "registry", "restore", backup, "--yes"]
    first = run_child(site.tmp, location, args, passphrase=ADMIN_PASS)
    assert first.rc == 0, first.out + first.err
    second = run_child(site.tmp, location, args, passphrase=ADMIN_PASS)
    assert second.rc == 0, second.out + second.err
    assert _restore_state(district, location, rotated) == "new"


# --------------------------------------------------------------------------------------------------
# The format 1 -> 2 upgrade of the previous release's file


def _load_format1(site: Site) -> str:
    """tests/vault/data/format1.db at a new location of the site's kind (on PostgreSQL: its rows in
    the old schema, as tests/vault/test_upgrades.py loads them)."""
    location = site.new_location()
    if site.kind == "sqlite":
        shutil.copy(DATA / "format1.db", location)
        return location
    from tests.vault.conftest import load_into_postgres

    load_into_postgres(DATA / "format1.db", location, schema1=True)
    return location


def _format1_readable(reg: Registry) -> None:
    from vault.escrow.store import Escrow
    from vault.stores.inventory import Inventory

    assert [p.email for p in Inventory(reg).people()] == ["ann@d203.org"]
    password = Escrow(reg)._load(FORMAT1["account"]).password
    assert password is not None and password.reveal_str() == FORMAT1["password"]


@pytest.mark.slow
def test_sigkill_mid_format_upgrade_then_the_upgrade_completes(site: Site) -> None:
    """Both steps of `registry upgrade` (the database schema step, then the format step) killed at
    every COMMIT boundary and at random points; afterwards the file is format 1 (readable by the
    upgrader, refused by everything else) or format 2 (healthy), and the upgrade run again completes."""
    from vault.maintenance import check_registry

    admin, passphrase = FORMAT1["admin"], FORMAT1["admin_passphrase"]
    site.set_pristine(_load_format1(site))
    finished: set[str] = set()

    def classify(location: str) -> str:
        backend = site.backend(location, older_schema=True)
        reg = Registry.open(backend, allow_older=True)
        try:
            fmt, schema = reg.format_version, backend.schema_version()
            if fmt == 1 and schema == 1:
                # Untouched (the schema step rolled back): only the upgrader's passphrase check reads it.
                assert reg.check_passphrase(admin, Secret(passphrase)) is Role.ADMIN
                assert set(backend.kinds()) >= {"person", "account", "credential"}
                state = "format 1, schema 1"
            elif fmt == 1:
                assert schema == 2
                reg.unlock(admin, Secret(passphrase))
                _format1_readable(reg)
                state = "format 1, schema 2"
            else:
                assert fmt == FORMAT_VERSION and schema == 2, (fmt, schema)
                reg.unlock(admin, Secret(passphrase))
                report = check_registry(reg)
                assert report.healthy, [p.message for p in report.problems] + report.database_problems
                _format1_readable(reg)
                state = "new"
        finally:
            reg.close()
        if state != "new":
            with pytest.raises(NeedsUpgradeError):
                Registry.open(site.backend(location))
        return state

    def finish(location: str, state: str) -> None:
        if state in finished:  # run it again once from each state a kill left
            return
        finished.add(state)
        run = run_child(
            site.tmp, location, ["--identity", admin, "registry", "upgrade"], passphrase=passphrase
        )
        assert run.rc == 0, run.out + run.err
        assert ("nothing to do" in run.out) == (state == "new"), run.out
        assert classify(location) == "new"
        reg = site.open(location, admin, passphrase)
        try:
            from vault.revealog import RevealLog

            assert RevealLog(reg).verify().ok
        finally:
            reg.close()

    outcomes = hammer(
        site,
        Operation(
            "registry upgrade",
            ["--identity", admin, "registry", "upgrade"],
            passphrase,
            classify,
            finish=finish,
        ),
    )
    assert outcomes["new"] and any(k.startswith("format 1") for k in outcomes)


# --------------------------------------------------------------------------------------------------
# A kill just after the break-glass commit, before anything is revealed


def test_a_breakglass_recovery_killed_after_its_commit_leaves_the_used_shares_useless(
    district: District,
) -> None:
    """Issue 11: the set is burned and both keys rotated in one transaction, so a process killed
    right after it leaves keys that the used envelopes cannot open, even with a copy from before."""
    from vault.rekey import breakglass_session, breakglass_unlock

    site = district.site
    before = site.fresh()  # what a backup taken before the recovery holds
    args = ["breakglass", "recover", "--reason", "kill drill", "--reveal", "x:@school_7"]
    stdin = "\n".join(district.shares[:2]) + "\n"
    full = run_child(site.tmp, site.fresh(), args, passphrase=ADMIN_PASS, stdin=stdin)
    after_backup = full.points.index("backup_to") + 1
    # The first commit after the backup that leaves the set used is the break-glass transaction (on
    # PostgreSQL the backup's own SQLite copy commits first).
    for index, name in enumerate(full.points[after_backup:], after_backup + 1):
        if name != "committed":
            continue
        location = site.fresh()
        run = run_child(site.tmp, location, args, passphrase=ADMIN_PASS, stdin=stdin, kill_at=index)
        if _breakglass_state(district, location) == "new":
            assert run.killed and "password" not in run.out  # killed before anything was shown
            break
    else:
        raise AssertionError("no commit after the backup used the set")
    reg = Registry.open(site.backend(before))
    try:
        session = breakglass_session(reg)
        for share in district.shares[:2]:
            session.add(Secret(share))
        breakglass_unlock(reg, session.finish(), reason="replay from a backup", backup=False)
        recovered = district.old_keys
    finally:
        reg.close()
    view = inspect(site, location, recovered)
    assert view.old_key_opens[ESCROW][0] == 0 and view.old_key_opens[INVENTORY][0] == 0, (
        f"the used shares and a pre-recovery copy open {view.old_key_opens} current records"
    )
