"""Building a roster source from a configuration table and a secret, for `auditor roster sync SOURCE`.

A district names its sources in its configuration, e.g.

    [roster.sources.sis]
    kind = "oneroster-rest"
    base_url = "https://sis.springfield.k12.us"
    token_url = "https://sis.springfield.k12.us/oauth/token"
    client_id = "auditor"
    version = "1.2"

and the secret (client secret, or the Google access token) comes from the OS keyring or the
registry, never from this table: `build_source` refuses option names that look like secrets. Options
are the keyword arguments of each source class (see docs/roster.md); unknown options are errors so a
typo does not silently fall back to a default.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from auditor.model.errors import ConnectorError
from auditor.model.types import PersonStatus, RoleRules, Secret
from connectors.roster.base import RosterSource, SourceKind, source_class
from connectors.roster.generic_csv import CsvMapping

# Which keyword argument receives the secret, per kind; None: the kind needs no secret.
SECRET_ARGUMENT: dict[SourceKind, str | None] = {
    SourceKind.ONEROSTER_CSV: None,
    SourceKind.CSV: None,
    SourceKind.ONEROSTER_REST: "client_secret",
    SourceKind.MSGRAPH: "client_secret",
    SourceKind.GOOGLE_DIRECTORY: "access_token",
}
_FORBIDDEN = ("secret", "token", "password")
_NOT_CONFIGURABLE = {"clock", "now", "http", "today"}  # injected by code (tests), not by a file
_STATUS_OPTIONS = {"disabled_means", "suspended_means"}
# Options every kind takes: what its roles mean and how they map to job titles (RoleRules).
_ROLE_OPTIONS = {"role_vocabulary", "role_map"}


def build_source(
    kind: SourceKind | str, options: Mapping[str, Any], secret: Secret | None = None, *, name: str = ""
) -> RosterSource:
    """A source of `kind` configured by `options` (a TOML table) and handed `secret`."""
    cls = source_class(kind)  # ConnectorError naming the kinds when unknown
    member = SourceKind(kind)
    params = inspect.signature(cls.__init__).parameters
    secret_arg = SECRET_ARGUMENT[member]
    kwargs: dict[str, Any] = {}
    role_options: dict[str, Any] = {}
    for key, value in options.items():
        if key == "kind":
            continue
        if key in _ROLE_OPTIONS:
            role_options[key] = value
            continue
        if key != "token_url" and any(word in key.lower() for word in _FORBIDDEN):
            raise ConnectorError(
                f"roster source {name or member.value}: {key!r} must not be in the configuration file",
                "store it with the keyring or the registry; it is handed to the source at run time",
            )
        if key not in params or key in _NOT_CONFIGURABLE or key == "self":
            allowed = sorted(
                {p for p in params if p not in {"self", *_NOT_CONFIGURABLE, secret_arg or ""}} | _ROLE_OPTIONS
            )
            raise ConnectorError(
                f"roster source {name or member.value}: unknown option {key!r}",
                f"options are: {', '.join(allowed)}",
            )
        if key in _STATUS_OPTIONS:
            value = PersonStatus.parse(value)
        elif key == "mapping":
            value = CsvMapping.from_dict(value)
        elif key in ("student_types", "student_org_units"):
            value = tuple(value)
        kwargs[key] = value
    if secret_arg is not None:
        if secret is None:
            raise ConnectorError(
                f"roster source {name or member.value} needs its {secret_arg.replace('_', ' ')}",
                "store it first; it is never read from the configuration file",
            )
        kwargs[secret_arg] = secret
    if name and "name" in params:
        kwargs.setdefault("name", name)
    try:
        source = cls(**kwargs)
    except TypeError as exc:  # a required option is missing
        raise ConnectorError(f"roster source {name or member.value}: {exc}") from None
    if role_options:
        try:
            source.roles = RoleRules.parse(
                str(role_options.get("role_vocabulary") or cls.role_vocabulary), role_options.get("role_map")
            )
        except ValueError as exc:
            raise ConnectorError(
                f"roster source {name or member.value}: {exc}",
                "see docs/roster.md, 'Roles': e.g. role_map = { administrator = [\"Principal\"] }",
            ) from None
    return source
