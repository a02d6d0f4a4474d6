"""The contract every platform connector follows, and its settings.

A `Connector` turns handles into `Profile`s. `lookup(handle)` and `lookup_many(handles)` never raise
for one handle's trouble: a missing token, a 401, a 429 past the budget, a 5xx after retries, a
timeout or an unparseable answer all come back as `Profile.unknown(platform, handle, reason)`
(STYLE.md "Plugins"). Subclasses implement `_lookup` (and `_lookup_batch` where the platform has a
batch endpoint) and may raise `HttpFailure` freely; the base class turns it into a value and
scrubs the token out of every reason. Subclasses read JSON through `http.Doc` (`resp.doc()`), whose
typed accessors raise `UnexpectedShape` for an answer of the wrong shape; that, and a parser's
RecursionError, is the account's UNKNOWN "the platform answered in an unexpected shape", never a
traceback. `within(budget)` puts a connector under an enclosing deadline (the audit run's).
`ConnectorSettings` come from the connector's defaults, then
a configuration mapping, then `AUDITOR_<PLATFORM>_<KEY>` environment variables. Tokens are handed
in as `models.Secret`; they are never read from configuration.
"""

from __future__ import annotations

import dataclasses
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from auditor.model.errors import ConnectorError
from auditor.model.types import Platform, Profile, ProfileStatus, Secret, normalise_handle
from connectors.http import (
    Budget,
    Clock,
    HttpClient,
    HttpFailure,
    RetryAfterRateLimits,
    SystemClock,
    UnexpectedShape,
)

NO_CREDENTIALS = "no credentials"
# "Bluesky, Mastodon and YouTube": the platforms whose row says their API searches accounts.
_SEARCH_LABELS = sorted(p.label for p in Platform if p.info.search)
_SEARCHABLE = ", ".join(_SEARCH_LABELS[:-1]) + " and " + _SEARCH_LABELS[-1]


class NotSupportedError(ConnectorError):
    """The platform's API offers no such operation (e.g. search on X, lookup by id on LinkedIn)."""


# --------------------------------------------------------------------------------------------------
# Settings


_NUMERIC = {
    "timeout": float,
    "budget_seconds": float,
    "max_concurrency": int,
    "retries": int,
    "max_body_bytes": int,
}
_ENV_KEYS = (
    "base_url",
    "api_version",
    "timeout",
    "budget_seconds",
    "max_concurrency",
    "retries",
    "max_body_bytes",
)


@dataclass(frozen=True)
class ConnectorSettings:
    """Where and how a connector talks to its platform. Never holds a secret."""

    base_url: str = ""
    api_version: str = ""
    timeout: float = 10.0
    budget_seconds: float | None = 600.0  # a nightly run gives up on a platform after 10 minutes
    max_concurrency: int = 4
    retries: int = 2
    max_body_bytes: int = 4 * 1024 * 1024  # larger answers are treated as unparseable
    extra: Mapping[str, str] = field(default_factory=dict)  # e.g. Instagram's ig_user_id

    @classmethod
    def load(
        cls,
        platform: Platform | str,
        defaults: ConnectorSettings | None = None,
        config: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        extra_keys: Iterable[str] = (),
    ) -> ConnectorSettings:
        """Defaults, overlaid by `config` (keys as the field names; other keys go to `extra`),
        overlaid by `AUDITOR_<PLATFORM>_<KEY>` environment variables (e.g. AUDITOR_X_BASE_URL,
        AUDITOR_FACEBOOK_API_VERSION, AUDITOR_INSTAGRAM_IG_USER_ID)."""
        name = str(platform.value if isinstance(platform, Platform) else platform).upper()
        env = os.environ if env is None else env
        values: dict[str, Any] = dataclasses.asdict(defaults or cls())
        extra: dict[str, str] = dict(values.pop("extra") or {})
        source = f"configuration for {name.lower()}"
        for key, value in (config or {}).items():
            if key == "extra" and isinstance(value, Mapping):
                extra.update({str(k): str(v) for k, v in value.items()})
            elif key in values:
                values[key] = _coerce(key, value, source)
            else:
                extra[str(key)] = str(value)
        for key in _ENV_KEYS:
            var = f"AUDITOR_{name}_{key.upper()}"
            if env.get(var, "") != "":
                values[key] = _coerce(key, env[var], var)
        for key in extra_keys:
            var = f"AUDITOR_{name}_{key.upper()}"
            if env.get(var, "") != "":
                extra[key] = env[var]
        return cls(**values, extra=extra)


def _coerce(key: str, value: Any, source: str) -> Any:
    kind = _NUMERIC.get(key)
    if kind is None:
        return str(value)
    if key == "budget_seconds" and (value is None or str(value).strip().lower() in ("", "none", "unlimited")):
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConnectorError(
            f"{source}: {key} must be a number, not {str(value)[:40]!r}",
            hint=f"set {key} to a plain number such as 10",
        ) from None
    if (number <= 0 and key != "retries") or number < 0:
        raise ConnectorError(f"{source}: {key} must be positive", hint=f"set {key} to a number above 0")
    return number


# --------------------------------------------------------------------------------------------------
# The connector base


