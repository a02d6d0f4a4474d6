"""The stale-lock rule (issue 11): an audit lock whose holder is gone is taken over with a message
instead of every later scheduled run exiting 75, while a live holder still gives 75. Each case uses a
real second process holding the lock through `auditor.services.runlock.audit_lock`, killed with SIGKILL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.services.runlock import AuditLockedError, audit_lock
from tests.e2e.conftest import Cli

# Takes the lock; with "fork", hands its open lock file to a child that outlives it (a forked helper
# process keeps the flock even though the process named in the file is gone).
HOLDER = """
import os, sys, time
from auditor.services.runlock import audit_lock
with audit_lock(sys.argv[1]):
    if sys.argv[2] == "fork":
        child = os.fork()
        if child == 0:
            time.sleep(120)
            os._exit(0)
        print(f"child {child}", flush=True)
    print("locked", flush=True)
    time.sleep(120)
"""


class Holder:
    def __init__(self, registry: Path, mode: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(registry), mode], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.child = 0
        line = self.proc.stdout.readline()
        if line.startswith("child "):
            self.child = int(line.split()[1])
            line = self.proc.stdout.readline()
        assert line == "locked\n"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)  # reaped: no zombie left behind

    def kill_child(self) -> None:
        if self.child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.child, signal.SIGKILL)
            self.child = 0


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    made: list[Holder] = []
    yield made
    for h in made:
        h.kill()
        h.kill_child()


def _district(cli: Cli) -> None:
    cli.init()
    cli.ok("policy", "init", "--preset", "naperville-203")


def test_a_lock_whose_holder_was_killed_is_taken_over_with_a_message(cli: Cli, holders: list[Holder]) -> None:
    _district(cli)
    holder = Holder(cli.registry, "plain")
    holders.append(holder)
    assert cli("audit", "--offline").exit_code == 75  # alive: wait your turn
    holder.kill()
    taken = cli("audit", "--offline")
    assert taken.exit_code == 0, taken.output
    assert (
        f"warning: took over the audit lock of process {holder.proc.pid}, which is no longer running"
        in taken.stderr
    )
    assert len(json.loads(cli.ok("audit", "history", "--json").stdout)["items"]) == 1  # stored
    # Released cleanly: the next run has nothing to take over.
    assert "took over" not in cli("audit", "--offline").stderr


def test_a_lock_kept_by_a_forked_child_of_a_killed_holder_is_taken_over(
    cli: Cli, holders: list[Holder]
) -> None:
    _district(cli)
    holder = Holder(cli.registry, "fork")
    holders.append(holder)
    holder.kill()  # the process named in the lock file is gone; its child still holds the flock
    assert holder.child and os.path.exists(f"/proc/{holder.child}")
    taken = cli("audit", "--offline")
    assert taken.exit_code == 0, taken.output  # before: exit 75 every night until a reboot
    assert (
        f"warning: took over the audit lock of process {holder.proc.pid}, which is no longer running"
        in taken.stderr
    )
    # The new lock works as a lock: a live holder of it still gives 75 to the next audit.
    holder2 = Holder(cli.registry, "plain")
    holders.append(holder2)
    busy = cli("audit", "--offline")
    assert busy.exit_code == 75
    assert f"another audit is already running on this registry (pid {holder2.proc.pid}," in busy.stderr


def test_only_one_of_several_audits_racing_for_a_stale_lock_wins(
    tmp_path: Path, holders: list[Holder]
) -> None:
    registry = tmp_path / "registry.db"
    holder = Holder(registry, "fork")
    holders.append(holder)
    holder.kill()
    start = threading.Barrier(6)
    won: list[str] = []
    lost: list[str] = []
    notes: list[str] = []

    def race() -> None:
        start.wait()
        try:
            with audit_lock(str(registry), on_takeover=notes.append):
                won.append("x")
                time.sleep(1.0)  # held while the others try
        except AuditLockedError as exc:
            lost.append(exc.message)

    threads = [threading.Thread(target=race) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(won) == 1 and len(lost) == 5
    assert notes == [f"took over the audit lock of process {holder.proc.pid}, which is no longer running"]
    assert all(m.startswith("another audit is already running on this registry") for m in lost)


def test_a_lock_file_from_another_host_is_never_taken_over(tmp_path: Path, holders: list[Holder]) -> None:
    """A pid means nothing on another machine sharing the registry: only its own host may judge."""
    registry = tmp_path / "registry.db"
    holder = Holder(registry, "fork")
    holders.append(holder)
    holder.kill()
    lock = Path(f"{registry}.audit-lock")
    text = lock.read_text()
    host = next(part for part in text.split() if part.startswith("host="))
    with open(lock, "r+") as f:  # the orphan still holds the flock; rewrite what the file says
        f.write(text.replace(host, "host=another-machine.d203.org"))
        f.truncate()
    with pytest.raises(AuditLockedError), audit_lock(str(registry)):
        pass
