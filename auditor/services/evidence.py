"""Evidence of training and signatures from the tools that hold it (issue 20).

Moline-Coal Valley's procedure wants managers trained every year and the signed procedure and
acceptable-use policy on file; the dates live in a learning platform's completion export and in an
e-signature tool's report, not in our people files. `person import-training` and
`person import-agreements` read those exports as they are (every other column ignored), find each
field's column by a preset's aliases or by `--column FIELD=HEADER`, match people by email, and set
`training_completed_on`, `procedure_signed_on` and `aup_signed_on` through the people import, so the
backup, the change history (`import:FILE`), `--dry-run` and all-or-nothing come with it.

What a row does:

* a bad email or date is an error naming the line and column, and nothing is imported;
* a row whose status is not a completion (in progress, declined, voided...) is left out, listed;
* an email nobody in the registry has is left out, listed (an LMS export holds every learner);
* an agreement row whose document is neither the procedure nor the AUP is left out, listed;
* a date never moves back: an older completion than the one on record changes nothing, so the same
  file imported twice, or an old export after a new one, changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from auditor.model.errors import InputError, UsageError
from auditor.model.types import Person
from auditor.services.imports import BadLinesError, check_email, read_export
from auditor.services.inventory import ImportResult, import_people
from vault.stores.inventory import Inventory

TRAINING = "training"
AGREEMENTS = "agreements"

# Per preset: field -> the header names it goes by (compared as lower case, spaces as "_").
PRESETS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    TRAINING: {
        # A generic learning-platform completion export (Canvas, Moodle, SafeSchools, Vector...).
        "generic-lms": {
            "email": ("email", "email address", "user email", "learner email", "user_email"),
            "completed": (
                "completion date",
                "completed",
                "completed on",
                "date completed",
                "completed at",
                "completion_date",
                "completed_on",
            ),
            "status": ("status", "completion status", "course status"),
            "course": ("course", "course name", "course title", "training", "module"),
        },
    },
    AGREEMENTS: {
        # DocuSign's envelope report (Reports > Envelope Report, exported as CSV).
        "docusign": {
            "email": ("recipient email", "signer email", "recipient email address", "email"),
            "completed": (
                "completed",
                "completed on",
                "completed date",
                "date completed",
                "completed time",
                "signed",
                "signed on",
                "date signed",
            ),
            "status": ("envelope status", "status", "recipient status"),
            "document": ("subject", "envelope subject", "document name", "documents", "template"),
        },
        # Adobe Acrobat Sign's agreement report (Reports > Agreements, exported as CSV).
        "adobe-sign": {
            "email": ("participant email", "signer email", "recipient email", "email"),
            "completed": ("date completed", "completed", "completed date", "signed date", "date signed"),
            "status": ("agreement status", "status", "participant status"),
            "document": ("agreement name", "name", "document name", "agreement"),
        },
    },
}
DEFAULT_PRESET = {TRAINING: "generic-lms", AGREEMENTS: "docusign"}
REQUIRED = ("email", "completed")
# Status values that mean done; anything else in a status column leaves the row out.
DONE = frozenset({"completed", "complete", "signed", "passed", "finished", "done", "out for filing"})
# Which agreement a document is, by words in its name (`--document KIND=TEXT` adds to them).
DOCUMENTS: dict[str, tuple[str, ...]] = {
    "aup": ("acceptable use", "aup"),
    "procedure": ("social media procedure", "social media guidelines", "social media", "procedure"),
}
AGREEMENT_FIELD = {"procedure": "procedure_signed_on", "aup": "aup_signed_on"}
_FORMATS = ("%m/%d/%Y", "%m/%d/%y", "%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%Y/%m/%d")


def parse_when(text: str) -> date:
    """The date of a completion as exports write it: ISO dates and times, US month/day/year with or
    without a time ("9/14/2026 10:31:02 AM", "09/14/2026 | 10:31 AM"), "Sep 14, 2026"."""
    value = " ".join(text.replace("|", " ").split())
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        pass
    candidates = [value]
    words = value.split(" ")
    if len(words) > 1:
        candidates += [" ".join(words[:n]) for n in (3, 2, 1) if n < len(words)]
    for candidate in candidates:
        for fmt in _FORMATS:
            try:
                return datetime.strptime(candidate, fmt).date()
            except ValueError:
                continue
    raise ValueError(f"{text.strip()!r} is not a date (YYYY-MM-DD, MM/DD/YYYY or 'Sep 14, 2026')")


@dataclass(frozen=True)
class LeftOut:
    line: int
    why: str

    def sentence(self) -> str:
        return f"line {self.line}: {self.why}"


@dataclass
class EvidenceResult:
    """What an evidence import did: the people import's result for the dates that move forward,
    the columns it read, and every row it left out with why."""

    result: ImportResult
    columns: dict[str, str]
    set_fields: int = 0
    not_newer: int = 0
    left_out: list[LeftOut] = field(default_factory=list)


def _matches(document: str, words: Sequence[str]) -> bool:
    text = " ".join(document.casefold().split())
    return any(w.casefold() in text for w in words)


def import_evidence(
    inv: Inventory,
    path: Path,
    what: str,
    *,
    preset: str = "",
    columns: Mapping[str, str] | None = None,
    documents: Mapping[str, Sequence[str]] | None = None,
    course: str = "",
    dry_run: bool = False,
) -> EvidenceResult:
    """Read `path` (a training or agreements export), then set each matched person's date through
    the people import (one transaction after a backup; nothing on a dry run or a bad line)."""
    inv.registry.require_admin("Importing training and signatures")  # dry runs too, as `person import`
    presets = PRESETS[what]
    name = preset or DEFAULT_PRESET[what]
    if name not in presets:
        raise UsageError(f"unknown preset {name!r}", "Presets: " + ", ".join(sorted(presets)) + ".")
    fields = presets[name]
    chosen = dict(columns or {})
    unknown = sorted(set(chosen) - set(fields))
    if unknown:
        raise UsageError(
            f"--column {unknown[0]}=...: there is no field {unknown[0]!r}",
            "Fields: " + ", ".join(fields) + ".",
        )
    rows, found = read_export(path, fields, REQUIRED, chosen)
    kinds = {k: (*DOCUMENTS[k], *(documents or {}).get(k, ())) for k in DOCUMENTS}
    people = {p.email.strip().casefold(): p for p in inv.people() if p.email.strip()}
    problems: list[InputError] = []
    left_out: list[LeftOut] = []
    newest: dict[tuple[str, str], date] = {}  # (email, field) -> the newest date the file gives
    for row in rows:
        line_problems: list[InputError] = []
        email = when = None
        try:
            email = check_email(row.get(found["email"]))
            if not email:
                raise ValueError("the email is empty")
        except ValueError as exc:
            line_problems.append(_bad(path, row.line, found["email"], str(exc)))
        status = row.get(found["status"]).casefold() if "status" in found else ""
        if status and status not in DONE:
            left_out.append(LeftOut(row.line, f"status {row.get(found['status'])!r} is not a completion"))
            continue
        text = row.get(found["completed"])
        if not text:
            left_out.append(LeftOut(row.line, "no completion date"))
            continue
        try:
            when = parse_when(text)
        except ValueError as exc:
            line_problems.append(_bad(path, row.line, found["completed"], str(exc)))
        if line_problems:
            problems.extend(line_problems)
            continue
        assert email is not None and when is not None
        if what == TRAINING:
            if course and "course" in found and not _matches(row.get(found["course"]), [course]):
                left_out.append(LeftOut(row.line, f"course {row.get(found['course'])!r} is not {course!r}"))
                continue
            targets = ["training_completed_on"]
        else:
            document = row.get(found["document"]) if "document" in found else ""
            targets = [
                AGREEMENT_FIELD[k] for k, words in kinds.items() if document and _matches(document, words)
            ]
            if not targets:
                left_out.append(
                    LeftOut(row.line, f"document {document!r} is neither the procedure nor the AUP")
                )
                continue
        if email not in people:
            left_out.append(LeftOut(row.line, f"{email} is nobody in the registry"))
            continue
        for target in targets:  # "Social Media Procedure and AUP": one envelope, both documents
            key = (email, target)
            if key not in newest or newest[key] < when:
                newest[key] = when
    if problems:
        raise BadLinesError(problems)
    updates: dict[str, dict[str, date]] = {}
    not_newer = 0
    for (email, target), when in sorted(newest.items()):
        stored = getattr(people[email], target)
        if stored is not None and stored >= when:
            not_newer += 1
            continue
        updates.setdefault(email, {})[target] = when
    items = [
        Person(id="", name=people[e].name, email=people[e].email, **values)  # type: ignore[arg-type]
        for e, values in sorted(updates.items())
    ]
    given = [frozenset(values) for _e, values in sorted(updates.items())]
    result = (
        import_people(inv, items, dry_run=dry_run, source=str(path), given=given) if items else ImportResult()
    )
    return EvidenceResult(result, found, sum(len(v) for v in updates.values()), not_newer, left_out)


def _bad(path: Path, line: int, column: str, why: str) -> InputError:
    return InputError(f"{path}: line {line}, column {column!r}: {why}", line=line, column=column)
