"""The discharge desk: one web page where a nurse fills in a patient's sheet and prints it.

The web layer is thin: it checks the Host name, the session and the CSRF token
(desk_access), validates the form with the `discharge` command's own rules
(personal.parse_patient), lends the job to a warm renderer process (desk_workers),
then sends the PDF to the ward's printer (desk_printer) or back to the browser, and
records education given in the patient's chart when it can (desk_chart). Patient
details live in memory for the length of the request: the access log names the route
and status only, and the record of sheets handed out has no patient data.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl

from flask import (Flask, Request, Response, abort, g, render_template, request,
                   send_from_directory)
from werkzeug.exceptions import HTTPException
from werkzeug.formparser import FormDataParser

from . import personal
from .content import Project, load_project
from .desk_access import (AllowedHosts, Lockout, Sessions, check_access,
                          check_allowed_hosts)
from .desk_chart import MRN_FIELD, Chart, Education
from .desk_printer import PrintFailed, WardPrinter, sheet_jobs
from .desk_workers import Job, NoRenderer, RendererFailed, RendererPool, discharge_handouts
from .errors import PipelineError

LOG = logging.getLogger("clinicprint.desk")
ACCESS_LOG = logging.getLogger("clinicprint.desk.access")
HERE = Path(__file__).resolve().parent / "desk"

DEFAULT_PORT = 8765
BODY_LIMIT = 64 * 1024          # a filled form is under 4 KB
SESSION_COOKIE = "desk_session"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
PAPERS = {"office": "US Letter", "office-a4": "A4"}
TRUE_VALUES = ("on", "1", "true", "yes")
CHOICE_FIELDS = ("handout", "variant", "lang", "profile")
CONTROL_FIELDS = ("csrf", "action")

HTML_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "font-src 'self'; connect-src 'self'; frame-src 'self' blob:; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'self'")
# A PDF is shown by the browser's own viewer, which a stricter policy would block.
PDF_CSP = "default-src 'none'; frame-ancestors 'self'"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@dataclass(frozen=True)
class DeskConfig:
    root: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    access_code: str | None = None
    record: Path | None = None       # default: records/discharge-desk.csv in the project
    renderers: int = 2
    threads: int = 16
    client_timeout: float = 20.0     # a request must arrive in full within this time
    allowed_hosts: tuple[str, ...] = ()  # Host names served besides loopback and --host
    render_timeout: float = 15.0     # a renderer taking longer is replaced
    idle_timeout: int = 30           # an idle connection is closed after this
    max_connections: int = 100
    connections_per_client: int = 16
    max_sessions: int = 1000         # browsers signed in with the access code
    printer: str | None = None       # a CUPS queue; None: the browser downloads each sheet
    chart: Chart | None = None       # where education given is recorded (FHIR)


# --- the record of sheets handed out ------------------------------------------------

RECORD_COLUMNS = ("time", "sheet_id", "action", "handout", "document_code", "revision",
                  "variant", "lang", "paper", "with_brochure", "printer", "print_jobs",
                  "chart")


class Record:
    """One line per sheet, appended: when, which handout and version, the sheet id
    printed on the sheet, and what really happened: `action` print (the printer took
    every job, or the download was sent), preview, or failed (the printer refused;
    `print_jobs` lists any job it took); `printer` the queue or "download"; `chart`
    sent or failed (education given, recorded in the chart), empty when nothing was
    to be sent. Never a patient detail."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def open(self) -> None:
        """Create the file (and its folder) now, so a bad path stops the desk at start;
        a file written with other columns is refused, since lines with these columns
        would make it unreadable as CSV."""
        header = ",".join(RECORD_COLUMNS)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock, self.path.open("a+", encoding="utf-8") as out:
                out.seek(0)
                first = out.readline().rstrip("\r\n")
                if not first:
                    out.write(header + "\n")
        except OSError as exc:
            raise PipelineError(f"{self.path}: cannot write the record of sheets handed "
                                f"out ({exc.strerror}); choose another file with "
                                "--record") from None
        if first and first != header:
            raise PipelineError(f"{self.path}: the record has other columns than this desk "
                                f"writes ({header}); keep it under another name and start "
                                "a new one, or choose another file with --record")

    def add(self, values: dict[str, str]) -> None:
        line = ",".join(_csv_cell(values.get(name, "")) for name in RECORD_COLUMNS) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())


