"""`StrEnum`, the base of every enumeration in the model (auditor/model/types.py, platforms.py).

Its own module so that `platforms.py` (the `Platform` enum and its facts) and `types.py` (which
uses `Platform`) can both build on it without importing each other in a circle.
"""

from __future__ import annotations

import enum
from typing import TypeVar


class StrEnum(str, enum.Enum):
    """An enum whose members compare and serialise as their string value."""

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def parse(cls: type[E], value: str | E) -> E:
        # A member or its stored form: one dict look-up (a member hashes and compares as its value),
        # the whole cost of decoding a stored enumeration (millions per audit at 100,000 accounts).
        exact = cls._value2member_map_.get(value)
        if exact is not None:
            return exact  # type: ignore[return-value]
        text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        member = cls._value2member_map_.get(text)
        if member is not None:
            return member  # type: ignore[return-value]
        for alias, target in getattr(cls, "_aliases", lambda: {})().items():
            if alias == text:
                return cls(target)
        choices = ", ".join(m.value for m in cls)
        raise ValueError(f"{value!r} is not one of: {choices}")


E = TypeVar("E", bound=StrEnum)
