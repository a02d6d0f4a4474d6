"""Escrowed credentials: versions kept, metadata under the inventory key, tasks, export formats."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from auditor.model.errors import UsageError
from auditor.model.types import CHECKLIST, Account, Platform, Role, Secret, TaskItem
from vault.errors import AccessDeniedError
from vault.escrow import exportfile
from vault.escrow.bundle import CredentialBundle, parse_input
from vault.escrow.rotation import PENDING, Rotation
from vault.escrow.store import CREDENTIAL, Escrow
from vault.registry import ESCROW, Registry
from vault.rekey import add_identity
from vault.revealog import RevealLog
from vault.stores.inventory import Inventory
from vault.stores.tasks import all_tasks, open_task, open_tasks

SEED = "JBSWY3DPEHPK3PXPJBSWY3DP"
AUDITOR_PASS = "nightly audit passphrase"


def _account(reg: Registry, handle: str = "lincolnhs") -> Account:
    return Inventory(reg).add_account(Account(id="", platform=Platform.X, handle=handle))


def test_versions_are_kept_and_merged(make_registry: Callable[..., Registry]) -> None:
    reg = make_registry()
    acct = _account(reg)
    escrow = Escrow(reg)
    escrow.store(acct.id, parse_input(f"login=lhs\npassword=first-pass\ntotp={SEED}\nrecovery_codes=a1, b2"))
    result = escrow.store(acct.id, parse_input("password=second-pass"))
    assert result.ref.version == 2 and result.ref.has_totp and result.ref.recovery_codes_unused == 2
    assert result.ref.rotated_at is not None and result.ref.set_by == "admin"
    latest = escrow.reveal(acct.id, "checking the merge")
    assert latest.login == "lhs" and latest.password == Secret("second-pass") and latest.totp
    first = escrow.reveal(acct.id, "old version", version=1)
    assert first.password == Secret("first-pass")
    history = escrow.history(acct.id)
    assert [(v.version, v.action, v.fields) for v in history] == [
        (1, "set", ("login", "password", "totp", "recovery_codes")),
        (2, "set", ("password",)),
    ]
    assert {r.id for r in reg.scan(CREDENTIAL, "escrow")} == {f"{acct.id}:v1", f"{acct.id}:v2"}  # type: ignore[union-attr]
    actions = [(e.action, e.reason) for e in RevealLog(reg).events()]
    assert actions == [("set", ""), ("set", ""), ("reveal", "checking the merge"), ("reveal", "old version")]


def test_metadata_is_visible_to_an_auditor_but_values_are_not(
    make_registry: Callable[..., Registry], reopen: Callable[..., Registry]
) -> None:
    reg = make_registry()
    add_identity(reg, "nightly", Role.AUDITOR, Secret(AUDITOR_PASS), kdf_profile="floor")
    acct = _account(reg)
    Escrow(reg).store(acct.id, parse_input("password=pw-value-1\nrecovery_codes=c1, c2, c3"))
    auditor = reopen("nightly", AUDITOR_PASS)
    refs = Escrow(auditor).refs()
    assert refs[acct.id].escrowed and refs[acct.id].recovery_codes_total == 3 and not refs[acct.id].has_totp
    with pytest.raises(AccessDeniedError):
        Escrow(auditor).reveal(acct.id, "curious")
    assert [e.action for e in RevealLog(auditor).events()] == ["identity-add", "set"]


def test_storing_never_closes_a_task_and_a_pending_password_is_current_only_once_confirmed(
    make_registry: Callable[..., Registry],
) -> None:
    reg = make_registry()
    acct = _account(reg)
    escrow = Escrow(reg)
    escrow.store(acct.id, parse_input("password=pw1\nrecovery_codes=aaaa-1111, bbbb-2222"))
    task, created = open_task(reg, acct.id, "owner left")
    assert created and open_task(reg, acct.id, "identity removed")[1] is False
    assert task.opened_version == 1
    assert [s.item for s in task.items] == [TaskItem.PASSWORD, TaskItem.RECOVERY_CODES, *CHECKLIST[3:]]
    ref = escrow.mark_code_used(acct.id, Secret("AAAA 1111")).ref
    assert ref.recovery_codes_unused == 1 and [t.id for t in open_tasks(reg)] == [task.id]
    escrow.store(acct.id, parse_input("notes=moved to the office safe"))
    assert [t.id for t in open_tasks(reg)] == [task.id]

    rotation = Rotation(escrow)
    staged = rotation.generate(acct.id, length=30)
    assert staged.task.id == task.id and not staged.created and staged.fields == ("password",)
    assert escrow._load(acct.id).password == Secret("pw1")  # still current: the rollback case
    pending = rotation.reveal_pending(acct.id, "typing it on the platform")
    assert pending.password is not None and len(pending.password.reveal_str()) == 30
    result = rotation.confirm(task.id, TaskItem.PASSWORD)
    assert result.version == 4 and escrow._load(acct.id).password == pending.password
    assert result.task.is_open and result.task.reason == "owner left; identity removed"
    with pytest.raises(UsageError, match="was confirmed"):
        rotation.confirm(task.id, TaskItem.PASSWORD)
    rotation.stage(acct.id, parse_input("recovery_codes=cccc-3333, dddd-4444"))
    rotation.confirm(task.id, TaskItem.RECOVERY_CODES)
    rotation.confirm(task.id, TaskItem.PLATFORM_ADMINS, note="removed from Page access")
    done = rotation.confirm(task.id, TaskItem.SESSIONS, note="signed out everywhere")
    assert done.closed and open_tasks(reg) == [] and done.task.closed_by_version == 5
    assert reg.get(PENDING, acct.id, ESCROW) is None
    actions = [e.action for e in RevealLog(reg).events()]
    assert actions.count("task-confirm") == 4 and actions.count("stage") == 2


def test_a_task_stored_before_checklists_reads_with_its_kinds_as_steps(
    make_registry: Callable[..., Registry],
) -> None:
    reg = make_registry()
    acct = _account(reg)
    opened = "2026-03-01T09:00:00+00:00"
    old = {
        "id": "t_old",
        "account_id": acct.id,
        "reason": "left",
        "opened_at": opened,
        "kinds": ["rotate_password", "reenrol_totp", "remove_platform_admin"],
    }
    reg.put("rotation-task", "t_old", old, expected_version=0)
    closed = {**old, "id": "t_closed", "closed_at": "2026-03-05T09:00:00+00:00", "closed_by_version": 2}
    reg.put("rotation-task", "t_closed", closed, expected_version=0)
    tasks = {t.id: t for t in all_tasks(reg)}
    assert tasks["t_old"].outstanding == (TaskItem.PASSWORD, TaskItem.TOTP, TaskItem.PLATFORM_ADMINS)
    assert tasks["t_closed"].status == "done" and tasks["t_closed"].outstanding == ()
    assert tasks["t_closed"].items[0].evidence == "credential version 2"
    assert [t.id for t in open_tasks(reg)] == ["t_old"]


def test_age_export_round_trip_and_wrong_identity() -> None:
    identity, recipient = exportfile.age_keypair()
    assert recipient.startswith("age1") and identity.reveal_str().startswith("AGE-SECRET-KEY-1")
    data = exportfile.age_encrypt(b"x" * 70_000, [recipient])
    assert data.startswith(b"age-encryption.org/v1\n-> X25519 ")
    assert exportfile.age_decrypt(data, identity) == b"x" * 70_000
    other, _ = exportfile.age_keypair()
    with pytest.raises(exportfile.ExportFormatError, match="not encrypted to the given identity"):
        exportfile.age_decrypt(data, other)
    tampered = data[:-1] + bytes([data[-1] ^ 1])
    with pytest.raises(exportfile.ExportFormatError, match="altered"):
        exportfile.age_decrypt(tampered, identity)
    with pytest.raises(exportfile.ExportFormatError, match="checksum"):
        exportfile.parse_recipient(recipient[:-1] + ("q" if recipient[-1] != "q" else "p"))


def test_age_export_interoperates_with_rage() -> None:
    """The Rust age implementation (pyrage) reads our files and we read its files."""
    pyrage = pytest.importorskip("pyrage")
    identity, recipient = exportfile.age_keypair()
    ident = pyrage.x25519.Identity.from_str(identity.reveal_str())
    assert str(ident.to_public()) == recipient
    assert pyrage.decrypt(exportfile.age_encrypt(b"hello", [recipient]), [ident]) == b"hello"
    theirs = pyrage.encrypt(b"y" * 65_537, [pyrage.x25519.Recipient.from_str(recipient)])
    assert exportfile.age_decrypt(theirs, identity) == b"y" * 65_537


def test_passphrase_export_round_trip() -> None:
    data = exportfile.passphrase_encrypt(b'{"a": 1}', Secret("export passphrase 1"), kdf_profile="floor")
    assert data.startswith(b"auditor-export/v1\n") and b'"a"' not in data
    assert exportfile.passphrase_decrypt(data, Secret("export passphrase 1")) == b'{"a": 1}'
    with pytest.raises(exportfile.ExportFormatError, match="wrong passphrase"):
        exportfile.passphrase_decrypt(data, Secret("export passphrase 2"))
    header_edit = data.replace(b'"AES-256-GCM"', b'"AES-256-GCX"')
    with pytest.raises(exportfile.ExportFormatError, match="wrong passphrase, or the file was altered"):
        exportfile.passphrase_decrypt(header_edit, Secret("export passphrase 1"))


def test_bundle_round_trips_through_the_export_document(
    make_registry: Callable[..., Registry], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from auditor.services.escrow import export_credentials, read_own_export

    reg = make_registry()
    acct = _account(reg)
    original = CredentialBundle.create(password="pw-exp", totp=SEED, recovery_codes=["q1", "q2"])
    Escrow(reg).store(acct.id, original)
    out = tmp_path / "handover.aex"
    export_credentials(
        reg, out, reason="handover", passphrase=Secret("a long passphrase"), kdf_profile="floor"
    )
    plain = exportfile.passphrase_decrypt(out.read_bytes(), Secret("a long passphrase"))
    [(account_id, bundle)] = read_own_export(plain)
    assert account_id == acct.id and bundle.to_bytes() == original.to_bytes()
    assert [(e.action, e.reason) for e in RevealLog(reg).events()][-1] == ("export", "handover")
