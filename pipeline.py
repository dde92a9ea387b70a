#!/usr/bin/env python3
"""Patient handout print pipeline: the one command-line entry point.

A thin Click layer: each command parses options, calls one function in the
`clinicprint` package, and turns its result into output and an exit code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from clinicprint.errors import PipelineError

ROOT = Path(__file__).resolve().parent
INTERNAL_ERROR = 70  # EX_SOFTWARE: a bug, as opposed to 1 for a problem to fix


def _root(ctx: click.Context) -> Path:
    return ctx.obj["root"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--project", "project", type=click.Path(file_okay=False, exists=True,
                                                     path_type=Path),
              default=ROOT, show_default="the folder of pipeline.py",
              help="Project folder holding handouts/, templates/, styles/ and variants.yaml.")
@click.pass_context
def cli(ctx: click.Context, project: Path) -> None:
    """Turn reviewed handout content into branded, print-ready PDFs."""
    ctx.obj = {"root": project.resolve()}


def _language_options(command):
    """--lang, --allow-stale and --allow-draft: the same on every command that prints."""
    command = click.option(
        "--allow-draft", is_flag=True,
        help="Print translations nobody has reviewed yet, marked 'Draft translation, not "
             "reviewed' (not for patients).")(command)
    command = click.option(
        "--allow-stale", is_flag=True,
        help="Print translations whose English has changed since, marked out of date "
             "(loudly; not for patients).")(command)
    return click.option("--lang", "langs", multiple=True, metavar="CODE",
                        help="Only this language (repeatable), e.g. en, es; see "
                             "languages.yaml.  [default: every language]")(command)


def _warn_language_flags(allow_stale: bool, allow_draft: bool) -> None:
    if allow_stale:
        _warn("--allow-stale: translations whose English has changed are printed, marked "
              "out of date. NOT FOR PATIENTS.")
    if allow_draft:
        _warn("--allow-draft: translations nobody has reviewed are printed, marked 'Draft "
              "translation, not reviewed'. NOT FOR PATIENTS.")


@cli.command()
@click.option("--handout", "handouts", multiple=True, metavar="NAME",
              help="Build only this handout (repeatable).")
@click.option("--variant", "variants", multiple=True, metavar="NAME",
              help="Build only this audience variant (repeatable).")
@click.option("--profile", "profiles", multiple=True, metavar="NAME",
              help="Build only for this profile (repeatable): press, office, "
                   "office-a4, screen, web.")
@click.option("--pdfx", type=click.Choice(["x-4", "x-1a"]), default="x-4", show_default=True,
              help="PDF/X version of press PDFs; choose x-1a only if the print shop asks.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Output folder.  [default: output/ in the project]")
@click.option("--no-gates", is_flag=True,
              help="Write documents even if they fail the quality gates (not for patients).")
@click.option("--allow-expired", is_flag=True,
              help="Build handouts whose medical review has expired (loudly).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes.  [default: the number of CPUs]")
@click.option("--force", is_flag=True, help="Rebuild every document, changed or not.")
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 0 if every output is present and up to date, 1 if "
                   "any would be built.")
@click.option("--shard", metavar="K/N", default=None,
              help="Build only share K of N (for N parallel CI runners).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but problems.")
@_language_options
@click.pass_context
def build(ctx: click.Context, handouts: tuple[str, ...], variants: tuple[str, ...],
          profiles: tuple[str, ...], pdfx: str, output: Path | None, no_gates: bool,
          allow_expired: bool, jobs: int | None, force: bool, check_only: bool,
          shard: str | None, quiet: bool, langs: tuple[str, ...] = (),
          allow_stale: bool = False, allow_draft: bool = False) -> None:
    """Render every language x handout x variant x profile to
    output/<profile>/<handout>/<variant>.pdf (English) and
    output/<lang>/<profile>/<handout>/<variant>.pdf (every other language).

    Each handout is built in the profiles it is made in (see `list`). Only documents
    whose inputs changed are rendered again; output/manifest.json records each file's
    sha256 and input key. Exit codes: 0 all good, 1 a document failed (or, with
    --check, would be built).
    """
    from clinicprint import build as builder
    from clinicprint.progress import Progress

    root = _root(ctx)
    output = (output or root / "output").resolve()
    share = _parse_shard(shard)
    if check_only:
        _check_outputs(root, output, handouts, variants, profiles, pdfx, share, langs)
        return
    _warn_language_flags(allow_stale, allow_draft)
    if no_gates:
        _warn("quality gates are OFF (--no-gates): these PDFs are not checked for "
              "reading level, print size, contrast, required sections, review date or "
              "press preflight")
    gates = builder.GateOptions(enabled=not no_gates, allow_expired=allow_expired,
                                allow_stale=allow_stale, allow_draft=allow_draft)
    progress = Progress(quiet)
    result = builder.build(root, output, handouts, variants, profiles, pdfx, gates,
                           jobs or builder.default_jobs(), force, share, report=progress,
                           planned=progress.planned, langs=langs)
    for warning in dict.fromkeys(result.warnings):
        _warn(warning)
    for note in [] if quiet else result.notes:
        click.echo(f"Note: {note}", err=True)
    if not quiet:
        click.echo(f"{progress.summary()} -> {output}")
    if result.failures:
        raise PipelineError("\n".join(dict.fromkeys(result.failures)))


def _parse_shard(shard: str | None) -> tuple[int, int] | None:
    if shard is None:
        return None
    number, _, count = shard.partition("/")
    if not (number.isdigit() and count.isdigit() and 1 <= int(number) <= int(count)):
        raise click.BadParameter("write it as K/N with 1 <= K <= N, e.g. 2/3",
                                 param_hint="--shard")
    return int(number), int(count)


def _check_outputs(root, output, handouts, variants, profiles, pdfx, share, langs=()) -> None:
    """build --check: say what would be built, without rendering or importing WeasyPrint."""
    from clinicprint import build as builder

    project = builder.load_project(root)
    documents = builder.shard_of(builder.plan(project, handouts, variants, profiles, pdfx,
                                              langs), share)
    stale, fresh = builder.stale_documents(project, documents, output)
    missing, _ = builder.untranslated_in(project, handouts, langs)
    for document in stale:
        click.echo(f"would build {document.relative_path}")
    click.echo(f"{len(stale)} would be built, {len(fresh)} up to date")
    if missing:  # a translation languages.yaml requires: no build can make it
        raise PipelineError("\n".join(missing))
    if stale:
        ctx = click.get_current_context()
        ctx.exit(1)


@cli.command()
@click.argument("shards", nargs=-1, required=True,
                type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder to combine into.  [default: output/ in the project]")
@click.pass_context
def combine(ctx: click.Context, shards: tuple[Path, ...], output: Path | None) -> None:
    """Join the output folders of `build --shard K/N` runs into one, with one manifest."""
    from clinicprint.output import combine as run_combine

    target = (output or _root(ctx) / "output").resolve()
    entries = run_combine(list(shards), target)
    click.echo(f"{len(entries)} documents in {target}")


@cli.command()
@click.option("--handout", metavar="NAME", default=None,
              help="The discharge handout to print (see `list`); needed when there are "
                   "several.  [default: the only one]")
@click.option("--variant", default="general", show_default=True, metavar="NAME",
              help="Audience variant: general, seniors-osteoporosis or oncology.")
@click.option("--patient", metavar="NAME", help="Patient's name.")
@click.option("--procedure-date", metavar="YYYY-MM-DD", help="Date of the procedure.")
@click.option("--levels", metavar="LIST", help='Spine levels treated, e.g. "T12, L1".')
@click.option("--physician", metavar="NAME", help="The doctor who did the procedure.")
@click.option("--follow-up", metavar="'YYYY-MM-DD HH:MM'", help="Follow-up appointment.")
@click.option("--notes", metavar="TEXT", help="Notes from the care team.")
@click.option("--field", "extra_fields", multiple=True, metavar="NAME=VALUE",
              help="Any other detail the sheet declares, e.g. --field side=left "
                   "(repeatable). `pipeline.py list --fields` shows each sheet's fields "
                   "and what each takes.")
@click.option("--profile", type=click.Choice(["office", "office-a4"]), default="office",
              show_default=True, help="Paper: US Letter or A4.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path),
              help="One sheet per row; columns named after these options, plus handout, "
                   "variant and lang.")
@click.option("--merge", is_flag=True,
              help="With --csv: one PDF for duplex printing, each patient on a new sheet.")
@click.option("--with-brochure", is_flag=True,
              help="Append the matching variant's brochure, so one print job has it all.")
@click.option("--allow-expired", is_flag=True,
              help="Print even though the sheet's medical review has expired (loudly).")
@click.option("-o", "--output", metavar="FILE|DIR|-",
              help="File to write, - for standard output (to pipe to lp), or with --csv "
                   "a folder.  [default: a time-stamped name in the current folder]")
@click.option("--lang", default=None, metavar="CODE",
              help="Language of the sheet, e.g. es (a `lang` column per row with --csv).  "
                   "[default: English]")
@click.option("--allow-draft", is_flag=True,
              help="Print a translation nobody has reviewed yet, marked as a draft.")
@click.option("--allow-stale", is_flag=True,
              help="Print a translation whose English has changed, marked out of date.")
@click.option("--force", is_flag=True, help="Replace the -o file if it exists (never the CSV).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes for a CSV list.  [default: the number of CPUs]")
@click.pass_context
def discharge(ctx: click.Context, handout: str | None, variant: str, csv_file: Path | None,
              merge: bool, with_brochure: bool, allow_expired: bool, profile: str,
              output: str | None, force: bool, jobs: int | None,
              lang: str | None = None, allow_draft: bool = False, allow_stale: bool = False,
              extra_fields: tuple[str, ...] = (), **details: str | None) -> None:
    """Print discharge instructions filled in for one patient, or a day's list.

    Every patient detail is optional: a detail left out prints as a blank line to
    fill in by hand. Patient details appear only on the printed page: never in file
    names, PDF metadata, the manifest or messages.
    """
    from clinicprint.build import default_jobs
    from clinicprint.personal import run_discharge

    details = {name.replace("_", "-"): value for name, value in details.items()}
    options = tuple(details)
    details.update(_field_values(extra_fields, options))
    _warn_language_flags(allow_stale, allow_draft)
    written = run_discharge(_root(ctx), variant, details, profile, csv_file, merge,
                            with_brochure, allow_expired, output, warn=_warn,
                            handout=handout, force=force, jobs=jobs or default_jobs(),
                            note=lambda message: click.echo(message, err=True),
                            lang=lang, allow_draft=allow_draft, allow_stale=allow_stale,
                            options=options)
    for path in written:
        click.echo(f"Wrote {path}", err=True)


def _field_values(given: tuple[str, ...], options: tuple[str, ...]) -> dict[str, str]:
    """--field NAME=VALUE, each name once; a detail with an option of its own uses it."""
    from clinicprint.field_declarations import is_field_name

    values: dict[str, str] = {}
    for entry in given:
        name, equals, value = entry.partition("=")
        name = name.strip()
        if not equals or not is_field_name(name):
            raise click.BadParameter("write NAME=VALUE, e.g. --field side=left",
                                     param_hint="--field")
        if name in options:
            raise click.BadParameter(f"give {name} with --{name}", param_hint="--field")
        if name in values:
            raise click.BadParameter(f"{name} is given twice; keep one",
                                     param_hint="--field")
        values[name] = value
    return values


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but this computer (loopback) needs an "
                   "access code.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Another name or address the desk answers to, e.g. the name the ward's "
                   "HTTPS proxy passes on (repeatable). Loopback names, --host and, for "
                   "0.0.0.0, this computer's own names and addresses are always served.")
@click.option("--access-code-file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="File holding the access code nurses type once per "
                                 "browser session; readable by the desk's account only "
                                 "(chmod 600).  [default: $DESK_ACCESS_CODE]")
@click.option("--record", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV file that gets one line per sheet handed out (no patient data).  "
                   "[default: records/discharge-desk.csv in the project]")
@click.option("--renderers", type=click.IntRange(1, 32), default=None,
              help="Warm renderer processes.  [default: the number of CPUs]")
@click.option("--render-timeout", type=click.FloatRange(1, 300), default=15.0,
              show_default=True, help="Seconds a sheet may take to make; a renderer that "
                                      "takes longer is replaced and the nurse told at once.")
@click.option("--client-timeout", type=click.FloatRange(1, 600), default=20.0,
              show_default=True, help="Seconds a request may take to arrive before it is "
                                      "answered with 408.")
@click.option("--idle-timeout", type=click.IntRange(1, 3600), default=30, show_default=True,
              help="Seconds an idle connection is kept open.")
@click.option("--max-connections", type=click.IntRange(2, 900), default=100,
              show_default=True, help="Open connections in all; at the limit the "
                                      "longest-idle one is closed to make room.")
@click.option("--connections-per-client", type=click.IntRange(1, 900), default=16,
              show_default=True, help="Open connections from one address (raise it behind "
                                      "a proxy: every nurse then comes from its address).")
@click.option("--max-sessions", type=click.IntRange(1, 100_000), default=1000,
              show_default=True, help="Browsers kept signed in with the access code; the "
                                      "longest-signed-in is asked again beyond it.")
@click.option("--printer", metavar="QUEUE", default=None,
              help="The ward's CUPS printer queue (`lpstat -p` lists them): each sheet is "
                   "printed there, two-sided, and nothing is downloaded.  [default: the "
                   "browser downloads each sheet]")
@click.option("--fhir-endpoint", metavar="URL", default=None,
              help="The FHIR server's base address: each printed sheet with an MRN is "
                   "recorded there as education given (a FHIR R4 Procedure).")
@click.option("--fhir-token-file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="File holding the FHIR server's bearer token; readable by "
                                 "the desk's account only (chmod 600).")
@click.option("--fhir-mrn-system", metavar="URI", default="",
              help="The hospital's MRN namespace (FHIR Identifier.system), if its FHIR "
                   "server asks for one.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, allowed_hosts: tuple[str, ...],
          access_code_file: Path | None, record: Path | None, renderers: int | None,
          render_timeout: float, client_timeout: float, idle_timeout: int,
          max_connections: int, connections_per_client: int, max_sessions: int,
          printer: str | None, fhir_endpoint: str | None, fhir_token_file: Path | None,
          fhir_mrn_system: str) -> None:
    """Start the discharge desk: a web page where nurses fill in and print sheets.

    Listens on http://127.0.0.1:8765/ by default. Patient details stay in memory
    for one request: never in logs, files or caches. Stop with Ctrl-C.
    """
    from clinicprint.desk import DeskConfig, serve as run_desk
    from clinicprint.desk_access import read_access_code
    from clinicprint.desk_chart import open_chart
    from clinicprint.desk_workers import default_size

    config = DeskConfig(root=_root(ctx), host=host, port=port,
                        access_code=read_access_code(access_code_file),
                        record=record.resolve() if record else None,
                        renderers=renderers or default_size(), client_timeout=client_timeout,
                        allowed_hosts=allowed_hosts, render_timeout=render_timeout,
                        idle_timeout=idle_timeout, max_connections=max_connections,
                        connections_per_client=connections_per_client,
                        max_sessions=max_sessions, printer=printer,
                        chart=open_chart(fhir_endpoint, fhir_token_file, fhir_mrn_system))
    run_desk(config, announce=lambda line: click.echo(line, err=True))


@cli.command()
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="The build's output folder.  [default: output/]")
@click.option("--approve", is_flag=True,
              help="First approve every page as it is now: pictures of them go to "
                   "approved-pages/ (commit it with the handouts); later proofs show "
                   "what changed since.")
@click.option("--lang", "langs", multiple=True, metavar="CODE",
              help="Only this language's documents (repeatable).  [default: every language]")
@click.pass_context
def proof(ctx: click.Context, output: Path | None, approve: bool,
          langs: tuple[str, ...] = ()) -> None:
    """Write output/proof/index.html: every built document, page by page, for reviewers,
    and the pages changed since they were approved (one line per changed document)."""
    from clinicprint.content import load_project
    from clinicprint.languages import select
    from clinicprint.output import read_manifest
    from clinicprint.proof import APPROVED_DIR, build_proof, changes_since_approval
    from clinicprint.visual import approve as approve_pages

    root = _root(ctx)
    output = (output or root / "output").resolve()
    if not read_manifest(output):
        raise PipelineError(f"{output}: nothing built yet; run `pipeline.py build` first")
    project = load_project(root)
    codes = {language.code for language in select(project.languages, list(langs))}
    entries = [e for e in read_manifest(output)
               if e.path.endswith(".pdf") and (not langs or e.lang in codes)]
    approved = root / APPROVED_DIR
    if approve:
        count = approve_pages([(output / e.path, e.path) for e in entries], approved)
        click.echo(f"Approved {count} pages of {len(entries)} documents in {approved}/ "
                   "(commit it with the handouts)")
    changes = changes_since_approval(output, entries, approved)
    page = build_proof(output, project.brand.name, list(project.variants),
                       codes if langs else None, changes, nothing_approved=changes is None)
    click.echo(f"Proofs: {page}")
    if changes is None:
        click.echo(f"No pages approved yet ({APPROVED_DIR}/): look at every page, then run "
                   "`pipeline.py proof --approve`")
    for path, pages in (changes or {}).items():
        click.echo(f"Changed since approval: {path}: {', '.join(p.brief() for p in pages)}")


@cli.command()
@click.option("--profile", "profiles", multiple=True, metavar="NAME",
              help="Watch only this profile's documents (repeatable).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes.  [default: the number of CPUs]")
@click.pass_context
def watch(ctx: click.Context, profiles: tuple[str, ...], jobs: int | None) -> None:
    """Rebuild what changed whenever content, a template or a style is saved.

    Regenerates the proof page after each rebuild and reports it in one line.
    Stop with Ctrl-C.
    """
    from clinicprint.watch import watch as run_watch

    run_watch(_root(ctx), profiles, jobs, echo=click.echo)


@cli.command("check")
@click.option("--handout", "handouts", multiple=True, metavar="NAME",
              help="Check only this handout (repeatable).")
@click.option("--variant", "variants", multiple=True, metavar="NAME",
              help="Check only this audience variant (repeatable).")
@click.option("--allow-expired", is_flag=True,
              help="Report an expired medical review as a warning, not a failure.")
@_language_options
@click.pass_context
def check_(ctx: click.Context, handouts: tuple[str, ...], variants: tuple[str, ...],
           allow_expired: bool, langs: tuple[str, ...] = (), allow_stale: bool = False,
           allow_draft: bool = False) -> None:
    """Run the quality gates on every handout x variant and print a table.

    Gates: reading grade, smallest body and footer text in the PDF, lowest text
    contrast, required sections, medical review date, plain words. Exits 1 if any
    gate fails; writes nothing.
    """
    from clinicprint.build import GateOptions, check

    _warn_language_flags(allow_stale, allow_draft)
    result = check(_root(ctx), handouts, variants,
                   GateOptions(allow_expired=allow_expired, allow_stale=allow_stale,
                               allow_draft=allow_draft), langs=langs)
    click.echo(_gate_table(result.reports))
    for warning in result.warnings:
        _warn(warning)
    if result.failures:
        raise PipelineError("\n".join(dict.fromkeys(result.failures)))
    click.echo(f"All quality gates passed for {len(result.reports)} documents.")


def _gate_table(reports) -> str:
    header = ("handout", "variant", "lang", "grade", "body pt", "footer pt", "contrast", "missing",
              "review", "result")
    rows = [header]
    for r in reports:
        rows.append((r.document.handout.id, r.document.variant.name,
                     r.document.language.code, r.reading_text(),
                     f"{r.smallest_body[0]:g}" if r.smallest_body else "-",
                     f"{r.smallest_footer[0]:g}" if r.smallest_footer else "-",
                     f"{r.lowest_contrast[0]:.1f}:1" if r.lowest_contrast else "-",
                     ", ".join(r.missing) or "none", r.review,
                     "pass" if r.passed else "FAIL"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in rows)


@cli.command("preflight")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="The build's output folder.  [default: output/]")
@click.pass_context
def preflight_(ctx: click.Context, output: Path | None) -> None:
    """Preflight every built press PDF as a print shop would, and print a table.

    Colour spaces, most ink on any spot (Ghostscript separations), crop-mark colour,
    page boxes, embedded fonts, image resolution, annotations and PDF/X output intent.
    `build` runs the same checks on each press PDF. Exits 1 if any check fails.
    """
    from clinicprint.preflight import preflight_built

    reports = preflight_built((output or _root(ctx) / "output").resolve())
    click.echo(_preflight_table(reports))
    for report in reports:
        for warning in report.warnings:
            _warn(warning)
    failures = [failure for report in reports for failure in report.failures]
    if failures:
        raise PipelineError("\n".join(failures))
    click.echo(f"Preflight passed for {len(reports)} press PDFs.")


def _preflight_table(reports) -> str:
    lines = []
    for r in reports:
        dpi = f"{r.min_image_dpi:.0f} dpi" if r.min_image_dpi else "no raster images"
        limit = f" (limit {r.ink_limit} %)" if r.ink_limit else ""
        lines += [f"{r.label}: {'pass' if r.passed else 'FAIL'}",
                  f"  PDF/X          {r.pdfx}; output intent {r.output_intent}",
                  f"  colour spaces  {', '.join(r.colour_spaces) or '-'}",
                  f"  most ink       {r.max_ink:.0f} %{limit}",
                  f"  crop marks     {r.marks}",
                  f"  boxes          {r.boxes}",
                  f"  fonts          {r.fonts}",
                  f"  images         {dpi}",
                  f"  annotations    {r.annotations} inside the bleed"]
    return "\n".join(lines)


def _warn(message: str) -> None:
    click.echo(click.style("Warning: ", fg="yellow") + message, err=True)


@cli.group()
def translations() -> None:
    """Translator tools: export a language's texts as a PO file, import them back."""


