"""Benchmark: `auditor policy check` on policies of 5,000 to 40,000 lines, each full of problems.

Run `python bench/policy_check.py` (add `--lines 10000 80000` to choose the sizes). Each policy is
the naperville-203 preset followed by `[[allowlist]]` entries, each with a misspelt key, so every
entry is one problem whose line must be found: the case that used to be quadratic (every problem
rescanned the whole text for its line, so 40,000 lines took 259 s). The script prints the time per
size and the time per line; linear work shows as a flat time per line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def policy_text(lines: int) -> str:
    """The preset plus allowlist entries (5 lines each, one misspelt key) up to about `lines` lines."""
    from auditor.engine.policy import dump_preset

    text = dump_preset("naperville-203")
    entries = max(0, (lines - len(text.splitlines())) // 5)
    parts = [text]
    for i in range(entries):
        parts.append(f'\n[[allowlist]]\nplatform = "x"\nhandle = "look{i}"\nreasn = "typo {i}"\n')
    return "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[5_000, 10_000, 20_000, 40_000])
    args = parser.parse_args()
    from auditor.engine.validation import policy_problems

    print(f"{'lines':>8} {'bytes':>10} {'problems':>9} {'seconds':>8} {'µs/line':>8}")
    for lines in args.lines:
        text = policy_text(lines)
        n = len(text.splitlines())
        start = time.perf_counter()
        problems = policy_problems(text, origin="policy.toml")
        took = time.perf_counter() - start
        print(f"{n:>8} {len(text.encode()):>10} {len(problems):>9} {took:>8.2f} {took / n * 1e6:>8.1f}")


if __name__ == "__main__":
    main()
