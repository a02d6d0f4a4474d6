"""`auditor secret ...`: escrowed credentials of district accounts (admins only).

Values are read from hidden prompts or stdin, never from arguments (they would land in shell
history and the process list). Anything that shows a secret needs `--reason` and is logged in the
reveal log BEFORE it is printed; if the log cannot be written, nothing is shown (exit 1).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import FormatOpt, JsonOpt, echo, pick_format
from auditor.cli.context import app_context
from auditor.cli.output import OutputFormat, json_envelope, render_rows
from auditor.model.errors import AuditorError, UsageError
from auditor.model.types import Platform, Secret
from auditor.services.escrow import export_credentials, import_credentials
from vault.escrow import exportfile
from vault.escrow.bundle import bundle_from_fields, parse_input
from vault.escrow.passwords import DEFAULT_LENGTH, PasswordPolicy, generate_password
from vault.escrow.rotation import Rotation, StageResult
from vault.escrow.store import Escrow
from vault.registry import utcnow
from vault.stores import tasks
from vault.stores.inventory import Inventory
from vault.unlock import read_passphrase_file

app = typer.Typer(
    help="Escrowed credentials: store, generate, reveal (logged), history, export and import.",
    no_args_is_help=True,
)

ReasonOpt = Annotated[
    str,
    typer.Option("--reason", help="Why you need it (mandatory; written to the reveal log)."),
]
AccountArg = Annotated[
    str, typer.Argument(help="The account: PLATFORM:HANDLE (x:@lincolnhs), @handle or id.")
]


def _escrow(ctx: typer.Context):  # type: ignore[no-untyped-def]

    return Escrow(app_context(ctx).registry(escrow=True))


def _account(ctx: typer.Context, ref: str):  # type: ignore[no-untyped-def]

    return Inventory(app_context(ctx).registry(escrow=True)).resolve_account(ref)


def _need_reason(reason: str) -> str:
    if not reason.strip():
        raise UsageError(
            "--reason must say why the secret is needed", 'For example: --reason "owner left; ticket 4521"'
        )
    return reason.strip()


def _read_stdin() -> str:
    return typer.get_text_stream("stdin").read()


def _has_terminal() -> bool:
    return sys.stdin.isatty()


# The prompts of `secret set`, in order: key, label, hidden.
_PROMPTS = (
    ("login", "Login name", False),
    ("password", "Password", True),
    ("totp", "TOTP otpauth:// URI or base32 seed", True),
    ("recovery_codes", "Recovery codes (comma-separated)", True),
    ("recovery_email", "Recovery e-mail", False),
    ("recovery_phone", "Recovery phone", False),
)


def _prompt_bundle_fields(*, issuer: str, account: str, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Hidden prompts, one per field; blank keeps the previous value. A password is asked twice;
    each answer is checked as soon as it is typed and asked again when it is wrong (the message
    never repeats the value), so nothing typed earlier is lost to a later mistake.

    The answers are kept exactly as typed: they never pass through the stdin text parser,
    which trims values.
    """
    if not _has_terminal():
        raise UsageError(
            "no terminal to prompt on",
            "Pipe the values with --stdin (JSON or key=value lines; see `auditor secret set --help`).",
        )
    fields: dict[str, str] = {}
    for key, label, hidden in _PROMPTS:
        if key in skip:
            continue
        while True:
            value = typer.prompt(
                f"{label} (blank: keep)",
                default="",
                hide_input=hidden,
                show_default=False,
                confirmation_prompt=f"{label} again (blank: keep)" if key == "password" else False,
            )
            value = value if key == "password" else value.strip()
            try:
                if value:
                    bundle_from_fields({key: value}, totp_issuer=issuer, totp_account=account)
            except AuditorError as exc:
                typer.echo(f"error: {exc.message}; try again (blank keeps the previous value)", err=True)
                continue
            fields[key] = value
            break
    return fields


def _generated(platform: Platform, length: int | None) -> Secret:
    """A password meeting the platform's rules (`PlatformInfo.password_max_length`)."""
    cap = platform.info.password_max_length
    if length is None:
        length = min(DEFAULT_LENGTH, cap) if cap else DEFAULT_LENGTH
    if cap and length > cap:
        raise UsageError(
            f"{platform.label} takes passwords of at most {cap} characters, not {length}",
            f"Use --length {cap} or less.",
        )
    return generate_password(PasswordPolicy(length=length))


