"""Password history in exports (issue 16): the formats that date it (Bitwarden JSON, 1Password 1PUX,
KeePass 2 XML, a .kdbx) give the import their distinct older passwords, oldest first, as Secrets;
an account with nothing escrowed yet gets them as older versions (oldest = version 1, the entry
itself the newest), each dated by the export and revealable like any version (logged); an account
that already has versions keeps its past as it is."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.model.types import Account, Platform, Secret
from tests.vault import export_writers as w
from tests.vault.test_export_formats import CANARY, canary_row
from vault.escrow import formats
from vault.escrow.bundle import CredentialBundle
from vault.escrow.formats.base import ImportEntry
from vault.escrow.store import IMPORT_HISTORY, NEW, UNCHANGED, Escrow
from vault.registry import Registry
from vault.revealog import RevealLog
from vault.stores.inventory import Inventory

History = Sequence[tuple[str, datetime | None]]
JAN = datetime(2024, 1, 10, 8, 0, tzinfo=UTC)
MAR = datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
JUN = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
OLD_1 = "Older-one\\with\nbreak"  # a line break in an older password is kept too
OLD_2 = "Older-two-ü€"
# (password, date) as the export lists them: out of order, one repeated, the newest equal to the
# current password (KeePass saves a snapshot for every edit, most with the password unchanged).
HISTORY = [(OLD_2, MAR), (OLD_1, JAN), (OLD_2, datetime(2024, 4, 1, tzinfo=UTC)), (CANARY, JUN)]
EXPECTED = [(Secret(OLD_1), JAN), (Secret(OLD_2), MAR)]


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def bitwarden(history: History) -> bytes:
    doc: dict[str, Any] = w.bitwarden_doc([canary_row()])
    doc["items"][0]["passwordHistory"] = [
        {"lastUsedDate": _iso(at) if at else None, "password": pw} for pw, at in history
    ]
    return json.dumps(doc, ensure_ascii=False).encode()


def onepux(history: History) -> bytes:
    with zipfile.ZipFile(io.BytesIO(w.onepassword_1pux([canary_row()]))) as z:
        members = {n: z.read(n) for n in z.namelist()}
    data = json.loads(members["export.data"])
    item = data["accounts"][0]["vaults"][0]["items"][0]
    item["details"]["passwordHistory"] = [
        {"value": pw, "time": int(at.timestamp()) if at else 0} for pw, at in history
    ]
    members["export.data"] = json.dumps(data, ensure_ascii=False).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, body in members.items():
            z.writestr(name, body)
    return buf.getvalue()


def keepass_xml(history: History) -> bytes:
    from xml.sax.saxutils import escape

    snapshots = "".join(
        "<Entry><UUID>ZW50cnkwMDAxAAAAAAAAAA==</UUID>"
        f"<Times><LastModificationTime>{at.strftime('%Y-%m-%dT%H:%M:%SZ') if at else ''}"
        "</LastModificationTime></Times>"
        "<String><Key>Title</Key><Value>NNHS Instagram</Value></String>"
        "<String><Key>UserName</Key><Value>nnhs_ath</Value></String>"
        f"<String><Key>Password</Key><Value>{escape(pw)}</Value></String></Entry>"
        for pw, at in history
    )
    xml = w.keepass_xml([canary_row()]).decode()
    first_end = xml.index("</Entry>")
    return (xml[:first_end] + f"<History>{snapshots}</History>" + xml[first_end:]).encode()


def kdbx(history: History, path: Path) -> bytes:
    from pykeepass import create_database

    row = canary_row()
    db = create_database(str(path), password="kdbx-pw")
    entry = db.add_entry(db.root_group, row.title, row.username, "placeholder", url=row.url)
    for pw, at in sorted(history, key=lambda h: h[1] or JAN):
        entry.password = pw
        entry.mtime = at
        entry.save_history()
    entry.password = row.password
    db.save()
    return path.read_bytes()


Reader = Callable[[History, Path], formats.ParseResult]
DATED: dict[str, Reader] = {
    "Bitwarden JSON": lambda h, _p: formats.read(bitwarden(h)),
    "1Password 1PUX": lambda h, _p: formats.read(onepux(h)),
    "KeePass 2 XML": lambda h, _p: formats.read(keepass_xml(h)),
    "KeePass database (.kdbx)": lambda h, p: formats.read(
        kdbx(h, p / "h.kdbx"), lambda _q: Secret("kdbx-pw")
    ),
}


@pytest.mark.parametrize("fmt", list(DATED))
def test_dated_history_is_kept_oldest_first_distinct_and_secret(fmt: str, tmp_path: Path) -> None:
    read: Reader = DATED[fmt]
    [entry] = read(HISTORY, tmp_path).entries
    assert entry.history == 4  # every item counted, as reported
    assert [(o.password, o.dated) for o in entry.older] == EXPECTED
    assert entry.older[0].password.reveal_str().encode() == OLD_1.encode()  # byte-exact
    assert all(o.login == "nnhs_ath" for o in entry.older)
    assert OLD_1 not in repr(entry) and OLD_2 not in repr(entry.older)


@pytest.mark.parametrize("fmt", ["Bitwarden JSON", "1Password 1PUX"])
def test_undated_history_is_counted_but_not_kept(fmt: str, tmp_path: Path) -> None:
    [entry] = DATED[fmt]([(OLD_1, None), (OLD_2, MAR)], tmp_path).entries
    assert entry.history == 2 and [o.password for o in entry.older] == [Secret(OLD_2)]


def test_keepass_csv_has_no_history_to_keep() -> None:
    [entry] = formats.read(w.keepass2_csv([canary_row()])).entries
    assert (entry.history, entry.older) == (0, ())


# --------------------------------------------------------------------------------------------------
# Stored as older versions


def _entry() -> ImportEntry:
    [entry] = formats.read(bitwarden(HISTORY)).entries
    return entry


def _account(reg: Registry) -> Account:
    return Inventory(reg).add_account(Account(id="", platform=Platform.INSTAGRAM, handle="nnhs_athletics"))


def test_an_account_with_nothing_escrowed_gets_the_history_as_older_versions(
    make_registry: Callable[..., Registry],
) -> None:
    reg = make_registry()
    acct = _account(reg)
    escrow = Escrow(reg)
    entry = _entry()
    check, result = escrow.store_import(acct.id, entry.bundle, modified=entry.modified, older=entry.older)
    assert check.status == NEW and result is not None
    assert (result.ref.version, result.from_history) == (3, 2)
    history = escrow.history(acct.id)
    assert [(v.version, v.action, v.dated) for v in history] == [
        (1, IMPORT_HISTORY, JAN),
        (2, IMPORT_HISTORY, MAR),
        (3, "import", entry.modified),
    ]
    assert history[0].to_dict()["dated"] == JAN.isoformat() and history[0].set_at is not None
    assert escrow.reveal(acct.id, "which was it in January?", version=1).password == Secret(OLD_1)
    assert escrow.reveal(acct.id, "and in March?", version=2).password == Secret(OLD_2)
    current = escrow.reveal(acct.id, "current")
    assert current.password == Secret(CANARY) and current.totp is not None
    old = escrow.reveal(acct.id, "the old login", version=1)
    assert old.login == "nnhs_ath" and old.totp is None  # only what the history held
    events = [(e.action, e.reason, e.details.get("version")) for e in RevealLog(reg).events()]
    assert events[-4:] == [
        ("reveal", "which was it in January?", 1),
        ("reveal", "and in March?", 2),
        ("reveal", "current", 3),
        ("reveal", "the old login", 1),
    ]
    imports = [e.details for e in RevealLog(reg).events() if e.action == "import"]
    assert [d.get("import") for d in imports] == ["history", "history", NEW]
    assert imports[0]["dated"] == JAN.isoformat()
    log_text = json.dumps([e.details for e in RevealLog(reg).events()])
    assert OLD_1 not in log_text and OLD_2 not in log_text
    # Importing the same file again: the entry is unchanged, and no version is added.
    again, nothing = escrow.store_import(acct.id, entry.bundle, modified=entry.modified, older=entry.older)
    assert again.status == UNCHANGED and nothing is None and len(escrow.history(acct.id)) == 3


def test_an_escrowed_account_keeps_its_past(make_registry: Callable[..., Registry]) -> None:
    reg = make_registry()
    acct = _account(reg)
    escrow = Escrow(reg)
    escrow.store(acct.id, CredentialBundle.create(password="set-by-hand-1"))
    entry = _entry()
    check, result = escrow.store_import(acct.id, entry.bundle, replace=True, older=entry.older)
    assert result is not None and result.from_history == 0 and result.ref.version == 2
    assert [v.action for v in escrow.history(acct.id)] == ["set", "import"]
    assert escrow.reveal(acct.id, "first", version=1).password == Secret("set-by-hand-1")
    assert check.status != NEW
