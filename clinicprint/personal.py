"""Personalised discharge sheets: one patient, or a day's list from a CSV file.

Patient details are protected health information. They go into the visible
page text and nowhere else: not into file names, metadata, the manifest, logs,
caches or error messages. Errors therefore name the row and the column, never
the value.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from .build import plan
from .content import PATIENT_FIELDS, Project
from .errors import PipelineError
from .gates import GateReport, medical_review
from .merge import Document
from .render_html import render_html
from .render_pdf import render_pdf

VERTEBRA = re.compile(r"^(C[1-7]|T(?:[1-9]|1[0-2])|L[1-5]|S1)$")
PERSONAL_PROFILES = ("office", "office-a4")
MAX_NOTES = 400
CSV_COLUMNS = ("variant", *PATIENT_FIELDS)


@dataclass(frozen=True)
class Sheet:
    variant: str
    fields: dict[str, str]  # display text for each patient field given


def parse_patient(values: dict[str, str], where: str) -> dict[str, str]:
    """Validate and format the patient's details; `where` names the option or row."""
    fields: dict[str, str] = {}
    for name in PATIENT_FIELDS:
        value = (values.get(name) or "").strip()
        if value:
            fields[name] = _format(name, value, where)
    return fields


def _format(name: str, value: str, where: str) -> str:
    # Never echo `value` in an error: it may be a patient's health information.
    if name == "procedure-date":
        return _short_date(_parse(value, "%Y-%m-%d", f"{where}{name}: not a date; write "
                                 "it as YYYY-MM-DD"))
    if name == "follow-up":
        moment = _parse(value, "%Y-%m-%d %H:%M", f"{where}{name}: not a date and time; "
                        "write it as YYYY-MM-DD HH:MM")
        return f"{moment:%a, %b} {moment.day}, {moment.year}, {moment:%I:%M %p}".replace(
            ", 0", ", ")
    if name == "levels":
        levels = [level.strip().upper() for level in value.split(",")]
        if not all(VERTEBRA.match(level) for level in levels):
            raise PipelineError(f"{where}{name}: use vertebra names C1-C7, T1-T12, L1-L5 "
                                "or S1, separated by commas")
        return ", ".join(levels)
    if name == "notes" and len(value) > MAX_NOTES:
        raise PipelineError(f"{where}{name}: longer than {MAX_NOTES} characters; keep notes "
                            "short so the sheet stays on one piece of paper")
    return value


