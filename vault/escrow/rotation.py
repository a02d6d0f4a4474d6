"""Two-phase rotation: a new credential waits as *pending* until the platform is proved to use it.

Issue 18: storing a password in the escrow is not changing it on the platform, so a rotation task
is closed by proof, item by item (`TaskItem`), never by storing a version:

- `stage` keeps a new credential (from `secret generate` or `secret set --pending`) as the
  account's one "credential-pending" record, under the escrow key. The current version stays
  what `secret show` and `recover` give, for the rollback case. The task (inventory key) names
  the pending fields, never their values, so the audit reports `escrow.rotation_pending`.
- `confirm` checks one item's evidence: the password item makes the pending password current (a
  new version); two-factor needs the current code of the *new* TOTP key, typed by whoever enrolled
  it (a code of the old key is refused as such); recovery codes need a set none of whose codes
  the task's starting version held; the platform-admin and sessions items an administrator's
  attestation with a note. The task closes when every item is confirmed.
- `cancel` discards the pending credential and, unless only that was asked, closes the task as
  cancelled with a reason.

Every step is one transaction with its reveal-log event (values never logged).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime

from auditor.model.errors import UsageError
from auditor.model.types import ItemState, RotationTask, Secret, TaskItem
from vault.escrow import totp as totp_mod
from vault.escrow.bundle import CredentialBundle, normalise_code
from vault.escrow.passwords import PasswordPolicy, generate_password
from vault.escrow.store import Escrow
from vault.registry import ESCROW
from vault.stores import tasks as tasks_mod

PENDING = "credential-pending"

# The checklist item each credential field is evidence for (`TaskItem.field`); the other fields
# (login, notes, recovery e-mail and phone) become current with the first item that makes anything
# current.
_ITEM_FIELDS = {item: item.field for item in TaskItem if item.field}
_CODE_DRIFT = 1  # periods either side of now a typed code may be from (clock skew, slow typing)


@dataclass(frozen=True)
class StageResult:
    task: RotationTask
    created: bool  # the task was opened by this staging
    fields: tuple[str, ...]  # the pending fields now (names only)


@dataclass(frozen=True)
class ConfirmResult:
    task: RotationTask
    item: TaskItem
    evidence: str
    version: int = 0  # the credential version this made current (0: none)

    @property
    def closed(self) -> bool:
        return not self.task.is_open


class Rotation:
    """Staging, confirming and cancelling rotations on an escrow (admins only)."""

    def __init__(self, escrow: Escrow) -> None:
        self.escrow = escrow
        self.registry = escrow.registry

    # ---- the pending credential -----------------------------------------------------------------

    def _pending(self, account_id: str) -> tuple[CredentialBundle | None, int]:
        """The pending bundle WITHOUT logging (never show it: `reveal_pending`) and its record version."""
        rec = self.registry.get(PENDING, account_id, ESCROW)
        if rec is None:
            return None, 0
        bundle = self.escrow.scopes.open(PENDING, account_id, rec.data)
        return CredentialBundle.from_bytes(json.dumps(bundle).encode()), rec.version

    def _put_pending(
        self, account_id: str, bundle: CredentialBundle, task: RotationTask, version: int
    ) -> None:
        if bundle.is_empty:
            if version:
                self.registry.delete(PENDING, account_id)
            return
        scope = self.escrow.scopes.account_scope(account_id)
        data = {
            **self.escrow.scopes.seal(PENDING, account_id, scope, json.loads(bundle.to_bytes())),
            "task_id": task.id,
        }
        self.registry.put(PENDING, account_id, data, expected_version=version, domain=ESCROW)

    def reveal_pending(self, account_id: str, reason: str) -> CredentialBundle:
        """The pending credential to set on the platform, once a reveal event is committed. Its TOTP
        key is left out: two-factor is proved by a code from the platform's enrolment, and a key
        shown here would let anyone make that code without enrolling anything."""
        self.registry.require_escrow("Revealing a pending credential")
        self.escrow.require_scope(account_id, "reveal", reason)
        bundle, _ = self._pending(account_id)
        if bundle is None:
            raise UsageError(
                f"no pending credential for {account_id}",
                "`auditor secret generate ACCOUNT` stages a new password; `auditor secret show` gives the current one.",
            )
        shown = dataclasses.replace(bundle, totp=None)
        return self.escrow.log.log_then(
            lambda: shown, "reveal", account_id=account_id, reason=reason, details={"pending": True}
        )

    def stage(
        self, account_id: str, update: CredentialBundle, *, action: str = "stage", reason: str = ""
    ) -> StageResult:
        """Keep `update` as pending (merged onto what is pending already) for the account's open
        task, opening one for the items it serves when none is open. A field staged again reopens
        its item: that is a second rotation."""
        ident = self.registry.require_escrow("Staging a credential")
        self.escrow.require_scope(account_id, "rotate", action)
        items = tuple(i for i, f in _ITEM_FIELDS.items() if f in update.given_fields())
        if not items:
            raise UsageError(
                "nothing to rotate: a pending credential holds a new password, TOTP key or recovery codes",
                "Store other fields directly with `auditor secret set ACCOUNT`.",
            )
        now = self.escrow.clock()
        with self.registry.transaction():
            task = tasks_mod.open_task_for(self.registry, account_id)
            created = task is None
            if task is None:
                task, _ = tasks_mod.open_task(
                    self.registry,
                    account_id,
                    f"rotation started by {ident.name} ({action})",
                    items=items,
                    opened_by=ident.name,
                    now=now,
                )
            current, version = self._pending(account_id)
            bundle = current.merged(update) if current is not None else update
            self._put_pending(account_id, bundle, task, version)
            task = self._save(
                dataclasses.replace(
                    tasks_mod.with_steps(task, items, reset=True),
                    pending_fields=bundle.given_fields(),
                    pending_since=task.pending_since or now,
                )
            )
            self.escrow.log.append(
                "stage",
                account_id=account_id,
                reason=reason,
                details={"task": task.id, "fields": list(update.given_fields()), "via": action},
            )
        return StageResult(task, created, bundle.given_fields())

    def generate(self, account_id: str, *, length: int = 24, password: Secret | None = None) -> StageResult:
        """A new random password (vault/escrow/passwords.py; or `password`, generated by the caller to
        a platform's rules) staged as pending; nothing is shown."""
        if password is None:
            password = generate_password(PasswordPolicy(length=length))
        return self.stage(account_id, CredentialBundle.create(password=password), action="generate")

    # ---- confirming -----------------------------------------------------------------------------

    def confirm(self, task_id: str, item: TaskItem, *, code: str = "", note: str = "") -> ConfirmResult:
        """Confirm one item with its evidence (see the module doc); raises UsageError saying what
        is missing, with nothing changed."""
        ident = self.registry.require_escrow("Confirming a rotation step")
        now = self.escrow.clock()
        task, _ = tasks_mod.get_task(self.registry, task_id)
        self.escrow.require_scope(task.account_id, "rotate", "confirm")
        with self.registry.transaction():
            task, _ = tasks_mod.get_task(self.registry, task_id)
            if not task.is_open:
                raise UsageError(
                    f"task {task.id} is {task.status}", "`auditor task list` shows the open ones."
                )
            state = task.state(item)
            if state is None:
                raise UsageError(
                    f"task {task.id} has no {item.value} item",
                    "Its checklist: " + ", ".join(s.item.value for s in task.items) + ".",
                )
            if state.done:
                raise UsageError(
                    f"{item.value} of task {task.id} was confirmed on {state.confirmed_at:%Y-%m-%d}"
                )
            version = 0
            if item.attested:
                if not note.strip():
                    raise UsageError(
                        f"{item.value} is confirmed by your attestation: say what you did with --note",
                        f'For example: --note "{_ATTEST_EXAMPLE[item]}"',
                    )
                evidence = f"attested: {note.strip()}"
            else:
                evidence, version = self._prove(task, item, code)
            states = tuple(
                ItemState(item, now, ident.name, evidence) if s.item is item else s for s in task.items
            )
            task = dataclasses.replace(task, items=states)
            pending, pversion = self._pending(task.account_id)
            if not task.outstanding:
                if pending is not None:  # fields no item covers: current with the task's end
                    version = self._promote(task, pending, pending.given_fields()) or version
                    self._put_pending(task.account_id, CredentialBundle(), task, pversion)
                ref = self.escrow.ref(task.account_id)
                task = dataclasses.replace(
                    task,
                    closed_at=now,
                    closed_by_version=ref.version if ref else 0,
                    pending_fields=(),
                    pending_since=None,
                )
            else:
                fields = pending.given_fields() if pending is not None else ()
                task = dataclasses.replace(
                    task, pending_fields=fields, pending_since=task.pending_since if fields else None
                )
            task = self._save(task)
            self.escrow.log.append(
                "task-confirm",
                account_id=task.account_id,
                details={
                    "task": task.id,
                    "item": item.value,
                    "evidence": evidence,
                    "version": version,
                    "closed": not task.is_open,
                },
            )
        return ConfirmResult(task, item, evidence, version)

    def _prove(self, task: RotationTask, item: TaskItem, code: str) -> tuple[str, int]:
        """(evidence, version made current) for an escrow item, or UsageError."""
        account_id = task.account_id
        pending, pversion = self._pending(account_id)
        ref = self.escrow.ref(account_id)
        current = self.escrow._load(account_id) if ref is not None and ref.escrowed else None
        old = (
            self.escrow._load(account_id, task.opened_version)
            if task.opened_version and ref is not None and ref.version >= task.opened_version
            else None
        )
        newer = current is not None and ref is not None and ref.version > task.opened_version
        key = _ITEM_FIELDS[item]
        staged = pending is not None and key in pending.given_fields()
        candidate = pending if staged else current if newer else None
        if candidate is None or key not in candidate.given_fields():
            raise UsageError(f"there is no new {_WHAT[item]} to confirm for task {task.id}", _HOW[item])
        if old is not None and old.covers(candidate, key) and item is not TaskItem.RECOVERY_CODES:
            raise UsageError(
                f"the {'pending' if staged else 'current'} {_WHAT[item]} is the one the task started with "
                f"(version {task.opened_version})",
                _HOW[item],
            )
        if item is TaskItem.RECOVERY_CODES and old is not None:
            before = {normalise_code(c.code.reveal_str()) for c in old.recovery_codes}
            if any(normalise_code(c.code.reveal_str()) in before for c in candidate.recovery_codes):
                raise UsageError(
                    "some of these recovery codes are ones the task started with: the old set still works",
                    "Regenerate the codes on the platform (that voids the old set) and store the new set.",
                )
        if item is TaskItem.TOTP:
            self._check_code(candidate, old, code)
        version = self._promote(task, candidate, (key,)) if staged else 0
        if staged:
            assert pending is not None
            rest = _without(pending, (key,))
            self._put_pending(account_id, rest, task, pversion)
        shown = version or (ref.version if ref else 0)
        return _EVIDENCE[item].format(version=shown, n=len(candidate.recovery_codes)), version

    def _check_code(self, new: CredentialBundle, old: CredentialBundle | None, code: str) -> None:
        typed = "".join(code.split())
        if not typed:
            raise UsageError(
                "type the code your authenticator app shows for the NEW key",
                "It proves two-factor was re-enrolled with the key the district holds.",
            )
        otp = new.otp()
        assert otp is not None
        if otp.type != "totp":
            raise UsageError(
                "the new key is counter-based (HOTP): no code can be checked against the time",
                "Re-enrol two-factor with a time-based (TOTP) authenticator and stage that key.",
            )
        now = self.escrow.clock()
        if _matches(otp, typed, now):
            return
        old_otp = old.otp() if old is not None and old.totp else None
        if old_otp is not None and old_otp.type == "totp" and _matches(old_otp, typed, now):
            raise UsageError(
                "that code is from the OLD TOTP key: two-factor was not re-enrolled; nothing was confirmed",
                "Remove the old authenticator on the platform, enrol the new key, and type its code.",
            )
        raise UsageError(
            "that code does not match the new TOTP key; nothing was confirmed",
            "Check the authenticator entry is the new one and this machine's clock is right, then try again.",
        )

    def _promote(self, task: RotationTask, source: CredentialBundle, keys: tuple[str, ...]) -> int:
        """Make `keys` of `source`, and its fields no item covers, current: a new version."""
        loose = tuple(k for k in source.given_fields() if k not in _ITEM_FIELDS.values())
        update = _only(source, (*keys, *loose))
        if update.is_empty:
            return 0
        result = self.escrow.store(
            task.account_id,
            update,
            action="rotate",
            details={"task": task.id, "confirmed": list(keys)},
        )
        return result.ref.version

    # ---- cancelling -----------------------------------------------------------------------------

    def cancel(self, task_id: str, reason: str, *, pending_only: bool = False) -> RotationTask:
        """Discard the task's pending credential (the current one is untouched: a rollback) and,
        unless `pending_only`, close the task as cancelled with `reason`."""
        ident = self.registry.require_escrow("Cancelling a rotation")
        if not reason.strip():
            raise UsageError(
                "--reason must say why", 'For example: --reason "opened by mistake; ticket 4522"'
            )
        self.escrow.require_scope(tasks_mod.get_task(self.registry, task_id)[0].account_id, "rotate", reason)
        now = self.escrow.clock()
        with self.registry.transaction():
            task, _ = tasks_mod.get_task(self.registry, task_id)
            if not task.is_open:
                raise UsageError(f"task {task.id} is {task.status}")
            pending, pversion = self._pending(task.account_id)
            discarded = pending.given_fields() if pending is not None else ()
            if pending_only and pending is None:
                raise UsageError(f"task {task.id} has no pending credential to discard")
            self._put_pending(task.account_id, CredentialBundle(), task, pversion)
            # A staged field's step is open (staging reopens it; confirming it unstages the field),
            # so discarding the staged values leaves every step as it is.
            task = dataclasses.replace(task, pending_fields=(), pending_since=None)
            if not pending_only:
                task = dataclasses.replace(
                    task, closed_at=now, cancelled_by=ident.name, cancel_reason=reason.strip()
                )
            task = self._save(task)
            self.escrow.log.append(
                "task-cancel",
                account_id=task.account_id,
                reason=reason.strip(),
                details={"task": task.id, "discarded": list(discarded), "closed": not task.is_open},
            )
        return task

    def _save(self, task: RotationTask) -> RotationTask:
        _, version = tasks_mod.get_task(self.registry, task.id)
        tasks_mod.save(self.registry, task, version)
        return task


def _matches(otp: totp_mod.OtpAuth, typed: str, at: datetime) -> bool:
    ts = int(at.timestamp())
    return any(
        totp_mod.totp(
            otp.key, ts + step * otp.period, digits=otp.digits, period=otp.period, algorithm=otp.algorithm
        )
        == typed
        for step in range(-_CODE_DRIFT, _CODE_DRIFT + 1)
    )


def _only(bundle: CredentialBundle, keys: tuple[str, ...]) -> CredentialBundle:
    empty = CredentialBundle()
    return CredentialBundle(**{k: getattr(bundle if k in keys else empty, k) for k in _FIELDS})


def _without(bundle: CredentialBundle, keys: tuple[str, ...]) -> CredentialBundle:
    return _only(bundle, tuple(k for k in _FIELDS if k not in keys))


_FIELDS = tuple(f.name for f in dataclasses.fields(CredentialBundle))
_WHAT = {
    TaskItem.PASSWORD: "password",
    TaskItem.TOTP: "TOTP key",
    TaskItem.RECOVERY_CODES: "set of recovery codes",
}
_HOW = {
    TaskItem.PASSWORD: "Stage one with `auditor secret generate ACCOUNT`, set it on the platform, then confirm; "
    "a password you already changed there: `auditor secret set ACCOUNT --pending`.",
    TaskItem.TOTP: "Re-enrol two-factor on the platform and stage the new key (otpauth:// URI or base32 seed) "
    "with `auditor secret set ACCOUNT --pending`, then confirm with the code the app shows.",
    TaskItem.RECOVERY_CODES: "Regenerate the recovery codes on the platform and stage the new set with "
    "`auditor secret set ACCOUNT --pending`.",
}
_EVIDENCE = {
    TaskItem.PASSWORD: "the new password is credential version {version}",
    TaskItem.TOTP: "a current code of the new TOTP key (credential version {version})",
    TaskItem.RECOVERY_CODES: "{n} new recovery codes (credential version {version})",
}
_ATTEST_EXAMPLE = {
    TaskItem.PLATFORM_ADMINS: "removed jdoe from Page access; ticket 4521",
    TaskItem.SESSIONS: "signed out all other sessions in Settings > Security",
}