def _csv_cell(value: str) -> str:
    value = str(value)
    return f'"{value.replace(chr(34), chr(34) * 2)}"' if any(c in value for c in ',"\n') \
        else value


def new_sheet_id() -> str:
    """Eight characters a person can read out over the phone (no 0/O, 1/I)."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    raw = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


# --- the form -----------------------------------------------------------------------


@dataclass
class Choices:
    """What the page offers, derived from the project."""

    handouts: list[tuple[str, str]]          # (id, title)
    variants: list[tuple[str, str, str]]     # (name, label, description)
    languages: list[tuple[str, str]]         # (code, name): those that can be printed
    papers: list[tuple[str, str]]
    fields: list[DeskField]                  # every detail of any sheet, in order
    # (handout, variant, lang) -> why that sheet cannot be printed, in a nurse's words
    unavailable: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # said beside the language: languages the desk cannot print at all
    language_notes: list[str] = field(default_factory=list)

    @property
    def form_fields(self) -> tuple[str, ...]:
        return (*CHOICE_FIELDS, *(item.field.name for item in self.fields), "with-brochure")


@dataclass
class DeskField:
    """One detail on the form, and the sheets (handout/variant) that print it: the page
    shows it only while one of those is chosen."""

    field: object                            # field_declarations.Field
    sheets: list[str]                        # "handout/variant"


def choices_of(project: Project, chart: bool = False) -> Choices:
    """`chart`: the desk records education given in the chart, so it asks for the MRN."""
    handouts = [(name, project.handouts[name].title) for name in discharge_handouts(project)]
    variants = [(v.name, v.label, " ".join(v.description.split()))
                for v in project.variants.values()]
    unavailable = unavailable_sheets(project, [h for h, _ in handouts])
    printable = {lang for (h, v, lang) in sheet_keys(project, [h for h, _ in handouts])
                 if (h, v, lang) not in unavailable}
    languages = [(code, name) for code, name in languages_of(project) if code in printable]
    notes = list(dict.fromkeys(why for (_, _, lang), why in unavailable.items()
                               if lang not in printable))
    return Choices(handouts, variants, languages, list(PAPERS.items()),
                   desk_fields(project, chart),
                   unavailable, notes)


def desk_fields(project: Project, chart: bool = False) -> list[DeskField]:
    """Every field of every discharge sheet, each with the sheets that place it; with
    `chart`, also the MRN (desk_chart.MRN_FIELD), which no sheet need print, on every
    sheet whose handout declares it, in the order the handout declares its fields."""
    english = next(iter(project.languages))
    found: dict[str, DeskField] = {}
    for handout in discharge_handouts(project):
        declared = project.handouts[handout].fields
        for variant in project.handouts[handout].variants:
            asked = {printed.name for printed in
                     personal.sheet_fields(project, handout, variant, english)}
            if chart:
                asked.add(MRN_FIELD)
            for detail in declared:
                if detail.name in asked:
                    entry = found.setdefault(detail.name, DeskField(detail, []))
                    entry.sheets.append(f"{handout}/{variant}")
    return list(found.values())


def languages_of(project: Project) -> list[tuple[str, str]]:
    """The project's languages (languages.yaml), each named in itself: a nurse
    choosing for a patient may read the patient's language better than English."""
    return [(code, language.native_name) for code, language in project.languages.items()]


def sheet_keys(project: Project, handouts: list[str]) -> list[tuple[str, str, str]]:
    return [(h, v, lang) for lang in project.languages for h in handouts
            for v in project.handouts[h].variants]


def unavailable_sheets(project: Project, handouts: list[str]) -> dict[tuple, str]:
    """Sheets whose translation is a draft, out of date or incomplete: the desk never
    prints those for a patient (the translation gate), so it does not offer them, and
    says why in words a nurse can act on, never a file or an option."""
    from .build import plan

    from .translations import translated

    source = next((lang for lang in project.languages.values() if lang.source), None)
    unavailable = {}
    for handout, variant, lang in sheet_keys(project, handouts):
        language = project.languages[lang]
        if not translated(project, handout, language):
            unavailable[(handout, variant, lang)] = (
                f"{language.name} sheets for this handout are not written yet; print "
                f"{source.name if source else 'the original'} and call the interpreter "
                "service.")
    for document in plan(project, handouts, profiles=list(PAPERS)):
        status = document.translation
        if status is None:
            continue
        key = (document.handout.id, document.variant.name, document.language.code)
        why = _not_printable_because(status, document.language.name,
                                     source.name if source else "the original")
        if why:
            unavailable[key] = why
    return unavailable


