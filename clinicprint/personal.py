"""Personalised discharge sheets: one patient, or a day's list from a CSV file.

Patient details are protected health information. They go into the visible
page text and nowhere else: not into file names, metadata, the manifest, logs,
caches or error messages. Errors therefore name the field, row and column, never
the value. Everything is checked (content, handout, variant, every field of every
row, the output path) before the first sheet is rendered.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import io
import os
import secrets
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .build import plan
from .content import DESK_PROFILES, Project
from .errors import PipelineError, RenderError
from .field_declarations import Field
from .gates import GateReport, medical_review
from .merge import Document
from .name_fonts import NAME_FONTS_CSS, check_printable, needs_name_fonts, prepare
from .patient_fields import CSV_CHOICE_COLUMNS, check_order, check_value, clean, read_rows

PERSONAL_PROFILES = DESK_PROFILES
__all__ = ["Sheet", "parse_patient", "render_sheet", "render_brochure", "sheet_fields",
           "bundle_for_duplex", "run_discharge", "choose_handout", "companion_brochure",
           "check_language", "csv_columns"]


@dataclass(frozen=True)
class Sheet:
    variant: str
    fields: dict[str, str]  # display text for each patient field given
    handout: str = ""       # the discharge handout; "" for the project's only one
    source: str = ""        # where it came from, for messages: "day.csv row 14"
    lang: str = "en"        # the sheet's language (languages.yaml)


def parse_patient(values: dict[str, str | None], fields: tuple[Field, ...],
                  label_of: Callable[[str], str], root: Path | None = None, language=None,
                  today: dt.date | None = None) -> dict[str, str]:
    """Validate and format the patient's details for a sheet with `fields`;
    `label_of(name)` names the option, CSV cell or form field in messages. With `root`,
    a detail no font of the project can print is refused too (render_sheet checks it in
    any case). Dates and numbers are written in the sheet's `language`
    (languages.Language; English by default)."""
    by_name = {field.name: field for field in fields}
    for name, value in values.items():
        if clean(value) and name not in by_name:
            raise PipelineError(f"{label_of(name)}: this sheet has no place for it; leave "
                                "it empty, or choose the handout and variant that has it")
    checked = {}
    for field in fields:
        value = clean(values.get(field.name))
        if value:
            checked[field.name] = check_value(field, value, label_of(field.name), language,
                                              today)
            if root is not None:
                check_printable("", checked[field.name].display, label_of(field.name), root)
    check_order(by_name, checked, label_of)
    return {name: value.display for name, value in checked.items()}


def sheet_fields(project: Project, handout: str, variant: str, lang: str) -> tuple[Field, ...]:
    """The details a nurse fills in on one handout's sheet for a variant, labelled in
    the sheet's language."""
    profile = next(p for p in project.handouts[handout].profiles if p in DESK_PROFILES)
    return plan(project, [handout], [variant], [profile], langs=[lang])[0].fields


def printed_fields(handout) -> set[str]:
    """The fields some variant of a discharge handout prints; a declared field that none
    places (fields.yaml's mrn) is asked for by the desk for the chart only."""
    from .merge import placed_fields

    return {name for variant in handout.variants for name in placed_fields(handout, variant)}


def csv_columns(project: Project) -> tuple[str, ...]:
    """Every column a day's list may have: the choices, then each field of any
    discharge handout, in the order they are declared."""
    return (*CSV_CHOICE_COLUMNS, *field_names(project))


def field_names(project: Project) -> tuple[str, ...]:
    """The fields some sheet prints (a CSV or `--field` value for one no sheet prints
    would go nowhere)."""
    return tuple(dict.fromkeys(
        field.name for name in discharge_handouts(project)
        for field in project.handouts[name].fields
        if field.name in printed_fields(project.handouts[name])))


# --- which handout ----------------------------------------------------------------


def discharge_handouts(project: Project) -> list[str]:
    return [h.id for h in project.handouts.values() if h.kind == "discharge"]


def choose_handout(project: Project, name: str | None, where: str = "--handout") -> str:
    """The discharge handout asked for, or the only one; with several, the nurse chooses."""
    names = discharge_handouts(project)
    if name:
        if name not in names:
            raise PipelineError(f"{where}: no discharge handout by that name; choose one "
                                f"of: {', '.join(names) or 'none (add one to handouts/)'}")
        return name
    if len(names) == 1:
        return names[0]
    if not names:
        raise PipelineError("no discharge handout in handouts/; add one with "
                            "`kind: discharge`")
    raise PipelineError(f"{len(names)} discharge handouts: choose one with --handout NAME "
                        f"(or a `handout` column in the CSV): {', '.join(names)}")


