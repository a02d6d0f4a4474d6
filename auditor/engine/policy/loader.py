"""Reading a policy TOML file into a `Policy`, validating it, and writing presets out.

`load_policy` parses with the standard library's `tomllib` and converts every value by hand so that a
mistake is reported as `policy line 14: renewal.training: '1 year' is not a period ...` instead of a
traceback: tomllib gives line numbers for syntax errors only, so for the rest we look the key up in
the text. Unknown keys are errors (a misspelt `requries` must not silently drop a condition).
`validate` then lists problems that need the whole policy in view (duplicate ids, framework
references to checks that do not exist, clause text left empty).
"""

from __future__ import annotations

import functools
import re
import tomllib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from auditor.engine.policy.model import (
    AGREEMENT_KINDS,
    DEFAULT_RETENTION,
    REQUIREMENT_FLAGS,
    Affiliation,
    Agreement,
    AllowlistEntry,
    Building,
    CheckSelection,
    Escrow,
    Framework,
    Managers,
    Period,
    PlatformRule,
    PlatformSettings,
    Policy,
    ProtectedRole,
    Renewal,
    Requirement,
    Warnings,
)
from auditor.model.errors import PolicyError
from auditor.model.types import Platform, Purpose

FORMAT_VERSION = 1
PRESETS = ("naperville-203", "moline-coal-valley")
ADULT_EMPLOYEE_MODES = ("always", "when_students", "never")
# A policy is a few kilobytes; 4 MiB leaves room for very long allowlists and frameworks while
# keeping `policy check` to a second or two and its memory small.
MAX_POLICY_BYTES = 4 * 1024 * 1024
# Look-alike discovery per platform and run: YouTube charges a unit per forHandle call (10,000 a
# day) and allows 100 search calls a day (platform-apis.md section 4), so these bounds keep one
# night's discovery inside a day's quota (docs/policy.md, [impersonation]).
MAX_PROBE_BUDGET = 5000
MAX_SEARCH_BUDGET = 90

KeyPath = tuple[str | int, ...]


class _LineIndex:
    """Where headers and keys sit in the policy text, built in one pass so that locating a key is a
    few dictionary look-ups and binary searches, whatever the number of problems (a policy with
    thousands of problems used to rescan the whole text for each one: quadratic)."""

    _ARRAY = re.compile(r"^\s*\[\[\s*(.*?)\s*\]\]\s*(#.*)?$")
    _SINGLE = re.compile(r"^\s*\[\s*(.*?)\s*\]\s*(#.*)?$")
    _KEY = re.compile(r'^\s*(?:"([^"]*)"|([^\s=.\[\]"#]+))\s*[=.]')

    def __init__(self, lines: list[str]) -> None:
        self.singles: dict[str, list[int]] = {}
        self.arrays: dict[str, list[int]] = {}
        self.keys: dict[str, list[int]] = {}
        self.brackets: list[int] = []  # every line starting with "[": where a table's keys end
        for n, line in enumerate(lines):
            if line.lstrip().startswith("["):
                self.brackets.append(n)
                if m := self._ARRAY.match(line):
                    self.arrays.setdefault(m.group(1), []).append(n)
                elif m := self._SINGLE.match(line):
                    self.singles.setdefault(m.group(1), []).append(n)
            elif m := self._KEY.match(line):
                key = m.group(1) if m.group(1) is not None else m.group(2)
                self.keys.setdefault(key, []).append(n)

    def header(self, dotted: str, start: int, index: int | None) -> int | None:
        """The first `[dotted]` at or after line `start`, or the index-th `[[dotted]]` from there."""
        found = (self.singles if index is None else self.arrays).get(dotted, [])
        at = bisect_left(found, start) + (index or 0)
        return found[at] if at < len(found) else None

    def key(self, key: str, start: int, bounded: bool) -> int | None:
        """The first line at or after `start` that sets `key`; when `bounded`, only up to the next
        line starting with "[" after `start` (the end of the table `start` heads)."""
        found = self.keys.get(key, [])
        at = bisect_left(found, start)
        if at == len(found):
            return None
        line = found[at]
        if bounded:
            nxt = bisect_right(self.brackets, start)
            if nxt < len(self.brackets) and self.brackets[nxt] < line:
                return None
        return line


