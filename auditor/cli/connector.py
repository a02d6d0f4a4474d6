"""`auditor connector ...` and `auditor profile ...`: platform connectors from the command line.

Two Typer sub-apps for the root to join with `add_typer`: `connector_app` (list, test, set-token)
and `profile_app` (fetch, and attest for platforms checked by hand). Commands stay thin: they build a connector from its defaults, the
optional configuration mapping and AUDITOR_<PLATFORM>_* variables, hand it the token from the token
store, make the call and render. Tokens are read from a hidden prompt or stdin, never from an
argument, and never printed. Heavy modules (`requests`, the connectors) load only when a command
runs, so `auditor --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from auditor.cli.common import day, echo
from auditor.cli.context import app_context
from auditor.model.attestation import Attestation
from auditor.model.errors import NotFoundError, UsageError
from auditor.model.safetext import inert, terminal_cell
from auditor.model.types import Platform, ProfileStatus, Secret
from auditor.services.audit import policy_connector_config
from auditor.services.policy import stored_policy
from connectors.platforms.manual import ManualConnector
from connectors.registry import CONNECTORS, connector_class
from connectors.tokens import ChainedTokenStore, KeyringTokenStore, TokenStoreError
from vault.stores.attestations import RegistryAttestationStore
from vault.stores.tokens import RegistryTokenStore

if TYPE_CHECKING:
    from connectors.base import Connector
    from connectors.tokens import TokenStore

connector_app = typer.Typer(
    name="connector",
    help="Platform connectors: which are configured, test one, store an API token.",
    no_args_is_help=True,
)
profile_app = typer.Typer(
    name="profile",
    help="What a platform shows publicly for one handle.",
    no_args_is_help=True,
)


def _keyring_store() -> TokenStore:

    return KeyringTokenStore()


def _registry_then_keyring() -> TokenStore:
    """The registry's token store (readable by scheduled audits, works on servers without a keyring)
    when a registry exists and unlocks, then the OS keyring."""

    stores: list[TokenStore] = []
    app_ctx = _registry_exists()
    if app_ctx is not None:
        stores.append(RegistryTokenStore(app_ctx.registry()))
    stores.append(KeyringTokenStore())
    return ChainedTokenStore(stores)


def _registry_exists() -> Any:
    """The AppContext when this command runs inside the CLI and a registry exists, else None."""
    from typer._click.globals import get_current_context

    ctx = get_current_context(silent=True)
    if ctx is None:
        return None

    app_ctx = app_context(ctx)  # type: ignore[arg-type]
    return app_ctx if app_ctx.registry_exists() else None


def _policy_settings(platform: Platform) -> Mapping[str, Any] | None:
    """Connector settings from the district policy stored in the registry (as `auditor audit` uses)."""
    app_ctx = _registry_exists()
    if app_ctx is None:
        return None

    stored = stored_policy(app_ctx.registry())
    return None if stored is None else policy_connector_config(stored.load(), platform)


# Hooks the lead may replace (e.g. a registry-backed token store, settings from the district policy).
token_store_factory: Callable[[], TokenStore] = _registry_then_keyring
settings_provider: Callable[[Platform], Mapping[str, Any] | None] = _policy_settings


class ProfileFormat(str, Enum):
    TABLE = "table"
    JSON = "json"


PlatformArg = Annotated[
    str, typer.Argument(help="Platform: x, facebook, instagram, youtube, mastodon, bluesky, ...")
]


def _platform(value: str) -> Platform:
    try:
        return Platform.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="PLATFORM") from None


def _token(store: TokenStore, platform: Platform) -> tuple[Secret | None, str]:
    """(token, problem): problem is '' or why the store could not be read."""

    try:
        return store.get(platform), ""
    except TokenStoreError as err:
        return None, err.message


def build_connector(platform: Platform, store: TokenStore | None = None, **kwargs: Any) -> Connector:
    """A connector for `platform` with its token from `store` and settings from the environment."""

    cls = connector_class(platform)
    token = None
    if cls.needs_token or cls.token_optional:
        token, _ = _token(store or token_store_factory(), platform)
    if issubclass(cls, ManualConnector) and "store" not in kwargs:
        app_ctx = _registry_exists()
        if app_ctx is not None:
            kwargs["store"] = RegistryAttestationStore(app_ctx.registry())
    return cls.from_environment(token, config=settings_provider(platform), **kwargs)


@connector_app.command("list")
def list_connectors() -> None:
    """Show every platform's connector, whether its credentials are configured, and its base URL.

    Example: auditor connector list
    """

    store = token_store_factory()
    rows = []
    for platform, cls in CONNECTORS.items():
        token, problem = (None, "")
        if cls.needs_token or cls.token_optional:
            token, problem = _token(store, platform)
        connector = cls.from_environment(token, config=settings_provider(platform))
        missing = connector.missing_configuration()
        if problem:
            state = f"unknown ({problem})"
        elif missing:
            state = f"missing: {missing}"
        elif not cls.needs_token:
            state = "not needed" + (" (token stored)" if token else "")
        else:
            state = "configured"
        rows.append((platform.label, cls.__name__, state, connector.settings.base_url or "-"))
        connector.close()
    widths = [
        max(len(r[i]) for r in [*rows, ("Platform", "Connector", "Credentials", "Base URL")])
        for i in range(4)
    ]
    for row in [("Platform", "Connector", "Credentials", "Base URL"), *rows]:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _diagnose(reason: str, platform: Platform) -> str:
    text = reason.lower()
    if reason == "no credentials":
        return f"no token is stored: run `auditor connector set-token {platform.value}`"
    if "rejected" in text or "190" in text or "401" in text:
        return f"the token was refused: it may be expired or revoked; store a new one with set-token {platform.value}"
    if "timeout" in text or "timed out" in text or "connection" in text:
        return f"the platform could not be reached: check the network and AUDITOR_{platform.value.upper()}_BASE_URL"
    if "rate-limited" in text or "quota" in text:
        return "the platform's rate limit or quota is spent: try again later"
    if "unparseable" in text or "larger than" in text:
        return "the answer was not the platform's API: a proxy or captive portal may be in the way"
    if "setting" in text:
        return "a required setting is missing (see docs/connectors.md)"
    return "see the reason above"


@connector_app.command("test")
def test_connector(
    platform: PlatformArg,
    handle: Annotated[
        str, typer.Option("--handle", help="Account to look up (default: a well-known one).")
    ] = "",
) -> None:
    """Make one real call to PLATFORM and explain what happened.

    Example: auditor connector test bluesky --handle bsky.app
    """

    chosen = _platform(platform)
    connector = build_connector(chosen)
    target = handle or connector.test_handle
    if not target:
        raise UsageError(f"{chosen.label} has no default test account", "pass --handle")
    with connector:
        profile = connector.lookup(target)
    if profile.status is ProfileStatus.UNKNOWN:
        echo(f"FAILED: {chosen.label} could not check {target}: {profile.reason}")
        echo(f"diagnosis: {_diagnose(profile.reason, chosen)}")
        raise typer.Exit(1)
    echo(f"OK: {chosen.label} answered for {target}: {profile.status.value}")
    if profile.status is ProfileStatus.NOT_FOUND:
        typer.echo("note: the API works, but that account was not found.")


@connector_app.command("set-token")
def set_token(
    platform: PlatformArg,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the token from standard input.")] = False,
    keyring: Annotated[
        bool, typer.Option("--keyring", help="Store it in the OS keyring instead of the encrypted registry.")
    ] = False,
) -> None:
    """Store PLATFORM's API token in the encrypted registry (or the OS keyring with --keyring),
    read from a hidden prompt or --stdin. Registry tokens are readable by scheduled audits
    (auditor identities) and work on servers without a keyring.

    Example: auditor connector set-token x            (prompts without echo)
             printf '%s' "$TOKEN" | auditor connector set-token youtube --stdin
    """

    chosen = _platform(platform)
    cls = connector_class(chosen)
    if not cls.needs_token and not cls.token_optional:
        raise UsageError(f"{chosen.label} needs no token", cls.credential_help)
    if stdin:
        value = sys.stdin.readline().strip()
    else:
        typer.echo(f"{chosen.label} expects {cls.credential_help}.")
        value = typer.prompt("Token", hide_input=True, confirmation_prompt=False).strip()
    if not value:
        raise UsageError("no token given", "paste the token at the prompt or pipe it with --stdin")
    (_keyring_store() if keyring else token_store_factory()).set(chosen, Secret(value))
    typer.echo(f"Stored the {chosen.label} token.")


def render_profile(profile: Any, fmt: ProfileFormat) -> str:
    """A profile for the terminal; everything in it came from the platform, so it is made inert
    (control and bidi characters shown as visible escapes; JSON escapes every non-ASCII character)."""

    data = profile.to_dict()
    if fmt is ProfileFormat.JSON:
        return json.dumps(data, indent=2, sort_keys=True)
    lines = []
    for key, value in data.items():
        if value in ("", None, [], ()):
            continue
        text = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        lines.append(terminal_cell(f"{key.replace('_', ' '):15} {text}".replace("\n", " / ")))
    return "\n".join(lines)


@profile_app.command("fetch")
def fetch_profile(
    platform: PlatformArg,
    handle: Annotated[
        str, typer.Argument(help="The handle, e.g. lincolnhs, user@instance, name.bsky.social.")
    ],
    platform_id: Annotated[
        str, typer.Option("--id", help="Known platform id: also detects a renamed handle.")
    ] = "",
    fmt: Annotated[
        ProfileFormat, typer.Option("--format", "-f", help="table or json.")
    ] = ProfileFormat.TABLE,
) -> None:
    """Show what PLATFORM publicly shows for HANDLE (exit 1 when it could not be checked).

    Example: auditor profile fetch mastodon lincolnhs@k12.social --format json
    """

    chosen = _platform(platform)
    connector = build_connector(chosen)
    with connector:
        profile = connector.lookup_account(handle, platform_id) if platform_id else connector.lookup(handle)
    echo(render_profile(profile, fmt))
    if profile.status is ProfileStatus.UNKNOWN:
        raise typer.Exit(1)


class AttestStatus(str, Enum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    SUSPENDED = "suspended"
    DEACTIVATED = "deactivated"
    PROTECTED = "protected"


@profile_app.command("attest")
def attest_profile(
    ctx: typer.Context,
    platform: PlatformArg,
    handle: Annotated[str, typer.Argument(help="The handle as it appears on the platform.")],
    status: Annotated[
        AttestStatus, typer.Option("--status", help="What you saw: found, not_found, suspended, ...")
    ] = AttestStatus.FOUND,
    display_name: Annotated[str, typer.Option("--display-name", help="The profile's display name.")] = "",
    bio: Annotated[str, typer.Option("--bio", help="The profile's bio text, as shown.")] = "",
    website: Annotated[str, typer.Option("--website", help="The profile's website link.")] = "",
    links: Annotated[
        list[str] | None, typer.Option("--link", help="Another link on the profile (repeatable).")
    ] = None,
    checked_on: Annotated[
        str | None, typer.Option("--checked-on", help="When you looked (YYYY-MM-DD; default today).")
    ] = None,
    notes: Annotated[str, typer.Option("--notes", help="Anything the next reviewer should know.")] = "",
    remove: Annotated[
        bool,
        typer.Option(
            "--remove", help="Forget the attestation of this handle (a mistake, or an account gone)."
        ),
    ] = False,
) -> None:
    """Record what you saw on a profile the tool cannot read itself (Snapchat, personal TikTok...).

    The audit reads the latest attestation for the account instead of a platform API, so its
    affiliation, renamed and inactive checks cover these platforms too; without one the account
    is reported as `profile.unknown`. The attestation names you and the date. Recording and
    removing need an administrator, and both are logged.

    Example: auditor profile attest snapchat nnhs.huskies --display-name "NNHS Huskies" --bio "Official Snapchat of Naperville North High School (Naperville 203)"

    Remove one: auditor profile attest snapchat nnhs.huskies --remove
    """
    from datetime import date

    chosen = _platform(platform)
    registry = app_context(ctx).registry(admin=True)
    if remove:
        shown = inert(handle.strip().lstrip("@"))
        if RegistryAttestationStore(registry).remove(chosen, handle.strip().lstrip("@")):
            typer.echo(f"Removed the attestation of {chosen.label} {shown}.")
            return
        raise NotFoundError(
            f"no attestation of {chosen.label} {shown} is stored",
            "`auditor profile attest PLATFORM HANDLE ...` records one.",
        )
    who = registry.identity.name if registry.identity is not None else ""
    attestation = Attestation(
        platform=chosen,
        handle=handle.strip().lstrip("@"),
        checked_by=who,
        checked_on=day(checked_on, "--checked-on") or date.today(),
        status=ProfileStatus.parse(status.value),
        display_name=display_name,
        bio=bio,
        website=website,
        links=tuple(links or ()),
        notes=notes,
    )
    RegistryAttestationStore(registry).put(attestation)
    typer.echo(
        f"Recorded {who or 'your'} check of {chosen.label} {attestation.handle} "
        f"on {attestation.checked_on.isoformat()}."
    )
