"""Escrowed credentials: versioned bundles under the escrow key, metadata under the inventory key.

Every stored version is its own record of kind "credential" (id `"<account id>:v<n>"`), encrypted
under the *escrow* key; nothing is ever overwritten, so `secret history` can list every version
and an administrator can go back to one (issue 3: "Every change keeps the previous version"). Per
account a "credential-meta" record under the *inventory* key holds the `models.CredentialRef`
fields plus a value-free history (version, when, by whom, which fields changed), so audits check
escrow without any access to secrets (docs/escrow.md, "Two key domains").

Storing a version and logging the change happen in one transaction. Storing never closes a
rotation task: a new password in the escrow is not yet a new password on the platform (issue 18;
vault/escrow/rotation.py stages a new credential as pending and closes tasks by proof). Reading a bundle to show it goes through `reveal()`, which commits a reveal-log event
first (vault/revealog.py: fail closed); `_load` is the unlogged read used only to merge a partial
update or mark a recovery code used, where nothing is shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import replace as replace_
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from auditor.model.errors import ConflictError, NotFoundError
from auditor.model.types import CredentialRef, Platform, Secret, display_handle, parse_datetime
from vault.errors import RecordTamperedError, VaultError
from vault.escrow.bundle import KEYS, CredentialBundle
from vault.registry import ESCROW, Registry, utcnow
from vault.revealog import RevealLog
from vault.scopes import ScopeDeniedError, Scopes

if TYPE_CHECKING:  # the readers are imported only by an import
    from vault.escrow.formats.base import OlderPassword

CREDENTIAL = "credential"
CREDENTIAL_META = "credential-meta"


def credential_id(account_id: str, version: int) -> str:
    return f"{account_id}:v{version}"


@dataclass(frozen=True)
class VersionInfo:
    """One stored version, without any value: for `secret history`. `set_at` is when it was
    stored; `dated`, for an imported version, the date the export gives its value (the entry's last
    change, or for action "import-history" the date of that older password in the entry's history)."""

    version: int
    set_at: datetime | None
    set_by: str
    action: str
    fields: tuple[str, ...] = ()
    has_password: bool = False
    has_totp: bool = False
    recovery_codes_unused: int = 0
    recovery_codes_total: int = 0
    dated: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "set_at": self.set_at.isoformat() if self.set_at else None,
            "set_by": self.set_by,
            "action": self.action,
            "fields": list(self.fields),
            "has_password": self.has_password,
            "has_totp": self.has_totp,
            "recovery_codes_unused": self.recovery_codes_unused,
            "recovery_codes_total": self.recovery_codes_total,
            "dated": self.dated.isoformat() if self.dated else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VersionInfo:
        return cls(
            version=int(data["version"]),
            set_at=parse_datetime(data.get("set_at")),
            set_by=str(data.get("set_by", "")),
            action=str(data.get("action", "set")),
            fields=tuple(str(f) for f in data.get("fields") or ()),
            has_password=bool(data.get("has_password")),
            has_totp=bool(data.get("has_totp")),
            recovery_codes_unused=int(data.get("recovery_codes_unused", 0)),
            recovery_codes_total=int(data.get("recovery_codes_total", 0)),
            dated=parse_datetime(data.get("dated")),
        )


@dataclass(frozen=True)
class StoreResult:
    ref: CredentialRef
    from_history: int = 0  # older versions stored first from the export's password history


# The version action of an older password stored from an export's history (logged as "import").
IMPORT_HISTORY = "import-history"


NEW, UNCHANGED, OLDER, ADDS, DIFFERENT = "new", "unchanged", "older", "adds", "different"


@dataclass(frozen=True)
class ImportCheck:
    """How one imported entry compares with the account's escrow (`Escrow.check_import`). Field
    names only, never a value."""

    status: str  # NEW, UNCHANGED, OLDER, ADDS or DIFFERENT
    version: int  # the current version it was compared with (0: nothing escrowed)
    changed: tuple[str, ...] = ()  # fields whose current value it would replace
    added: tuple[str, ...] = ()  # fields the current version lacks
    why: str = ""


def _names(fields: Sequence[str]) -> str:
    words = [f.replace("_", " ").replace("totp", "TOTP key") for f in fields]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def changed_fields(old: CredentialBundle | None, new: CredentialBundle) -> tuple[str, ...]:
    """Names (never values) of the fields that differ between two versions."""
    a = json.loads(old.to_bytes()) if old else {}
    b = json.loads(new.to_bytes())
    return tuple(k for k in KEYS if a.get(k) != b.get(k) and (old is not None or b.get(k)))


class Escrow:
    """Credential escrow on an unlocked registry. Metadata needs the inventory key; values need
    the escrow key (an admin identity, or keys recovered by break-glass)."""

    def __init__(
        self,
        registry: Registry,
        log: RevealLog | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.registry = registry
        self.log = log or RevealLog(registry)
        self.clock = clock
        self.scopes = Scopes(registry)

    # ---- metadata (inventory key) ---------------------------------------------------------------

    def _meta_record(self, account_id: str) -> tuple[dict[str, Any], int]:
        rec = self.registry.get(CREDENTIAL_META, account_id)
        return (dict(rec.data), rec.version) if rec else ({}, 0)

    def ref(self, account_id: str) -> CredentialRef | None:
        data, version = self._meta_record(account_id)
        return CredentialRef.from_dict(data) if version else None

    def refs(self) -> dict[str, CredentialRef]:
        """Every escrowed account's metadata, by account id (what `CheckContext.credentials` takes)."""
        out = {}
        for rec in self.registry.scan(CREDENTIAL_META):
            if isinstance(rec, RecordTamperedError):
                continue
            ref = CredentialRef.from_dict(rec.data)
            out[ref.account_id] = ref
        return out

    def history(self, account_id: str) -> list[VersionInfo]:
        data, version = self._meta_record(account_id)
        if not version:
            raise NotFoundError(
                f"no credential is escrowed for {account_id}", "Store one with `auditor secret set ACCOUNT`."
            )
        return [VersionInfo.from_dict(v) for v in data.get("history", [])]

    def _require(self, account_id: str) -> CredentialRef:
        ref = self.ref(account_id)
        if ref is None or not ref.escrowed:
            raise NotFoundError(
                f"no credential is escrowed for {account_id}", "Store one with `auditor secret set ACCOUNT`."
            )
        return ref

    # ---- values (escrow key) --------------------------------------------------------------------

    def _load(self, account_id: str, version: int | None = None) -> CredentialBundle:
        """Decrypt a version WITHOUT logging. Never show what this returns: use `reveal`."""
        ref = self._require(account_id)
        wanted = version or ref.version
        rec = self.registry.get(CREDENTIAL, credential_id(account_id, wanted), ESCROW)
        if rec is None:
            raise NotFoundError(f"version {wanted} of {account_id}'s credential does not exist")
        bundle = self.scopes.open(CREDENTIAL, rec.id, rec.data)
        return CredentialBundle.from_bytes(json.dumps(bundle).encode())

    def require_scope(self, account_id: str, action: str, reason: str = "") -> str:
        """The account's escrow scope, if the unlocked identity holds it; otherwise the refusal is
        logged (`scope-refused`: who, which account, which scope, what for) and ScopeDeniedError
        raised. The message names the scope, never anything about the credential."""
        name = self.scopes.account_scope(account_id)
        if self.scopes.holds(name):
            return name
        self.registry.even_if_rolled_back(
            lambda: self.log.append(
                "scope-refused",
                account_id=account_id,
                reason=reason,
                details={"scope": name, "wanted": action},
            )
        )  # the refusal stays in the log even when a caller's transaction around it is undone
        ident = self.registry.identity
        raise ScopeDeniedError(
            f"{ident.name if ident else 'this session'!r} may not {action} the credentials of "
            f"{self._account_label(account_id)}: "
            f"they are in the escrow scope {name!r}, which it is not granted",
            "A district administrator can do it, or grant the scope: "
            f"`auditor identity grant NAME --scope {name!r}`. The refusal is in the log.",
            scope=name,
        )

    def _account_label(self, account_id: str) -> str:
        """How a refusal names the account (the inventory key reads it): "X account @lincolnms"."""
        try:
            rec = self.registry.get("account", account_id)
            if rec is not None:
                platform = Platform.parse(str(rec.data["platform"]))
                return f"{platform.label} account {display_handle(platform, str(rec.data['handle']))}"
        except (KeyError, ValueError, VaultError):
            pass
        return account_id

    def reveal(
        self,
        account_id: str,
        reason: str,
        *,
        action: str = "reveal",
        version: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> CredentialBundle:
        """The bundle, only after a reveal event (with the reason) was committed to the log."""
        self.registry.require_escrow("Revealing a credential")
        self.require_scope(account_id, "reveal", reason)
        ref = self._require(account_id)
        if version is not None and not 1 <= version <= ref.version:
            raise NotFoundError(f"version {version} of {account_id}'s credential does not exist")
        extra = {"version": version or ref.version, **dict(details or {})}
        # Read (and check against the authenticated heads) first, so a replayed or deleted version
        # is refused without a reveal event; it is returned only once the event is committed.
        bundle = self._load(account_id, version)
        return self.log.log_then(
            lambda: bundle,
            action,
            account_id=account_id,
            reason=reason,
            details=extra,
        )

    def store(
        self,
        account_id: str,
        update: CredentialBundle,
        *,
        merge: bool = True,
        action: str = "set",
        reason: str = "",
        details: Mapping[str, Any] | None = None,
        dated: datetime | None = None,
        version_action: str = "",
    ) -> StoreResult:
        """Store a new version (merged onto the previous one unless `merge=False`) and log the
        change, in one transaction (the account's rotation task, if any, stays open). `dated`: the date an
        export gives the value (`VersionInfo.dated`); `version_action`: the action `secret history`
        shows, when it is not the logged `action`."""
        ident = self.registry.require_escrow("Storing a credential")
        scope = self.require_scope(account_id, "store", reason)
        now = self.clock()
        with self.registry.transaction():
            data, meta_version = self._meta_record(account_id)
            previous = self._load(account_id) if meta_version and data.get("escrowed") else None
            bundle = previous.merged(update) if (merge and previous is not None) else update
            old = CredentialRef.from_dict(data) if meta_version else CredentialRef(account_id=account_id)
            number = old.version + 1
            cid = credential_id(account_id, number)
            self.registry.put(
                CREDENTIAL,
                cid,
                self.scopes.seal(CREDENTIAL, cid, scope, json.loads(bundle.to_bytes())),
                expected_version=0,
                domain=ESCROW,
            )
            fields = changed_fields(previous, bundle)
            password_changed = previous is not None and previous.password != bundle.password
            rotated_at = now if password_changed else old.rotated_at
            meta = bundle.metadata()
            ref = CredentialRef(
                account_id=account_id,
                escrowed=True,
                version=number,
                set_at=now,
                set_by=ident.name,
                rotated_at=rotated_at,
                **meta,
            )
            info = VersionInfo(
                version=number,
                set_at=now,
                set_by=ident.name,
                action=version_action or action,
                fields=fields,
                has_password=meta["has_password"],
                has_totp=meta["has_totp"],
                recovery_codes_unused=meta["recovery_codes_unused"],
                recovery_codes_total=meta["recovery_codes_total"],
                dated=_utc(dated) if dated is not None else None,
            )
            record = {**ref.to_dict(), "history": [*data.get("history", []), info.to_dict()]}
            self.registry.put(CREDENTIAL_META, account_id, record, expected_version=meta_version)
            self.log.append(
                action,
                account_id=account_id,
                reason=reason,
                details={
                    "version": number,
                    "fields": list(fields),
                    **({"dated": _utc(dated).isoformat()} if dated is not None else {}),
                    **dict(details or {}),
                },
            )
        return StoreResult(ref)

    # ---- imports (issue 13: a credential is never demoted) --------------------------------------

    def check_import(
        self, account_id: str, update: CredentialBundle, *, modified: datetime | None = None
    ) -> ImportCheck:
        """What importing `update` would do to the account's escrow, without writing or showing a
        value (the versions are read unlogged, like a merge). `modified` is when the export last
        changed the entry (Bitwarden `revisionDate`, KeePassXC `Last Modified`), when it says.

        NEW: nothing escrowed yet. UNCHANGED: every field the entry sets is already the current
        version's. OLDER: a value it would change is one an earlier version held, or the entry was
        last modified before the current version was stored; left alone, even with --replace.
        ADDS: it only fills fields the current version lacks. DIFFERENT: it would replace a
        current value with one never escrowed; written only with --replace."""
        ref = self.ref(account_id)
        if ref is None or not ref.escrowed:
            return ImportCheck(NEW, 0)
        current = self._load(account_id)
        given = update.given_fields()
        changed = tuple(k for k in given if getattr(current, k) and not current.covers(update, k))
        added = tuple(k for k in given if not getattr(current, k))
        if not changed and not added:
            return ImportCheck(UNCHANGED, ref.version, why=f"same as the escrowed version {ref.version}")
        for number in range(ref.version - 1, 0, -1):
            earlier = self._load(account_id, number)
            held = [k for k in (*changed, *added) if earlier.covers(update, k)]
            if held:
                return ImportCheck(
                    OLDER,
                    ref.version,
                    changed,
                    added,
                    f"its {_names(held)} {'is' if len(held) == 1 else 'are'} what version {number} held",
                )
        if modified is not None and ref.set_at is not None and _utc(modified) < ref.set_at:
            why = (
                f"the export last changed it on {_utc(modified).date().isoformat()}, before version "
                f"{ref.version} was stored ({ref.set_at.date().isoformat()})"
            )
            if added:
                why += (
                    f"; it also has a {_names(added)} the escrow lacks: store that with `auditor secret set`"
                )
            return ImportCheck(OLDER, ref.version, changed, added, why)
        if not changed:
            return ImportCheck(ADDS, ref.version, (), added, f"adds the {_names(added)}")
        return ImportCheck(
            DIFFERENT,
            ref.version,
            changed,
            added,
            f"its {_names(changed)} differ{'s' if len(changed) == 1 else ''} from the escrowed version "
            f"{ref.version}",
        )

    def store_import(
        self,
        account_id: str,
        update: CredentialBundle,
        *,
        modified: datetime | None = None,
        replace: bool = False,
        expect: ImportCheck | None = None,
        details: Mapping[str, Any] | None = None,
        older: Sequence[OlderPassword] = (),
    ) -> tuple[ImportCheck, StoreResult | None]:
        """Import one entry: check it (as `check_import`) and store a new version if it is NEW,
        ADDS, or DIFFERENT with `replace`; an UNCHANGED or OLDER entry writes nothing. Fields whose
        imported value adds nothing keep the current value, and used recovery codes stay used
        (`CredentialBundle.absorbed`). With `expect` (the check a dry run or plan made), a check that
        came out differently raises ConflictError: the escrow changed since the plan.

        `older`: the entry's dated older passwords, oldest first (`ImportEntry.older`). For a NEW
        entry each is stored first, as its own version (login and password, action
        "import-history", dated), then the entry as the newest; an account with versions already
        escrowed never has its past rewritten, so they are ignored (`StoreResult.from_history`
        says how many were stored)."""
        with self.registry.transaction():
            check = self.check_import(account_id, update, modified=modified)
            if expect is not None and (check.status, check.version) != (expect.status, expect.version):
                raise ConflictError(
                    f"the escrow of {account_id} changed while importing; nothing was imported",
                    "Run the import again.",
                )
            if check.status in (UNCHANGED, OLDER) or (check.status == DIFFERENT and not replace):
                return check, None
            bundle = update if check.status == NEW else self._load(account_id).absorbed(update)
            history = tuple(older) if check.status == NEW else ()
            for item in history:
                self.store(
                    account_id,
                    CredentialBundle.create(login=item.login, password=item.password),
                    merge=False,
                    action="import",
                    details={"import": "history", **dict(details or {})},
                    dated=item.dated,
                    version_action=IMPORT_HISTORY,
                )
            result = self.store(
                account_id,
                bundle,
                merge=False,
                action="import",
                details={"import": check.status, **dict(details or {})},
                dated=modified,
            )
        return check, replace_(result, from_history=len(history))

    def mark_code_used(self, account_id: str, code: Secret) -> StoreResult:
        """Mark one recovery code spent (a new version); the code itself is never logged."""
        self.require_scope(account_id, "update", "use-code")
        current = self._load(account_id)
        updated = current.mark_code_used(code, at=self.clock())
        return self.store(account_id, updated, merge=False, action="code-used")
