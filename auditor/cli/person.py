"""`auditor person ...`: the people who own, co-manage or post to district accounts."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer

from auditor.cli.common import ClearEmptyOpt, FormatOpt, JsonOpt, day, echo, echo_err, pick_format
from auditor.cli.context import app_context
from auditor.cli.output import OutputFormat, render_record, render_rows
from auditor.model.errors import UsageError
from auditor.model.types import Person, PersonKind, PersonStatus, check_person_name
from auditor.services.imports import check_email, person_buildings, read_people
from auditor.services.inventory import import_people

app = typer.Typer(
    help="People: employees, students, volunteers who manage district accounts.", no_args_is_help=True
)

PERSON_COLUMNS = [
    ("name", "Name"),
    ("email", "Email"),
    ("kind", "Kind"),
    ("role", "Role"),
    ("building", "Building"),
    ("status", "Status"),
    ("training_completed_on", "Training"),
    ("procedure_signed_on", "Procedure"),
    ("aup_signed_on", "AUP"),
]


def person_row(p: Person) -> dict[str, Any]:
    data = p.to_dict()
    ordered = {"id": p.id}
    ordered.update({k: data[k] for k in data if k != "id"})
    return ordered


def _shown(row: dict[str, Any], p: Person) -> dict[str, Any]:
    """A row as the table shows it: every building in the one column ("North; Central")."""
    row = {**row, "building": "; ".join(p.all_buildings)}
    row.pop("buildings", None)
    return row


BUILDING_HELP = "Building or department; several separated by ; (the first is the primary one)."


def _name(value: str) -> str:

    try:
        name = check_person_name(value)
    except ValueError as exc:
        raise UsageError(f"--name: {exc}") from None
    if not name:
        raise UsageError("--name: a name is required")
    return name


def _kind(value: str | None) -> PersonKind | None:
    try:
        return PersonKind.parse(value) if value else None
    except ValueError as exc:
        raise UsageError(f"--kind: {exc}") from exc


def _status(value: str | None) -> PersonStatus | None:
    try:
        return PersonStatus.parse(value) if value else None
    except ValueError as exc:
        raise UsageError(f"--status: {exc}") from exc


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    email: Annotated[str, typer.Option("--email", help="District email (the person's key).")] = "",
    kind: Annotated[
        str, typer.Option("--kind", help="employee, student, volunteer or community.")
    ] = "employee",
    adult: Annotated[
        bool | None, typer.Option("--adult/--minor", help="Whether the person is an adult.")
    ] = None,
    birth_date: Annotated[str | None, typer.Option("--birth-date", help="YYYY-MM-DD (students).")] = None,
    grade: Annotated[str, typer.Option("--grade", help="Grade level (students).")] = "",
    role: Annotated[str, typer.Option("--role", help="Job title or role.")] = "",
    building: Annotated[str, typer.Option("--building", help=BUILDING_HELP)] = "",
    status: Annotated[str, typer.Option("--status", help="active, on_leave or departed.")] = "active",
    employee_id: Annotated[str, typer.Option("--employee-id", help="HR employee number.")] = "",
    training: Annotated[str | None, typer.Option("--training", help="Date training was completed.")] = None,
    procedure_signed: Annotated[
        str | None, typer.Option("--procedure-signed", help="Date the procedure was signed.")
    ] = None,
    aup_signed: Annotated[
        str | None, typer.Option("--aup-signed", help="Date the acceptable-use policy was signed.")
    ] = None,
    notes: Annotated[str, typer.Option("--notes")] = "",
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """Add a person.

    Example:

        auditor person add --name "Dana Smith" --email dsmith@d203.org --role "Athletic Director" --building "North HS"
    """

    name = _name(name)
    try:
        email = check_email(email)
    except ValueError as exc:
        raise UsageError(f"--email: {exc}") from exc
    person_kind = _kind(kind) or PersonKind.EMPLOYEE
    if person_kind is PersonKind.EMPLOYEE and not email:
        raise UsageError("employees need their district email (--email)")
    inv = app_context(ctx).inventory()
    primary, buildings = person_buildings(building)
    person = inv.add_person(
        Person(
            id="",
            name=name,
            email=email,
            kind=person_kind,
            adult=adult,
            birth_date=day(birth_date, "--birth-date"),
            grade=grade,
            role=role,
            building=primary,
            buildings=buildings,
            status=_status(status) or PersonStatus.ACTIVE,
            employee_id=employee_id,
            training_completed_on=day(training, "--training"),
            procedure_signed_on=day(procedure_signed, "--procedure-signed"),
            aup_signed_on=day(aup_signed, "--aup-signed"),
            notes=notes,
        )
    )
    fmt = pick_format(fmt, as_json)
    if fmt is OutputFormat.TABLE:
        echo(f"Added {person.name} <{person.email}> ({person.id})")
    else:
        echo(render_record(person_row(person), fmt, schema="auditor/person"))


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="Only people with this status.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only people of this kind.")] = None,
    building: Annotated[str | None, typer.Option("--building", help="Only people in this building.")] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """List people. --format csv writes the import's own header (every column of docs/import.md,
    UTF-8 with a BOM), so a list edited in Excel imports back with `auditor person import`.

    Example:

        auditor person list --status departed --format csv > departed.csv
        auditor person list --format csv > people.csv && auditor person import people.csv --dry-run
    """
    inv = app_context(ctx).inventory()
    wanted_status, wanted_kind = _status(status), _kind(kind)
    people = [
        p
        for p in inv.people()
        if (wanted_status is None or p.status is wanted_status)
        and (wanted_kind is None or p.kind is wanted_kind)
        and (building is None or p.works_at(building))
    ]
    chosen = pick_format(fmt, as_json)
    if chosen is OutputFormat.CSV:
        # The import's own header (docs/import.md): export, edit in Excel, import back.
        from auditor.services.imports import PERSON_COLUMNS as IMPORT_COLUMNS
        from auditor.services.imports import export_csv, person_export_row

        echo(export_csv([person_export_row(p) for p in people], list(IMPORT_COLUMNS)))
    else:
        echo(
            render_rows(
                [person_row(p) if chosen is OutputFormat.JSON else _shown(person_row(p), p) for p in people],
                PERSON_COLUMNS, chosen, schema="auditor/people",
                empty="No people match.",
            )
        )  # fmt: skip
    report_damaged(inv)


@app.command("show")
def show(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="Email, id or exact name.")],
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """Show one person, where each field's value came from, and the accounts they are named on.

    Example:

        auditor person show dsmith@d203.org
    """
    inv = app_context(ctx).inventory()
    p = inv.resolve_person(person)
    row = person_row(p)
    accounts = inv.references_to(p.id)
    row["accounts"] = [f"{a.platform.value}:{a.handle}" for a in accounts]
    chosen = pick_format(fmt, as_json)
    if chosen is not OutputFormat.JSON:
        row = _shown(row, p)
        # Where each value came from, one field a line ("role: roster:hr on 2026-12-01").
        row["sources"] = "\n".join(
            f"{name}: {src.by} on {src.at[:10]}" for name, src in sorted(p.sources.items())
        )
    echo(render_record(row, chosen, schema="auditor/person"))


HISTORY_COLUMNS = [
    ("at", "When (UTC)"), ("by", "By"), ("source", "Source"), ("field", "Field"), ("old", "Old"), ("new", "New"),
]  # fmt: skip


@app.command("history")
def history(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="Email, id or exact name.")],
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """What changed on one person, field by field, oldest first: each import, roster sync, edit and
    offboarding, with its source (import:FILE, roster:NAME, command, offboard) and old -> new.

    Example:

        auditor person history dsmith@d203.org
        auditor person history dsmith@d203.org --format csv > dsmith-history.csv
    """
    from auditor.services.inventory import history_rows

    inv = app_context(ctx).inventory()
    p = inv.resolve_person(person)
    rows = history_rows(inv, p.id)
    echo(
        render_rows(
            rows, HISTORY_COLUMNS, pick_format(fmt, as_json), schema="auditor/history",
            empty=f"No recorded changes for {p.name}.",
        )
    )  # fmt: skip


@app.command("edit")
def edit(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="Email, id or exact name.")],
    name: Annotated[str | None, typer.Option("--name")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    kind: Annotated[str | None, typer.Option("--kind")] = None,
    adult: Annotated[bool | None, typer.Option("--adult/--minor")] = None,
    birth_date: Annotated[str | None, typer.Option("--birth-date")] = None,
    grade: Annotated[str | None, typer.Option("--grade")] = None,
    role: Annotated[str | None, typer.Option("--role")] = None,
    building: Annotated[str | None, typer.Option("--building", help=BUILDING_HELP)] = None,
    status: Annotated[str | None, typer.Option("--status", help="active, on_leave or departed.")] = None,
    employee_id: Annotated[str | None, typer.Option("--employee-id")] = None,
    training: Annotated[str | None, typer.Option("--training", help="Date training was completed.")] = None,
    procedure_signed: Annotated[str | None, typer.Option("--procedure-signed")] = None,
    aup_signed: Annotated[str | None, typer.Option("--aup-signed")] = None,
    notes: Annotated[str | None, typer.Option("--notes")] = None,
) -> None:
    """Change a person; only the options given change.

    Example:

        auditor person edit dsmith@d203.org --training 2026-09-01 --role "Assistant Principal"
    """
    from datetime import date as _date

    inv = app_context(ctx).inventory()
    p = inv.resolve_person(person)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _name(name)
    if building is not None:
        changes["building"], buildings = person_buildings(building)
        if buildings != p.buildings:
            changes["buildings"] = buildings
    for key, value in (
        ("grade", grade),
        ("employee_id", employee_id),
        ("notes", notes),
        ("adult", adult),
    ):
        if value is not None:
            changes[key] = value
    if role is not None and role != p.role:
        changes["role"] = role
        changes["role_changed_on"] = _date.today()
    if email is not None:
        try:
            changes["email"] = check_email(email)
        except ValueError as exc:
            raise UsageError(f"--email: {exc}") from exc
    if kind is not None:
        changes["kind"] = _kind(kind)
    if status is not None:
        new_status = _status(status)
        changes["status"] = new_status
        if new_status is PersonStatus.DEPARTED and p.departed_on is None:
            changes["departed_on"] = _date.today()
    for key, value, option in (
        ("birth_date", birth_date, "--birth-date"),
        ("training_completed_on", training, "--training"),
        ("procedure_signed_on", procedure_signed, "--procedure-signed"),
        ("aup_signed_on", aup_signed, "--aup-signed"),
    ):
        if value is not None:
            changes[key] = day(value, option)
    if not changes:
        raise UsageError("nothing to change", "Give at least one option, e.g. --training 2026-09-01.")
    saved = inv.save_person(dataclasses.replace(p, **changes))
    echo(f"Updated {saved.name} <{saved.email}>: " + ", ".join(sorted(changes)))


@app.command("remove")
def remove(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="Email, id or exact name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a person who is named on no account.

    People still named on accounts cannot be removed: reassign the accounts, or mark the person
    departed (`auditor person edit EMAIL --status departed`) so audits flag the orphaned accounts.

    Example:

        auditor person remove old.volunteer@example.org --yes
    """
    inv = app_context(ctx).inventory()
    p = inv.resolve_person(person)
    if not yes and not typer.confirm(f"Remove {p.name} <{p.email}> from the registry?"):
        raise typer.Exit(1)
    inv.remove_person(p)
    echo(f"Removed {p.name} <{p.email}>")


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="CSV (UTF-8) or XLSX file; header documented in docs/import.md.")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and show what would change; write nothing.")
    ] = False,
    clear_empty: ClearEmptyOpt = False,
    override_roster: Annotated[
        bool,
        typer.Option(
            "--override-roster",
            help="Let the file change status, role and building even where a roster sync or an "
            "offboarding set them (default: those are kept, and listed).",
        ),
    ] = False,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """Import people from a CSV or XLSX file, all or nothing.

    Rows match existing people on email, so importing the same file twice changes nothing. An
    existing person changes only in the columns the file has, and an empty cell changes nothing
    (--clear-empty: it clears the field), so a file with a few columns never blanks the others.
    A status, role or building that a roster sync or an offboarding set is kept (the output says
    which rows were left alone) unless --override-roster. --dry-run prints each field that would
    change, old -> new; `auditor person history` shows what each import changed.
    Columns: name, email, kind, adult, birth_date, grade, role, building, status, employee_id,
    training_completed_on, procedure_signed_on, aup_signed_on, notes.

    Example:

        auditor person import staff.csv --dry-run
    """

    parsed = read_people(file, clear_empty=clear_empty)
    say_how_read(file, "people")
    app_ctx = app_context(ctx)
    inv = app_ctx.inventory()
    result = import_people(
        inv,
        parsed.items,
        dry_run=dry_run,
        source=str(file),
        given=parsed.given,
        lines=parsed.lines,
        override_roster=override_roster,
    )
    print_import_result(result, "people", dry_run, pick_format(fmt, as_json))