@app.command("set")
def set_(
    ctx: typer.Context,
    account: AccountArg,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read JSON or key=value lines from stdin.")] = False,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="Store exactly what is given instead of merging with the previous version."
        ),
    ] = False,
    pending: Annotated[
        bool,
        typer.Option(
            "--pending",
            help="Stage it for the rotation task: current only once `auditor task confirm` proves it.",
        ),
    ] = False,
    generate: Annotated[
        bool,
        typer.Option(
            "--generate", help="Generate the password (meeting the platform's rules) instead of typing it."
        ),
    ] = False,
) -> None:
    """Store a new version of an account's credentials (the previous versions are kept), or with
    --pending stage a new password, TOTP key or recovery codes for the account's rotation task.

    Fields: login, password, totp (otpauth:// URI or base32 seed), recovery_codes, recovery_email,
    recovery_phone, notes. Given fields replace those of the previous version; the rest are kept.
    Storing never closes a rotation task: each of its steps is confirmed with `auditor task confirm`.

    Example:

        printf 'password=%s\\ntotp=otpauth://totp/...\\n' "$NEW" | auditor secret set instagram:@lincolnhs --stdin

        auditor secret set x:@lincolnhs          (hidden prompts)

        auditor secret set x:@lincolnhs --pending    (the new TOTP key after re-enrolling two-factor)
    """

    if pending and replace:
        raise UsageError(
            "--pending and --replace do not go together",
            "A pending credential is merged when it is confirmed.",
        )
    acct = _account(ctx, account)
    issuer, label = acct.platform.label, acct.handle.lstrip("@")
    if stdin:
        bundle = parse_input(_read_stdin(), totp_issuer=issuer, totp_account=label)
    else:
        skip = ("password",) if generate else ()
        bundle = bundle_from_fields(
            _prompt_bundle_fields(issuer=issuer, account=label, skip=skip),
            totp_issuer=issuer,
            totp_account=label,
        )
    if generate:
        bundle = dataclasses.replace(bundle, password=_generated(acct.platform, None))
        echo(f"Generated a new password for {acct.platform.label}.")
    if pending:
        staged = Rotation(_escrow(ctx)).stage(acct.id, bundle, action="set")
        _say_staged(acct.label, staged)
        return
    escrow = _escrow(ctx)
    result = escrow.store(acct.id, bundle, merge=not replace)
    echo(f"Stored version {result.ref.version} of {acct.label}'s credentials.")
    task = tasks.open_task_for(escrow.registry, acct.id)
    if task is not None:
        echo(
            f"Rotation task {task.id} stays open until each step is confirmed "
            f"(`auditor task show {task.id}`): {', '.join(i.value for i in task.outstanding)}."
        )


def _say_staged(label: str, staged: StageResult) -> None:
    task = staged.task
    fields = ", ".join(f.replace("_", " ") for f in staged.fields)
    echo(f"Staged as pending for {label}: {fields} (the current credential is unchanged).")
    echo(
        f"Rotation task {task.id} ({'opened now' if staged.created else 'open'}); to confirm: "
        + ", ".join(i.value for i in task.outstanding)
        + "."
    )
    echo(
        f"Next: set it on the platform, then `auditor task confirm {task.id} ITEM` (`auditor task show {task.id}`)."
    )


@app.command("generate")
def generate(
    ctx: typer.Context,
    account: AccountArg,
    length: Annotated[
        int | None,
        typer.Option(
            "--length", help="Password length (12-256; default 24, or the platform's maximum if lower)."
        ),
    ] = None,
    show: Annotated[
        bool, typer.Option("--show", help="Print the new password (needs --reason; logged).")
    ] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why it is shown (with --show).")] = "",
) -> None:
    """Generate a strong random password and stage it as PENDING (nothing secret is printed): the
    current password stays current until you set the new one on the platform and confirm it with
    `auditor task confirm TASK password`. Opens a rotation task if none is open.

    Show it to type on the platform with `auditor secret show ACCOUNT --pending --reason ...`, or use
    --show to print it once, logged.

    Example:

        auditor secret generate x:@lincolnhs --length 32

        auditor secret generate x:@lincolnhs --show --reason "rotating after offboarding"
    """
    if show:
        _need_reason(reason)
    acct = _account(ctx, account)
    rotation = Rotation(_escrow(ctx))
    password = _generated(acct.platform, length)
    staged = rotation.generate(acct.id, password=password)
    echo(f"Generated a new {len(password.reveal_str())}-character password.")
    _say_staged(acct.label, staged)
    if show:
        bundle = rotation.reveal_pending(acct.id, reason)
        assert bundle.password is not None
        echo(f"password: {bundle.password.reveal_str()}")


