"""The build: validate everything, then render each document and write it atomically."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import resource
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .content import Project, load_project
from .errors import PipelineError
from .incremental import FileHashes, input_key, is_fresh
from .layouts import PDFX_VARIANTS, PROFILES, Profile
from .merge import Document, merge_variant
from .output import ManifestEntry, read_manifest, sha256, update_manifest, write_atomic

# Rendering modules (WeasyPrint, Jinja2, the gates) are imported only when a
# document is actually rendered, so a build with nothing to do stays fast.


@dataclass
class BuildResult:
    built: list[ManifestEntry] = field(default_factory=list)
    up_to_date: list[ManifestEntry] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reports: list = field(default_factory=list)  # GateReport per rendered document
    notes: list[str] = field(default_factory=list)  # what is not made, and why
    dropped: list[str] = field(default_factory=list)  # failed: kept, not in the manifest
    peak_worker_mb: float = 0.0


@dataclass(frozen=True)
class GateOptions:
    enabled: bool = True
    allow_expired: bool = False
    allow_stale: bool = False   # print out-of-date translations, marked (translations.py)
    allow_draft: bool = False   # print unreviewed translations, marked
    today: dt.date = field(default_factory=dt.date.today)


def plan(project: Project, handouts: Iterable[str] = (), variants: Iterable[str] = (),
         profiles: Iterable[str] = (), pdfx: str = "x-4",
         langs: Iterable[str] = (), with_unready: bool = False) -> list[Document]:
    """Every language x handout x variant x profile selected, in a stable order.

    A handout is built only in the variants and profiles it is made in, and in the
    languages it is translated into (translations.translated); never in press from a
    draft or stale translation (press_ready.py) unless `with_unready` (the build lists
    those to say so)."""
    from .languages import select
    from .translations import merge_in, translated

    handouts = _selected("handout", list(handouts), project.handouts)
    variants = _selected("variant", list(variants), project.variants)
    profiles = _selected("profile", list(profiles), PROFILES)
    languages = select(project.languages, list(langs))
    chosen = {name: _with_pdfx(PROFILES[name], pdfx) for name in profiles}
    made = [(lang, h, p, v) for lang in languages for h in handouts for p in profiles
            for v in variants
            if v in project.handouts[h].variants and p in project.handouts[h].profiles]
    documents = [merge_in(project, project.handouts[h], project.variants[v], chosen[p], lang)
                 for lang, h, p, v in made if translated(project, h, lang)]
    if not made:
        raise PipelineError("nothing to build: no selected handout is made in the selected "
                            "variants and profiles (see `python pipeline.py list`)")
    if not with_unready:
        from .press_ready import split_press_ready

        documents = split_press_ready(documents)[0]
    return documents


PDFX_1A_GONE = ("PDF/X-1a is not made: it forbids the transparency these pages use, and "
                "flattening it turns text into pictures; send the PDF/X-4 file (every "
                "current RIP accepts it; see README, 'Sending to the print shop')")


def _with_pdfx(profile: Profile, pdfx: str) -> Profile:
    if pdfx == "x-1a":
        raise PipelineError(PDFX_1A_GONE)
    if pdfx not in PDFX_VARIANTS:
        raise PipelineError(f"unknown PDF/X version '{pdfx}'; use {' or '.join(PDFX_VARIANTS)}")
    if profile.pdf_variant and profile.pdf_variant.startswith("pdf/x"):
        return dataclasses.replace(profile, pdf_variant=PDFX_VARIANTS[pdfx])
    return profile


def _selected(what: str, asked: list[str], known: dict) -> list[str]:
    for name in asked:
        if name not in known:
            raise PipelineError(f"unknown {what} '{name}'; choose from: {', '.join(known)} "
                                f"(see `python pipeline.py list`)")
    return asked or list(known)


Report = Callable[[Document, str, "str | None"], None]  # document, status, message


@dataclass
class Outcome:
    """What rendering one document produced; plain data, so a worker can send it back."""

    document: Document
    pdf: bytes | None = None
    pages: int = 0
    inputs: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    report: object = None
    prose: str = ""  # for the reading-level gate, measured by the parent process
    peak_mb: float = 0.0


def render_outcome(document: Document, project: Project, gates: GateOptions) -> Outcome:
    """Render one document and hold it to every gate but reading level (see finish)."""
    from .clinical_topics import clinical_gate
    from .gates import prose_of, run_gates
    from .translations import translation_gate

    outcome = Outcome(document)
    outcome.problems, outcome.warnings = translation_gate(document, gates)
    if outcome.problems:
        return outcome  # never print English, or out-of-date words, in a translation
    # A missing clinical topic fails the document; it is still rendered, so that every
    # other gate's findings come with it.
    outcome.problems += clinical_gate(document, project, gates)
    try:
        html, rendered = _render_fitting_notice(document, project, gates.enabled)
    except PipelineError as exc:
        outcome.problems += getattr(exc, "problems", [exc.message])
        return outcome
    except Exception as exc:  # noqa: BLE001 - one document's bug must not stop the rest
        outcome.problems.append(f"{document.label}: internal error ({type(exc).__name__}) "
                                "while rendering; a bug in the pipeline, please report it")
        return outcome
    outcome.warnings += rendered.warnings
    if rendered.layout_problems:  # --no-gates: written for the editor to see, marked
        from .not_for_print import mark_pages

        outcome.warnings += [f"{problem} [written anyway by --no-gates, marked NOT FOR "
                             "PRINT]" for problem in rendered.layout_problems]
        if document.profile.extension == "pdf":
            rendered = dataclasses.replace(rendered, pdf=mark_pages(rendered.pdf))
    if gates.enabled and document.profile.cmyk:
        from .preflight import folds_for, problems

        # Its warnings (image resolution) repeat the renderer's, which name the file.
        outcome.problems += problems(rendered.pdf, document.label, document.profile,
                                     folds_for(document.handout.kind, document.profile))[0]
    if gates.enabled:
        outcome.report = run_gates(document, project, html, rendered.layout, rendered.pdf,
                                   gates.today, gates.allow_expired, reading=False,
                                   layout=_FINDINGS.pop(_notice_key(document, project), None))
        outcome.prose = prose_of(html)
        outcome.problems += _ROOM.pop(_notice_key(document, project), [])
    outcome.pdf, outcome.pages, outcome.inputs = rendered.pdf, rendered.pages, rendered.inputs
    try:
        outcome.pdf, outcome.inputs = write_edition(document, html, rendered, project)
        outcome.pages = 0 if document.profile.extension != "pdf" else outcome.pages
    except PipelineError as exc:
        outcome.problems.append(exc.message)
    outcome.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return outcome


def _render_fitting_notice(document: Document, project: Project, layout_checks: bool = True):
    """The language-assistance notice goes in the flow of the page: a brochure's in
    the inside panel with the least content, else in the other, else its lines shared
    between the two; a sheet's on its first page; and when the document has no room
    for every line, on a sheet of its own after it, as many lines as fit kept where
    they usually go (render_html.notice_plans). The first place whose layout passes
    the layout gate is kept (its findings are kept for the gate), else the first that
    fits at all, whose failures the gate then names. A sheet a nurse prints takes a
    place only if it also has room for every detail at its longest (the field-room
    gate, whose findings are kept for render_outcome). Without `layout_checks`
    (--no-gates) a layout that fits nowhere is written with the notice in its usual
    place, marked."""
    key = _notice_key(document, project)
    placed = _first_good_place(document, project, layout_checks)
    if placed is None:  # --no-gates: the content does not fit wherever the notice goes
        from .render_html import notice_plans

        plan = notice_plans(document, project.notices)[0]
        _CHOSEN[key] = plan
        return _render_with(document, project, plan, layout_checks=False)
    _CHOSEN[key] = placed.plan
    _ROOM[key] = [] if placed.room else _field_room_culprits(document, project, placed.plan)
    _FINDINGS[key] = placed.findings
    return placed.html, placed.rendered


@dataclass
class _Placed:
    """The notice in one place: its layout, and what the gates found there."""

    plan: dict
    html: str
    rendered: object
    room: bool = True
    findings: object = None  # the layout gate's (layout_gate.LayoutFindings)

    @property
    def good(self) -> bool:
        return self.room and not (self.findings is not None and self.findings.failures)


def _first_good_place(document: Document, project: Project, layout_checks: bool):
    """The first place that passes, else the first that fits with room for the
    details, else the last that fits; None if none fits and --no-gates. The search
    goes past a place that fits only while every layout failure there is one another
    place may mend (layout_gate.PLACE_RULES); a plan without the sheet's pointer is
    skipped where the same place with it fitted but had no room for the details."""
    from .layout_gate import place_may_mend
    from .render_html import SHEET, UNPOINTED, notice_place, notice_plans

    plans = notice_plans(document, project.notices)
    fitted: list[_Placed] = []
    for plan in plans:
        if UNPOINTED in plan and any(notice_place(placed.plan) == notice_place(plan)
                                     and not placed.room for placed in fitted):
            continue  # a line less does not make room for every detail
        try:
            html, rendered = _render_with(document, project, plan)
        except PipelineError as exc:
            # Out of room here, or any failure once a place has fitted: try the next.
            if fitted or (_out_of_room(exc.message, plan) and plan is not plans[-1]):
                continue
            if layout_checks:
                raise
            return None
        if SHEET in plan:
            plan, html, rendered = _most_lines_kept(document, project, plan, (html, rendered))
        placed = _Placed(plan, html, rendered)
        if layout_checks:
            placed.room = _has_field_room(document, project, plan)
        if layout_checks and placed.room:
            placed.findings = _layout_findings(document, html, rendered)
        if placed.good or not layout_checks:
            return placed
        fitted.append(placed)
        if placed.room and not place_may_mend(placed.findings.failures):
            break
    return next((placed for placed in fitted if placed.room), fitted[-1])


def _layout_findings(document: Document, html: str, rendered):
    from .layout_gate import check_layout_quality

    return check_layout_quality(document, html, rendered.layout, rendered.pdf)


def _render_with(document: Document, project: Project, plan, layout_checks: bool = True):
    from .render_html import render_html
    from .render_pdf import render_pdf

    html = render_html(document, project.brand, project.root, notices=project.notices,
                       notice_in=plan)
    return html, render_pdf(html, document, project.root, project.brand,
                            layout_checks=layout_checks)


def _most_lines_kept(document: Document, project: Project, plan: dict, fitted):
    """The notice's own sheet holds every line; a brochure's panels keep as many as
    fit, so that a panel designed with the notice in it stays full (a sheet's pages
    flow on, and keep only the reader's lines): the most, found by halving, since
    each line added only takes room."""
    from .render_html import FLOW, UNPOINTED, kept_lines, notice_place, notice_sheet_plan

    place = notice_place(plan)
    if place == (FLOW,):
        return (plan, *fitted)
    low, high = kept_lines(plan), len(project.notices) - 1
    best = (plan, *fitted)
    while low < high:
        middle = (low + high + 1) // 2
        candidate = notice_sheet_plan(document, project.notices, place, keep=middle,
                                      pointed=UNPOINTED not in plan)
        try:
            best = (candidate, *_render_with(document, project, candidate))
            low = middle
        except PipelineError as exc:
            if not _out_of_room(exc.message, candidate):
                raise
            high = middle - 1
    return best


# The notice's place the build chose for each document laid out in this process, so
# that the desk and the field-room gate lay a sheet out as the build did.
_CHOSEN: dict[tuple, dict] = {}
_ROOM: dict[tuple, list[str]] = {}  # the field-room gate's findings for that place
_FINDINGS: dict[tuple, object] = {}  # the layout gate's for that place, if it ran


def _notice_key(document: Document, project: Project) -> tuple:
    # The notices themselves too: a project loaded again may reuse a freed one's id.
    return (id(project), hash(project.notices), document.handout.id, document.variant.name,
            document.profile.name, document.language.code)


def chosen_notice(document: Document, project: Project) -> dict:
    """Where the build put the document's notice (laying the blank document out to
    find it, if this process has not)."""
    key = _notice_key(document, project)
    if key not in _CHOSEN:
        _render_fitting_notice(document, project)
        _ROOM.pop(key, None)  # a build's gate reads them; nobody else does
        _FINDINGS.pop(key, None)
    return _CHOSEN[key]


def with_fitting_notice(document: Document, project: Project, render: Callable):
    """render(notice_in) with the notice where the build puts it: where it usually
    goes, unless the sheet being printed has no room for it there (then where the
    build chose, laying the blank document out to find it, if this process has not).
    A sheet whose details fit with the notice in its usual place prints so even where
    the build moved the notice for details at their longest."""
    key = _notice_key(document, project)
    if key in _CHOSEN:
        return render(_CHOSEN[key])
    try:
        return render(None)
    except PipelineError as exc:
        if not _out_of_room(exc.message, {}):
            raise
    return render(chosen_notice(document, project))


def _out_of_room(message: str, plan: dict) -> bool:
    """Whether a layout failure is one the notice's lines may cause: a panel holding
    some of them overflows, or the sheet runs over its pages."""
    from .render_pdf import OVER_PAGE_LIMIT

    return (any(f"panel '{panel}' overflows" in message for panel in plan)
            or f"pages, {OVER_PAGE_LIMIT}" in message)


def render_fitting(document: Document, project: Project, layout_checks: bool = True):
    """(html, Rendered) of a document, its notice placed where it fits."""
    return _render_fitting_notice(document, project, layout_checks)


def _has_field_room(document: Document, project: Project, notice_in) -> bool:
    """Sheets a nurse prints at the desk keep room for every detail at its longest."""
    from .content import DESK_PROFILES

    if document.handout.kind != "discharge" or document.profile.name not in DESK_PROFILES:
        return True
    from .field_room import has_room

    return has_room(document, project, notice_in)


def _field_room_culprits(document: Document, project: Project, notice_in) -> list[str]:
    from .field_room import culprits

    return culprits(document, project, notice_in)


def write_edition(document: Document, html: str, rendered, project: Project,
                  ) -> tuple[bytes, tuple[str, ...]]:
    """The profile's writer: the file it ships (the PDF itself unless it says otherwise)
    and the inputs that file depends on. The gates have already read the PDF, laid out
    from the same HTML; a web page has no pages (0 in the manifest)."""
    if document.profile.writer == "web":
        from .web_edition import web_page

        page, inlined = web_page(html, project.root, document.label)
        return page, tuple(sorted({*rendered.inputs, *inlined}))
    return rendered.pdf, rendered.inputs


def finish(outcome: Outcome) -> Outcome:
    """The reading-level gate, in this process, where it overlaps with the workers'
    rendering (its syllable counts load once: clinicprint/syllables.py)."""
    from .gates import reading_level

    report = outcome.report
    if report is not None:
        reading_level(report, outcome.prose)
        outcome.warnings += report.warnings
        outcome.problems += report.failures
    if outcome.problems:
        outcome.pdf = None
    return outcome


# --- worker processes ------------------------------------------------------
# Each worker loads WeasyPrint and the project once, then renders many documents.

_WORKER: dict = {}


def _start_worker(parent: int, root: Path, pdfx: str, gates: GateOptions) -> None:
    from .processes import end_with_parent

    end_with_parent(parent)
    _WORKER.update(project=load_project(root), pdfx=pdfx, gates=gates)


def _render_in_worker(ids: tuple[str, str, str, str]) -> Outcome:
    project = _WORKER["project"]
    document = plan(project, [ids[0]], [ids[1]], [ids[2]], _WORKER["pdfx"], [ids[3]])[0]
    return render_outcome(document, project, _WORKER["gates"])


def _render_all(documents: list[Document], project: Project, pdfx: str, gates: GateOptions,
                jobs: int) -> Iterator[Outcome]:
    if jobs <= 1 or len(documents) <= 1:
        for document in documents:
            yield render_outcome(document, project, gates)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # Import the renderer once, before forking, so every worker inherits it.
    from .weasyprint_import import import_weasyprint

    import_weasyprint()

    ids = [(d.handout.id, d.variant.name, d.profile.name, d.language.code)
           for d in documents]
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(documents)), mp_context=context,
                               initializer=_start_worker,
                               initargs=(os.getpid(), project.root, pdfx, gates))
    try:
        futures = [pool.submit(_render_in_worker, one) for one in ids]
        for future in as_completed(futures):
            yield future.result()
    except BaseException:
        # On Ctrl-C or SIGTERM, stop now: waiting for the queued documents would keep
        # the workers (and this process) alive for the rest of the build.
        pool.shutdown(wait=False, cancel_futures=True)
        for child in multiprocessing.active_children():
            child.terminate()
        raise
    # Every document is done: a full shutdown joins the pool's thread, so nothing of
    # it is left for the interpreter's exit (where it could print a traceback).
    pool.shutdown(wait=True)


# --- the build -------------------------------------------------------------

def shard_of(documents: list[Document], shard: tuple[int, int] | None) -> list[Document]:
    """A deterministic K-of-N share: every document lands in exactly one shard."""
    if shard is None:
        return documents
    number, count = shard
    ordered = sorted(documents, key=lambda document: document.relative_path)
    return [document for index, document in enumerate(ordered) if index % count == number - 1]


def stale_documents(project: Project, documents: list[Document], output: Path,
                    hashes: FileHashes | None = None,
                    ) -> tuple[list[Document], list[ManifestEntry]]:
    """Split documents into those to render and the manifest entries still current."""
    manifest = {entry.path: entry for entry in read_manifest(output)}
    hashes = hashes or FileHashes(project.root)
    stale, fresh = [], []
    for document in documents:
        entry = manifest.get(document.relative_path)
        if is_fresh(document, entry, output, project.root, hashes):
            fresh.append(entry)
        else:
            stale.append(document)
    return stale, fresh


def build(root: Path, output: Path, handouts: Iterable[str] = (), variants: Iterable[str] = (),
          profiles: Iterable[str] = (), pdfx: str = "x-4", gates: GateOptions = GateOptions(),
          jobs: int = 1, force: bool = False, shard: tuple[int, int] | None = None,
          report: Report = lambda document, status, message: None,
          planned: Callable[[int], None] = lambda count: None,
          langs: Iterable[str] = ()) -> BuildResult:
    """Render what changed; one failure does not stop the others.

    `planned` hears how many documents the build covers before any is reported."""
    project = load_project(root)
    documents = shard_of(plan(project, handouts, variants, profiles, pdfx, langs,
                              with_unready=True), shard)
    documents, press_notes = _press_ready(documents, project, output)
    planned(len(documents))
    result = BuildResult()
    result.failures, result.notes = untranslated_in(project, handouts, langs)
    # One set of file hashes serves the freshness check and the new input keys.
    hashes = FileHashes(project.root)
    stale, fresh = ((documents, []) if force
                    else stale_documents(project, documents, output, hashes))
    result.warnings += press_notes
    by_path = {document.relative_path: document for document in documents}
    for entry in fresh:
        _keep_fresh(result, by_path[entry.path], entry, project, gates, report)
    for outcome in _render_all(stale, project, pdfx, gates, jobs):
        _record(result, finish(outcome), output, hashes, report)
    update_manifest(output, result.built, result.up_to_date, drop=result.dropped)
    return result


def untranslated_in(project: Project, handouts: Iterable[str], langs: Iterable[str],
                    ) -> tuple[list[str], list[str]]:
    from .languages import select
    from .translations import untranslated

    return untranslated(project, list(handouts) or list(project.handouts),
                        select(project.languages, list(langs)))


def _press_ready(documents: list[Document], project: Project,
                 output: Path) -> tuple[list[Document], list[str]]:
    """No press PDF of a draft or stale translation (an old one is removed); a SAMPLE
    mark while brand.yaml holds placeholders. One line each (press_ready.py)."""
    from .press_ready import sample_notice, skipped_notice, split_press_ready

    documents, skipped = split_press_ready(documents)
    notes = [skipped_notice(reason, group) for reason, group in skipped.items()]
    for group in skipped.values():
        for document in group:
            (output / document.relative_path).unlink(missing_ok=True)
    sample = sample_notice(project.brand)
    if sample and any(document.profile.cmyk for document in documents):
        notes.append(sample)
    return documents, notes


def _keep_fresh(result: BuildResult, document: Document, entry: ManifestEntry,
                project: Project, gates: GateOptions, report: Report) -> None:
    """Up to date, so not rendered; but a review date can expire while nothing changes."""
    from .clinical_topics import clinical_gate
    from .gates import GateReport, medical_review
    from .translations import translation_gate

    review = GateReport(document)
    if gates.enabled:
        medical_review(review, gates.today, gates.allow_expired)
    # A translation's review can be withdrawn, or --allow-draft left off, while
    # nothing changes.
    failures, warnings = translation_gate(document, gates)
    # The checklist (clinical-topics.yaml) is not one of the document's inputs: it is
    # held to it here whether it changed or not.
    failures += clinical_gate(document, project, gates)
    review.failures += failures
    review.warnings += warnings
    result.warnings += review.warnings
    if review.failures:
        result.dropped.append(entry.path)
        result.failures += review.failures
        report(document, "failed", "; ".join(review.failures))
        return
    result.up_to_date.append(entry)
    report(document, "up to date", None)


def _record(result: BuildResult, outcome: Outcome, output: Path, hashes: FileHashes,
            report: Report) -> None:
    document = outcome.document
    result.warnings += outcome.warnings
    result.peak_worker_mb = max(result.peak_worker_mb, outcome.peak_mb)
    if outcome.report is not None:
        result.reports.append(outcome.report)
    if outcome.problems:
        # The last good file stays (an editor's failed try must not take it away); the
        # manifest no longer lists it, so `build --check` and CI see it as not built.
        result.dropped.append(document.relative_path)
        result.failures += outcome.problems
        report(document, "failed", "; ".join(outcome.problems))
        return
    write_atomic(output / document.relative_path, outcome.pdf)
    key = input_key(document, hashes.root, outcome.inputs, hashes)
    result.built.append(_entry(document, outcome, key))
    report(document, "built", None)


def check(root: Path, handouts: Iterable[str] = (), variants: Iterable[str] = (),
          gates: GateOptions = GateOptions(), jobs: int = 1,
          langs: Iterable[str] = ()) -> BuildResult:
    """Run every gate on every language x handout x variant (office profile), writing
    nothing."""
    project = load_project(root)
    result = BuildResult()
    documents = plan(project, handouts, variants, ["office"], langs=langs)
    for outcome in sorted(map(finish, _render_all(documents, project, "x-4", gates, jobs)),
                          key=lambda outcome: documents.index(outcome.document)):
        result.warnings += outcome.warnings
        result.failures += outcome.problems
        if outcome.report is not None:
            result.reports.append(outcome.report)
    return result


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _entry(document: Document, outcome: Outcome, key: str) -> ManifestEntry:
    return ManifestEntry(
        handout=document.handout.id, variant=document.variant.name,
        profile=document.profile.name, lang=document.language.code,
        path=document.relative_path, pages=outcome.pages,
        sha256=sha256(outcome.pdf), document_code=document.handout.document_code,
        revision=document.handout.revision.isoformat(), input_key=key,
        inputs=outcome.inputs, gates=outcome.report.summary() if outcome.report else None)