def _pairs(values: list[str] | None, option: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for value in values or ():
        key, sep, rest = value.partition("=")
        if not sep or not key.strip() or not rest.strip():
            raise UsageError(
                f"{option} {value!r}: write it as NAME=VALUE", f'For example: {option} email="User Email"'
            )
        out.setdefault(key.strip().casefold(), []).append(rest.strip())
    return out


ColumnOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--column",
        metavar="FIELD=HEADER",
        help="Read FIELD (email, completed, status, course or document) from the column HEADER "
        "instead of the preset's names (repeatable).",
    ),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Validate and show what would change; write nothing.")
]


def _evidence(
    ctx: typer.Context,
    file: Path,
    what: str,
    preset: str,
    column: list[str] | None,
    dry_run: bool,
    fmt: OutputFormat,
    *,
    documents: dict[str, list[str]] | None = None,
    course: str = "",
) -> None:
    from auditor.services.evidence import import_evidence

    chosen = {k: v[-1] for k, v in _pairs(column, "--column").items()}
    inv = app_context(ctx).inventory()
    done = import_evidence(
        inv, file, what, preset=preset, columns=chosen, documents=documents, course=course, dry_run=dry_run
    )
    if fmt is OutputFormat.JSON:
        import json

        echo(
            json.dumps(
                {
                    "schema": "auditor/evidence-import",
                    "version": 1,
                    "dry_run": dry_run,
                    "columns": done.columns,
                    "dates_set": done.set_fields,
                    "not_newer": done.not_newer,
                    "people_updated": len(done.result.updated),
                    "changes": [c.to_dict() for c in done.result.changes],
                    "left_out": [{"line": x.line, "why": x.why} for x in done.left_out],
                    "backup": done.result.backup or None,
                },
                indent=2,
            )
        )
        return
    echo("Columns read: " + ", ".join(f"{k} <- {v}" for k, v in done.columns.items()))
    verb = "Would set" if dry_run else "Set"
    n = len(done.result.updated)
    echo(
        f"{verb} {done.set_fields} date(s) for {n} {'person' if n == 1 else 'people'}; "
        f"{done.not_newer} already on record (same or newer)."
    )
    for change in done.result.changes:
        _echo_update(change)
    if done.left_out:
        echo(f"Left out ({len(done.left_out)}):")
        for item in done.left_out:
            echo(f"  {item.sentence()}")
    if done.result.backup:
        echo(f"Backup taken before the import: {done.result.backup}")