def _not_printable_because(status, name: str, source: str) -> str:
    after = f"print {source} and call the interpreter service"
    if status.missing or status.incomplete or status.orphans or status.stale:
        return f"{name} sheets are being updated after a change to the {source}; {after}."
    if status.draft:
        return f"{name} sheets are waiting for review; {after}."
    return ""


@dataclass
class FormResult:
    values: dict[str, str]          # as typed, to show the form again
    errors: dict[str, str]          # field -> message (never the value)
    fields: dict[str, str]          # formatted for the sheet
    job_options: dict[str, str]
    chart: dict[str, str] = field(default_factory=dict)  # for the chart only: the MRN


def read_form(form, project: Project, choices: Choices) -> FormResult:
    values = {name: (form.get(name) or "") for name in choices.form_fields}
    errors: dict[str, str] = {}
    options = {
        "handout": _choice(values, errors, "handout", [h for h, _ in choices.handouts],
                           "Choose which sheet to print"),
        # Like the command, the project's first language (English) unless chosen.
        "lang": _choice(values, errors, "lang", list(project.languages),
                        "Choose a language", default=next(iter(project.languages)),
                        offered=[c for c, _ in choices.languages]),
        "profile": _choice(values, errors, "profile", [p for p, _ in choices.papers],
                           "Choose Letter or A4", default="office"),
    }
    allowed = list(project.handouts[options["handout"]].variants) \
        if options["handout"] in project.handouts else [v for v, *_ in choices.variants]
    options["variant"] = _choice(values, errors, "variant", allowed, "Choose who the sheet "
                                 "is for", default="general" if "general" in allowed else None)
    why = choices.unavailable.get((options["handout"], options["variant"], options["lang"]))
    if why and "lang" not in errors:
        errors["lang"] = why
    fields, printed = _patient_fields(values, errors, choices, project, options)
    chart = {name: value for name, value in fields.items() if name == MRN_FIELD}
    fields = {name: value for name, value in fields.items() if name in printed}
    with_brochure = values["with-brochure"].strip().lower()
    if with_brochure and with_brochure not in TRUE_VALUES:
        errors["with-brochure"] = "Tick the box or leave it empty"
    options["with_brochure"] = with_brochure in TRUE_VALUES
    return FormResult(values, errors, fields, options, chart)


def _choice(values: dict, errors: dict, name: str, allowed: list[str], problem: str,
            default: str | None = None, offered: list[str] | None = None) -> str:
    """The chosen value, if `allowed`; the error names what is `offered` (default:
    everything allowed)."""
    value = values[name].strip()
    if not value:
        value = default if default in allowed else (allowed[0] if len(allowed) == 1 else "")
        values[name] = value
    if value not in allowed:
        shown = allowed if offered is None else offered
        errors[name] = f"{problem}: {', '.join(shown)}" if shown else problem
    return value


def _patient_fields(values: dict, errors: dict, choices: Choices, project: Project,
                    options: dict) -> tuple[dict[str, str], set[str]]:
    """The command's own checks, field by field, so each error sits by its field; and
    the names of the fields the sheet prints (the others are for the chart)."""
    from .patient_fields import Checked, check_order, check_value, clean
    from .name_fonts import check_printable

    if errors.keys() & {"handout", "variant", "lang"}:
        return {}, set()
    try:
        personal.check_translated(project, options["handout"], options["lang"], "lang")
    except PipelineError:
        language = project.languages[options["lang"]]
        errors["lang"] = (f"{language.name} sheets for this handout are not written yet; "
                          "print English and call the interpreter service")
        return {}, set()
    sheet = personal.sheet_fields(project, options["handout"], options["variant"],
                                  options["lang"])
    on_sheet = {field.name: field for field in sheet}
    printed = set(on_sheet)
    asked = {item.field.name for item in choices.fields}
    for declared in project.handouts[options["handout"]].fields:
        if declared.name == MRN_FIELD and MRN_FIELD in asked:  # for the chart, if not printed
            on_sheet.setdefault(declared.name, declared)
    language = project.languages.get(options["lang"])
    checked: dict[str, Checked] = {}
    for item in choices.fields:
        name = item.field.name
        value = clean(values[name])
        if not value:
            continue
        if name not in on_sheet:
            errors[name] = "This sheet has no place for it; clear it, or choose the sheet " \
                           "that has it"
            continue
        try:
            checked[name] = check_value(on_sheet[name], value, name, language)
            # With the project's folder it also refuses a character no font has.
            check_printable("", checked[name].display, name, project.root)
        except PipelineError as exc:
            checked.pop(name, None)
            errors[name] = _without_field_name(str(exc.message), name)
    try:
        check_order(on_sheet, checked, lambda name: name)
    except PipelineError as exc:
        name = str(exc.message).split(":", 1)[0]
        errors[name] = _without_field_name(str(exc.message), name)
    return {name: value.display for name, value in checked.items()}, printed