@app.command("show")
def show(
    ctx: typer.Context,
    account: AccountArg,
    reason: ReasonOpt,
    version: Annotated[
        int | None, typer.Option("--version", help="An older version (see `secret history`).")
    ] = None,
    pending: Annotated[
        bool,
        typer.Option(
            "--pending", help="The pending credential of the rotation task (its TOTP key is never shown)."
        ),
    ] = False,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """Print an account's escrowed credentials. The reveal is logged (with your reason) BEFORE
    anything is printed; if the log cannot be written, nothing is shown.

    Example:

        auditor secret show instagram:@lincolnhs_athletics --reason "coach left; ticket 4521"

        auditor secret show x:@lincolnhs --pending --reason "setting the new password on X"
    """
    reason = _need_reason(reason)
    if pending and version is not None:
        raise UsageError("--pending and --version do not go together")
    acct = _account(ctx, account)
    escrow = _escrow(ctx)
    bundle = (
        Rotation(escrow).reveal_pending(acct.id, reason)
        if pending
        else escrow.reveal(acct.id, reason, version=version)
    )
    if pick_format(fmt, as_json) is OutputFormat.JSON:
        echo(json_envelope("auditor/credential", [{"account": acct.label, **bundle.reveal_dict()}]))
        return
    echo(acct.label)
    for line in bundle.reveal_lines():
        echo(line)


@app.command("totp")
def totp(ctx: typer.Context, account: AccountArg, reason: ReasonOpt) -> None:
    """Print the current TOTP code and the seconds it stays valid (logged before printing).

    Example:

        auditor secret totp x:@lincolnhs --reason "signing in to remove a former coach"
    """

    reason = _need_reason(reason)
    acct = _account(ctx, account)
    bundle = _escrow(ctx).reveal(acct.id, reason, action="totp")
    code, left = bundle.totp_now(utcnow())
    echo(f"{code}  (valid for {left} more second{'s' if left != 1 else ''})")


@app.command("history")
def history(
    ctx: typer.Context, account: AccountArg, fmt: FormatOpt = OutputFormat.TABLE, as_json: JsonOpt = False
) -> None:
    """List the stored versions of an account's credentials: when, by whom, what changed (no values).
    An imported version also shows the date the export gives it ("import-history": an older
    password from the export's history, stored before the entry itself).

    Example:

        auditor secret history x:@lincolnhs
    """

    reg = app_context(ctx).registry()

    acct = Inventory(reg).resolve_account(account)
    rows = [v.to_dict() for v in Escrow(reg).history(acct.id)]
    cols = [
        ("version", "Version"),
        ("set_at", "When"),
        ("set_by", "By"),
        ("action", "Action"),
        ("fields", "Changed"),
        ("dated", "Export date"),
        ("has_totp", "TOTP"),
        ("recovery_codes_unused", "Codes unused"),
    ]
    echo(render_rows(rows, cols, pick_format(fmt, as_json), schema="auditor/credential-history"))


@app.command("use-code")
def use_code(
    ctx: typer.Context,
    account: AccountArg,
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the code from stdin instead of a prompt.")
    ] = False,
) -> None:
    """Mark one recovery code as used (stores a new version). The code is read from a hidden prompt
    or stdin, never from the command line.

    Example:

        auditor secret use-code x:@lincolnhs
    """
    acct = _account(ctx, account)
    if stdin:
        code = _read_stdin().strip()
    else:
        if not sys.stdin.isatty():
            raise UsageError("no terminal to prompt on", "Pipe the code with --stdin.")
        code = typer.prompt("Recovery code", hide_input=True)
    if not code:
        raise UsageError("no recovery code was given")
    result = _escrow(ctx).mark_code_used(acct.id, Secret(code))
    echo(
        f"Marked the code used: {result.ref.recovery_codes_unused} of {result.ref.recovery_codes_total} "
        f"codes left for {acct.label} (version {result.ref.version})."
    )
    if result.ref.recovery_codes_unused <= 2:
        echo("Few codes left: regenerate them on the platform and store them with `auditor secret set`.")