def _parse(value: str, pattern: str, message: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(value, pattern)
    except ValueError:
        raise PipelineError(message) from None


def _short_date(moment: dt.date) -> str:
    return f"{moment:%b} {moment.day}, {moment.year}"


def read_csv(path: Path, default_variant: str, project: Project) -> list[Sheet]:
    """One sheet per row; columns are the option names, plus `variant`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PipelineError(f"{path}: no such CSV file; check the name and folder") from None
    except (OSError, UnicodeDecodeError):
        raise PipelineError(f"{path}: cannot read the CSV file; save it as UTF-8 text") \
            from None
    rows = list(csv.DictReader(io.StringIO(text)))
    header = next(csv.reader(io.StringIO(text)), [])
    unknown = [column for column in header if column.strip() not in CSV_COLUMNS]
    if unknown:
        raise PipelineError(f"{path}: unknown column '{unknown[0]}'; use: "
                            f"{', '.join(CSV_COLUMNS)}")
    if not rows:
        raise PipelineError(f"{path}: no patients in the file (a header row and one row "
                            "per patient are needed)")
    sheets = []
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        row = {key.strip(): value for key, value in row.items() if key}
        where = f"{path.name} row {number}, column "
        variant = (row.get("variant") or "").strip() or default_variant
        check_variant(variant, project, f"{where}variant")
        sheets.append(Sheet(variant, parse_patient(row, where)))
    return sheets


def check_variant(variant: str, project: Project, where: str) -> None:
    if variant not in project.variants:
        raise PipelineError(f"{where}: unknown variant; use one of: "
                            f"{', '.join(project.variants)}")


def discharge_handout(project: Project) -> str:
    names = [h.id for h in project.handouts.values() if h.kind == "discharge"]
    if len(names) != 1:
        raise PipelineError("expected exactly one discharge handout in handouts/")
    return names[0]


def render_sheet(project: Project, sheet: Sheet, profile: str, today: dt.date,
                 allow_expired: bool = False) -> tuple[bytes, list[str]]:
    """The PDF of one patient's sheet, and any warnings (never with patient details)."""
    document = plan(project, [discharge_handout(project)], [sheet.variant], [profile])[0]
    warnings = _review_gate(document, today, allow_expired)
    html = render_html(document, project.brand, project.root, sheet.fields)
    # The file identifier comes from the blank sheet, so it says nothing about the patient.
    blank = render_html(document, project.brand, project.root)
    rendered = render_pdf(html, document, project.root, project.brand, identify_by=blank)
    return rendered.pdf, warnings


def _review_gate(document: Document, today: dt.date, allow_expired: bool) -> list[str]:
    """Nurses must not hand out material whose medical review has expired."""
    report = GateReport(document)
    medical_review(report, today, allow_expired)
    if report.failures:
        raise PipelineError(report.failures[0])
    return report.warnings


def render_brochure(project: Project, variant: str, profile: str) -> bytes:
    brochures = [h.id for h in project.handouts.values() if h.kind == "brochure"]
    document = plan(project, brochures[:1], [variant], [profile])[0]
    html = render_html(document, project.brand, project.root)
    return render_pdf(html, document, project.root, project.brand).pdf


def bundle_for_duplex(parts: list[list[bytes]]) -> bytes:
    """Each patient's documents back to back; every patient starts on a new sheet."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for patient_parts in parts:
        for pdf in patient_parts:
            reader = PdfReader(io.BytesIO(pdf))
            for page in reader.pages:
                writer.add_page(page)
            if len(reader.pages) % 2:
                box = reader.pages[-1].mediabox
                writer.add_blank_page(width=box.width, height=box.height)
    writer.add_metadata({"/Title": "Discharge instructions", "/Producer": "clinicprint"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def default_stem(stamp: dt.datetime) -> str:
    """A file name with no patient data: the time and a short random id."""
    return f"discharge-{stamp:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def run_discharge(root: Path, variant: str, details: dict[str, str | None], profile: str,
                  csv_file: Path | None, merge: bool, with_brochure: bool,
                  allow_expired: bool, output: str | None, warn) -> list[Path]:
    """The `discharge` command: validate everything first, then render and write."""
    import sys

    from .content import load_project
    from .output import write_atomic

    if merge and not csv_file:
        raise PipelineError("--merge goes with --csv: it joins a day's sheets into one PDF")
    if output == "-" and csv_file and not merge:
        raise PipelineError("-o - writes one PDF: add --merge to send a day's sheets to it")
    if csv_file and any(details.values()):
        raise PipelineError("give patient details either as options or in --csv, not both")
    project = load_project(root)
    check_variant(variant, project, "--variant")
    sheets = (read_csv(csv_file, variant, project) if csv_file
              else [Sheet(variant, parse_patient(details, "--"))])
    one_file = merge or not csv_file
    targets = [] if output == "-" else _targets(output, 1 if one_file else len(sheets),
                                                  folder=not one_file)
    today = dt.date.today()
    parts = []
    for sheet in sheets:
        pdf, warnings = render_sheet(project, sheet, profile, today, allow_expired)
        for message in dict.fromkeys(warnings):
            warn(message)
        extra = [render_brochure(project, sheet.variant, profile)] if with_brochure else []
        parts.append([pdf, *extra])
    if one_file:
        documents = [bundle_for_duplex(parts) if merge or with_brochure else parts[0][0]]
    else:
        documents = [bundle_for_duplex([bundle]) if with_brochure else bundle[0]
                     for bundle in parts]
    if output == "-":
        sys.stdout.buffer.write(documents[0])
        sys.stdout.buffer.flush()
        return []
    for target, pdf in zip(targets, documents):
        write_atomic(target, pdf)
    return targets


def _targets(output: str | None, count: int, folder: bool) -> list[Path]:
    stem = default_stem(dt.datetime.now())
    if folder:
        base = Path(output or ".")
        if not base.is_dir():
            raise PipelineError(f"{base}: not a folder; with --csv, -o names the folder for "
                                "the sheets (or add --merge for one file)")
        return [base / f"{stem}-{number:03}.pdf" for number in range(1, count + 1)]
    return [Path(output) if output else Path(f"{stem}.pdf")]
