"""`auditor account ...`: the district's official social-media accounts."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from auditor.cli.common import ClearEmptyOpt, FormatOpt, JsonOpt, day, echo, pick_format
from auditor.cli.context import app_context
from auditor.cli.output import OutputFormat, render_record, render_rows, write_rows
from auditor.cli.person import print_import_result, report_damaged, say_how_read
from auditor.model.errors import UsageError
from auditor.model.types import Account, AccountStatus, Approval, Person, Platform, Purpose, check_handle
from auditor.model.urls import handle_from_text, looks_like_url
from auditor.services.imports import check_email, read_accounts
from auditor.services.inventory import AccountEdit, edit_account, import_accounts, people_ids

app = typer.Typer(
    help="Accounts: every social-media account that represents the district.", no_args_is_help=True
)

ACCOUNT_COLUMNS = [
    ("platform", "Platform"),
    ("handle", "Handle"),
    ("building", "Building"),
    ("purpose", "Purpose"),
    ("owner", "Owner"),
    ("co_managers", "Co-managers"),
    ("approved_on", "Approved"),
    ("renewal_due", "Renewal due"),
    ("status", "Status"),
]


def manager_labels(people: dict[str, Person]) -> dict[str, str]:
    """How `account_row` names each person: the email, or the name where there is none."""
    return {pid: p.email or p.name for pid, p in people.items()}


def account_row(
    a: Account, labels: Mapping[str, str], instants: dict[tuple[Any, Any], str] | None = None
) -> dict[str, Any]:
    """One account as `account list/show` print it; `labels` from `manager_labels` (made once for
    a whole list: 100,000 rows name about 140,000 managers). `instants`: a dict a whole list
    shares, remembering how each creation and change time is written (an import stamps every
    account it creates with one time, and `isoformat` with a time zone is a fifth of a row)."""

    def email(pid: str) -> str:
        label = labels.get(pid)
        return f"(unknown {pid})" if label is None else label

    approval = a.approval
    requested, approved, due = approval.requested_on, approval.approved_on, approval.renewal_due
    memo = {} if instants is None else instants
    return {
        "id": a.id,
        "platform": a.platform._value_,  # the stored value (`.value` is a slow descriptor)
        "handle": a.handle,
        "display_name": a.display_name,
        "profile_url": a.profile_url,
        "platform_id": a.platform_id,
        "building": a.building,
        "purpose": a.purpose._value_,
        "owner": email(a.owner_id) if a.owner_id else "",
        "co_managers": [email(p) for p in a.co_manager_ids],
        "student_managers": [email(p) for p in a.student_manager_ids],
        "login_email": a.login_email,
        "two_factor": a.two_factor,
        "public_comments": a.public_comments,
        "comment_monitors": [email(p) for p in a.comment_monitor_ids],
        "requested_on": None if requested is None else requested.isoformat(),
        "approved_on": None if approved is None else approved.isoformat(),
        "approved_by": approval.approved_by,
        "renewal_due": None if due is None else due.isoformat(),
        "approval_reference": approval.reference,
        "status": a.status._value_,
        "notes": a.notes,
        "tags": list(a.tags),
        "created_at": _instant(a.created_at, memo),
        "updated_at": _instant(a.updated_at, memo),
    }


def _instant(value: Any, memo: dict[tuple[Any, Any], str]) -> str | None:
    """`value.isoformat()`, remembered by the instant and its time zone (two equal instants in
    different zones are written differently)."""
    if value is None:
        return None
    key = (value, value.tzinfo)
    text = memo.get(key)
    if text is None:
        text = memo[key] = value.isoformat()
    return text


def _platform(value: str) -> Platform:
    try:
        return Platform.parse(value)
    except ValueError as exc:
        raise UsageError(f"platform: {exc}") from exc


def _handle(value: str, option: str) -> str:

    try:
        handle = check_handle(value)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
    if not handle.lstrip("@"):
        raise UsageError(f"{option}: a handle is required")
    return handle


def _purpose(value: str) -> Purpose:
    try:
        return Purpose.parse(value)
    except ValueError as exc:
        raise UsageError(f"--purpose: {exc}") from exc


@app.command("add")
def add(
    ctx: typer.Context,
    platform: Annotated[
        str, typer.Argument(help="x, facebook, instagram, youtube, mastodon, bluesky, tiktok, ...")
    ],
    handle: Annotated[
        str, typer.Argument(help="Handle as on the platform (Mastodon: user@instance), or the profile's URL.")
    ],
    owner: Annotated[str | None, typer.Option("--owner", help="Email of the responsible employee.")] = None,
    co_manager: Annotated[
        list[str] | None, typer.Option("--co-manager", help="Email of a co-manager (repeatable).")
    ] = None,
    student_manager: Annotated[
        list[str] | None, typer.Option("--student-manager", help="Email of a student manager (repeatable).")
    ] = None,
    display_name: Annotated[str, typer.Option("--display-name")] = "",
    url: Annotated[str, typer.Option("--url", help="Profile link.")] = "",
    platform_id: Annotated[
        str, typer.Option("--platform-id", help="The platform's stable id, if known.")
    ] = "",
    building: Annotated[str, typer.Option("--building")] = "",
    purpose: Annotated[
        str, typer.Option("--purpose", help="district, school, athletics, activity, classroom, ...")
    ] = "school",
    login_email: Annotated[
        str, typer.Option("--login-email", help="Email the account is registered with.")
    ] = "",
    two_factor: Annotated[bool | None, typer.Option("--two-factor/--no-two-factor")] = None,
    public_comments: Annotated[bool | None, typer.Option("--public-comments/--no-public-comments")] = None,
    monitor: Annotated[
        list[str] | None, typer.Option("--monitor", help="Email of who monitors comments (repeatable).")
    ] = None,
    requested: Annotated[str | None, typer.Option("--requested", help="Date approval was requested.")] = None,
    approved: Annotated[str | None, typer.Option("--approved", help="Date approval was granted.")] = None,
    approved_by: Annotated[str, typer.Option("--approved-by")] = "",
    renewal_due: Annotated[str | None, typer.Option("--renewal-due")] = None,
    reference: Annotated[str, typer.Option("--reference", help="Approval form or ticket reference.")] = "",
    notes: Annotated[str, typer.Option("--notes")] = "",
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Label (repeatable).")] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """Add an account to the inventory.

    Example:

        auditor account add instagram lincolnhs_athletics --owner coach@d203.org --purpose athletics --building "Lincoln HS" --approved 2026-08-15 --approved-by "Principal Lee"
    """

    inv = app_context(ctx).inventory()
    try:
        login = check_email(login_email)
    except ValueError as exc:
        raise UsageError(f"--login-email: {exc}") from exc
    if url and not url.lower().startswith(("https://", "http://")):
        raise UsageError("--url must be an http(s) link")
    try:  # a profile URL pasted as the handle: its handle (and id), and the URL as --url
        plat, named, url_id = handle_from_text(_platform(platform), handle)
    except ValueError as exc:
        raise UsageError(f"HANDLE: {exc}") from None
    if url_id and platform_id and url_id != platform_id:
        raise UsageError(f"HANDLE names the id {url_id}, --platform-id says {platform_id}")
    account = inv.add_account(
        Account(
            id="",
            platform=plat,
            handle=_handle(named, "HANDLE"),
            profile_url=url or (handle.strip() if looks_like_url(handle) else ""),
            platform_id=platform_id or url_id,
            display_name=display_name,
            building=building,
            purpose=_purpose(purpose),
            owner_id=inv.resolve_person(owner).id if owner else "",
            co_manager_ids=people_ids(inv, co_manager or ()),
            student_manager_ids=people_ids(inv, student_manager or ()),
            login_email=login,
            two_factor=two_factor,
            public_comments=public_comments,
            comment_monitor_ids=people_ids(inv, monitor or ()),
            approval=Approval(
                requested_on=day(requested, "--requested"),
                approved_on=day(approved, "--approved"),
                approved_by=approved_by,
                renewal_due=day(renewal_due, "--renewal-due"),
                reference=reference,
            ),
            notes=notes,
            tags=tuple(tag or ()),
        )
    )
    fmt = pick_format(fmt, as_json)
    if fmt is OutputFormat.TABLE:
        echo(f"Added {account.label} ({account.id})")
    else:
        people = {p.id: p for p in inv.people()}
        echo(render_record(account_row(account, manager_labels(people)), fmt, schema="auditor/account"))


@app.command("list")
def list_(
    ctx: typer.Context,
    platform: Annotated[str | None, typer.Option("--platform", help="Only this platform.")] = None,
    building: Annotated[str | None, typer.Option("--building", help="Only this building.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="active, suspended or retired.")] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only accounts this person owns or co-manages.")
    ] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """List accounts. --format csv writes the import's own header (every column of docs/import.md,
    people by email, UTF-8 with a BOM), so a list edited in Excel imports back with `account import`.

    Example:

        auditor account list --platform instagram --format json
        auditor account list --format csv > accounts.csv && auditor account import accounts.csv --dry-run
    """
    inv = app_context(ctx).inventory()
    people = {p.id: p for p in inv.people()}
    wanted_platform = _platform(platform) if platform else None
    try:
        wanted_status = AccountStatus.parse(status) if status else None
    except ValueError as exc:
        raise UsageError(f"--status: {exc}") from exc
    owner_id = inv.resolve_person(owner).id if owner else None
    accounts = [
        a
        for a in inv.accounts()
        if (wanted_platform is None or a.platform is wanted_platform)
        and (wanted_status is None or a.status is wanted_status)
        and (building is None or a.building.casefold() == building.casefold())
        and (owner_id is None or owner_id in a.manager_ids())
    ]
    chosen = pick_format(fmt, as_json)
    if chosen is OutputFormat.CSV:
        # The import's own header (docs/import.md): export, edit in Excel, import back.
        from auditor.services.imports import ACCOUNT_COLUMNS as IMPORT_COLUMNS
        from auditor.services.imports import account_export_row, export_csv

        emails = {pid: p.email for pid, p in people.items() if p.email}
        echo(export_csv([account_export_row(a, emails) for a in accounts], list(IMPORT_COLUMNS)))
    else:
        # Written as they are made (JSON a batch of rows at a time): 100,000 accounts never sit in
        # memory as rows and as one string of all of them.
        labels = manager_labels(people)
        instants: dict[tuple[Any, Any], str] = {}
        write_rows(
            (account_row(a, labels, instants) for a in accounts),
            ACCOUNT_COLUMNS,
            chosen,
            schema="auditor/accounts",
            total=len(accounts),
            limit=0,
            what="accounts",
            empty="No accounts match.",
        )
    report_damaged(inv)


@app.command("history")
def history(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="PLATFORM:HANDLE, @handle or id.")],
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """What changed on one account, field by field, oldest first (imports, edits, offboardings).

    Example:

        auditor account history instagram:@lincolnhs
    """
    from auditor.cli.person import HISTORY_COLUMNS
    from auditor.services.inventory import history_rows

    inv = app_context(ctx).inventory()
    a = inv.resolve_account(account)
    rows = history_rows(inv, a.id)
    fmt_ = pick_format(fmt, as_json)
    echo(
        render_rows(
            rows, HISTORY_COLUMNS, fmt_, schema="auditor/history", empty=f"No recorded changes for {a.label}."
        )
    )


@app.command("show")
def show(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="PLATFORM:HANDLE, @handle or account id.")],
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """Show one account.

    Example:

        auditor account show instagram:@lincolnhs_athletics
    """
    inv = app_context(ctx).inventory()
    a = inv.resolve_account(account)
    people = {p.id: p for p in inv.people()}
    echo(
        render_record(
            account_row(a, manager_labels(people)), pick_format(fmt, as_json), schema="auditor/account"
        )
    )


@app.command("edit")
def edit(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="PLATFORM:HANDLE, @handle or account id.")],
    handle: Annotated[str | None, typer.Option("--handle", help="New handle (after a rename).")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Email of the new owner.")] = None,
    co_manager: Annotated[
        list[str] | None, typer.Option("--co-manager", help="Add a co-manager (repeatable).")
    ] = None,
    remove_co_manager: Annotated[
        list[str] | None, typer.Option("--remove-co-manager", help="Remove a co-manager.")
    ] = None,
    student_manager: Annotated[
        list[str] | None, typer.Option("--student-manager", help="Add a student manager.")
    ] = None,
    remove_student_manager: Annotated[list[str] | None, typer.Option("--remove-student-manager")] = None,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    url: Annotated[str | None, typer.Option("--url")] = None,
    platform_id: Annotated[str | None, typer.Option("--platform-id")] = None,
    building: Annotated[str | None, typer.Option("--building")] = None,
    purpose: Annotated[str | None, typer.Option("--purpose")] = None,
    login_email: Annotated[str | None, typer.Option("--login-email")] = None,
    two_factor: Annotated[bool | None, typer.Option("--two-factor/--no-two-factor")] = None,
    public_comments: Annotated[bool | None, typer.Option("--public-comments/--no-public-comments")] = None,
    monitor: Annotated[list[str] | None, typer.Option("--monitor", help="Add a comment monitor.")] = None,
    requested: Annotated[str | None, typer.Option("--requested")] = None,
    approved: Annotated[str | None, typer.Option("--approved")] = None,
    approved_by: Annotated[str | None, typer.Option("--approved-by")] = None,
    renewal_due: Annotated[str | None, typer.Option("--renewal-due")] = None,
    reference: Annotated[str | None, typer.Option("--reference")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="active or suspended (use `retire` to retire).")
    ] = None,
    notes: Annotated[str | None, typer.Option("--notes")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Add a label.")] = None,
) -> None:
    """Change an account; only the options given change.

    Example:

        auditor account edit instagram:@lincolnhs_athletics --co-manager ad@d203.org --renewal-due 2027-08-15
    """

    changes: dict[str, Any] = {}
    if handle is not None:
        changes["handle"] = _handle(handle, "--handle")
    for key, value in (
        ("display_name", display_name),
        ("platform_id", platform_id),
        ("building", building),
        ("two_factor", two_factor),
        ("public_comments", public_comments),
        ("notes", notes),
    ):
        if value is not None:
            changes[key] = value
    if url is not None:
        if url and not url.lower().startswith(("https://", "http://")):
            raise UsageError("--url must be an http(s) link")
        changes["profile_url"] = url
    if purpose is not None:
        changes["purpose"] = _purpose(purpose)
    if login_email is not None:
        try:
            changes["login_email"] = check_email(login_email)
        except ValueError as exc:
            raise UsageError(f"--login-email: {exc}") from exc
    if status is not None:
        try:
            changes["status"] = AccountStatus.parse(status)
        except ValueError as exc:
            raise UsageError(f"--status: {exc}") from exc
    approval: dict[str, Any] = {}
    for key, value, option in (
        ("requested_on", requested, "--requested"),
        ("approved_on", approved, "--approved"),
        ("renewal_due", renewal_due, "--renewal-due"),
    ):
        if value is not None:
            approval[key] = day(value, option)
    if approved_by is not None:
        approval["approved_by"] = approved_by
    if reference is not None:
        approval["reference"] = reference
    edit = AccountEdit(
        fields=changes,
        owner=owner,
        add_co_managers=tuple(co_manager or ()),
        remove_co_managers=tuple(remove_co_manager or ()),
        add_student_managers=tuple(student_manager or ()),
        remove_student_managers=tuple(remove_student_manager or ()),
        add_monitors=tuple(monitor or ()),
        add_tags=tuple(tag or ()),
        approval=approval,
    )
    saved, changed = edit_account(app_context(ctx).inventory(), account, edit)
    echo(f"Updated {saved.label}: " + ", ".join(changed))


@app.command("retire")
def retire(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="PLATFORM:HANDLE, @handle or account id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the account is retired (kept in its notes).")],
) -> None:
    """Retire an account: it stays in the inventory for the record but is no longer audited.

    Example:

        auditor account retire x:@oldclub --reason "Club dissolved June 2026"
    """
    from datetime import date

    inv = app_context(ctx).inventory()
    a = inv.resolve_account(account)
    if a.status is AccountStatus.RETIRED:
        raise UsageError(f"{a.label} is already retired")
    note = f"Retired {date.today().isoformat()}: {reason}"
    saved = inv.save_account(
        dataclasses.replace(a, status=AccountStatus.RETIRED, notes=(a.notes + "\n" + note).strip()),
        by="command:account retire",
    )
    echo(f"Retired {saved.label}")


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
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
) -> None:
    """Import accounts from a CSV or XLSX file, all or nothing.

    Rows match existing accounts on platform + handle, so importing the same file twice changes
    nothing. An existing account changes only in the columns the file has, and an empty cell
    changes nothing (--clear-empty: it clears the field). People named in owner_email and the other email columns must already be in the
    registry (import people first).

    Example:

        auditor account import accounts.csv --dry-run
    """

    inv = app_context(ctx).inventory()
    people = {p.email.casefold(): p for p in inv.people() if p.email}
    parsed = read_accounts(file, people, clear_empty=clear_empty)
    say_how_read(file, "accounts")
    result = import_accounts(
        inv, parsed.items, dry_run=dry_run, source=str(file), given=parsed.given, lines=parsed.lines
    )
    print_import_result(result, "accounts", dry_run, pick_format(fmt, as_json))
