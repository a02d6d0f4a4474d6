"""An audit run end to end: snapshot, fetch, detect, evaluate, store, and the history it leaves.

`run_audit(registry, options)` reads everything it needs from the registry in one read snapshot
(policy, people, accounts, escrow metadata, rotation tasks, earlier runs, waivers), then asks the
platform connectors what they see (`gather`: profiles by `lookup_many`, renames by `lookup_by_id`,
look-alikes by search, by probing platform-valid variants where only exact lookup exists, and by
looking up the `--candidates` file), scores look-alikes with the impersonation `Detector` plus profile
evidence, runs the checks through `auditor.engine.evaluate.evaluate`, and stores the run by change
(its summary and what changed, auditor/services/history.py; inventory key: an auditor identity can
run and read audits). A connector
that fails gives `Profile.unknown`, never "found" (docs/checks.md, "Profiles"). A run's `deadline`
(a `connectors.http.Budget`, `auditor audit --deadline`) encloses every connector's own budget: once
it passes, the lookups left are `Profile.unknown` "not checked: the run's deadline passed", a request
in flight is cut short, and the run is still evaluated and stored. A connector that fails in a way
nobody foresaw makes its accounts unknown too, rather than losing the run.

States are computed against the **ledger** (auditor/engine/ledger.py): the latest known finding per
fingerprint, folded over every stored run in order. A run replaces the ledger entries it covered
(checks it ran, on the platforms it ran for) and leaves the rest, so an `--offline` or `--check` run
never makes other findings look new or resolved later. Waivers are records of kind "waiver" keyed by
the finding id; the engine marks findings `waived` while a waiver is in force and reopens them after
its `until` date.

The latest profile of each account is stored (public data, useful for `finding show` and debugging;
rewritten only when it changed: auditor/services/history.py) but is **never reused**: `--offline` runs only the checks that need no network, so a stale profile can never
make an account look compliant. What is pure (the `Snapshot` value, the check context, the ledger) is
the engine's (auditor/engine/snapshot.py, ledger.py); this module reads and writes the registry and
asks the connectors. Nothing here prints; the CLI renders.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from auditor.engine.checks.base import ImpersonationCandidate
from auditor.engine.checks.registry import select_checks
from auditor.engine.evaluate import EvaluationResult, Waiver, evaluate
from auditor.engine.impersonation import (
    Detector,
    DistrictContext,
    apply_evidence,
    is_valid,
    search_queries,
    variants,
)
from auditor.engine.impersonation.normalise import canonical_handle
from auditor.engine.impersonation.roles import acronym, role_model
from auditor.engine.impersonation.scoring import ProtectedName
from auditor.engine.impersonation.variants import plan_probes
from auditor.engine.ledger import find_finding, finding_id
from auditor.engine.snapshot import (
    DiscoveryUse,
    Gathered,
    Snapshot,
    build_context,
    district_context,
    protected_names,
)
from auditor.model.errors import AuditorError, InputError, NotFoundError, UsageError
from auditor.model.gcpause import gc_paused
from auditor.model.types import (
    EVERY_SCOPE,
    Account,
    AccountStatus,
    AuditRun,
    CredentialRef,
    EscrowHolder,
    Finding,
    FindingState,
    Platform,
    Profile,
    ProfileStatus,
    Role,
    RotationTask,
    Secret,
    normalise_handle,
)
from auditor.services.history import CompactResult, History, compact, store_run
from auditor.services.policy import require_policy
from auditor.services.watchlist import watched_handles
from connectors.base import resolve_by_id
from connectors.http import RUN_DEADLINE_REASON
from connectors.platforms.manual import ManualConnector
from connectors.registry import connector_class
from connectors.tokens import ChainedTokenStore, KeyringTokenStore, TokenStore
from vault.errors import RecordTamperedError
from vault.revealog import RevealLog
from vault.stores.attestations import RegistryAttestationStore
from vault.stores.audits import AuditStore, WaiverRecord
from vault.stores.inventory import Inventory
from vault.stores.tokens import RegistryTokenStore

if TYPE_CHECKING:
    from auditor.engine.policy.model import Policy
    from connectors.base import Connector
    from connectors.http import Budget
    from connectors.platforms.manual import AttestationStore
    from vault.registry import Registry

CREDENTIAL_KIND = "credential-meta"  # written by vault/escrow/store.py (models.CredentialRef fields)
ROTATION_KIND = "rotation-task"  # written by vault/escrow/store.py (models.RotationTask fields)
# The folded ledger (latest state of every finding) after the newest run, written in the same
# transaction as each run, so an audit reads one record instead of every run since the first
# (three years of nightly runs is over a thousand records).

# Platforms whose exact lookup answers for anyone's handle: discovery probes look-alike variants
# there, in addition to searching where the platform also searches (docs/audit.md, "Discovery").
PROBE_PLATFORMS = tuple(p for p in Platform if p.info.probe_lookalikes)  # auditor/model/platforms.py
DISCOVERY_CHECKS = ("impersonation.suspected", "account.unlisted")
DISCOVERY_NOTE = "discovery: "  # a stored run note saying what discovery spent on one platform
# Look-alikes are scanned this far below the policy threshold so that profile evidence (a bio
# claiming the district, a link to its domain) can lift a borderline name over it.
EVIDENCE_MARGIN = 15

Progress = Callable[[str, int, int], None]  # (label, done, total)
ConnectorFactory = Callable[[Platform], "Connector"]
TokenGetter = Callable[[Platform], Secret | None]


def utcnow() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------------
# Options and what the registry holds


@dataclass(frozen=True)
class AuditOptions:
    """What `auditor audit` was asked to do."""

    platforms: tuple[Platform, ...] = ()  # empty: every platform
    checks: tuple[str, ...] = ()  # ids or families; empty: what the policy asks for
    offline: bool = False
    candidates: tuple[tuple[Platform, str], ...] = ()  # from --candidates FILE
    watched: tuple[tuple[Platform, str], ...] = ()  # the registry's watchlist (run_audit reads it)
    # The probes and searches per platform and run are the policy's ([impersonation] probe_budget,
    # search_budget); these shape them.
    variants_per_name: int = 60  # variants made of each base before the budget is shared out
    search_limit: int = 25  # results per search query


def _scan(registry: Registry, kind: str, damaged: list[str]) -> list[dict[str, Any]]:

    out: list[dict[str, Any]] = []
    for rec in registry.scan(kind):
        if isinstance(rec, RecordTamperedError):
            damaged.append(f"{kind} record")
            continue
        out.append(rec.data)
    return out


def read_snapshot(registry: Registry) -> Snapshot:
    """Policy, inventory, escrow metadata, history and waivers, consistent with each other."""

    damaged: list[str] = []
    with registry.snapshot():
        stored, policy = require_policy(registry)
        inv = Inventory(registry)
        accounts = inv.accounts()
        people = inv.people()
        damaged.extend(f"{e.kind} record" for e in inv.damaged if hasattr(e, "kind"))
        # Escrow metadata is optional: the escrow commands may never have run.
        credentials: dict[str, CredentialRef] = {}
        for data in _scan(registry, CREDENTIAL_KIND, damaged):
            try:
                ref = CredentialRef.from_dict(data)
            except (KeyError, TypeError, ValueError):
                damaged.append(f"{CREDENTIAL_KIND} record")
                continue
            credentials[ref.account_id] = ref
        tasks: list[RotationTask] = []
        for data in _scan(registry, ROTATION_KIND, damaged):
            try:
                tasks.append(RotationTask.from_dict(data))
            except (KeyError, TypeError, ValueError):
                damaged.append(f"{ROTATION_KIND} record")
        previous = current_ledger(registry, damaged)
        waivers = load_waivers(registry, damaged)
        holders = escrow_holders(registry)
    identity = registry.identity.name if registry.identity is not None else ""
    return Snapshot(
        policy=policy,
        policy_source=stored.source,
        accounts=accounts,
        people=people,
        credentials=credentials,
        rotation_tasks=tasks,
        previous=previous,
        waivers=waivers,
        identity=identity,
        damaged=damaged,
        holders=holders,
    )


def escrow_holders(registry: Registry) -> list[EscrowHolder]:
    """The identities that can open escrowed credentials, each with the scopes it reaches (a district
    administrator every scope; a building administrator its grants). Names and emails only."""
    holders = []
    for ident in registry.identities():
        if ident.role is Role.ADMIN:
            scopes: tuple[str, ...] = (EVERY_SCOPE,)
        elif ident.role is Role.BUILDING_ADMIN:
            scopes = ident.scopes
        else:
            continue
        holders.append(EscrowHolder(ident.name, ident.role, ident.email, scopes))
    return holders


# --------------------------------------------------------------------------------------------------
# Runs, the ledger and waivers


def load_runs(registry: Registry, damaged: list[str] | None = None) -> list[AuditRun]:
    """Every stored run with its findings, oldest first: the ledger walked back through every run's
    changes. Readers that need less ask `run_history` (summaries, one run's findings)."""
    history = History.read(registry, damaged)
    try:
        full = history.full_runs()
    except NotFoundError:  # compacted detail: the runs from the oldest one still complete
        full = {}
        for i in range(len(history.runs) - 1, -1, -1):
            try:
                full.update(history.full_runs([i]))
            except NotFoundError:
                break
    return [full[i] for i in sorted(full)]


def run_history(registry: Registry, damaged: list[str] | None = None) -> History:
    """The stored runs' summaries (no finding decoded), with their findings on demand."""
    return History.read(registry, damaged)


def has_runs(registry: Registry) -> bool:
    """Whether any audit has been stored, without reading the runs."""
    return AuditStore(registry).has_runs()


def current_ledger(registry: Registry, damaged: list[str] | None = None) -> list[Finding]:
    """The ledger after the newest run: the stored one, or folded from every run when a registry
    made before the ledger record existed has none (the next audit stores it)."""
    sink: list[str] = [] if damaged is None else damaged
    stored = AuditStore(registry).ledger(sink)
    if stored is not None:
        return list(stored.findings)
    history = History.read(registry, sink)
    return history.ledger_after(len(history.runs) - 1) if history.runs else []


def latest_profiles(registry: Registry) -> dict[str, Profile]:
    """The latest profile every audit read, by account id (stored only when it changed)."""
    store = AuditStore(registry)
    if not store.conversion_pending():
        return store.latest_profiles([])
    out: dict[str, Profile] = {}  # runs not converted yet carry every profile they read
    for stored in store.stored_runs([]):
        out.update({k: Profile.from_dict(v) for k, v in stored.legacy_profiles.items()})
    return out


def compact_runs(registry: Registry, *, dry_run: bool = False, today: date | None = None) -> CompactResult:
    """`auditor audit compact`: drop the change records of runs older than the policy's `[audit]
    retention`, keeping every run's summary (admin; logged)."""
    _stored, policy = require_policy(registry)
    return compact(registry, policy.audit_retention, today or utcnow().date(), dry_run=dry_run)


def load_waivers(registry: Registry, damaged: list[str] | None = None) -> list[Waiver]:
    sink: list[str] = [] if damaged is None else damaged
    return [
        Waiver(fingerprint=w.fingerprint, reason=w.reason, until=w.until, by=w.by)
        for w in AuditStore(registry).waivers(sink)
    ]


def waive(
    registry: Registry,
    ref: str,
    reason: str,
    until: date,
    *,
    today: date | None = None,
) -> tuple[Finding, Waiver]:
    """Record an administrator's waiver for a finding of the ledger (admin identity required).

    The record keeps who waived, when, why and until when; waiving again replaces the terms and keeps
    the earlier ones in `history`, so the decision trail survives.
    """
    identity = registry.require_admin("Waiving a finding")
    today = today or utcnow().date()
    if not reason.strip():
        raise UsageError(
            "a waiver needs a reason (--reason)", "Say why the finding is accepted, and by whom."
        )
    if until < today:
        raise UsageError(
            f"--until {until.isoformat()} is in the past", "Give a future date, e.g. the end of term."
        )
    with registry.snapshot():
        finding = find_finding(current_ledger(registry), ref)
    if finding.state is FindingState.RESOLVED:
        raise UsageError("that finding is resolved: there is nothing to waive")
    fid = finding_id(finding.fingerprint)
    store = AuditStore(registry)
    existing = store.waiver(fid)
    history = (*existing.history, existing.terms()) if existing is not None else ()
    waiver = Waiver(fingerprint=finding.fingerprint, reason=reason.strip(), until=until, by=identity.name)

    with registry.transaction():
        store.put_waiver(
            WaiverRecord(
                fingerprint=finding.fingerprint,
                finding_id=fid,
                check_id=finding.check_id,
                subject=finding.subject,
                reason=waiver.reason,
                until=until,
                by=identity.name,
                history=history,
            ),
            expected_version=existing.version if existing is not None else 0,
        )
        # A waiver is a compliance decision: it goes in the tamper-evident log with its reason.
        RevealLog(registry).append(
            "waive",
            reason=waiver.reason,
            details={"finding": fid, "check": finding.check_id, "until": until.isoformat()},
        )
    return finding, waiver


def waiver_records(registry: Registry) -> dict[str, WaiverRecord]:
    """Waiver records by fingerprint (for `finding show`)."""
    return {w.fingerprint: w for w in AuditStore(registry).waivers([])}


# --------------------------------------------------------------------------------------------------
# Connectors


def token_getter(registry: Registry | None) -> TokenGetter:
    """Tokens from the registry (vault/stores/tokens.py) first, then the OS keyring.

    A keyring that is missing or locked is not an error here: the connector then reports "no
    credentials" per account (profile.unknown), which is what an operator needs to see.
    """

    stores: list[TokenStore] = []
    if registry is not None:
        stores.append(RegistryTokenStore(registry))
    stores.append(KeyringTokenStore())
    return ChainedTokenStore(stores).get


def connector_factory(
    policy: Policy,
    tokens: TokenGetter | None = None,
    env: Mapping[str, str] | None = None,
    attestations: AttestationStore | None = None,
) -> ConnectorFactory:
    """Connectors configured from the policy's `[platform_settings]`, then AUDITOR_<PLATFORM>_* env.

    Platforms checked by hand (Snapchat, "other") answer from `attestations`, the administrators'
    recorded checks (`auditor profile attest`).
    """

    def make(platform: Platform) -> Connector:

        cls = connector_class(platform)
        token = tokens(platform) if tokens is not None else None
        extra: dict[str, Any] = {}
        if attestations is not None and issubclass(cls, ManualConnector):
            extra["store"] = attestations
        return cls.from_environment(token, policy_connector_config(policy, platform), env, **extra)

    return make


def policy_connector_config(policy: Policy, platform: Platform) -> dict[str, Any]:
    """The connector settings the district policy gives for `platform` (base URL, API version,
    options); AUDITOR_<PLATFORM>_* environment variables still override them."""
    config: dict[str, Any] = {}
    settings = policy.settings_for(platform)
    if settings is not None:
        if settings.base_url:
            config["base_url"] = settings.base_url
        if settings.api_version:
            config["api_version"] = settings.api_version
        config.update(dict(settings.options))
    return config


# --------------------------------------------------------------------------------------------------
# Gathering what the platforms say


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), max(1, size)):
        yield items[i : i + max(1, size)]


