"""Issue 18, repeated use: rotations in any order (stage, confirm, roll back, store directly, spend
a code, open a second reason) never change a credential field except by the step that names it,
and a task closes only when every step is confirmed (a hypothesis state machine on a real SQLite
registry)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyotp
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from auditor.model.errors import UsageError
from auditor.model.types import Account, Platform, Secret, TaskItem
from vault.backends.sqlite import SQLiteBackend
from vault.escrow.bundle import CredentialBundle, parse_input
from vault.escrow.rotation import Rotation
from vault.escrow.store import Escrow
from vault.registry import Registry
from vault.stores.inventory import Inventory
from vault.stores.tasks import get_task, open_task, open_tasks

SEEDS = (
    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE4ZT",
    "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU",
)


def _seed(bundle: CredentialBundle) -> str:
    otp = bundle.otp()
    return otp.base32.reveal_str() if otp else ""


def _codes(bundle: CredentialBundle) -> tuple[str, ...]:
    return tuple(c.code.reveal_str() for c in bundle.unused_codes)


class Rotations(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        backend = SQLiteBackend(str(Path(self.dir.name) / "registry.db"))
        self.reg = Registry.create(backend, "admin", Secret("machine admin passphrase"), kdf_profile="floor")
        self.account = Inventory(self.reg).add_account(
            Account(id="", platform=Platform.X, handle="lincolnhs")
        )
        self.escrow = Escrow(self.reg)
        self.rotation = Rotation(self.escrow)
        self.escrow.store(
            self.account.id,
            parse_input(f"login=lhs\npassword=pw-0\ntotp={SEEDS[0]}\nrecovery_codes=c0-a, c0-b"),
        )
        self.task, _ = open_task(self.reg, self.account.id, "owner left")
        self.n = 0
        # What the current credential must be: changed only by the steps below.
        self.expect = {"password": "pw-0", "totp": SEEDS[0], "codes": ("c0-a", "c0-b"), "login": "lhs"}
        self.pending: dict[str, object] = {}

    def teardown(self) -> None:
        self.reg.close()
        self.dir.cleanup()

    def _current(self) -> CredentialBundle:
        return self.escrow._load(self.account.id)

    def _open(self) -> bool:
        return get_task(self.reg, self.task.id)[0].is_open

    # ---- staging --------------------------------------------------------------------------------

    @precondition(lambda self: self._open())
    @rule()
    def generate(self) -> None:
        staged = self.rotation.generate(self.account.id, length=16)
        assert staged.task.id == self.task.id
        shown = self.rotation.reveal_pending(self.account.id, "machine")
        assert shown.password is not None
        self.pending["password"] = shown.password.reveal_str()

    @precondition(lambda self: self._open())
    @rule(seed=st.sampled_from(SEEDS[1:]))
    def stage_totp(self, seed: str) -> None:
        self.rotation.stage(self.account.id, parse_input(f"totp={seed}"))
        self.pending["totp"] = seed

    @precondition(lambda self: self._open())
    @rule()
    def stage_codes(self) -> None:
        self.n += 1
        codes = (f"n{self.n}-a", f"n{self.n}-b")
        self.rotation.stage(self.account.id, parse_input("recovery_codes=" + ", ".join(codes)))
        self.pending["codes"] = codes

    # ---- confirming -----------------------------------------------------------------------------

    @precondition(lambda self: self._open())
    @rule(item=st.sampled_from(list(TaskItem)))
    def confirm(self, item: TaskItem) -> None:
        task = get_task(self.reg, self.task.id)[0]
        state = task.state(item)
        before = self._current()
        code = ""
        if item is TaskItem.TOTP and "totp" in self.pending:
            code = pyotp.TOTP(str(self.pending["totp"])).now()
        try:
            self.rotation.confirm(task.id, item, code=code, note="done" if item.attested else "")
        except UsageError:
            assert self._current() == before  # a refused step changes nothing
            return
        assert state is not None and not state.done
        key = {TaskItem.PASSWORD: "password", TaskItem.TOTP: "totp", TaskItem.RECOVERY_CODES: "codes"}.get(
            item
        )
        if key in self.pending:
            self.expect[key] = self.pending.pop(key)  # type: ignore[assignment]

    @precondition(lambda self: self._open())
    @rule()
    def roll_back(self) -> None:
        try:
            self.rotation.cancel(self.task.id, "the platform refused it", pending_only=True)
        except UsageError:
            assert not self.pending
            return
        self.pending.clear()

    # ---- other commands on the same account -----------------------------------------------------

    @rule()
    def spend_a_code(self) -> None:
        codes = self.expect["codes"]
        if codes:
            self.escrow.mark_code_used(self.account.id, Secret(codes[0]))  # type: ignore[index]
            self.expect["codes"] = codes[1:]  # type: ignore[index]

    @rule()
    def store_notes(self) -> None:
        self.escrow.store(self.account.id, parse_input("notes=kept in the office safe"))

    @rule()
    def second_reason(self) -> None:
        task, created = open_task(self.reg, self.account.id, "identity removed")
        if created:  # the first task was done: this is the account's next rotation
            self.task, self.pending = task, {}

    # ---- invariants -----------------------------------------------------------------------------

    @invariant()
    def fields_change_only_by_their_step(self) -> None:
        current = self._current()
        assert current.password == Secret(self.expect["password"])
        assert _seed(current) == self.expect["totp"]
        assert _codes(current) == self.expect["codes"]
        assert current.login == self.expect["login"]

    @invariant()
    def a_task_is_done_only_when_every_step_is_confirmed(self) -> None:
        task = get_task(self.reg, self.task.id)[0]
        assert task.is_open == bool(task.outstanding)
        assert [t.id for t in open_tasks(self.reg)] == ([task.id] if task.is_open else [])
        assert set(task.pending_fields) == {
            {"password": "password", "totp": "totp", "codes": "recovery_codes"}[k] for k in self.pending
        }


Rotations.TestCase.settings = settings(
    max_examples=25, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_rotations_in_any_order = Rotations.TestCase
