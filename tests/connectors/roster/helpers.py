"""Test helpers: a clock whose sleep records the wait and advances time instantly."""

from __future__ import annotations

from connectors.roster._rest import HttpSettings


class FakeClock:
    """Implements connectors.http.Clock; `sleeps` lists every wait the client asked for."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.t = start
        self.m = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.m

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 2))
        self.t += seconds
        self.m += seconds


def settings(clock: FakeClock, **overrides: object) -> HttpSettings:
    values: dict[str, object] = {"timeout": 5.0, "clock": clock}
    values.update(overrides)
    return HttpSettings(**values)  # type: ignore[arg-type]