def _lookup_all(
    connector: Connector, handles: list[str], label: str, progress: Progress | None
) -> dict[str, Profile]:
    """`lookup_many` in slices, so the progress bar moves; a connector crash makes profiles unknown."""
    out: dict[str, Profile] = {}
    size = max(1, connector.batch_size) * max(1, connector.settings.max_concurrency)
    if progress:
        progress(label, 0, len(handles))
    for part in _chunks(handles, size):
        try:
            out.update(connector.lookup_many(part))
        except AuditorError as exc:
            out.update({h: Profile.unknown(connector.platform, h, exc.message) for h in part})
        except Exception as exc:  # a connector bug must not lose the whole run
            reason = _connector_bug(connector, exc)
            out.update({h: Profile.unknown(connector.platform, h, reason) for h in part})
        if progress:
            progress(label, len(out), len(handles))
    return out


def _connector_bug(connector: Connector, exc: Exception) -> str:
    return f"the {connector.platform.label} connector failed ({type(exc).__name__}); this is a bug in auditor"


def _renamed(connector: Connector, account: Account, profile: Profile) -> Profile:
    """Rename detection where the platform id is on record (connectors/base.py `lookup_account`)."""
    if not account.platform_id or not connector.supports_lookup_by_id:
        return profile
    if profile.status is ProfileStatus.UNKNOWN:
        return profile
    if profile.found and (not profile.platform_id or profile.platform_id == account.platform_id):
        return profile
    try:
        by_id = connector.lookup_by_id(account.platform_id)
    except Exception:  # NotSupportedError, or a connector bug: keep what the handle lookup saw
        return profile
    return resolve_by_id(account.handle, profile, by_id)