def _without_field_name(message: str, name: str) -> str:
    """personal.py's message names the option; beside its field it need not."""
    prefix = f"{name}: "
    message = message[len(prefix):] if message.startswith(prefix) else message
    return message[:1].upper() + message[1:]


# --- the app --------------------------------------------------------------------------


class TextForm(FormDataParser):
    """A url-encoded form decoded as UTF-8 text, a byte that is not UTF-8 becoming
    U+FFFD (as werkzeug's multipart parser does), which the field's character check
    refuses beside its field. werkzeug leaves such escapes as they came (%ED%A0%80),
    so they would print literally on a patient's sheet."""

    def parse(self, stream, mimetype, content_length, options=None):
        if mimetype != "application/x-www-form-urlencoded":
            return super().parse(stream, mimetype, content_length, options)
        text = stream.read().decode("utf-8", "replace")
        items = parse_qsl(text, keep_blank_values=True, errors="replace")
        return stream, self.cls(items), self.cls()


class DeskRequest(Request):
    form_data_parser_class = TextForm


class DeskApp(Flask):
    request_class = DeskRequest

    def log_exception(self, exc_info) -> None:
        # A traceback can quote the request's values: log the type only.
        LOG.error("internal error: %s", exc_info[0].__name__ if exc_info[0] else "?")


