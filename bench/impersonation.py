"""Benchmark: 200 protected names against 100,000 candidate handles, end to end, on one core.

Run `python bench/impersonation.py` (add `--candidates N` / `--protected N` to resize). It builds a
deterministic district (inventory handles of a district with ~40 buildings plus protected role
names) and 100,000 candidates (ordinary handles built from names, words and numbers, with 1% planted
lookalikes), then times `Detector.scan` from construction to sorted matches: normalisation, hash
and trie shortlist, rapidfuzz cdist (workers=1), full scoring of the shortlist. The naive loop
(full Python scoring of every pair) is far too slow to run in full: it is timed on a random sample
of pairs and extrapolated, and the script says so. The process is pinned to one CPU where the OS
allows it.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    "james mary robert patricia john jennifer michael linda david elizabeth william barbara richard "
    "susan joseph jessica thomas sarah charles karen chris nancy daniel lisa matthew betty anthony "
    "sandra mark ashley paul emily steven donna andrew michelle josh carol kevin amanda brian melissa "
    "george deborah tim stephanie ronald rebecca jason laura ryan sharon jacob cynthia gary kathleen"
)
LAST = _words(
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez "
    "wilson anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark "
    "ramirez lewis robinson walker young allen king wright scott torres nguyen hill flores green adams "
    "nelson baker hall rivera campbell mitchell carter roberts"
)
WORDS = _words(
    "coffee pizza garden music photo travel fitness yoga bakery studio design tech gaming sports news "
    "daily life style home books craft art film dance soccer hockey tennis golf bike river lake park "
    "city farm family dog cat wild moon star sun ocean forest mountain chicago illinois midwest prairie"
)
SCHOOLS = _words(
    "napervillenorth napervillecentral jefferson kennedy lincoln madison washington beebe ellsworth "
    "elmwood highlands kingsley maplebrook meadowglens millstreet naper prairie ranchview riverwoods "
    "scott steeplerun connections bridges transition earlychildhood mapleschool redhawks huskies "
    "westside eastside oakridge pinecrest cedarhill willowbrook fairview brookdale hillcrest lakeside "
    "sunrise"
)


def protected_names(count: int) -> list[object]:
    from auditor.engine.impersonation import ProtectedKind, ProtectedName
    from auditor.engine.impersonation.roles import role_names
    from auditor.model.types import Platform

    names: list[ProtectedName] = [
        ProtectedName(h, platform=Platform.X)
        for h in ("naperville203", "d203", "NapervilleCUSD203", "naperville203supt", "d203board")
    ]
    names += role_names(("203", "d203", "naperville203"), ("superintendent", "supt", "board", "principal"))
    platforms = [Platform.X, Platform.INSTAGRAM, Platform.FACEBOOK, Platform.YOUTUBE]
    suffixes = ("elementary", "athletics", "pto", "band", "203")
    i = 0
    while len(names) < count:
        school = SCHOOLS[i % len(SCHOOLS)]
        suffix = suffixes[(i // len(SCHOOLS)) % len(suffixes)]
        names.append(ProtectedName(school + suffix, kind=ProtectedKind.HANDLE, platform=platforms[i % 4]))
        i += 1
    return names[:count]  # type: ignore[return-value]


def candidates(count: int, protected: list[object], seed: int = 203) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    planted = [p.name for p in protected]  # type: ignore[attr-defined]
    tricks = (
        lambda h: h.replace("l", "1", 1),
        lambda h: h.replace("o", "0", 1) if "o" in h else "the" + h,
        lambda h: "real_" + h,
        lambda h: h + "_official",
        lambda h: h.replace("a", "\u0430", 1),  # Cyrillic a
        lambda h: h[:3] + "_" + h[3:],
        lambda h: h[:-1],
    )
    while len(out) < count:
        r = rng.random()
        if r < 0.01:
            out.append(rng.choice(tricks)(rng.choice(planted)))
        elif r < 0.45:
            sep = rng.choice(("", "_", ".", ""))
            num = rng.choice(("", "", str(rng.randint(1, 99)), str(rng.randint(1950, 2012))))
            out.append(rng.choice(FIRST) + sep + rng.choice(LAST) + num)
        elif r < 0.8:
            num = rng.choice(("", str(rng.randint(1, 999))))
            out.append(rng.choice(WORDS) + rng.choice(("", "_", "")) + rng.choice(WORDS) + num)
        else:
            letters = "abcdefghijklmnopqrstuvwxyz0123456789_"
            out.append("".join(rng.choice(letters) for _ in range(rng.randint(5, 15))))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--protected", type=int, default=200)
    parser.add_argument("--naive-sample", type=int, default=20_000, help="pairs timed for the naive loop")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    prot = protected_names(args.protected)
    cands = candidates(args.candidates, prot)

    start = time.perf_counter()
    from auditor.engine.impersonation.detector import Detector

    detector = Detector(prot, threshold=85)  # type: ignore[arg-type]
    matches = detector.scan(cands)
    elapsed = time.perf_counter() - start
    flagged = len({m.candidate for m in matches})
    pairs = len(prot) * len(cands)
    print(f"protected names: {len(prot)}, candidates: {len(cands)}, pairs: {pairs:,}")
    print(f"Detector.scan end to end (import, index, shortlist, score): {elapsed:.2f} s on one core")
    print(f"  {pairs / elapsed / 1e6:.1f} M pairs/s; {len(matches)} matches, {flagged} candidates flagged")

    from auditor.engine.impersonation.scoring import score_pair

    rng = random.Random(1)
    sample = [(rng.choice(cands), rng.choice(prot)) for _ in range(args.naive_sample)]
    t0 = time.perf_counter()
    for cand, p in sample:
        score_pair(cand, p)  # type: ignore[arg-type]
    naive_rate = len(sample) / (time.perf_counter() - t0)
    print(
        f"naive loop (full Python scoring of every pair): {naive_rate / 1e3:.1f} k pairs/s measured on "
        f"{len(sample):,} random pairs, extrapolated to {pairs / naive_rate:.0f} s "
        f"({pairs / naive_rate / elapsed:.0f}x slower)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