@app.command("import-training")
def import_training(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A learning platform's completion export (CSV or XLSX).")],
    preset: Annotated[
        str, typer.Option("--preset", help="Which export's column names: generic-lms (docs/import.md).")
    ] = "generic-lms",
    column: ColumnOpt = None,
    course: Annotated[
        str,
        typer.Option(
            "--course", help="Only rows whose course name contains this text (the export lists others)."
        ),
    ] = "",
    dry_run: DryRunOpt = False,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """Record social media training from a learning platform's completion export, all or nothing.

    People are matched by email; each one's training date becomes the export's completion date
    when it is newer than the one on record (never older, so importing the same file twice, or an
    old export after a new one, changes nothing). Rows that are not completions, for someone not
    in the registry or for another course (--course) are left out and listed; a bad email or date
    names its line and column and nothing is imported. A backup is taken first, and `auditor
    person history` shows each date with the file it came from.

    Example:

        auditor person import-training completions.csv --course "Social Media" --dry-run

        auditor person import-training export.xlsx --column email="Work Email" --column completed="Finished"
    """
    _evidence(ctx, file, "training", preset, column, dry_run, pick_format(fmt, as_json), course=course)


@app.command("import-agreements")
def import_agreements(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="An e-signature tool's report (CSV or XLSX).")],
    preset: Annotated[
        str,
        typer.Option(
            "--preset", help="Which report's column names: docusign or adobe-sign (docs/import.md)."
        ),
    ] = "docusign",
    column: ColumnOpt = None,
    document: Annotated[
        list[str] | None,
        typer.Option(
            "--document",
            metavar="KIND=TEXT",
            help="A document name containing TEXT is KIND (procedure or aup), besides the usual names "
            "(repeatable).",
        ),
    ] = None,
    dry_run: DryRunOpt = False,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """Record signed agreements (the social media procedure, the acceptable use policy) from a
    DocuSign envelope report or an Adobe Acrobat Sign agreement report, all or nothing.

    Each completed envelope's document name says which agreement it is ("Acceptable Use" or "AUP":
    the AUP; "Social Media Procedure", "Social Media Guidelines": the procedure; --document adds
    names). People are matched by the signer's email; a date is set when newer than the one on
    record. Envelopes not completed (sent, declined, voided), for someone not in the registry or for
    another document are left out and listed; a bad email or date names its line and column and
    nothing is imported.

    Example:

        auditor person import-agreements envelopes.csv --dry-run

        auditor person import-agreements agreements.csv --preset adobe-sign --document aup="Technology Use"
    """
    documents = _pairs(document, "--document")
    bad = sorted(set(documents) - {"procedure", "aup"})
    if bad:
        raise UsageError(f"--document {bad[0]}=...: the kinds are procedure and aup")
    _evidence(
        ctx, file, "agreements", preset, column, dry_run, pick_format(fmt, as_json), documents=documents
    )