def companion_brochure(project: Project, handout: str, where: str = "--with-brochure") -> str:
    """The brochure a discharge handout names as going home with it."""
    brochure = project.handouts[handout].brochure
    if not brochure:
        raise PipelineError(f"{where}: handouts/{handout}.yaml names no brochure; add "
                            "`brochure: <brochure handout name>` to it")
    return brochure


def check_variant(variant: str, project: Project, where: str, handout: str = "") -> None:
    if variant not in project.variants:
        raise PipelineError(f"{where}: unknown variant; use one of: "
                            f"{', '.join(project.variants)}")
    made_in = project.handouts[handout].variants if handout else ()
    if handout and variant not in made_in:
        raise PipelineError(f"{where}: handout {handout} is not made in that variant; use "
                            f"one of: {', '.join(made_in)}")


def check_language(lang: str, project: Project, where: str):
    if lang not in project.languages:
        raise PipelineError(f"{where}: unknown language; use one of: "
                            f"{', '.join(project.languages)}")
    return project.languages[lang]


def check_translated(project: Project, handout: str, lang: str, where: str) -> None:
    """A sheet prints in a language only once its handout is translated into it."""
    from .translations import translated

    language = project.languages[lang]
    if not translated(project, handout, language):
        source = next(iter(project.languages.values()))
        raise PipelineError(f"{where}: {handout} has no {language.name} translation yet; "
                            f"print it in {source.name} ({source.code}) and call the "
                            "interpreter service")


def check_profile(profile: str, project: Project, handout: str) -> None:
    if profile not in project.handouts[handout].profiles:
        raise PipelineError(f"--profile: handout {handout} is not made for that paper; use "
                            f"one of: {', '.join(p for p in project.handouts[handout].profiles if p in DESK_PROFILES)}")


# --- rendering ------------------------------------------------------------------


def render_sheet(project: Project, sheet: Sheet, profile: str, today: dt.date,
                 allow_expired: bool = False, gates=None,
                 designs: dict | None = None) -> tuple[bytes, list[str]]:
    """The PDF of one patient's sheet, and any warnings (never with patient details).
    `gates` (build.GateOptions) says whether a draft or stale translation may print.
    `designs`: kept by a batch, so that each sheet design is laid out once and each
    patient's details are stamped onto it (clinicprint/stamp.py)."""
    handout = sheet.handout or choose_handout(project, None)
    document = plan(project, [handout], [sheet.variant], [profile], langs=[sheet.lang])[0]
    warnings = _review_gate(document, today, allow_expired) + _translation_gate(document, gates)
    for name, value in sheet.fields.items():
        check_printable(name, value, "", project.root)
    fields = prepare(sheet.fields, project.root)
    faces = (NAME_FONTS_CSS,) if needs_name_fonts(fields) else ()
    if designs is not None:
        from .stamp import stamped_sheet

        stamped = stamped_sheet(project, document, fields, faces, designs)
        if stamped is not None:
            return stamped, warnings
    return _render_private(document, project, fields, faces), warnings


def _render_private(document: Document, project: Project, fields: dict[str, str],
                    faces: tuple[str, ...]) -> bytes:
    from .render_html import render_html
    from .render_pdf import render_pdf

    from .build import with_fitting_notice

    def render(notice_in) -> bytes:
        html = render_html(document, project.brand, project.root, fields, project.notices,
                           notice_in=notice_in)
        # The file identifier comes from the blank sheet: it says nothing about the patient.
        blank = render_html(document, project.brand, project.root, notices=project.notices,
                            notice_in=notice_in)
        return render_pdf(html, document, project.root, project.brand, identify_by=blank,
                          font_faces=faces).pdf

    try:
        return with_fitting_notice(document, project, render)
    except RenderError:
        # The renderer's message may quote the page's text, which holds patient details.
        raise PipelineError(
            f"{document.label}: the filled-in sheet could not be laid out within its "
            "pages; check that the blank sheet builds (`pipeline.py build --handout "
            f"{document.handout.id}`) and report this to the handout's editor") from None


def _review_gate(document: Document, today: dt.date, allow_expired: bool) -> list[str]:
    """Nurses must not hand out material whose medical review has expired."""
    report = GateReport(document)
    medical_review(report, today, allow_expired)
    if report.failures:
        raise PipelineError(report.failures[0])
    return report.warnings


