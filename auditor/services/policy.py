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

from typing import TYPE_CHECKING

from auditor.engine.policy.stored import StoredPolicy
from auditor.engine.validation import policy_problems
from auditor.model.errors import PolicyError
from vault.revealog import RevealLog
from vault.stores.policy import PolicyStore, PolicyText

if TYPE_CHECKING:
    from auditor.engine.policy.model import Policy
    from vault.registry import Registry

INIT_HINT = "Create one with `auditor policy init --preset naperville-203` (or moline-coal-valley)."


def stored_policy(registry: Registry) -> StoredPolicy | None:
    """The stored policy, or None when `auditor policy init` has not run yet."""
    found = PolicyStore(registry).get()
    return None if found is None else _stored(found)


def _stored(found: PolicyText) -> StoredPolicy:
    return StoredPolicy(
        text=found.text, source=found.source, set_at=found.set_at, set_by=found.set_by, version=found.version
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
    store = PolicyStore(registry)
    existing = store.get()
    if existing is not None and not replace:
        raise PolicyError(
            "a district policy is already stored",
            hint="Use `auditor policy import FILE` to replace it, or `policy init --force`.",
        )

    with registry.transaction():
        saved = store.put(
            text, source, by=identity.name, expected_version=existing.version if existing is not None else 0
        )
        RevealLog(registry).append("policy-set", details={"source": source, "version": saved.version})
    return _stored(saved)