def create_app(project: Project, pool: RendererPool, record: Record,
               sessions: Sessions, lockout: Lockout | None = None,
               printer: WardPrinter | None = None, chart: Chart | None = None) -> Flask:
    """`printer`: the ward's CUPS queue (else each sheet is downloaded); `chart`: where
    education given is recorded (else nothing is sent and the MRN is not asked for)."""
    app = DeskApp(__name__, static_folder=str(HERE / "static"), static_url_path="/static",
                  template_folder=str(HERE / "templates"))
    app.config.update(MAX_CONTENT_LENGTH=BODY_LIMIT, MAX_FORM_PARTS=50,
                      MAX_FORM_MEMORY_SIZE=BODY_LIMIT, SEND_FILE_MAX_AGE_DEFAULT=0,
                      TRAP_HTTP_EXCEPTIONS=False, PROPAGATE_EXCEPTIONS=False)
    app.jinja_env.autoescape = True
    choices = choices_of(project, chart=chart is not None)
    assets = (project.root / "assets").resolve()
    warned: set[str] = set()
    lockout = lockout or Lockout()

    def page(result: FormResult | None = None, status: int = 200, notice: str = "",
             done: list[str] | None = None):
        """The form: with `result`, as typed and with its errors; `done`: what happened
        to the last patient's sheet, above a blank form."""
        sid = _session()
        return render_template(
            "page.html", brand=project.brand, choices=choices,
            values=result.values if result else _defaults(choices),
            errors=result.errors if result else {}, csrf=sessions.token(sid), notice=notice,
            labels=_labels(choices), printer=printer.queue if printer else "",
            done=done or []), status

    def _session() -> str:
        """The browser's id, for its CSRF token: a new random one if it has none.
        Nothing is kept on the desk for it (desk_access.Sessions)."""
        sid = g.get("new_session") or request.cookies.get(SESSION_COOKIE)
        if not sessions.well_formed(sid):
            sid = sessions.new_id()
            g.new_session = sid
        return sid

    def access_page(status: int = 200, wrong: bool = False, wait: float = 0.0,
                    expired: bool = False):
        sid = _session()
        seconds = math.ceil(wait)
        response = Response(render_template(
            "access.html", brand=project.brand, wrong=wrong, wait=seconds, expired=expired,
            csrf=sessions.token(sid)), status, mimetype="text/html")
        if seconds:
            response.headers["Retry-After"] = str(seconds)
        return response

    @app.after_request
    def _cookie(response: Response) -> Response:
        sid = g.get("new_session")
        if sid:
            response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Strict",
                                path="/")
        return response

    @app.get("/")
    def form():
        if not sessions.authorised(request.cookies.get(SESSION_COOKIE)):
            return access_page()
        return page()

    @app.before_request
    def _form_bodies_only():
        # A JSON or text body is not a form: say so, rather than "the form had expired".
        if request.method == "POST" and request.mimetype not in FORM_TYPES:
            return _plain("The desk takes the details as a filled-in web form "
                          "(application/x-www-form-urlencoded), as its page sends them.",
                          415)
        return None

    @app.post("/access")
    def access():
        if not sessions.needs_code:
            return _redirect_home()
        if not sessions.token_ok(request.cookies.get(SESSION_COOKIE),
                                 request.form.get("csrf", "")):
            return access_page(403, expired=True)
        code = request.form.get("code", "")
        outcome, wait = lockout.attempt(request.remote_addr or "-",
                                        lambda: sessions.code_ok(code))
        if outcome == "locked":  # answered at once; even the right code is refused
            return access_page(429, wait=wait)
        if outcome == "wrong":
            return access_page(401, wrong=True, wait=wait)
        g.new_session = sessions.sign_in()  # a new id: never the one it came with
        return _redirect_home()

    @app.post("/discharge")
    def discharge():
        sid = request.cookies.get(SESSION_COOKIE)
        if not sessions.authorised(sid):
            return access_page(401)
        _check_names(request.form, choices)
        result = read_form(request.form, project, choices)
        if not sessions.token_ok(sid, request.form.get("csrf", "")):
            # A blank form: values from a forged request are never shown as if typed here.
            return page(None, 403, notice="This form had expired. Fill it in again, "
                        "or press the button again if the details are still there.")
        if result.errors:
            return page(result, 422)
        action = request.form.get("action") or "print"
        if action not in ("print", "preview"):
            abort(400, description="The action is print or preview.")
        return _render(result, action)

    def _render(result: FormResult, action: str):
        options = result.job_options
        expired = review_expired(project.handouts[options["handout"]], dt.date.today())
        if expired:
            result.errors["_form"] = expired
            return page(result, 422)
        sheet_id = new_sheet_id()
        job = Job(options["handout"], options["variant"], options["lang"],
                  options["profile"], result.fields, options["with_brochure"], sheet_id,
                  separate=printer is not None and action == "print")
        try:
            outcome = pool.render(job)
        except NoRenderer:
            return _plain("The desk is busy; try again in a moment.", 503)
        except RendererFailed as failure:
            if failure.timed_out:
                return _plain(f"The sheet took too long to make (more than "
                              f"{pool.render_timeout:g} seconds), so the desk stopped and is "
                              "restarting its printing part. Nothing was printed; press the "
                              "button again in a few seconds.", 503)
            return _plain("The sheet could not be made because of a fault in the desk. "
                          "Nothing was printed; please try again.", 500)
        if outcome.status == "unfit":
            key = "notes" if result.fields.get("notes") else "_form"
            result.errors[key] = ("The details do not fit on one sheet of paper; shorten the "
                                  "notes or other long details")
            return page(result, 422)
        if outcome.status == "refused":
            # The content's own reason (for its editor) goes to the desk's log, if it
            # quotes nothing typed; the nurse is told what to do.
            if not any(len(result.values[item.field.name]) > 2 and
                       result.values[item.field.name] in outcome.message
                       for item in choices.fields):
                LOG.warning("sheet refused: %s", outcome.message)
            result.errors["_form"] = ("This sheet cannot be printed now. Nothing was printed; "
                                      "tell the clinic's patient-education lead.")
            return page(result, 422)
        if outcome.status != "ok":
            LOG.error("renderer error: %s", outcome.message)
            return _plain("The sheet could not be made because of a fault in the desk. "
                          "Nothing was printed; please try again.", 500)
        for warning in set(outcome.warnings) - warned:  # e.g. a review due soon: once
            warned.add(warning)
            LOG.warning("%s", warning)
        line = {"time": _utc_now(), "sheet_id": sheet_id, "handout": job.handout,
                "document_code": outcome.document_code, "revision": outcome.revision,
                "variant": job.variant, "lang": job.lang, "paper": job.profile,
                "with_brochure": "yes" if job.with_brochure else "no"}
        if action == "preview":
            record.add({**line, "action": "preview"})
            return _pdf(outcome.pdf, "inline", sheet_id)
        if printer is None:
            chart_said = _to_chart(result, outcome, sheet_id)
            record.add({**line, "action": "print", "printer": "download",
                        "chart": _chart_column(chart_said)})
            response = _pdf(outcome.pdf, "attachment", sheet_id)
            if outcome.parts[1]:
                response.headers["X-Sheet-Pages"] = str(outcome.parts[0])
                response.headers["X-Brochure-Pages"] = str(outcome.parts[1])
            _chart_headers(response, chart_said)
            return response
        return _print(result, outcome, line, sheet_id)

    def _print(result: FormResult, outcome, line: dict, sheet_id: str):
        """The sheet, then the brochure, to the ward's printer; the record says what it
        took; the page says where it went and clears for the next patient, or keeps
        the details and says why nothing (or only part) was printed."""
        taken: list[str] = []
        problem = ""
        for part in sheet_jobs(sheet_id, outcome.pdf, outcome.brochure,
                               result.job_options["profile"]):
            try:
                taken.append(printer.submit(part))
            except PrintFailed as exc:
                problem = str(exc)
                LOG.warning("printer %s refused sheet %s: %s", printer.queue, sheet_id,
                            problem)
                break
        chart_said = _to_chart(result, outcome, sheet_id) if taken else None
        record.add({**line, "action": "failed" if problem else "print",
                    "printer": printer.queue, "print_jobs": " ".join(taken),
                    "chart": _chart_column(chart_said)})
        if problem and not taken:
            return page(result, 502, notice=(
                f"Nothing was printed: the printer {printer.queue} did not take the sheet "
                f"({problem}). The details are still here: check the printer, then press "
                "Print again."))
        said = [f"Sheet {sheet_id} went to the printer {printer.queue} (job "
                f"{taken[0]}), two-sided."]
        if len(taken) > 1:
            said.append(f"The brochure went as a job of its own (job {taken[1]}), two-sided, "
                        "flipped on the short edge.")
        if problem:
            # The brochure holds no patient detail: any copy will do.
            said.append(f"The brochure was not printed: the printer did not take it "
                        f"({problem}). Give the patient one from the ward's stock, or "
                        "print the sheet again with the brochure.")
        if printer.stopped():
            said.append(f"The printer {printer.queue} is stopped: the sheet waits there "
                        "until someone starts it again. Tell the ward's IT contact.")
        said += _chart_words(chart_said)
        response = Response(*page(None, 200, done=said))
        response.headers["X-Sheet-Id"] = sheet_id
        response.headers["X-Print-Jobs"] = " ".join(taken)
        _chart_headers(response, chart_said)
        return response

    def _to_chart(result: FormResult, outcome, sheet_id: str) -> str | None:
        """Education given, for the chart: None when there is nothing to send (no
        chart, or no MRN), '' when sent, else why not (never the MRN)."""
        mrn = result.chart.get(MRN_FIELD)
        if chart is None or not mrn:
            return None
        handout = project.handouts[result.job_options["handout"]]
        problem = chart.send(Education(mrn, handout.title, outcome.document_code,
                                       outcome.revision, sheet_id,
                                       dt.datetime.now(dt.timezone.utc)))
        if problem:
            LOG.warning("sheet %s: not recorded in the chart: %s", sheet_id, problem)
        return problem

    def _pdf(pdf: bytes, disposition: str, sheet_id: str) -> Response:
        response = Response(pdf, 200, mimetype="application/pdf")
        response.headers["Content-Disposition"] = \
            f'{disposition}; filename="discharge-{sheet_id}.pdf"'
        response.headers["X-Sheet-Id"] = sheet_id
        return response

    @app.get("/healthz")
    def healthz():
        health = pool.health()
        return health, 200 if health["status"] == "ready" else 503

    @app.get("/assets/<path:name>")
    def project_asset(name: str):
        # Fonts and pictures for the page, from the project itself (no other host).
        if Path(name).suffix.lower() not in (".woff", ".woff2", ".svg"):
            abort(404)
        target = (assets / name).resolve()
        if not target.is_relative_to(assets) or not target.is_file():
            abort(404)
        return send_from_directory(assets, name, max_age=0)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        ours = exc.description if exc.description != type(exc).description else None
        return _plain(ours or ERROR_TEXT.get(exc.code, "The request was not understood."),
                      exc.code or 400)

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        LOG.error("internal error: %s", type(exc).__name__)
        return _plain("Something went wrong in the desk. Nothing was printed; please try "
                      "again.", 500)

    def _plain(message: str, status: int):
        return render_template("message.html", brand=project.brand, message=message,
                               status=status), status

    def _redirect_home():
        return Response(status=303, headers={"Location": "/"})

    return app


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _chart_column(said: str | None) -> str:
    return "" if said is None else ("failed" if said else "sent")