def gather(
    snapshot: Snapshot,
    options: AuditOptions,
    connector_for: ConnectorFactory,
    *,
    now: datetime,
    check_ids: Sequence[str],
    progress: Progress | None = None,
    deadline: Budget | None = None,
) -> Gathered:
    """Ask the platforms about the inventory and look for look-alikes (nothing when offline).

    `deadline` (the run's) is put over every connector's own budget (`Connector.within`)."""
    out = Gathered()
    if options.offline:
        return out
    wanted = set(options.platforms)
    live = [a for a in snapshot.accounts if a.status is not AccountStatus.RETIRED]
    in_scope = [a for a in live if not wanted or a.platform in wanted]
    by_platform: dict[Platform, list[Account]] = {}
    for a in in_scope:
        by_platform.setdefault(a.platform, []).append(a)
    discover = any(c in check_ids for c in DISCOVERY_CHECKS)
    file_platforms = {p for p, _ in (*options.candidates, *options.watched) if not wanted or p in wanted}
    platforms = sorted(set(by_platform) | (file_platforms if discover else set()), key=lambda p: p.value)

    connectors: dict[Platform, Connector] = {}
    try:
        for platform in platforms:
            try:
                connectors[platform] = connector_for(platform).within(deadline)
            except AuditorError as exc:
                out.notes.append(f"{platform.label}: {exc.message}")
        # 1. The inventory's own accounts.
        for platform, accounts in by_platform.items():
            connector = connectors.get(platform)
            handles = [a.handle for a in accounts]
            if connector is None:
                for a in accounts:
                    out.profiles[a.id] = Profile.unknown(platform, a.handle, "connector not configured")
                continue
            seen = _lookup_all(connector, handles, platform.label, progress)
            for a in accounts:
                profile = seen.get(a.handle) or Profile.unknown(
                    platform, a.handle, "no answer for this handle"
                )
                out.profiles[a.id] = _renamed(connector, a, profile)
        # 2. Look-alikes.
        if discover:
            _discover(out, snapshot, options, connectors, by_platform, now=now, progress=progress)
    finally:
        for connector in connectors.values():
            connector.close()
    if deadline is not None and deadline.expired:
        late = sum(1 for p in out.profiles.values() if p.reason == RUN_DEADLINE_REASON)
        out.notes.append(
            f"the run's deadline ({deadline.seconds:g} s) passed: {late} inventory profile(s) were not "
            "checked (profile.unknown)" + (" and look-alike discovery stopped" if discover else "")
        )
    return out