class _Reader:
    """Converts the parsed TOML tree, collecting every problem with the line it sits on."""

    def __init__(self, text: str, origin: str) -> None:
        self.lines = text.splitlines()
        self.origin = origin
        self.problems: list[str] = []
        self._index: _LineIndex | None = None

    # -- locating keys in the text ----------------------------------------------------------------

    @property
    def index(self) -> _LineIndex:
        if self._index is None:  # built on the first problem: a clean policy never pays for it
            self._index = _LineIndex(self.lines)
        return self._index

    def line_of(self, path: KeyPath) -> int | None:
        """Best-effort line number of `path`: the deepest matching `[table]` or n-th `[[array]]`
        header, then the key's own line below it."""
        parts = list(path)
        header: list[str] = []
        start, found, i = 0, None, 0
        while i < len(parts):
            matched = False
            for j in range(len(parts), i, -1):
                segment = parts[i:j]
                if not all(isinstance(s, str) for s in segment):
                    continue
                nxt = parts[j] if j < len(parts) else None
                index = nxt if isinstance(nxt, int) else None
                dotted = ".".join([*header, *(str(s) for s in segment)])
                line = self.index.header(dotted, start, index)
                if line is not None:
                    header.extend(str(s) for s in segment)
                    start = found = line
                    i = j + (1 if index is not None else 0)
                    matched = True
                    break
            if not matched:
                break
        remaining = [p for p in parts[i:] if isinstance(p, str)]
        if remaining:
            line = self.index.key(remaining[0], start, bounded=found is not None)
            if line is not None:
                return line + 1
        return found + 1 if found is not None else None

    def fail(self, path: KeyPath, message: str) -> None:
        dotted = _dotted(path)
        line = self.line_of(path)
        where = f"{self.origin} line {line}" if line else self.origin
        self.problems.append(f"{where}: {dotted}: {message}" if dotted else f"{where}: {message}")

    # -- typed getters -----------------------------------------------------------------------------

    def table(
        self, data: Mapping[str, Any], key: str, path: KeyPath, allowed: Iterable[str]
    ) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.fail((*path, key), "expected a table")
            return {}
        self.no_unknown(value, (*path, key), allowed)
        return value

    def no_unknown(self, value: Mapping[str, Any], path: KeyPath, allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        for k in value:
            if k not in allowed:
                self.fail((*path, k), f"unknown key; expected one of: {', '.join(sorted(allowed))}")

    def string(
        self, data: Mapping[str, Any], key: str, path: KeyPath, default: str = "", required: bool = False
    ) -> str:
        if key not in data:
            if required:
                self.fail((*path, key), "is required")
            return default
        value = data[key]
        if not isinstance(value, str):
            self.fail((*path, key), f"expected a string, got {_describe(value)}")
            return default
        if required and not value.strip():
            self.fail((*path, key), "must not be empty")
        return value

    def strings(self, data: Mapping[str, Any], key: str, path: KeyPath) -> tuple[str, ...]:
        value = data.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail((*path, key), f"expected a list of strings, got {_describe(value)}")
            return ()
        return tuple(value)

    def boolean(self, data: Mapping[str, Any], key: str, path: KeyPath, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.fail((*path, key), f"expected true or false, got {_describe(value)}")
            return default
        return value

    def integer(
        self, data: Mapping[str, Any], key: str, path: KeyPath, default: int, lo: int, hi: int
    ) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail((*path, key), f"expected a whole number, got {_describe(value)}")
            return default
        if not lo <= value <= hi:
            self.fail((*path, key), f"must be between {lo} and {hi}, got {value}")
            return default
        return value

    def period(
        self, data: Mapping[str, Any], key: str, path: KeyPath, default: Period | None
    ) -> Period | None:
        if key not in data:
            return default
        value = data[key]
        # An empty string or false says "no renewal needed" explicitly.
        if value is False or value == "":
            return None
        try:
            return Period.parse(value)
        except ValueError as exc:
            self.fail((*path, key), str(exc))
            return default

    def platform(self, value: Any, path: KeyPath) -> Platform | None:
        try:
            return Platform.parse(str(value))
        except ValueError:
            self.fail(
                path, f"unknown platform {value!r}; expected one of: {', '.join(p.value for p in Platform)}"
            )
            return None

    def array_of_tables(self, data: Mapping[str, Any], key: str, path: KeyPath) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail((*path, key), f"expected an array of tables ([[{_dotted((*path, key))}]])")
            return []
        return value


def _dotted(path: KeyPath) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + p
    return out


def _describe(value: Any) -> str:
    kind = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }
    return kind.get(type(value), type(value).__name__)


# --------------------------------------------------------------------------------------------------


_TOP_KEYS = (
    "format_version", "district", "buildings", "protected", "platforms", "platform_settings", "renewal",
    "warnings", "affiliation", "managers", "escrow", "agreement", "activity", "impersonation", "allowlist",
    "checks", "framework", "audit",
)  # fmt: skip


def _too_big(origin: str, size: int) -> PolicyError:
    return PolicyError(
        f"{origin}: the policy is {size:,} bytes; the limit is {MAX_POLICY_BYTES:,}",
        hint="A district policy is a few kilobytes (the presets are under 10 KB): check that this is "
        "the right file.",
    )


def read_policy_file(path: Path, *, origin: str = "") -> str:
    """The text of a policy file, refused with a clear error when it is larger than
    MAX_POLICY_BYTES (read no further than that) or not UTF-8."""
    origin = origin or str(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_POLICY_BYTES + 1)
    except FileNotFoundError:
        raise PolicyError(
            f"policy file {path} does not exist",
            hint="Create one with `auditor policy init --preset naperville-203`.",
        ) from None
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {path}: {type(exc).__name__}") from None
    if len(data) > MAX_POLICY_BYTES:
        try:
            size = path.stat().st_size
        except OSError:
            size = len(data)
        raise _too_big(origin, max(size, len(data)))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PolicyError(
            f"{origin} line {line}: not UTF-8 text", hint="The policy is a UTF-8 TOML file."
        ) from None


def load_policy(source: str | Path, *, origin: str = "") -> Policy:
    """Parse a policy. A `Path` is read from disk; a `str` is the TOML text itself.

    Raises `PolicyError` naming the file, line and key of the first problem (the hint lists how
    many more there are), or saying the text is larger than MAX_POLICY_BYTES.
    """
    if isinstance(source, Path):
        origin = origin or str(source)
        text = read_policy_file(source, origin=origin)
    else:
        text = source
        if len(text) > MAX_POLICY_BYTES // 4 and len(text.encode("utf-8")) > MAX_POLICY_BYTES:
            raise _too_big(origin or "policy", len(text.encode("utf-8")))
    origin = origin or "policy"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already says "(at line N, column M)".
        raise PolicyError(
            f"{origin}: not valid TOML: {exc}", hint="Check quoting and brackets near that line."
        ) from None
    reader = _Reader(text, origin)
    policy = _build(reader, data)
    if reader.problems or policy is None:
        problems = reader.problems or [f"{origin}: the policy is incomplete"]
        more = len(problems) - 1
        error = PolicyError(
            problems[0],
            hint=(
                f"{more} more problem(s) in the file; run `auditor policy check` to list them all."
                if more
                else "Fix the key and run `auditor policy check`."
            ),
            problems=problems,
        )
        raise error
    return policy


def _build(r: _Reader, data: Mapping[str, Any]) -> Policy | None:
    r.no_unknown(data, (), _TOP_KEYS)
    version = data.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        r.fail(
            ("format_version",),
            f"this auditor reads format_version {FORMAT_VERSION}, the file says {version!r}",
        )

    district = r.table(data, "district", (), ("id", "name", "aliases", "email_domains", "website_domains"))
    d_path: KeyPath = ("district",)
    policy_id = r.string(district, "id", d_path, required=True)
    name = r.string(district, "name", d_path, required=True)
    aliases = r.strings(district, "aliases", d_path)
    email_domains = tuple(d.lower().lstrip("@") for d in r.strings(district, "email_domains", d_path))
    website_domains = tuple(d.lower() for d in r.strings(district, "website_domains", d_path))

    buildings = []
    for i, b in enumerate(r.array_of_tables(data, "buildings", ())):
        path: KeyPath = ("buildings", i)
        r.no_unknown(b, path, ("id", "name", "aliases", "administrator_role"))
        buildings.append(
            Building(
                id=r.string(b, "id", path, required=True),
                name=r.string(b, "name", path, required=True),
                aliases=r.strings(b, "aliases", path),
                administrator_role=r.string(b, "administrator_role", path, default="Principal"),
            )
        )

    protected = r.table(data, "protected", (), ("building_administrators", "roles"))
    roles = []
    for i, p in enumerate(r.array_of_tables(protected, "roles", ("protected",))):
        path = ("protected", "roles", i)
        r.no_unknown(p, path, ("id", "title", "names", "people", "handles", "building", "synonyms"))
        roles.append(
            ProtectedRole(
                id=r.string(p, "id", path, required=True),
                title=r.string(p, "title", path, required=True),
                names=r.strings(p, "names", path),
                people=r.strings(p, "people", path),
                handles=r.strings(p, "handles", path),
                building=r.string(p, "building", path),
                synonyms=r.strings(p, "synonyms", path),
            )
        )

    rules = []
    # Keys are platform names: r.platform() reports unknown ones with the list of choices.
    platforms = r.table(data, "platforms", (), data.get("platforms", {}) or {})
    for key, value in platforms.items():
        path = ("platforms", key)
        platform = r.platform(key, path)
        if not isinstance(value, dict):
            r.fail(path, "expected a table")
            continue
        r.no_unknown(value, path, ("approved", "allowed_purposes", "requires", "note"))
        purposes = []
        for purpose in r.strings(value, "allowed_purposes", path):
            try:
                purposes.append(Purpose.parse(purpose))
            except ValueError:
                r.fail(
                    (*path, "allowed_purposes"),
                    f"unknown purpose {purpose!r}; expected one of: {', '.join(x.value for x in Purpose)}",
                )
        requires = r.strings(value, "requires", path)
        for flag in requires:
            if flag not in REQUIREMENT_FLAGS:
                r.fail(
                    (*path, "requires"),
                    f"unknown condition {flag!r}; expected one of: {', '.join(REQUIREMENT_FLAGS)}",
                )
        if platform is not None:
            rules.append(
                PlatformRule(
                    platform=platform,
                    approved=r.boolean(value, "approved", path, True),
                    allowed_purposes=tuple(purposes),
                    requires=tuple(f for f in requires if f in REQUIREMENT_FLAGS),
                    note=r.string(value, "note", path),
                )
            )

    settings = []
    platform_settings = r.table(data, "platform_settings", (), data.get("platform_settings", {}) or {})
    for key, value in platform_settings.items():
        path = ("platform_settings", key)
        platform = r.platform(key, path)
        if not isinstance(value, dict):
            r.fail(path, "expected a table")
            continue
        options = []
        for k, v in value.items():
            if k in ("base_url", "api_version"):
                continue
            if not isinstance(v, str | int | bool):
                r.fail((*path, k), f"expected a string, number or boolean, got {_describe(v)}")
                continue
            options.append((k, str(v).lower() if isinstance(v, bool) else str(v)))
        base_url = r.string(value, "base_url", path)
        if base_url and not re.match(r"^https?://", base_url):
            r.fail(
                (*path, "base_url"),
                f"{base_url!r} must start with https:// (or http:// for a local test server)",
            )
        if platform is not None:
            settings.append(
                PlatformSettings(
                    platform=platform,
                    base_url=base_url.rstrip("/"),
                    api_version=r.string(value, "api_version", path),
                    options=tuple(options),
                )
            )

    renewal_t = r.table(data, "renewal", (), ("approval", "training", "agreement"))
    renewal = Renewal(
        approval=r.period(renewal_t, "approval", ("renewal",), None),
        training=r.period(renewal_t, "training", ("renewal",), None),
        agreement=r.period(renewal_t, "agreement", ("renewal",), None),
    )
    warnings_t = r.table(data, "warnings", (), ("approval_expiring",))
    warnings = Warnings(
        approval_expiring=r.period(warnings_t, "approval_expiring", ("warnings",), Period(days=30))
        or Period()
    )
    aff = r.table(data, "affiliation", (), ("phrases", "require_role", "role_phrases"))
    affiliation = Affiliation(
        phrases=r.strings(aff, "phrases", ("affiliation",)),
        require_role=r.boolean(aff, "require_role", ("affiliation",), False),
        role_phrases=r.strings(aff, "role_phrases", ("affiliation",)),
    )
    mgr = r.table(data, "managers", (), ("require_adult_employee", "under_13_grades"))
    mode = r.string(mgr, "require_adult_employee", ("managers",), default="when_students")
    if mode not in ADULT_EMPLOYEE_MODES:
        r.fail(
            ("managers", "require_adult_employee"),
            f"{mode!r} is not one of: {', '.join(ADULT_EMPLOYEE_MODES)}",
        )
        mode = "when_students"
    grades = r.strings(mgr, "under_13_grades", ("managers",)) if "under_13_grades" in mgr else None
    managers = (
        Managers(require_adult_employee=mode)
        if grades is None
        else Managers(mode, tuple(g.strip().upper() for g in grades))
    )
    esc = r.table(
        data,
        "escrow",
        (),
        (
            "accept_secondary_admin",
            "max_age",
            "rotation_deadline",
            "clipboard_seconds",
            "identity_unused_after",
        ),
    )
    escrow = Escrow(
        accept_secondary_admin=r.boolean(esc, "accept_secondary_admin", ("escrow",), False),
        max_age=r.period(esc, "max_age", ("escrow",), None),
        rotation_deadline=r.period(esc, "rotation_deadline", ("escrow",), Period(days=14)) or Period(days=14),
        clipboard_seconds=r.integer(esc, "clipboard_seconds", ("escrow",), 20, 1, 600),
        identity_unused_after=r.period(esc, "identity_unused_after", ("escrow",), Period(days=90)),
    )
    agr = r.table(data, "agreement", (), ("required",))
    required = r.strings(agr, "required", ("agreement",))
    for kind in required:
        if kind not in AGREEMENT_KINDS:
            r.fail(
                ("agreement", "required"),
                f"unknown agreement {kind!r}; expected one of: {', '.join(AGREEMENT_KINDS)}",
            )
    activity = r.table(data, "activity", (), ("inactive_after",))
    imp = r.table(data, "impersonation", (), ("threshold", "probe_budget", "search_budget"))
    aud = r.table(data, "audit", (), ("retention",))

    allowlist = []
    for i, a in enumerate(r.array_of_tables(data, "allowlist", ())):
        path = ("allowlist", i)
        r.no_unknown(a, path, ("platform", "handle", "reason", "name", "handles"))
        reason = r.string(a, "reason", path, required=True)
        if "handles" not in a:  # format 1: one platform, one handle
            platform = r.platform(a.get("platform", ""), (*path, "platform"))
            handle = r.string(a, "handle", path, required=True)
            if platform is not None:
                allowlist.append(AllowlistEntry(platform, handle, reason, r.string(a, "name", path)))
            continue
        # an organisation with its handles on any platform: "x:NapervillePTA", "instagram:..."
        org = r.string(a, "name", path, required=True)
        default = r.platform(a["platform"], (*path, "platform")) if "platform" in a else None
        for j, spec in enumerate(r.strings(a, "handles", path)):
            prefix, sep, rest = spec.partition(":")
            platform = r.platform(prefix, (*path, "handles", j)) if sep else default
            handle = (rest if sep else spec).strip()
            if platform is None:
                if not sep:
                    r.fail((*path, "handles", j), f"{spec!r}: write it as platform:handle, e.g. x:{spec}")
                continue
            if handle:
                allowlist.append(AllowlistEntry(platform, handle, reason, org))

    chk = r.table(data, "checks", (), ("best_practice", "extra", "disabled"))
    checks = CheckSelection(
        best_practice=r.boolean(chk, "best_practice", ("checks",), True),
        extra=r.strings(chk, "extra", ("checks",)),
        disabled=r.strings(chk, "disabled", ("checks",)),
    )

    fw = r.table(data, "framework", (), ("name", "source", "requirements"))
    fw_source = r.string(fw, "source", ("framework",))
    requirements = []
    for i, q in enumerate(r.array_of_tables(fw, "requirements", ("framework",))):
        path = ("framework", "requirements", i)
        r.no_unknown(q, path, ("id", "text", "source", "section", "checks", "platforms"))
        requirements.append(
            Requirement(
                id=r.string(q, "id", path, required=True),
                text=" ".join(r.string(q, "text", path, required=True).split()),
                source=r.string(q, "source", path, default=fw_source) or fw_source,
                section=r.string(q, "section", path, required=True),
                checks=r.strings(q, "checks", path),
                platforms=tuple(
                    p.value
                    for p in (r.platform(v, (*path, "platforms")) for v in r.strings(q, "platforms", path))
                    if p is not None
                ),
            )
        )
    framework = Framework(
        name=r.string(fw, "name", ("framework",)), source=fw_source, requirements=tuple(requirements)
    )

    return Policy(
        id=policy_id,
        name=name,
        aliases=aliases,
        email_domains=email_domains,
        website_domains=website_domains,
        buildings=tuple(buildings),
        protected_roles=tuple(roles),
        protect_building_administrators=r.boolean(protected, "building_administrators", ("protected",), True),
        platforms=tuple(rules),
        platform_settings=tuple(settings),
        renewal=renewal,
        warnings=warnings,
        affiliation=affiliation,
        managers=managers,
        escrow=escrow,
        agreement=Agreement(required=tuple(k for k in required if k in AGREEMENT_KINDS)),
        inactive_after=r.period(activity, "inactive_after", ("activity",), None),
        impersonation_threshold=r.integer(imp, "threshold", ("impersonation",), 85, 1, 100),
        probe_budget=r.integer(imp, "probe_budget", ("impersonation",), 400, 0, MAX_PROBE_BUDGET),
        search_budget=r.integer(imp, "search_budget", ("impersonation",), 25, 0, MAX_SEARCH_BUDGET),
        audit_retention=r.period(aud, "retention", ("audit",), DEFAULT_RETENTION),
        allowlist=tuple(allowlist),
        checks=checks,
        framework=framework,
        format_version=FORMAT_VERSION,
    )


# --------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------
# Presets: data files in auditor/engine/policy/presets/


def preset_names() -> tuple[str, ...]:
    return PRESETS


def dump_preset(name: str) -> str:
    """The preset's TOML text, ready to write as the district's policy file (comments included)."""
    if name not in PRESETS:
        raise PolicyError(f"unknown preset {name!r}", hint=f"Choose one of: {', '.join(PRESETS)}.")
    return (
        resources.files("auditor.engine.policy.presets").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    )


def load_preset(name: str) -> Policy:
    return load_policy(dump_preset(name), origin=f"preset {name}")


def source_text(name: str) -> str:
    """The district document a preset quotes, as shipped beside it (for `policy show --source`)."""
    if name not in PRESETS:
        raise PolicyError(f"unknown preset {name!r}", hint=f"Choose one of: {', '.join(PRESETS)}.")
    return (
        resources.files("auditor.engine.policy.presets").joinpath(f"{name}.txt").read_text(encoding="utf-8")
    )


def best_practice_text() -> str:
    return (
        resources.files("auditor.engine.policy.presets")
        .joinpath("best-practice.toml")
        .read_text(encoding="utf-8")
    )


@functools.cache
def best_practice_framework() -> Framework:
    """District-independent practices for checks no district document asks for (e.g. two-factor).

    Parsed once a process (the file ships with the package and the Framework is frozen): every
    finding asks for its requirements, and parsing the TOML per finding cost a third of an audit.
    A test that changes `best_practice_text` calls `best_practice_framework.cache_clear()`."""
    data = tomllib.loads(best_practice_text())
    reqs = tuple(
        Requirement(
            id=str(q["id"]),
            text=" ".join(str(q["text"]).split()),
            source=str(q.get("source", data.get("source", ""))),
            section=str(q.get("section", "")),
            checks=tuple(q.get("checks", ())),
        )
        for q in data.get("requirements", ())
    )
    return Framework(name=str(data.get("name", "")), source=str(data.get("source", "")), requirements=reqs)
