"""Shared by the benchmarks that drive the real CLI (bench/registry.py, bench/scale.py).

`machine()` names the CPU, the load and a yardstick (the CPU time of a fixed Python loop: this
host's speed drifts by a third within hours), so a figure can be read against the machine it came from.
`Cli` runs `auditor` as a user does: the console script's entry point (`auditor.cli:main`) with
this venv's Python in a child process, the registry and the passphrase file given through the
environment variables the CLI reads (`AUDITOR_REGISTRY`, `AUDITOR_PASSPHRASE_FILE`,
`AUDITOR_KDF_PROFILE` for `init`), never a passphrase in argv. Each run reports wall time, the
child's CPU time (user + system, from `os.wait4` on that child alone) and its peak resident set size.

The peak is the child's own `VmHWM` (/proc/self/status, written at exit to a file the parent
names), not `ru_maxrss`: Linux carries the parent's resident size at fork into the child's
`ru_maxrss` across exec, so a benchmark holding a 100k registry in memory would see every child
"peak" at its own size. Where /proc is missing, `ru_maxrss` is used.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


def yardstick_ms() -> float:
    """CPU milliseconds of a fixed pure-Python loop (the fastest of three): the same host runs the
    same code 30-50 % slower some hours than others, so figures printed beside different yardsticks
    are not comparable (docs/benchmarks.md)."""
    best = math.inf
    for _ in range(3):
        start = time.process_time()
        total = 0
        for i in range(300_000):
            total += i * i % 7
        best = min(best, time.process_time() - start)
    return best * 1000


def machine() -> str:
    """CPU model, cores, the load averages and the yardstick."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        model = names[0] if names else model
    except OSError:
        pass
    one, five, fifteen = os.getloadavg()
    return (
        f"{model}, {os.cpu_count()} cores, load {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min), "
        f"yardstick {yardstick_ms():.0f} ms"
    )


# What the `auditor` console script runs, plus a note of the process's own peak RSS at exit.
_ENTRY = """\
import atexit, os, sys

def _peak():
    try:
        with open('/proc/self/status') as status:
            kib = next(line.split()[1] for line in status if line.startswith('VmHWM:'))
        with open(os.environ['BENCH_PEAK_FILE'], 'w') as out:
            out.write(kib)
    except (OSError, KeyError, StopIteration):
        pass

atexit.register(_peak)
sys.argv[0] = 'auditor'
from auditor.cli import main
sys.exit(main())
"""


def auditor_command() -> list[str]:
    """`auditor` as its console script runs it, with this Python (the venv's)."""
    return [sys.executable, "-c", _ENTRY]


@dataclass
class Run:
    argv: list[str]
    wall: float
    cpu: float
    peak_mb: float
    exit_code: int
    stdout: bytes
    stderr: bytes

    def check(self) -> Run:
        if self.exit_code != 0:
            tail = (
                self.stderr.decode(errors="replace")[-2000:] or self.stdout.decode(errors="replace")[-2000:]
            )
            raise SystemExit(f"`auditor {' '.join(self.argv)}` exited {self.exit_code}:\n{tail}")
        return self


def run_child(
    argv: Sequence[str], env: Mapping[str, str], cwd: str | None = None
) -> tuple[float, float, float, int, bytes, bytes]:
    """(wall s, CPU s, peak RSS MB, exit code, stdout, stderr) of one child process."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        peak_file = Path(tmp) / "peak"
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env={**env, "BENCH_PEAK_FILE": str(peak_file)},
            cwd=cwd,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        try:
            peak_mb = int(peak_file.read_text()) / 1024  # VmHWM, KiB
        except (OSError, ValueError):
            peak_mb = usage.ru_maxrss / 1024  # KiB on Linux; see the module docstring
        out.seek(0)
        err.seek(0)
        return wall, usage.ru_utime + usage.ru_stime, peak_mb, proc.returncode, out.read(), err.read()


class Cli:
    """`auditor` against one registry, unlocked from a 0600 passphrase file named in the environment."""

    def __init__(
        self, registry: str, passphrase: str, workdir: Path, *, kdf_profile: str = "default"
    ) -> None:
        self.registry = registry
        self.passfile = workdir / "bench.pass"
        self.passfile.write_text(passphrase + "\n", encoding="utf-8")
        os.chmod(self.passfile, 0o600)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")},
            "AUDITOR_REGISTRY": registry,
            "AUDITOR_PASSPHRASE_FILE": str(self.passfile),
            "AUDITOR_KDF_PROFILE": kdf_profile,
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }
        self.workdir = workdir
        self.command = auditor_command()

    def __call__(self, *argv: str, check: bool = True, env: Mapping[str, str] | None = None) -> Run:
        wall, cpu, peak, code, out, err = run_child(
            [*self.command, *argv], {**self.env, **(env or {})}, str(self.workdir)
        )
        run = Run(list(argv), wall, cpu, peak, code, out, err)
        return run.check() if check else run