def discovery_queries(
    policy: Policy, district: DistrictContext, accounts: Sequence[Account], platform: Platform
) -> list[str]:
    """What to search for on `platform`, most valuable first (the search budget keeps the head): the
    district's names and aliases, the display names of its accounts there, each official with the
    role, each role with the district, each building's names, aliases and acronym, its handles
    there, then the display names of its accounts elsewhere. `district` is `district_context(policy)`,
    built once a run (it holds the role model)."""

    model = district.role_model or role_model(policy)
    here = [a for a in accounts if a.platform is platform]
    elsewhere = [a.display_name for a in accounts if a.platform is not platform and a.display_name]
    buildings = [
        (b.name, *b.aliases, *([short] if len(short := acronym(b.name)) >= 3 else []))
        for b in policy.buildings
    ]
    queries = search_queries(
        policy.names(),
        district.roles,
        [a.handle for a in here],
        display_names=[a.display_name for a in here if a.display_name],
        buildings=buildings,
        officials=[(o.name, o.title or o.role) for o in model.officials],
    )
    known = {q.casefold() for q in queries}
    return queries + [d for d in dict.fromkeys(elsewhere) if d.casefold() not in known]


# Per round of the probe budget, the district's own handles and names take this many variants for
# each one a protected role combination (`203Superintendent`, `SchoolBoardD203`...) takes: there
# are a few of the first and dozens of the second.
OWN_NAME_WEIGHT = 3