def _chart_words(said: str | None) -> list[str]:
    """What the nurse is told about the chart."""
    if said is None:
        return []
    if not said:
        return ["Education given is recorded in the patient's chart."]
    return [f"It could not be recorded in the patient's chart ({said}). Record the "
            "education given in the chart by hand."]


def _chart_headers(response: Response, said: str | None) -> None:
    """For the page's script and for scripts: sent, failed (and why), or nothing."""
    column = _chart_column(said)
    if column:
        response.headers["X-Chart"] = column
        if said:
            response.headers["X-Chart-Problem"] = said


def review_expired(handout, today: dt.date) -> str:
    """Said to the nurse when the handout's medical review has passed (the renderer
    refuses it too): what it means and whom to tell, not which file to edit."""
    due = handout.review.next_review
    if due >= today:
        return ""
    return (f"The medical review of \u201c{handout.title}\u201d expired on "
            f"{due.strftime('%b %-d, %Y')}, so it cannot be printed for patients until it is "
            "reviewed again. Nothing was printed; tell the clinic's patient-education lead.")


def _check_names(form, choices: Choices) -> None:
    known = (*choices.form_fields, *CONTROL_FIELDS)
    for name in form.keys():
        if name not in known or len(form.getlist(name)) > 1:
            abort(400, description=f"Unknown or repeated field; the fields are: "
                                   f"{', '.join(choices.form_fields)}.")


