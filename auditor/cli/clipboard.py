"""The clipboard for `recover --copy`: one field is put there and cleared after the policy's
`[escrow] clipboard_seconds`, so a password is pasted into the platform's sign-in form without
being shown on a screen someone may be looking at.

pyperclip does the work where the machine has a clipboard (xclip, xsel or wl-clipboard on Linux
with a display, pbcopy on macOS, the Windows API); it hands the value to those tools on stdin, never
as an argument. A server without one gets a clear error and nothing is shown. Tests install a
fake backend with `use()`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Protocol

from auditor.model.errors import UsageError
from auditor.model.types import Secret


class Backend(Protocol):
    def copy(self, text: str) -> None: ...

    def paste(self) -> str: ...


class _Pyperclip:
    def __init__(self) -> None:
        import pyperclip  # imported only for --copy: `auditor --help` stays fast

        self._mod = pyperclip

    def copy(self, text: str) -> None:
        self._mod.copy(text)

    def paste(self) -> str:
        value: str = self._mod.paste()
        return value


_backend: Backend | None = None
_NO_CLIPBOARD = (
    "this machine has no clipboard to copy to (no display, or no xclip, xsel or wl-clipboard); "
    "nothing was shown"
)
_NO_CLIPBOARD_HINT = "Run the command without --copy to print the field, on a screen only you can see."


def use(backend: Backend | None) -> None:
    """Use `backend` instead of the system clipboard (None: the system's again)."""
    global _backend
    _backend = backend


def _system() -> Backend:
    if _backend is not None:
        return _backend
    try:
        return _Pyperclip()
    except ImportError as exc:  # pragma: no cover (a dependency)
        raise UsageError(_NO_CLIPBOARD, _NO_CLIPBOARD_HINT) from exc


def check() -> Backend:
    """The clipboard, checked before any secret is read: a UsageError when there is none."""
    backend = _system()
    try:
        backend.paste()
    except Exception as exc:  # pyperclip raises its own PyperclipException, or OSError from a tool
        raise UsageError(_NO_CLIPBOARD, _NO_CLIPBOARD_HINT) from exc
    return backend


def copy_then_clear(
    backend: Backend,
    value: Secret,
    seconds: int,
    *,
    say: Callable[[str], None],
    sleep: Callable[[float], None] | None = None,
) -> bool:
    """Put `value` on the clipboard, wait `seconds` (Ctrl-C ends the wait early), then clear it
    unless someone copied something else meanwhile. Returns whether it was cleared."""
    text = value.reveal_str()
    try:
        backend.copy(text)
    except Exception as exc:
        raise UsageError(_NO_CLIPBOARD, _NO_CLIPBOARD_HINT) from exc
    say(f"Copied; the clipboard is cleared in {seconds} seconds (Ctrl-C clears it now).")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: clear now
        (sleep or time.sleep)(seconds)
    try:
        if backend.paste() != text:
            say("The clipboard holds something else now; it was left as it is.")
            return False
        backend.copy("")
    except Exception:
        say("The clipboard could not be cleared: copy something else over it now.")
        return False
    say("Clipboard cleared.")
    return True