def probe_bases(
    policy: Policy, platform: Platform, accounts: Sequence[Account], protected: Sequence[ProtectedName]
) -> list[tuple[str, int]]:
    """The names whose look-alikes are probed on `platform`, in priority order, with their weight
    (`plan_probes`): the district's own handles there, the district's names and aliases run together
    (`Naperville 203` -> `naperville203`, `naperville203.bsky.social` on Bluesky), shortest first,
    then every protected name (role squats such as `D203Superintendent`, building heads) valid on
    the platform."""

    home = platform.info.default_domain if platform.info.handle_is_domain else ""

    def as_handle(name: str) -> str:
        return f"{name}.{home}" if home and "." not in name else name

    own = [(a.handle, OWN_NAME_WEIGHT) for a in accounts]
    names = sorted(
        {re.sub(r"[^0-9A-Za-z]+", "", n).casefold() for n in policy.names()}, key=lambda n: (len(n), n)
    )
    own += [(as_handle(n), OWN_NAME_WEIGHT) for n in names if n]
    roles = [(as_handle(p.name), 1) for p in protected if p.platform is None]
    out: dict[str, tuple[str, int]] = {}
    for handle, weight in (*own, *roles):
        if is_valid(handle, platform):
            out.setdefault(handle.casefold(), (handle, weight))
    return list(out.values())


