"""`auditor policy ...`: the district policy the audit applies, stored encrypted in the registry.

`init` writes a preset, `import` replaces it with a file, `edit` opens it in $EDITOR, `show` prints
it, `check` validates the stored policy or a file. Writing needs an admin identity; every write is
validated first, so a broken file never replaces a working policy (auditor/services/policy.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import echo, echo_err
from auditor.cli.context import app_context
from auditor.engine.policy import PRESETS, dump_preset, source_text
from auditor.engine.policy.loader import read_policy_file
from auditor.model.errors import InputError, PolicyError, UsageError
from auditor.services.policy import INIT_HINT, check_text, require_policy, save_policy, stored_policy

app = typer.Typer(
    help="The district policy: which rules the audit applies, each mapped to a clause of the district's document.",
    no_args_is_help=True,
)


def _read(file: Path) -> str:
    """The policy file's text; a missing, unreadable, non-UTF-8 or oversized file is a clear error
    (the size is checked before the file is read, so a huge file costs nothing)."""

    if not file.exists():
        raise InputError(f"{file} does not exist")
    return read_policy_file(file)


@app.command("init")
def init(
    ctx: typer.Context,
    preset: Annotated[str, typer.Option("--preset", help="naperville-203 or moline-coal-valley.")],
    force: Annotated[bool, typer.Option("--force", help="Replace a policy that is already stored.")] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the preset to this file instead of the registry (to edit first)."
        ),
    ] = None,
) -> None:
    """Store a preset as the district's policy (admin).

    Review the values marked "district choice" afterwards (`auditor policy edit`).

    Example:

        auditor policy init --preset naperville-203
    """

    text = dump_preset(preset)
    if output is not None:
        if output.exists() and not force:
            raise UsageError(f"{output} already exists", "Use --force to overwrite it.")
        output.write_text(text, encoding="utf-8")
        echo(f"Wrote preset {preset} to {output}. Store it with `auditor policy import {output}`.")
        return
    reg = app_context(ctx).registry(admin=True)
    stored = save_policy(reg, text, f"preset {preset}", replace=force)
    echo(f"Stored the {preset} preset as the district policy (version {stored.version}).")
    echo("Review the values marked 'district choice' with `auditor policy edit`.")


@app.command("show")
def show(
    ctx: typer.Context,
    source: Annotated[
        bool, typer.Option("--source", help="Print the district document the preset quotes instead.")
    ] = False,
) -> None:
    """Print the stored policy exactly as the audit applies it.

    Example:

        auditor policy show > policy.toml
    """

    reg = app_context(ctx).registry()
    stored, policy = require_policy(reg)
    if source:
        if policy.id not in PRESETS:
            raise UsageError(f"no district document ships for policy {policy.id!r}")
        echo(source_text(policy.id))
        return
    echo_err(f"# stored policy: {stored.source}, set {stored.set_at[:19]} by {stored.set_by}")
    echo(stored.text)


@app.command("check")
def check(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="A policy file to validate (default: the stored policy).")
    ] = None,
) -> None:
    """Validate a policy file, or the stored policy, listing every problem with line and key.

    Exit code 0 when usable, 1 when not.

    Example:

        auditor policy check policy.toml
    """

    if file is not None:
        text, origin = _read(file), str(file)
    else:
        stored = stored_policy(app_context(ctx).registry())
        if stored is None:
            raise PolicyError("no district policy is stored in the registry", hint=INIT_HINT)
        text, origin = stored.text, "stored policy"
    problems = check_text(text, origin)
    if not problems:
        echo(f"{origin}: no problems found.")
        return
    for problem in problems:
        echo_err(problem)
    raise PolicyError(
        f"{origin}: {len(problems)} problem(s)", hint="Fix them and run `auditor policy check` again."
    )


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The policy TOML file (docs/policy.md).")],
) -> None:
    """Replace the stored policy with a file, after validating it (admin).

    Example:

        auditor policy import policy.toml
    """

    text = _read(file)
    reg = app_context(ctx).registry(admin=True)
    stored = save_policy(reg, text, f"file {file.name}")
    echo(f"Stored {file} as the district policy (version {stored.version}).")


def _edit_text(text: str) -> str | None:
    """Open `text` in $VISUAL / $EDITOR (default vi) in a private temporary file; the edited text."""
    import os
    import shlex
    import subprocess
    import tempfile

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    fd, path = tempfile.mkstemp(prefix="auditor-policy-", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        try:
            # The editor is the operator's own choice of program, run on a file only they can read.
            code = subprocess.call([*shlex.split(editor), path])  # noqa: S603
        except OSError as exc:
            raise UsageError(
                f"cannot start the editor {editor!r}: {type(exc).__name__}",
                "Set EDITOR, or use `auditor policy show > policy.toml` and `auditor policy import policy.toml`.",
            ) from None
        if code != 0:
            raise UsageError(f"the editor exited with status {code}; nothing was stored")
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    finally:
        os.unlink(path)


@app.command("edit")
def edit(ctx: typer.Context) -> None:
    """Edit the stored policy in $EDITOR; it is validated before it replaces the old one (admin).

    Example:

        EDITOR=nano auditor policy edit
    """

    reg = app_context(ctx).registry(admin=True)
    stored, _ = require_policy(reg)
    edited = _edit_text(stored.text)
    if edited is None or edited == stored.text:
        echo("No change.")
        return
    try:
        new = save_policy(reg, edited, "edited")
    except PolicyError as exc:
        # Keep the user's work: the text goes to a private file they can fix and import.
        import os
        import tempfile

        fd, kept = tempfile.mkstemp(prefix="policy-edit-", suffix=".toml", dir=".")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(edited)
        raise PolicyError(
            exc.message,
            hint=f"The stored policy was not changed; your edit is in {kept}. Fix it, then "
            f"`auditor policy check {kept}` and `auditor policy import {kept}`.",
            problems=exc.problems,
        ) from None
    echo(f"Stored the edited policy (version {new.version}).")