def _translation_gate(document: Document, gates) -> list[str]:
    """A translation prints only when reviewed and current, unless the nurse allows a
    draft or stale one (it is then marked on every page)."""
    from .build import GateOptions
    from .translations import translation_gate

    failures, warnings = translation_gate(document, gates or GateOptions())
    if failures:
        raise PipelineError(failures[0])
    return list(warnings)


def render_brochure(project: Project, variant: str, profile: str,
                    handout: str | None = None, lang: str = "en", gates=None) -> bytes:
    """The brochure that the discharge handout (default: the only one) names."""
    return _brochure_pdf(project, companion_brochure(
        project, handout or choose_handout(project, None)), variant, profile, lang, gates)


def _brochure_pdf(project: Project, brochure: str, variant: str, profile: str,
                  lang: str = "en", gates=None) -> bytes:
    from .render_html import render_html
    from .render_pdf import render_pdf

    document = plan(project, [brochure], [variant], [profile], langs=[lang])[0]
    _translation_gate(document, gates)
    from .build import render_fitting  # the notice where it fits, as the build places it

    return render_fitting(document, project)[1].pdf


def bundle_for_duplex(parts: list[list[bytes]]) -> bytes:
    """Each patient's documents back to back; every patient starts on a new sheet."""
    from .duplex import join_for_duplex

    return join_for_duplex(parts)


def default_stem(stamp: dt.datetime) -> str:
    """A file name with no patient data: the time and a short random id."""
    return f"discharge-{stamp:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


# --- the `discharge` command ----------------------------------------------------


@dataclass
class Request:
    """What the nurse asked for on the command line."""
    variant: str = "general"
    details: dict[str, str | None] = field(default_factory=dict)
    profile: str = "office"
    csv_file: Path | None = None
    merge: bool = False
    with_brochure: bool = False
    allow_expired: bool = False
    output: str | None = None
    handout: str | None = None
    force: bool = False
    jobs: int = 1
    lang: str | None = None  # None: the project's first language (English)
    gates: object = None     # build.GateOptions: allow a draft or stale translation
    options: tuple[str, ...] = ()  # fields the command has an option of their own for

    def label_of(self, name: str) -> str:
        return f"--{name}" if name in self.options else f"--field {name}"


def run_discharge(root: Path, variant: str, details: dict[str, str | None], profile: str,
                  csv_file: Path | None, merge: bool, with_brochure: bool,
                  allow_expired: bool, output: str | None, warn: Callable[[str], None],
                  handout: str | None = None, force: bool = False, jobs: int = 1,
                  note: Callable[[str], None] | None = None, lang: str | None = None,
                  allow_draft: bool = False, allow_stale: bool = False,
                  options: tuple[str, ...] = ()) -> list[Path]:
    """The `discharge` command: validate everything first, then render and write.
    `details` holds every field given, by name; `options` names those given through an
    option of their own (--patient) rather than --field NAME=VALUE."""
    from .build import GateOptions
    from .content import load_project

    request = Request(variant, details, profile, csv_file, merge, with_brochure,
                      allow_expired, output, handout, force, jobs, lang,
                      GateOptions(allow_draft=allow_draft, allow_stale=allow_stale), options)
    _check_options(request)
    project = load_project(root)
    request.lang = request.lang or next(iter(project.languages))
    if request.handout:
        choose_handout(project, request.handout)
    sheets, skipped = _sheets(project, request)
    if skipped and note:
        note(f"skipped {skipped} empty row{'s' if skipped != 1 else ''} of "
             f"{request.csv_file}")
    for name, lang in dict.fromkeys((sheet.handout, sheet.lang) for sheet in sheets):
        check_profile(profile, project, name)
        if with_brochure:
            check_translated(project, companion_brochure(project, name), lang,
                             "--with-brochure")
    one_file = merge or not csv_file
    targets = [] if output == "-" else _targets(request, 1 if one_file else len(sheets),
                                                  folder=not one_file)
    today = dt.date.today()
    documents = _rendered(project, sheets, request, today, warn)
    if output == "-":
        _to_stdout(documents, request)
        return []
    if one_file:
        _write_joined(targets[0], documents, output or str(targets[0]),
                      join=merge or with_brochure)
    else:
        for target, parts in zip(targets, documents):
            _write_joined(target, iter([parts]), str(target), join=with_brochure)
    return targets