def _discover(
    out: Gathered,
    snapshot: Snapshot,
    options: AuditOptions,
    connectors: Mapping[Platform, Connector],
    by_platform: Mapping[Platform, list[Account]],
    *,
    now: datetime,
    progress: Progress | None,
) -> None:
    """Search where the platform can, and probe variants by exact lookup where it can (both where
    it can do both), each within the policy's budget per platform; then look up the watched and
    reported handles (outside the budget) and score everything found outside the inventory."""

    policy = snapshot.policy
    live = [a for a in snapshot.accounts if a.status is not AccountStatus.RETIRED]
    protected = protected_names(policy, live)
    district = district_context(policy)  # names, roles and the role model, built once a run
    detector = Detector(
        protected,
        allowlist=[f"{e.platform.value}:{e.handle}" for e in policy.allowlist],
        threshold=max(1, policy.impersonation_threshold - EVIDENCE_MARGIN),
        own_domains=(*policy.website_domains, *policy.email_domains),
        # Role squats (superintendent/supt, board/BOE, principal + building) and display names;
        # an official's bare personal name is protected only with a role or a district term.
        roles=district.role_model,
    )
    seen: dict[Platform, dict[str, Profile]] = {}  # found profiles outside the inventory
    complete: dict[Platform, bool] = {}
    use: dict[Platform, DiscoveryUse] = {}

    def keep(platform: Platform, profile: Profile) -> None:
        handle = profile.platform_handle or profile.handle
        if not profile.found:
            return
        seen.setdefault(platform, {})[normalise_handle(handle)] = dataclasses.replace(profile, handle=handle)

    for platform, connector in connectors.items():
        if options.platforms and platform not in options.platforms:
            continue
        tried = False
        ok = True
        searched = probed = bases_used = 0
        by_id: dict[str, Profile] = {}
        # Search, where the platform has one and the connector can work.
        searching = connector.supports_search and not connector.missing_configuration()
        if searching:
            chosen = discovery_queries(policy, district, live, platform)[: policy.search_budget]
            for i, query in enumerate(chosen):
                tried = True
                searched += 1
                try:
                    for profile in connector.search(query, options.search_limit):
                        if _known_only_by_id(profile) and connector.supports_lookup_by_id:
                            if profile.platform_id not in by_id:  # once a run, whatever query found it
                                by_id[profile.platform_id] = _by_id(connector, profile)
                            profile = by_id[profile.platform_id]
                        keep(platform, profile)
                except AuditorError as exc:
                    ok = False
                    out.notes.append(f"{platform.label} search failed: {exc.message}")
                    break
                except Exception as exc:  # a connector bug: report it, keep the run
                    ok = False
                    out.notes.append(f"{platform.label} search failed: {_connector_bug(connector, exc)}")
                    break
                if progress:
                    progress(f"{platform.label} search", i + 1, len(chosen))
        # Variants probed by exact lookup as well, where the platform has it: a search ranks and
        # cuts its results, and a new account is not in the index yet (docs/audit.md, "Discovery").
        accounts_here = by_platform.get(platform, [])
        if platform in PROBE_PLATFORMS and accounts_here:
            bases = probe_bases(policy, platform, accounts_here, protected)
            own = {canonical_handle(a.handle, platform) for a in live if a.platform is platform}
            per_base = [[b, *variants(b, platform, limit=options.variants_per_name)] for b, _ in bases]
            probes = plan_probes(per_base, policy.probe_budget, own, [w for _, w in bases])
            chosen_set = set(probes)
            bases_used = sum(1 for v in per_base if any(h in chosen_set for h in v))
            if probes:
                tried = True
                probed = len(probes)
                results = _lookup_all(connector, probes, f"{platform.label} look-alikes", progress)
                why: Counter[str] = Counter()  # reason -> how many could not be checked for it
                for profile in results.values():
                    if profile.status is ProfileStatus.UNKNOWN:
                        why[profile.reason or "no answer"] += 1
                    keep(platform, profile)
                if why:
                    ok = False
                    reasons = "; ".join(r for r, _ in why.most_common(3))
                    out.notes.append(
                        f"{platform.label}: {sum(why.values())} of {probed} look-alike handles could not be "
                        f"checked ({reasons})"
                    )
        if searching or platform in PROBE_PLATFORMS:
            use[platform] = DiscoveryUse(
                platform,
                probes=probed,
                probe_budget=policy.probe_budget if platform in PROBE_PLATFORMS and accounts_here else 0,
                bases=bases_used,
                searches=searched,
                search_budget=policy.search_budget if searching else 0,
                resolved=len(by_id),
            )
        complete[platform] = tried and ok

    # Handles reported by staff (--candidates FILE) and the watchlist, every run: looked up for
    # evidence, scored by name when the platform could not say; one it says does not exist is no
    # impostor (an info finding), and what each lookup said decides whether a finding may resolve.
    file_handles: dict[Platform, dict[str, str]] = {}
    for platform, handle in (*options.candidates, *options.watched):
        if options.platforms and platform not in options.platforms:
            continue
        file_handles.setdefault(platform, {}).setdefault(normalise_handle(handle), handle.strip())
    out.watched = {(p.value, normalise_handle(h)) for p, h in options.watched}
    # Said not to exist by an earlier run: a run that cannot ask keeps that (no name-only score).
    absent = {
        f.subject.removeprefix("absent:")
        for f in snapshot.previous
        if f.subject.startswith("absent:") and f.state is not FindingState.RESOLVED
    }
    unseen: dict[Platform, list[str]] = {}
    for platform, by_key in file_handles.items():
        handles = list(by_key.values())
        found = connectors.get(platform)
        results = (
            _lookup_all(found, handles, f"{platform.label} watched and reported handles", progress)
            if found is not None
            else {}
        )
        looked = 0
        for handle in handles:
            profile = results.get(handle) or Profile.unknown(platform, handle, "connector not configured")
            out.looked_up[(platform.value, normalise_handle(handle))] = profile.status
            if profile.status is not ProfileStatus.UNKNOWN:
                looked += 1
            if (
                profile.status is ProfileStatus.UNKNOWN
                and f"{platform.value}:{normalise_handle(handle)}" not in absent
            ):
                unseen.setdefault(platform, []).append(handle)
            keep(platform, profile)  # not found: gone, reported as such by the check
        use[platform] = dataclasses.replace(use.get(platform, DiscoveryUse(platform)), watched=looked)

    inventory = {(a.platform, normalise_handle(a.handle)) for a in live}
    # The inventory's accounts by platform id too: a search answers a Bluesky account whose handle
    # no longer verifies by its DID, and a YouTube channel by its id, not by the handle on record.
    own_ids = {(a.platform, a.platform_id) for a in live if a.platform_id}
    own_ids |= {(p.platform, p.platform_id) for p in out.profiles.values() if p.found and p.platform_id}
    for platform in sorted(set(seen) | set(unseen), key=lambda p: p.value):
        profiles = {
            k: v
            for k, v in seen.get(platform, {}).items()
            if (platform, k) not in inventory and not (v.platform_id and (platform, v.platform_id) in own_ids)
        }
        out.claimants.extend(profiles.values())
        handles = [p.handle for p in profiles.values()] + list(unseen.get(platform, []))
        out.candidates.extend(_score(detector, district, platform, handles, profiles, now))
    out.searched = {p for p, done in complete.items() if done}
    out.discovery = [use[p] for p in sorted(use, key=lambda p: p.value)]