def _labels(choices: Choices) -> dict[str, str]:
    """Each field's name on the page (and in the error summary)."""
    return {**CHOICE_LABELS, **{item.field.name: item.field.question
                                for item in choices.fields}}


def _defaults(choices: Choices) -> dict[str, str]:
    values = {name: "" for name in choices.form_fields}
    values["handout"] = choices.handouts[0][0] if len(choices.handouts) == 1 else ""
    values["variant"] = "general" if any(v == "general" for v, *_ in choices.variants) \
        else choices.variants[0][0]
    values["lang"] = choices.languages[0][0] if choices.languages else ""
    values["profile"] = "office"
    return values


CHOICE_LABELS = {"handout": "Which discharge sheet", "variant": "Who it is for",
                 "lang": "Language", "profile": "Paper",
                 "with-brochure": "Include the brochure"}
ERROR_TEXT = {
    400: "The request was not understood. Reload the page and fill in the form again.",
    404: "There is no such page here. Go to the desk's start page.",
    405: "That does not work here. Go to the desk's start page.",
    413: f"The form was larger than the desk accepts ({BODY_LIMIT // 1024} KB).",
}


# --- the WSGI wrappers: only the desk's names; security headers; a log without values --

ROUTES = ("/", "/discharge", "/access", "/healthz")
MISDIRECTED = (b"This desk does not answer to the name in the address bar. Open it at the "
               b"address the ward was given.\n")


def only_hosts(app: Callable, hosts: AllowedHosts) -> Callable:
    """Refuse (421 Misdirected Request) any request whose Host header the desk does
    not serve, before the app sees it: nothing is printed, recorded or kept."""

    def wsgi(environ, start_response):
        if hosts.allows(environ.get("HTTP_HOST")):
            return app(environ, start_response)
        LOG.warning("refused a request for a name the desk does not serve: %s",
                    _printable(environ.get("HTTP_HOST") or "(none)"))
        start_response("421 Misdirected Request", [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(MISDIRECTED)))])
        return [MISDIRECTED]

    return wsgi