def _check_options(request: Request) -> None:
    if request.merge and not request.csv_file:
        raise PipelineError("--merge goes with --csv: it joins a day's sheets into one PDF")
    if request.output == "-" and request.csv_file and not request.merge:
        raise PipelineError("-o - writes one PDF: add --merge to send a day's sheets to it")
    if request.csv_file and any(request.details.values()):
        raise PipelineError("give patient details either as options or in --csv, not both")
    if request.profile not in PERSONAL_PROFILES:
        raise PipelineError(f"--profile: use one of: {', '.join(PERSONAL_PROFILES)}")


def _sheets(project: Project, request: Request) -> tuple[list[Sheet], int]:
    """Every sheet, each checked completely, before any is rendered."""
    check_variant(request.variant, project, "--variant")
    language = check_language(request.lang, project, "--lang")
    if not request.csv_file:
        handout = choose_handout(project, request.handout)
        check_variant(request.variant, project, "--variant", handout)
        check_translated(project, handout, request.lang, "--lang")
        fields = sheet_fields(project, handout, request.variant, request.lang)
        return [Sheet(request.variant, parse_patient(request.details, fields,
                                                     request.label_of, project.root, language),
                      handout, lang=request.lang)], 0
    shown = str(request.csv_file)
    rows, skipped = read_rows(request.csv_file, shown, field_names(project))
    sheets = []
    fields_of = functools.lru_cache(maxsize=None)(
        lambda handout, variant, lang: sheet_fields(project, handout, variant, lang))
    for row in rows:
        where = f"{shown} row {row.number}, column "
        handout = (choose_handout(project, row.handout, f"{where}handout") if row.handout
                   else _default_handout(project, request.handout, f"{shown} row {row.number}"))
        variant = row.variant or request.variant
        check_variant(variant, project, f"{where}variant", handout)
        lang = row.lang or request.lang
        language = check_language(lang, project, f"{where}lang")
        check_translated(project, handout, lang, f"{where}lang")
        fields = fields_of(handout, variant, lang)
        sheets.append(Sheet(variant, parse_patient(row.values, fields,
                                                   lambda name: f"{where}{name}",
                                                   project.root, language),
                            handout, f"{shown} row {row.number}", lang))
    return sheets, skipped


def _default_handout(project: Project, chosen: str | None, where: str) -> str:
    try:
        return choose_handout(project, chosen)
    except PipelineError as exc:
        raise PipelineError(f"{where}: {exc.message}") from None


def _targets(request: Request, count: int, folder: bool) -> list[Path]:
    """Where to write, checked before rendering: never over an input, never over an
    existing file without --force; messages name the path as the nurse typed it."""
    stem = default_stem(dt.datetime.now())
    output = request.output
    if folder:
        base = Path(output or ".")
        if not base.is_dir():
            raise PipelineError(f"{output or '.'}: not a folder; with --csv, -o names the "
                                "folder for the sheets (or add --merge for one file)")
        _check_writable(base, output or ".")
        return [base / f"{stem}-{number:03}.pdf" for number in range(1, count + 1)]
    target = Path(output) if output else Path(f"{stem}.pdf")
    shown = output or str(target)
    if target.is_dir():
        raise PipelineError(f"{shown}: is a folder; -o names the PDF file to write (or, "
                            "with --csv and without --merge, a folder)")
    if request.csv_file and _same_file(target, request.csv_file):
        raise PipelineError(f"{shown}: is the CSV file being read; choose another name "
                            "for the PDF")
    if target.exists() and not request.force:
        raise PipelineError(f"{shown}: already exists; choose another name, or add --force "
                            "to replace it")
    if target.exists() and target.suffix.lower() != ".pdf":
        raise PipelineError(f"{shown}: exists and is not a PDF; --force replaces only PDF "
                            "files, so choose another name")
    parent = target.parent
    if not parent.is_dir():
        raise PipelineError(f"{shown}: the folder it goes in does not exist; create it or "
                            "choose another path")
    _check_writable(parent, shown)
    return [target]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _check_writable(folder: Path, shown: str) -> None:
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PipelineError(f"{shown}: cannot write in that folder; choose another place")


# --- rendering many, in worker processes ------------------------------------------

_JOB: dict = {}  # set before the workers fork, so each inherits the loaded project