def _known_only_by_id(profile: Profile) -> bool:
    """A search hit named by its platform id alone (YouTube's search answers a channel id and a
    title, no handle): the allowlist and the findings need its handle."""
    return profile.found and bool(profile.platform_id) and profile.handle == profile.platform_id


def _by_id(connector: Connector, profile: Profile) -> Profile:
    """The hit looked up by its id (YouTube `channels?id=`, one unit), which names its handle; the
    search's own answer when that lookup fails (it is still scored by its display name)."""
    try:
        full = connector.lookup_by_id(profile.platform_id)
    except Exception:  # NotSupportedError, or a connector bug: keep what the search said
        return profile
    if not full.found or not full.platform_handle:
        return profile
    return dataclasses.replace(full, handle=full.platform_handle)


def _rank(match: Any, platform: Platform) -> tuple[int, int, int]:
    """Which of a candidate's matches names what it imitates: the strongest; on a tie the handle's
    own resemblance over the display name's, then the district's account on the candidate's own
    platform (an X impostor of @naperville203 imitates the X account, not the Facebook page)."""
    by_display = bool(match.reasons) and str(match.reasons[0]).startswith("display name")
    protected = getattr(match, "protected", None)
    same_platform = protected is not None and getattr(protected, "platform", None) is platform
    return (match.score, 0 if by_display else 1, 1 if same_platform else 0)


def _score(
    detector: Detector,
    district: DistrictContext,
    platform: Platform,
    handles: list[str],
    profiles: Mapping[str, Profile],
    now: datetime,
) -> list[ImpersonationCandidate]:

    best: dict[str, Any] = {}
    display_names = {
        h: profile.display_name
        for h in handles
        if (profile := profiles.get(normalise_handle(h))) is not None and profile.display_name
    }
    for match in detector.scan(handles, platform, display_names):
        key = normalise_handle(match.candidate)
        profile = profiles.get(key)
        if profile is not None:
            match = apply_evidence(
                match,
                district,
                bio=profile.bio,
                display_name=profile.display_name,
                links=(profile.website, *profile.links),
                created_at=profile.created_at,
                now=now,
                platform=platform,
            )
        # The strongest reason wins; on a tie the handle's own resemblance (it names the
        # characters) is the better explanation than the display name's.
        if key not in best or _rank(match, platform) > _rank(best[key], platform):
            best[key] = match
    return [
        ImpersonationCandidate.from_match(m, platform, profile=profiles.get(k))
        for k, m in sorted(best.items())
    ]


# --------------------------------------------------------------------------------------------------
# The run