def redact(text: str, secrets: Iterable[Secret | None]) -> str:
    """`text` with every secret value replaced by ****: platform error texts may echo a token."""
    for secret in secrets:
        if secret:
            value = secret.reveal_str()
            if len(value) >= 4:
                text = text.replace(value, "****")
    return text


class Connector(ABC):
    """Reads public profiles from one platform. Thread-safe; one instance per run and platform."""

    platform: ClassVar[Platform]
    default_settings: ClassVar[ConnectorSettings] = ConnectorSettings()
    needs_token: ClassVar[bool] = True
    token_optional: ClassVar[bool] = False  # no token needed, but one is used when stored (Mastodon)
    credential_help: ClassVar[str] = ""  # what kind of token `auditor connector set-token` expects
    extra_keys: ClassVar[tuple[str, ...]] = ()  # settings.extra keys read from the environment
    required_extra: ClassVar[tuple[str, ...]] = ()  # extra keys without which nothing works
    batch_size: ClassVar[int] = 1  # >1 when the platform has a batch endpoint (_lookup_batch)
    test_handle: ClassVar[str] = ""  # a long-lived public account for `auditor connector test`

    def __init__(
        self,
        settings: ConnectorSettings | None = None,
        token: Secret | None = None,
        *,
        budget: Budget | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings or self.default_settings
        self.token = token
        self.clock: Clock = clock or (budget.clock if budget else SystemClock())
        self.budget = budget or Budget(self.settings.budget_seconds, self.clock)
        self.http = HttpClient(
            self.platform.value,
            base_url=self.settings.base_url,
            style=self.rate_limit_style(),
            timeout=self.settings.timeout,
            max_concurrency=self.settings.max_concurrency,
            retries=self.settings.retries,
            max_body=self.settings.max_body_bytes,
            budget=self.budget,
            clock=self.clock,
        )

    @classmethod
    def from_environment(
        cls,
        token: Secret | None = None,
        config: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Connector:
        """Settings from defaults + `config` + AUDITOR_<PLATFORM>_* variables."""
        settings = ConnectorSettings.load(cls.platform, cls.default_settings, config, env, cls.extra_keys)
        return cls(settings, token, **kwargs)

    # -- what subclasses provide ---------------------------------------------------------------

    def rate_limit_style(self) -> RetryAfterRateLimits:
        return RetryAfterRateLimits()

    @abstractmethod
    def _lookup(self, handle: str) -> Profile:
        """One handle. May raise HttpFailure; must not return FOUND for anything it did not see."""

    def _lookup_batch(self, handles: list[str]) -> dict[str, Profile]:
        """Up to `batch_size` handles in one call, keyed by the handle asked for."""
        return {h: self._lookup(h) for h in handles}

    def _lookup_by_id(self, platform_id: str) -> Profile:
        raise NotSupportedError(f"{self.platform.label} has no lookup by account id")

    def _search(self, query: str, limit: int) -> list[Profile]:
        raise NotSupportedError(
            f"{self.platform.label} offers no account search",
            hint=f"search is available for {_SEARCHABLE}",
        )

    # -- the contract --------------------------------------------------------------------------

    def missing_configuration(self) -> str:
        """Why this connector cannot work at all ("" when it can): no token, no ig_user_id, ..."""
        if self.needs_token and not self.token:
            return NO_CREDENTIALS
        for key in self.required_extra:
            if not self.settings.extra.get(key):
                return f"setting {key} is missing (AUDITOR_{self.platform.value.upper()}_{key.upper()})"
        return ""

    def lookup(self, handle: str) -> Profile:
        """The platform's view of `handle`; any failure is an UNKNOWN profile with a reason."""
        return self._guard(handle, lambda: self._lookup(handle))

    def lookup_many(self, handles: Iterable[str]) -> dict[str, Profile]:
        """Profiles keyed by the handle asked for, batched and concurrent where the platform allows."""
        wanted = list(dict.fromkeys(handles))
        if not wanted:
            return {}
        missing = self.missing_configuration()
        if missing:
            return {h: self._unknown(h, missing) for h in wanted}
        size = max(1, self.batch_size)
        chunks = [wanted[i : i + size] for i in range(0, len(wanted), size)]

        def run(chunk: list[str]) -> dict[str, Profile]:
            try:
                got = self._lookup_batch(chunk) if size > 1 else {chunk[0]: self._lookup(chunk[0])}
            except HttpFailure as exc:
                return {h: self._unknown(h, exc.reason) for h in chunk}
            except ConnectorError as exc:
                return {h: self._unknown(h, exc.message) for h in chunk}
            except RecursionError:
                return {h: self._unknown(h, UnexpectedShape("nested too deeply").reason) for h in chunk}
            return {
                h: self._scrub(got.get(h) or self._unknown(h, "no answer for this handle")) for h in chunk
            }

        results: dict[str, Profile] = {}
        workers = min(len(chunks), max(1, self.settings.max_concurrency))
        if workers == 1:
            for chunk in chunks:
                results.update(run(chunk))
        else:
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=self.platform.value)
            try:
                for part in pool.map(run, chunks):
                    results.update(part)
            except BaseException:
                # Interrupted (Ctrl-C, a crash): queued lookups are dropped rather than run, so the
                # caller's cleanup (the audit lock) is not held up; running ones end by their deadline.
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
        return {h: results[h] for h in wanted}

    def lookup_by_id(self, platform_id: str) -> Profile:
        """The account with this stable platform id, whatever its handle is now.

        Raises NotSupportedError where the platform has no such lookup; other failures are values.
        """
        if not self.supports_lookup_by_id:
            return self._lookup_by_id(platform_id)  # raises NotSupportedError
        return self._guard(platform_id, lambda: self._lookup_by_id(platform_id))

    @property
    def supports_lookup_by_id(self) -> bool:
        return type(self)._lookup_by_id is not Connector._lookup_by_id

    @property
    def supports_search(self) -> bool:
        return type(self)._search is not Connector._search

    def lookup_account(self, handle: str, platform_id: str = "") -> Profile:
        """`handle` as recorded in the registry, detecting renames when its platform id is known.

        If the id now answers to another handle, the result is that account (status FOUND) with
        `renamed_from` set to the handle we asked for; `handle` stays the one asked for. Two answers
        by id are not renames: a handle the platform no longer verifies (Bluesky's `handle.invalid`:
        the account keeps the recorded handle, flagged `handle_unverified`), and an id the platform
        reports suspended or deactivated where the handle is "not found" (the handle lookup only
        says it no longer answers; the id says why).
        """
        profile = self.lookup(handle)
        if not platform_id or not self.supports_lookup_by_id:
            return profile
        if profile.found and (not profile.platform_id or profile.platform_id == platform_id):
            return profile
        if profile.status is ProfileStatus.UNKNOWN:
            return profile
        by_id = self.lookup_by_id(platform_id)
        return resolve_by_id(handle, profile, by_id)

    def search(self, query: str, limit: int = 25) -> list[Profile]:
        """Accounts matching `query` (impersonation discovery). NotSupportedError where there is none;
        an HttpFailure (a ConnectorError) when the platform cannot be asked this run."""
        missing = self.missing_configuration()
        if missing and self.supports_search:
            raise ConnectorError(f"{self.platform.label} search: {missing}")
        try:
            return [self._scrub(p) for p in self._search(query, limit)]
        except HttpFailure as exc:
            raise HttpFailure(redact(exc.reason, [self.token]), host=exc.host) from None
        except RecursionError:
            raise UnexpectedShape("nested too deeply") from None

    def within(self, deadline: Budget | None) -> Connector:
        """Put this connector's budget under an enclosing deadline (e.g. the audit run's): whichever
        passes first stops its requests, each capped to the time left. Returns self."""
        self.budget.within(deadline)
        return self

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers -------------------------------------------------------------------------------

    def _guard(self, handle: str, call: Callable[[], Profile]) -> Profile:
        missing = self.missing_configuration()
        if missing:
            return self._unknown(handle, missing)
        try:
            return self._scrub(call())
        except HttpFailure as exc:
            return self._unknown(handle, exc.reason)
        except ConnectorError as exc:
            return self._unknown(handle, exc.message)
        except RecursionError:  # nesting that our own reading of an answer could not follow
            return self._unknown(handle, UnexpectedShape("nested too deeply").reason)

    def _unknown(self, handle: str, reason: str) -> Profile:
        return Profile.unknown(self.platform, handle, redact(reason, [self.token]))

    def _scrub(self, profile: Profile) -> Profile:
        if profile.reason:
            profile = replace(profile, reason=redact(profile.reason, [self.token]))
        if profile.fetched_at is None:
            profile = replace(profile, fetched_at=datetime.fromtimestamp(self.clock.now(), UTC))
        return profile

    def profile(self, handle: str, status: ProfileStatus, reason: str = "", **fields: Any) -> Profile:
        """A Profile of this platform (shorthand for subclasses)."""
        return Profile(platform=self.platform, handle=handle, status=status, reason=reason, **fields)

    def bearer(self) -> dict[str, str]:
        """The `Authorization: Bearer` header for this connector's token."""
        if not self.token:
            return {}
        return {"Authorization": "Bearer " + self.token.reveal_str()}


def match_handle(asked: str, answered: str) -> bool:
    """Handles compare case-insensitively, ignoring a leading @ (reference, general advice)."""
    return normalise_handle(asked) == normalise_handle(answered)


def resolve_by_id(handle: str, profile: Profile, by_id: Profile) -> Profile:
    """What the recorded handle's account is, from its handle lookup and its lookup by id (see
    `Connector.lookup_account`)."""
    if by_id.found and by_id.handle_unverified:
        return replace(by_id, handle=handle, platform_handle=by_id.platform_handle or handle)
    if by_id.found and normalise_handle(by_id.platform_handle) != normalise_handle(handle):
        return replace(by_id, handle=handle, renamed_from=handle)
    if profile.status is ProfileStatus.NOT_FOUND and by_id.status in (
        ProfileStatus.SUSPENDED,
        ProfileStatus.DEACTIVATED,
    ):
        return replace(by_id, handle=handle)
    return profile