def _rendered(project: Project, sheets: list[Sheet], request: Request, today: dt.date,
              warn: Callable[[str], None]) -> Iterator[list[bytes]]:
    """Each patient's PDFs (sheet, then brochure if asked), in the order of the list,
    as they finish. Warnings (the same for every sheet) are shown once."""
    _JOB.update(project=project, profile=request.profile, today=today,
                allow_expired=request.allow_expired, with_brochure=request.with_brochure,
                gates=request.gates,
                # A list stamps each patient onto designs laid out once (stamp.py); each
                # worker fills its own copy. One sheet is quicker laid out in full.
                designs={} if len(sheets) > 1 else None)
    shown: set[str] = set()
    jobs = max(1, min(request.jobs, len(sheets)))
    results = (_in_workers(project, sheets, jobs) if jobs > 1
               else map(_render_one, sheets))
    for outcome in results:
        if isinstance(outcome, str):
            raise PipelineError(outcome)
        parts, warnings = outcome
        for message in warnings:
            if message not in shown:
                shown.add(message)
                warn(message)
        yield parts


def _in_workers(project: Project, sheets: list[Sheet], jobs: int) -> Iterator:
    import multiprocessing

    from .processes import end_with_parent
    from .render_pdf import preload_fonts

    # WeasyPrint and the fonts (the Noto ones only if a detail needs them) are loaded
    # once, before forking: the workers share those pages instead of each holding
    # its own copy of 40 MB of CJK fonts.
    preload_fonts(project.root)
    if any(needs_name_fonts(prepare(sheet.fields, project.root)) for sheet in sheets):
        preload_fonts(project.root, (NAME_FONTS_CSS,))

    # Objects made so far are left alone by the collector from now on: a collection in
    # a worker would otherwise write to (and so copy) every page holding one of them.
    gc.freeze()
    context = multiprocessing.get_context("fork")
    # Workers end with this process, however it ends (see processes.py).
    try:
        with context.Pool(jobs, initializer=end_with_parent,
                          initargs=(os.getpid(),)) as pool:
            # Ordered, a few sheets at a time: the merged PDF is written as they arrive.
            yield from pool.imap(_render_one, sheets, chunksize=4)
    finally:
        gc.unfreeze()


def _render_one(sheet: Sheet) -> tuple[list[bytes], list[str]] | str:
    """Runs in a worker: a PipelineError comes back as its (patient-free) message."""
    job = _JOB
    try:
        pdf, warnings = render_sheet(job["project"], sheet, job["profile"], job["today"],
                                     job["allow_expired"], job["gates"], job["designs"])
        parts = [pdf]
        if job["with_brochure"]:
            parts.append(_cached_brochure(sheet.handout, sheet.variant, job["profile"],
                                          sheet.lang))
        return parts, warnings
    except PipelineError as exc:
        return f"{sheet.source}: {exc.message}" if sheet.source else exc.message


@functools.lru_cache(maxsize=16)
def _cached_brochure(handout: str, variant: str, profile: str, lang: str) -> bytes:
    project = _JOB["project"]
    return _brochure_pdf(project, companion_brochure(project, handout), variant, profile,
                         lang, _JOB["gates"])


# --- writing ----------------------------------------------------------------------


def _write_joined(target: Path, documents: Iterator[list[bytes]], shown: str,
                  join: bool) -> None:
    """Write beside the target and rename at the end: a failure leaves nothing."""
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                             suffix=".tmp")
    except OSError as exc:
        raise PipelineError(f"{shown}: cannot write ({exc.strerror}); choose another place") \
            from None
    try:
        with os.fdopen(handle, "wb") as stream:
            if join:
                from .duplex import DuplexWriter  # pypdf: not needed for one sheet

                writer = DuplexWriter(stream)
                for parts in documents:
                    for pdf in parts:
                        writer.add(pdf)
                writer.close()
            else:
                stream.write(next(documents)[0])
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except OSError as exc:
        raise PipelineError(f"{shown}: cannot write ({exc.strerror}); check the disk and "
                            "the folder, then try again") from None
    finally:
        Path(temporary).unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _to_stdout(documents: Iterator[list[bytes]], request: Request) -> None:
    from .duplex import DuplexWriter

    if request.merge or request.with_brochure:
        out = io.BytesIO()  # validated fully before the first byte reaches the printer
        writer = DuplexWriter(out)
        for parts in documents:
            for pdf in parts:
                writer.add(pdf)
        writer.close()
        data = out.getvalue()
    else:
        data = next(documents)[0]
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