@translations.command("export")
@click.option("--lang", required=True, metavar="CODE", help="The language, e.g. es.")
@click.option("--handout", "handouts", multiple=True, metavar="NAME",
              help="Only this handout (repeatable).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="PO file to write.  [default: standard output]")
@click.pass_context
def translations_export(ctx: click.Context, lang: str, handouts: tuple[str, ...],
                        output: Path | None) -> None:
    """Write every English text with its translation (empty if none yet), a note naming
    handout, section and variants, and stale translations marked fuzzy."""
    from clinicprint.content import load_project
    from clinicprint.translator_files import export_po, write_po

    project = load_project(_root(ctx))
    language = _translated_language(project, lang)
    po = export_po(project, language, list(handouts))
    text = write_po(po, output)
    if output is None:
        sys.stdout.buffer.write(text)
    else:
        click.echo(f"Wrote {len(po)} messages ({po.percent_translated()}% translated) to "
                   f"{output}", err=True)


@translations.command("import")
@click.argument("po_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--lang", required=True, metavar="CODE", help="The language, e.g. es.")
@click.pass_context
def translations_import(ctx: click.Context, po_file: Path, lang: str) -> None:
    """Write the PO file's translations into translations/<lang>/. A message that is not
    fuzzy records the English it was checked against, so it is no longer stale."""
    from clinicprint.content import load_project
    from clinicprint.translator_files import import_po

    project = load_project(_root(ctx))
    written = import_po(project, _translated_language(project, lang), po_file)
    for path in written:
        click.echo(f"Wrote {path}")
    click.echo(f"{len(written)} translation file(s) changed")


def _translated_language(project, lang: str):
    from clinicprint.languages import select

    language = select(project.languages, [lang])[0]
    if language.source:
        raise PipelineError(f"{lang} is the source language; translations go from it to "
                            "the others")
    return language


@cli.command("list")
@click.option("--fields", is_flag=True,
              help="Also list each discharge handout's fields and what each takes.")
@click.pass_context
def list_(ctx: click.Context, fields: bool) -> None:
    """Show the handouts (with each language's translation status: source, reviewed,
    draft, stale, incomplete or missing), variants and profiles that can be built."""
    from clinicprint.build import plan
    from clinicprint.content import load_project
    from clinicprint.layouts import PROFILES
    from clinicprint.translations import summary_status
    from clinicprint.personal import printed_fields

    project = load_project(_root(ctx))
    click.echo("Handouts:")
    for handout in project.handouts.values():
        click.echo(f"  {handout.id:<28} {handout.kind:<10} {handout.document_code}")
        click.echo(f"  {'':<28} variants: {', '.join(handout.variants)}")
        click.echo(f"  {'':<28} profiles: {', '.join(handout.profiles)}")
        languages = ", ".join(f"{language.code} {summary_status(project, handout, language)}"
                              for language in project.languages.values())
        click.echo(f"  {'':<28} languages: {languages}")
        if fields and handout.fields:
            click.echo(f"  {'':<28} fields (--field NAME=VALUE, CSV columns, the desk):")
            printed = printed_fields(handout)
            for field in handout.fields:
                where = "" if field.name in printed else \
                    " (on no sheet: the desk asks for it for the chart only)"
                click.echo(f"  {'':<30} {field.name:<24} {field.rule}{where}")
    click.echo("Variants:")
    for variant in project.variants.values():
        click.echo(f"  {variant.name:<28} {variant.label}")
    click.echo("Profiles:")
    for profile in PROFILES.values():
        click.echo(f"  {profile.name:<28} {profile.description}")
    click.echo("Languages:")
    for language in project.languages.values():
        where = "output/" if language.source else f"output/{language.code}/"
        click.echo(f"  {language.code:<28} {language.name} ({language.tag}), in {where}")
    click.echo(f"{len(plan(project))} documents in all.")


def main() -> None:
    from clinicprint.processes import exit_cleanly_on_sigterm, private_tempdir

    exit_cleanly_on_sigterm()
    with private_tempdir():
        code = _run()
    sys.exit(code)


def _run() -> int:
    """The CLI with every way it can end turned into a message and an exit code."""
    try:
        # Without standalone mode Click returns the code of `ctx.exit(n)` instead of
        # exiting; it must still become the process's exit status.
        code = cli(prog_name="pipeline.py", standalone_mode=False)
    except click.UsageError as exc:
        # One line, like every other error, with where to read more.
        command = exc.ctx.command_path if exc.ctx else "pipeline.py"
        click.echo(f"Error: {exc.format_message()} (see `{command} --help`)", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        return 130
    except OSError as exc:
        # A full disk or a read-only folder: say which file, not a traceback.
        where = exc.filename or "output"
        click.echo(f"Error: {where}: {exc.strerror or exc}; check the folder and try again",
                   err=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        # The type only: an exception's text may quote a patient's details.
        if os.environ.get("CLINICPRINT_TRACEBACK"):
            raise
        click.echo(f"Error: internal error ({type(exc).__name__}); this is a bug in the "
                   "pipeline, not in your content. Set CLINICPRINT_TRACEBACK=1 to see "
                   "where, and report it.", err=True)
        return INTERNAL_ERROR
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    main()