@app.command("export")
def export(
    ctx: typer.Context,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="File to write (never overwritten; mode 0600).")
    ],
    reason: ReasonOpt,
    account: Annotated[
        list[str] | None,
        typer.Option("--account", help="Only this account (repeatable; default: all escrowed)."),
    ] = None,
    recipient: Annotated[
        list[str] | None,
        typer.Option("--recipient", "-r", help="Encrypt to this age public key (age1...); repeatable."),
    ] = None,
    export_passphrase_file: Annotated[
        Path | None,
        typer.Option(
            "--export-passphrase-file", help="Encrypt with the passphrase in this 0600 file (else prompted)."
        ),
    ] = None,
    plaintext: Annotated[
        bool, typer.Option("--plaintext", help="Write PLAIN TEXT (asks for confirmation).")
    ] = False,
    yes_i_understand: Annotated[
        bool, typer.Option("--yes-i-understand", help="Confirm --plaintext without a prompt.")
    ] = False,
    as_format: Annotated[
        str,
        typer.Option(
            "--as",
            help="auditor (age or passphrase; default) or bitwarden (password-protected JSON that "
            "Bitwarden and KeePassXC import).",
        ),
    ] = "auditor",
) -> None:
    """Export credentials for a successor, encrypted: to an age recipient (decrypt with
    `age -d -i key.txt`), with a passphrase (auditor-export/v1; read back by `secret import`), or
    as Bitwarden's password-protected JSON (`--as bitwarden`: import it in Bitwarden, or in
    KeePassXC with Database > Import > Bitwarden). Every exported account is logged with your reason
    before the file is written; plain text only with --plaintext and a confirmation.

    Example:

        auditor secret export -o handover.json --as bitwarden --reason "handover to the new athletic director"

        auditor secret export -o handover.age --recipient age1... --reason "handover to new comms director"

        auditor secret export -o handover.aex --account x:@lincolnhs --reason "handover"   (prompts for a passphrase)
    """
    import os

    reason = _need_reason(reason)
    passphrase: Secret | None = None
    if plaintext:
        if recipient or export_passphrase_file:
            raise UsageError("--plaintext cannot be combined with --recipient or --export-passphrase-file")
        if not yes_i_understand:
            if not sys.stdin.isatty():
                raise UsageError(
                    "a plaintext export needs confirmation and there is no terminal to ask on",
                    "Prefer --recipient or a passphrase; if you must, add --yes-i-understand.",
                )
            if not typer.confirm(
                "Write every selected password, TOTP seed and recovery code in PLAIN TEXT?", default=False
            ):
                raise UsageError("plaintext export cancelled; nothing was written")
    elif not recipient:
        if export_passphrase_file:
            passphrase = read_passphrase_file(export_passphrase_file)
        else:
            if not sys.stdin.isatty():
                raise UsageError(
                    "an export needs --recipient age1... or a passphrase, and there is no terminal to ask on",
                    "Give --export-passphrase-file FILE (mode 0600) or --recipient.",
                )
            passphrase = Secret(
                typer.prompt("Passphrase for the export file", hide_input=True, confirmation_prompt=True)
            )
        if len(passphrase.reveal_str()) < 12:
            raise UsageError("the export passphrase is too short (at least 12 characters)")
    result = export_credentials(
        app_context(ctx).registry(escrow=True),
        output,
        accounts=account or (),
        reason=reason,
        recipients=recipient or (),
        passphrase=passphrase,
        plaintext=plaintext,
        kdf_profile=os.environ.get("AUDITOR_KDF_PROFILE", "default"),
        as_format=as_format.strip().casefold(),
    )
    echo(f"Exported {len(result.accounts)} account(s) to {result.path} ({result.format}); logged.")
    if result.format == "plaintext":
        echo("This file is NOT encrypted: hand it over in person and shred it afterwards.")


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="A password manager's export (docs/import.md), a .kdbx, or an auditor export.",
            exists=True,
            dir_okay=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be imported; change nothing.")
    ] = False,
    identity_file: Annotated[
        Path | None,
        typer.Option("--identity-file", help="age identity (AGE-SECRET-KEY-1...) for an .age export."),
    ] = None,
    export_passphrase_file: Annotated[
        Path | None,
        typer.Option("--export-passphrase-file", help="Passphrase file for an auditor-export/v1 file."),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Let entries whose values differ from the escrowed ones replace the current credential.",
        ),
    ] = False,
    matched_only: Annotated[
        bool,
        typer.Option(
            "--matched-only",
            help="Import the entries that match one account; list every other one with the reason.",
        ),
    ] = False,
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="File holding the password of a .kdbx or a password-protected Bitwarden export.",
        ),
    ] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """Import credentials from a password manager's export (Bitwarden, KeePassXC, KeePass 2,
    a .kdbx database, 1Password, LastPass, Chrome/Edge, Firefox, Apple Passwords: the format is
    told from the content), matched to accounts by profile URL, login e-mail or handle; TOTP keys
    are kept. All or nothing: if any entry matches no account or several, or cannot be read,
    nothing is imported; with --matched-only the matched entries are imported and every other
    one is listed with the reason. A backup is taken before anything is written. Shred the
    export file afterwards.

    A credential is never demoted. An entry equal to the escrowed one is "unchanged"; one older
    than it (a value an earlier version held, or an entry the export last changed before the
    current version was stored) is left alone; one that only adds a missing field (a TOTP key) is
    stored. An entry that would replace a current value with a different one needs --replace:
    without it nothing is imported and each such entry is named. Used recovery codes stay used.

    Example:

        auditor secret import bitwarden_export.json --dry-run

        auditor secret import keepassxc.csv

        auditor secret import keepassxc.csv --replace    (the export holds the newer passwords)

        auditor secret import district.kdbx --matched-only    (asks for the database password)
    """

    def decrypt(data: bytes, kind: str) -> bytes:
        if kind == "age":
            if identity_file is None:
                raise UsageError("this is an age file; give --identity-file KEYFILE")

            return exportfile.age_decrypt(data, read_passphrase_file(identity_file))
        if export_passphrase_file is not None:
            phrase = read_passphrase_file(export_passphrase_file)
        elif sys.stdin.isatty():
            phrase = Secret(typer.prompt("Passphrase of the export file", hide_input=True))
        else:
            raise UsageError("this export is passphrase-encrypted; give --export-passphrase-file FILE")
        return exportfile.passphrase_decrypt(data, phrase)

    def password(prompt: str) -> Secret:
        if password_file is not None:
            return read_passphrase_file(password_file)
        if sys.stdin.isatty():
            return Secret(typer.prompt(prompt, hide_input=True))
        raise UsageError(f"{prompt} is needed: give --password-file FILE (or run on a terminal)")

    outcome = import_credentials(
        app_context(ctx).registry(escrow=True),
        file,
        dry_run=dry_run,
        decrypt=decrypt,
        replace=replace,
        matched_only=matched_only,
        password=password,
    )
    if pick_format(fmt, as_json) is OutputFormat.JSON:
        echo(
            json_envelope(
                "auditor/credential-import",
                [e.to_dict() for e in outcome.entries],
                dry_run=outcome.dry_run,
                replace=outcome.replace,
                imported=not outcome.refused and not outcome.dry_run and bool(outcome.imported),
                refused=outcome.refused,
                unmatched=list(outcome.unmatched),
                not_imported=list(outcome.left_out),
                format=outcome.format or None,
                backup=outcome.backup or None,
            )
        )
    else:
        for line in outcome.plan_lines:
            echo(line)
        for entry in outcome.entries:
            echo(entry.line(dry_run=outcome.dry_run))
        for left in outcome.left_out:
            echo(f"  not imported: {left}")
    if not outcome.clean:
        raise AuditorError(
            "nothing was imported: some entries match no account, or more than one",
            "Fix or remove those entries (listed above by title), then import again; "
            "or import only the matched entries with --matched-only.",
        )
    if outcome.conflicts:
        n = len(outcome.conflicts)
        raise AuditorError(
            f"nothing was imported: {n} entr{'y' if n == 1 else 'ies'} would replace the escrowed "
            f"credential with a different one: "
            + ", ".join(f"{e.entry} -> {e.account}" for e in outcome.conflicts),
            "If the export holds the credentials the platforms use now, import again with --replace; "
            "otherwise remove those entries.",
        )
    if pick_format(fmt, as_json) is OutputFormat.JSON:
        return
    if outcome.dry_run:
        echo("Dry run: nothing was imported.")
        return
    if not outcome.imported:
        echo("Nothing to import: every entry is unchanged or older than the escrowed version.")
        return
    echo(f"Imported credentials for {len(outcome.imported)} account(s). Backup taken first: {outcome.backup}")
    echo(f"Shred {file} now (e.g. `shred -u {file}`).")
