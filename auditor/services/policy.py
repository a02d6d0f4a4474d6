"""The district policy kept inside the encrypted registry, so every identity audits against one text.

Decision (issue 5 allows "in the registry or beside it"): the policy TOML is one encrypted record of
kind "policy" (id "current") under the **inventory** key. A scheduled audit running as an auditor
identity can read it; nobody can read it from the database file without a key, and it travels with
registry backups. Writing it needs an admin identity: the policy decides what the audit looks for, so
a job that only reads must not be able to weaken it. The record keeps the exact text (comments
included) plus who stored it, when, and from where (a preset name or a file name), so `policy show`
prints what the audit applies and `policy init` round-trips a preset byte for byte. Text is validated
(`load_policy` + `validate`) before it is stored: a broken policy never replaces a working one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.engine.policy import load_policy
from auditor.engine.validation import policy_problems
from auditor.model.errors import PolicyError
from vault.registry import utcnow
from vault.revealog import RevealLog

if TYPE_CHECKING:
    from auditor.engine.policy.model import Policy
    from vault.registry import Registry

POLICY_KIND = "policy"
POLICY_ID = "current"
INIT_HINT = "Create one with `auditor policy init --preset naperville-203` (or moline-coal-valley)."


@dataclass(frozen=True)
class StoredPolicy:
    """The district policy as stored: its TOML text and where it came from."""

    text: str
    source: str  # "preset naperville-203", "file policy.toml"
    set_at: str
    set_by: str
    version: int

    def load(self) -> Policy:

        return load_policy(self.text, origin="stored policy")


def stored_policy(registry: Registry) -> StoredPolicy | None:
    """The stored policy, or None when `auditor policy init` has not run yet."""
    rec = registry.get(POLICY_KIND, POLICY_ID)
    if rec is None:
        return None
    return StoredPolicy(
        text=str(rec.data.get("text", "")),
        source=str(rec.data.get("source", "")),
        set_at=str(rec.data.get("set_at", "")),
        set_by=str(rec.data.get("set_by", "")),
        version=rec.version,
    )


def require_policy(registry: Registry) -> tuple[StoredPolicy, Policy]:
    """The stored policy, parsed; a PolicyError with the `policy init` hint when there is none."""
    stored = stored_policy(registry)
    if stored is None:
        raise PolicyError("no district policy is stored in the registry", hint=INIT_HINT)
    return stored, stored.load()


def check_text(text: str, origin: str) -> list[str]:
    """Every problem in a policy text (empty: usable)."""

    return policy_problems(text, origin=origin)


def save_policy(registry: Registry, text: str, source: str, *, replace: bool = True) -> StoredPolicy:
    """Validate `text` and store it as the district policy (admin identity required).

    `replace=False` refuses to overwrite an existing policy (what `policy init` does without --force).
    """

    identity = registry.require_admin("Changing the district policy")
    problems = check_text(text, source)
    if problems:
        more = len(problems) - 1
        raise PolicyError(
            problems[0],
            hint=(f"{more} more problem(s); " if more else "")
            + "the stored policy was not changed. Run `auditor policy check FILE` to list them all.",
            problems=problems,
        )
    existing = registry.get(POLICY_KIND, POLICY_ID)
    if existing is not None and not replace:
        raise PolicyError(
            "a district policy is already stored",
            hint="Use `auditor policy import FILE` to replace it, or `policy init --force`.",
        )

    now = utcnow().isoformat()
    with registry.transaction():
        version = registry.put(
            POLICY_KIND,
            POLICY_ID,
            {"text": text, "source": source, "set_at": now, "set_by": identity.name},
            expected_version=existing.version if existing is not None else 0,
        )
        RevealLog(registry).append("policy-set", details={"source": source, "version": version})
    return StoredPolicy(text=text, source=source, set_at=now, set_by=identity.name, version=version)