@dataclass(frozen=True)
class AuditOutcome:
    """A finished, stored run and what the CLI needs to report it."""

    run: AuditRun
    result: EvaluationResult
    notes: tuple[str, ...] = ()
    expired_waivers: tuple[Waiver, ...] = ()
    network_used: bool = False
    # How much of the policy's look-alike discovery budget each platform used (stored with the
    # run's notes as `discovery: X: 212 of 400 look-alike probes (9 names), 14 of 25 searches`).
    discovery: tuple[DiscoveryUse, ...] = ()


def new_run_id(started: datetime) -> str:
    return f"run-{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def run_audit(
    registry: Registry,
    options: AuditOptions = AuditOptions(),
    *,
    connector_for: ConnectorFactory | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    store: bool = True,
    deadline: Budget | None = None,
) -> AuditOutcome:
    """Audit the registry's inventory against its stored policy and store the run.

    `connector_for` makes a connector per platform (default: `connector_factory` with registry and
    keyring tokens). `now` is the clock the checks read (UTC). `deadline` bounds the platform
    lookups (see the module docstring); the run is stored whether or not it passed.
    """
    snapshot = read_snapshot(registry)
    if not options.watched:
        options = dataclasses.replace(options, watched=watched_handles(registry))
    started = now or utcnow()
    policy = snapshot.policy
    selected = select_checks(policy, list(options.checks) or None, offline=options.offline)
    if not selected:
        raise UsageError(
            "no check to run" + (" offline" if options.offline else ""),
            "`auditor check list` shows which checks need the network.",
        )
    check_ids = [c.id for c in selected]
    needs_network = not options.offline and any(c.needs_network for c in selected)
    gathered = Gathered()
    if needs_network:
        factory = connector_for or connector_factory(
            policy, token_getter(registry), attestations=RegistryAttestationStore(registry)
        )
        gathered = gather(
            snapshot, options, factory, now=started, check_ids=check_ids, progress=progress, deadline=deadline
        )
    ctx = build_context(snapshot, gathered, started)
    result = gc_paused()(evaluate)(  # bulk: every finding built (auditor/model/gcpause.py)
        ctx,
        selected,
        previous=snapshot.previous,
        waivers=snapshot.waivers,
        offline=options.offline,
        platforms=set(options.platforms) or None,
    )
    notes = list(gathered.notes)
    if snapshot.damaged:
        notes.append(
            f"{len(snapshot.damaged)} record(s) failed their integrity check and were skipped: "
            + ", ".join(sorted(set(snapshot.damaged)))
        )
    run = AuditRun(
        id=new_run_id(started),
        started_at=started,
        finished_at=now or utcnow(),
        identity=snapshot.identity,
        policy=f"{policy.id} ({snapshot.policy_source})" if snapshot.policy_source else policy.id,
        offline=options.offline,
        platforms=tuple(p.value for p in options.platforms),
        checks=result.checks_run,
        accounts_checked=result.accounts_checked,
        profiles_unknown=result.profiles_unknown,
        findings=result.findings,
        errors=result.errors,
    )
    if store:
        with registry.transaction():
            stored_notes = [*notes, *(f"{DISCOVERY_NOTE}{u.line()}" for u in gathered.discovery)]
            _store_run(registry, run, gathered, stored_notes, options, snapshot.previous)
    return AuditOutcome(
        run=run,
        result=result,
        notes=tuple(notes),
        expired_waivers=result.expired_waivers,
        network_used=needs_network,
        discovery=tuple(gathered.discovery),
    )


@gc_paused()  # bulk: every finding encoded
def _store_run(
    registry: Registry,
    run: AuditRun,
    gathered: Gathered,
    notes: list[str],
    options: AuditOptions,
    previous: Sequence[Finding],
) -> None:
    """The run and the ledger after it, together, stored by change (the caller holds the
    transaction; auditor/services/history.py)."""
    store_run(
        registry,
        run,
        gathered.profiles,
        gathered.searched,
        notes,
        {
            "checks": list(options.checks),
            "candidates": len(options.candidates),
            "watched": len(options.watched),
        },
        previous,
    )


def parse_candidates(text: str, origin: str = "candidates file") -> tuple[tuple[Platform, str], ...]:
    """`platform:handle` per line; blank lines and `#` comments are skipped."""

    out: list[tuple[Platform, str]] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        platform_text, sep, handle = line.partition(":")
        try:
            platform = Platform.parse(platform_text)
        except ValueError:
            platform = None
        if not sep or platform is None or not handle.strip().lstrip("@"):
            raise InputError(
                f"{origin} line {n}: expected PLATFORM:HANDLE, e.g. x:naperville203",
                f"Platforms: {', '.join(p.value for p in Platform)}.",
                line=n,
            )
        out.append((platform, handle.strip()))
    return tuple(dict.fromkeys(out))