def _printable(text: str) -> str:
    """A Host header as the log may show it: name characters only, short."""
    return re.sub(r"[^A-Za-z0-9.:\[\]-]", "?", text[:100])


def security_headers(is_pdf: bool = False) -> dict[str, str]:
    return {**SECURITY_HEADERS, "Content-Security-Policy": PDF_CSP if is_pdf else HTML_CSP}


def guarded(app: Callable, log: logging.Logger = ACCESS_LOG) -> Callable:
    """Every response gets the security headers; every request one log line naming
    the route (never the query, the body or an unknown path) and the status."""

    def wsgi(environ, start_response):
        started = time.monotonic()
        seen: dict[str, object] = {"status": "-", "bytes": 0}

        def start(status: str, headers: list, exc_info=None):
            seen["status"] = status.split(" ", 1)[0]
            is_pdf = any(n.lower() == "content-type" and v.startswith("application/pdf")
                         for n, v in headers)
            ours = security_headers(is_pdf)
            replaced = {name.lower() for name in ours}
            kept = [(name, value) for name, value in headers if name.lower() not in replaced]
            return start_response(status, [*kept, *ours.items()], exc_info)

        try:
            for chunk in app(environ, start):
                seen["bytes"] = int(seen["bytes"]) + len(chunk)
                yield chunk
        finally:
            log.info('%s "%s %s" %s %s %.0fms', environ.get("REMOTE_ADDR", "-"),
                     _method(environ), _route(environ.get("PATH_INFO", "")), seen["status"],
                     seen["bytes"], (time.monotonic() - started) * 1000)

    return wsgi


def _method(environ) -> str:
    method = environ.get("REQUEST_METHOD", "-")
    return method if method in ("GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS") else "-"


def _route(path: str) -> str:
    if path in ROUTES:
        return path
    for prefix in ("/static/", "/assets/"):
        if path.startswith(prefix):
            return prefix + "..."
    return "(other)"


# --- starting the desk --------------------------------------------------------------------


def serve(config: DeskConfig, announce: Callable[[str], None]) -> None:
    """Load and check everything, start the renderers and serve until stopped."""
    from .desk_server import bind, run_server

    check_access(config.host, config.access_code)
    check_allowed_hosts(config.allowed_hosts)
    project = load_project(config.root)
    if not discharge_handouts(project):
        raise PipelineError("handouts/: no discharge handout to print; add one")
    printer = WardPrinter(config.printer) if config.printer else None
    if printer is not None:
        printer.check()
    if config.chart is not None:
        _check_mrn_declared(project)
    record = Record(config.record or config.root / "records" / "discharge-desk.csv")
    record.open()
    _log_to_stderr()
    pool = RendererPool(config.root, config.renderers, render_timeout=config.render_timeout)
    sessions = Sessions(config.access_code, limit=config.max_sessions)
    hosts = AllowedHosts(config.host, config.allowed_hosts)
    app = create_app(project, pool, record, sessions, Lockout(), printer, config.chart)
    server = bind(guarded(only_hosts(app, hosts)), config, list(security_headers().items()))
    pool.start()
    try:
        run_server(server, announce, record.path, hosts.shown(), _handover(config))
    finally:
        pool.close()


def _check_mrn_declared(project: Project) -> None:
    """The chart identifies the patient by the MRN: some sheet must ask for it."""
    if not any(field.name == MRN_FIELD for handout in discharge_handouts(project)
               for field in project.handouts[handout].fields):
        raise PipelineError(f"--fhir-endpoint: no discharge sheet declares a field named "
                            f"'{MRN_FIELD}', which identifies the patient in the chart; "
                            "declare it in fields.yaml, e.g. {name: mrn, label: \"MRN:\", "
                            "type: text, max: 20}")


def _handover(config: DeskConfig) -> str:
    """Where sheets go and what is recorded, said when the desk starts."""
    where = (f"sheets print on the CUPS queue {config.printer}" if config.printer
             else "sheets are downloaded by the browser (no --printer)")
    chart = (f"education given is recorded at {config.chart.url}" if config.chart
             else "nothing is sent to a chart (no --fhir-endpoint)")
    return f"{where}; {chart}."


def _log_to_stderr() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%dT%H:%M:%S"))
    for logger in (LOG, ACCESS_LOG):
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
    ACCESS_LOG.propagate = False