_SHOWN = 50  # changes an import that ran prints; a dry run prints all


def say_how_read(file: Path, noun: str) -> None:
    """A note on stderr when the file was not comma-separated UTF-8 (a European Excel save)."""
    from auditor.services.imports import ACCOUNT_COLUMNS, read_note
    from auditor.services.imports import PERSON_COLUMNS as COLUMNS

    note = read_note(file, COLUMNS if noun == "people" else ACCOUNT_COLUMNS)
    if note:
        echo_err(f"note: {file} was read as {note}")


def print_import_result(result: Any, noun: str, dry_run: bool, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.JSON:
        import json

        echo(
            json.dumps(
                {
                    "schema": "auditor/import",
                    "version": 1,
                    "dry_run": dry_run,
                    "created": len(result.created),
                    "updated": len(result.updated),
                    "unchanged": len(result.unchanged),
                    "backup": result.backup or None,
                    "history": result.history or None,
                    "changes": [c.to_dict() for c in result.changes],
                    "kept": [k.to_dict() for k in result.kept],
                },
                indent=2,
            )
        )
        return
    verb = "Would import" if dry_run else "Imported"
    echo(
        f"{verb} {noun}: {len(result.created)} new, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged."
    )
    # A dry run lists every change; an import that ran lists the first ones (the rest are in the
    # change history and in --format json). New records are one line each, updates field by field.
    shown = result.changes if dry_run else result.changes[:_SHOWN]
    for change in shown:
        if change.action == "created":
            echo(f"  + {change.label} (new)")
            continue
        _echo_update(change)
    if len(shown) < len(result.changes):
        echo(
            f"  ... and {len(result.changes) - len(shown)} more "
            f"(`auditor {'person' if noun == 'people' else 'account'} history` lists them)"
        )
    if result.kept:
        roster = any(k.why.startswith(("set by", "recorded as")) for k in result.kept)
        tail = "; --override-roster lets the file change what a roster sync or an offboarding set"
        echo(f"Left alone ({len(result.kept)})" + (tail if roster else "") + ":")
        for kept in result.kept:
            echo(f"  {kept.sentence()}")
    if result.backup:
        echo(f"Backup taken before the import: {result.backup}")


def _echo_update(change: Any) -> None:
    """An updated record as the imports print it: its label, then each field old -> new."""
    echo(f"  ~ {change.label}")
    for diff in change.fields:
        echo(f"      {diff.line()}")


def report_damaged(inv: Any) -> None:
    """Records that failed their integrity check are named on stderr, and the command exits 1."""
    if inv.damaged:
        for err in inv.damaged:
            echo_err(f"error: {err.message}")
        echo_err("hint: " + inv.damaged[0].hint)
        raise typer.Exit(1)
