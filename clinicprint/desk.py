"""The discharge desk: one web page where a nurse fills in a patient's sheet and prints it.

The web layer is thin: it checks the session (access code, CSRF token), validates
the form with the `discharge` command's own rules (personal.parse_patient), lends
the job to a warm renderer process (desk_workers) and returns the PDF. Patient
details live in memory for the length of the request: the access log names the
route and status only, and the record of sheets handed out has no patient data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from flask import Flask, Response, abort, g, render_template, request, send_from_directory
from werkzeug.exceptions import HTTPException

from . import personal
from .content import Project, load_project
from .desk_workers import Job, NoRenderer, RendererFailed, RendererPool, discharge_handouts
from .errors import PipelineError

LOG = logging.getLogger("clinicprint.desk")
ACCESS_LOG = logging.getLogger("clinicprint.desk.access")
HERE = Path(__file__).resolve().parent / "desk"

DEFAULT_PORT = 8765
BODY_LIMIT = 64 * 1024          # a filled form is under 4 KB
ACCESS_CODE_ENV = "DESK_ACCESS_CODE"
MIN_ACCESS_CODE = 8
SESSION_COOKIE = "desk_session"
SESSION_HOURS = 12              # one shift
MAX_SESSIONS = 10_000
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


# --- options, checked before anything starts ------------------------------------------


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_access_code(code_file: Path | None) -> str | None:
    """The code from --access-code-file, else from $DESK_ACCESS_CODE, else None."""
    if code_file is not None:
        try:
            code = code_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise PipelineError(f"{code_file}: cannot read the access code file") from None
        where = str(code_file)
    else:
        code = (os.environ.get(ACCESS_CODE_ENV) or "").strip()
        where = f"${ACCESS_CODE_ENV}"
        if not code:
            return None
    if len(code) < MIN_ACCESS_CODE:
        raise PipelineError(f"{where}: the access code is shorter than {MIN_ACCESS_CODE} "
                            "characters; choose a longer one")
    return code


def check_access(host: str, code: str | None) -> None:
    if not is_loopback(host) and not code:
        raise PipelineError(
            f"--host {host}: other computers can reach the desk there, so it needs an "
            f"access code: put one in a file and add --access-code-file FILE, or set "
            f"{ACCESS_CODE_ENV}")


# --- sessions, CSRF and the access code ---------------------------------------------


class Sessions:
    """Browser sessions in memory: a random id in a cookie, whether the access code
    was given, and a CSRF token derived from the id. Nothing about patients."""

    def __init__(self, access_code: str | None):
        self._secret = secrets.token_bytes(32)
        self._code = _digest(access_code) if access_code else None
        self._known: OrderedDict[str, tuple[float, bool]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def needs_code(self) -> bool:
        return self._code is not None

    def new(self) -> str:
        sid = secrets.token_urlsafe(24)
        with self._lock:
            self._known[sid] = (time.time(), not self.needs_code)
            while len(self._known) > MAX_SESSIONS:
                self._known.popitem(last=False)
        return sid

    def valid(self, sid: str | None) -> bool:
        return self._entry(sid) is not None

    def authorised(self, sid: str | None) -> bool:
        if not self.needs_code:
            return True
        entry = self._entry(sid)
        return bool(entry and entry[1])

    def _entry(self, sid: str | None):
        if not sid:
            return None
        with self._lock:
            entry = self._known.get(sid)
            if entry and time.time() - entry[0] > SESSION_HOURS * 3600:
                del self._known[sid]
                return None
            return entry

    def token(self, sid: str) -> str:
        return hmac.new(self._secret, sid.encode(), hashlib.sha256).hexdigest()

    def token_ok(self, sid: str | None, token: str) -> bool:
        return bool(sid) and self.valid(sid) and hmac.compare_digest(
            self.token(sid).encode(), token.encode("utf-8", "replace"))

    def try_code(self, sid: str, code: str) -> bool:
        """Compare in constant time: both sides are hashed to equal length first."""
        ok = self._code is not None and hmac.compare_digest(self._code, _digest(code))
        if ok:
            with self._lock:
                self._known[sid] = (time.time(), True)
        return ok


def _digest(code: str) -> bytes:
    return hashlib.sha256(code.strip().encode("utf-8", "replace")).digest()


# --- the record of sheets handed out ------------------------------------------------

RECORD_COLUMNS = ("time", "sheet_id", "action", "handout", "document_code", "revision",
                  "variant", "lang", "paper", "with_brochure")


class Record:
    """One line per sheet, appended: when, which handout and version, and the sheet id
    printed on the sheet. Never a patient detail."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def open(self) -> None:
        """Create the file (and its folder) now, so a bad path stops the desk at start."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock, self.path.open("a", encoding="utf-8") as out:
                if out.tell() == 0:
                    out.write(",".join(RECORD_COLUMNS) + "\n")
        except OSError as exc:
            raise PipelineError(f"{self.path}: cannot write the record of sheets handed "
                                f"out ({exc.strerror}); choose another file with "
                                "--record") from None

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
    languages: list[tuple[str, str]]         # (code, name)
    papers: list[tuple[str, str]]
    fields: list[DeskField]                  # every detail of any sheet, in order

    @property
    def form_fields(self) -> tuple[str, ...]:
        return (*CHOICE_FIELDS, *(item.field.name for item in self.fields), "with-brochure")


@dataclass
class DeskField:
    """One detail on the form, and the sheets (handout/variant) that print it: the page
    shows it only while one of those is chosen."""

    field: object                            # field_declarations.Field
    sheets: list[str]                        # "handout/variant"


def choices_of(project: Project) -> Choices:
    handouts = [(name, project.handouts[name].title) for name in discharge_handouts(project)]
    variants = [(v.name, v.label, " ".join(v.description.split()))
                for v in project.variants.values()]
    return Choices(handouts, variants, languages_of(project), list(PAPERS.items()),
                   desk_fields(project))


def desk_fields(project: Project) -> list[DeskField]:
    """Every field of every discharge sheet, each with the sheets that place it."""
    english = next(iter(project.languages))
    found: dict[str, DeskField] = {}
    for handout in discharge_handouts(project):
        for variant in project.handouts[handout].variants:
            for field in personal.sheet_fields(project, handout, variant, english):
                entry = found.setdefault(field.name, DeskField(field, []))
                entry.sheets.append(f"{handout}/{variant}")
    return list(found.values())


def languages_of(project: Project) -> list[tuple[str, str]]:
    """The project's languages (languages.yaml), each named in itself: a nurse
    choosing for a patient may read the patient's language better than English."""
    return [(code, language.native_name) for code, language in project.languages.items()]


@dataclass
class FormResult:
    values: dict[str, str]          # as typed, to show the form again
    errors: dict[str, str]          # field -> message (never the value)
    fields: dict[str, str]          # formatted for the sheet
    job_options: dict[str, str]


def read_form(form, project: Project, choices: Choices) -> FormResult:
    values = {name: (form.get(name) or "") for name in choices.form_fields}
    errors: dict[str, str] = {}
    options = {
        "handout": _choice(values, errors, "handout", [h for h, _ in choices.handouts],
                           "Choose which sheet to print"),
        # Like the command, the project's first language (English) unless chosen.
        "lang": _choice(values, errors, "lang", [c for c, _ in choices.languages],
                        "Choose a language", default=choices.languages[0][0]),
        "profile": _choice(values, errors, "profile", [p for p, _ in choices.papers],
                           "Choose Letter or A4", default="office"),
    }
    allowed = list(project.handouts[options["handout"]].variants) \
        if options["handout"] in project.handouts else [v for v, *_ in choices.variants]
    options["variant"] = _choice(values, errors, "variant", allowed, "Choose who the sheet "
                                 "is for", default="general" if "general" in allowed else None)
    fields = _patient_fields(values, errors, choices, project, options)
    with_brochure = values["with-brochure"].strip().lower()
    if with_brochure and with_brochure not in TRUE_VALUES:
        errors["with-brochure"] = "Tick the box or leave it empty"
    options["with_brochure"] = with_brochure in TRUE_VALUES
    return FormResult(values, errors, fields, options)


def _choice(values: dict, errors: dict, name: str, allowed: list[str], problem: str,
            default: str | None = None) -> str:
    value = values[name].strip()
    if not value:
        value = default if default in allowed else (allowed[0] if len(allowed) == 1 else "")
        values[name] = value
    if value not in allowed:
        errors[name] = f"{problem}: {', '.join(allowed)}" if allowed else problem
    return value


def _patient_fields(values: dict, errors: dict, choices: Choices, project: Project,
                    options: dict) -> dict[str, str]:
    """The command's own checks, field by field, so each error sits by its field."""
    from .patient_fields import Checked, check_order, check_value, clean
    from .name_fonts import check_printable

    if errors.keys() & {"handout", "variant", "lang"}:
        return {}
    try:
        personal.check_translated(project, options["handout"], options["lang"], "lang")
    except PipelineError:
        language = project.languages[options["lang"]]
        errors["lang"] = (f"{language.name} sheets for this handout are not written yet; "
                          "print English and call the interpreter service")
        return {}
    sheet = personal.sheet_fields(project, options["handout"], options["variant"],
                                  options["lang"])
    on_sheet = {field.name: field for field in sheet}
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
    return {name: value.display for name, value in checked.items()}


def _without_field_name(message: str, name: str) -> str:
    """personal.py's message names the option; beside its field it need not."""
    prefix = f"{name}: "
    message = message[len(prefix):] if message.startswith(prefix) else message
    return message[:1].upper() + message[1:]


# --- the app --------------------------------------------------------------------------


class DeskApp(Flask):
    def log_exception(self, exc_info) -> None:
        # A traceback can quote the request's values: log the type only.
        LOG.error("internal error: %s", exc_info[0].__name__ if exc_info[0] else "?")


def create_app(project: Project, pool: RendererPool, record: Record,
               sessions: Sessions) -> Flask:
    app = DeskApp(__name__, static_folder=str(HERE / "static"), static_url_path="/static",
                  template_folder=str(HERE / "templates"))
    app.config.update(MAX_CONTENT_LENGTH=BODY_LIMIT, MAX_FORM_PARTS=50,
                      MAX_FORM_MEMORY_SIZE=BODY_LIMIT, SEND_FILE_MAX_AGE_DEFAULT=0,
                      TRAP_HTTP_EXCEPTIONS=False, PROPAGATE_EXCEPTIONS=False)
    app.jinja_env.autoescape = True
    choices = choices_of(project)
    assets = (project.root / "assets").resolve()
    warned: set[str] = set()

    def page(result: FormResult | None = None, status: int = 200, notice: str = ""):
        sid = _session()
        return render_template(
            "page.html", brand=project.brand, choices=choices,
            values=result.values if result else _defaults(choices),
            errors=result.errors if result else {}, csrf=sessions.token(sid), notice=notice,
            labels=_labels(choices)), status

    def _session() -> str:
        sid = request.cookies.get(SESSION_COOKIE)
        if not sessions.valid(sid):
            sid = sessions.new()
            g.new_session = sid
        return sid

    def access_page(status: int = 200, wrong: bool = False):
        sid = _session()
        return render_template("access.html", brand=project.brand, wrong=wrong,
                               csrf=sessions.token(sid)), status

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

    @app.post("/access")
    def access():
        sid = request.cookies.get(SESSION_COOKIE)
        if not sessions.needs_code:
            return _redirect_home()
        if not sessions.token_ok(sid, request.form.get("csrf", "")):
            return access_page(403)
        if not sessions.try_code(sid, request.form.get("code", "")):
            time.sleep(1)  # slows down guessing
            return access_page(401, wrong=True)
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
        sheet_id = new_sheet_id()
        options = result.job_options
        job = Job(options["handout"], options["variant"], options["lang"],
                  options["profile"], result.fields, options["with_brochure"], sheet_id)
        try:
            outcome = pool.render(job)
        except NoRenderer:
            return _plain("The desk is busy; try again in a moment.", 503)
        except RendererFailed:
            return _plain("The sheet could not be made because of a fault in the desk. "
                          "Nothing was printed; please try again.", 500)
        if outcome.status == "unfit":
            key = "notes" if result.fields.get("notes") else "_form"
            result.errors[key] = ("The details do not fit on one sheet of paper; shorten the "
                                  "notes or other long details")
            return page(result, 422)
        if outcome.status == "refused":
            message = outcome.message  # about the content (an expired review), but check:
            if any(len(result.values[item.field.name]) > 2 and
                   result.values[item.field.name] in message for item in choices.fields):
                message = "This sheet cannot be printed now; ask the handout's editor"
            result.errors["_form"] = message
            return page(result, 422)
        if outcome.status != "ok":
            LOG.error("renderer error: %s", outcome.message)
            return _plain("The sheet could not be made because of a fault in the desk. "
                          "Nothing was printed; please try again.", 500)
        for warning in set(outcome.warnings) - warned:  # e.g. a review due soon: once
            warned.add(warning)
            LOG.warning("%s", warning)
        record.add({"time": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "sheet_id": sheet_id, "action": "preview" if action == "preview"
                    else "print", "handout": job.handout,
                    "document_code": outcome.document_code, "revision": outcome.revision,
                    "variant": job.variant, "lang": job.lang, "paper": job.profile,
                    "with_brochure": "yes" if job.with_brochure else "no"})
        disposition = "inline" if action == "preview" else "attachment"
        response = Response(outcome.pdf, 200, mimetype="application/pdf")
        response.headers["Content-Disposition"] = \
            f'{disposition}; filename="discharge-{sheet_id}.pdf"'
        response.headers["X-Sheet-Id"] = sheet_id
        return response

    @app.get("/healthz")
    def healthz():
        ready, size = pool.ready(), len(pool.slots)
        status = 200 if ready == size else 503
        return {"status": "ready" if status == 200 else "starting", "renderers": size,
                "ready": ready, "replaced": pool.stats.replaced}, status

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
    values["lang"] = choices.languages[0][0]
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


# --- the WSGI wrapper: security headers and an access log without values ---------------

ROUTES = ("/", "/discharge", "/access", "/healthz")


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
            ours = {**SECURITY_HEADERS,
                    "Content-Security-Policy": PDF_CSP if is_pdf else HTML_CSP}
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
    project = load_project(config.root)
    if not discharge_handouts(project):
        raise PipelineError("handouts/: no discharge handout to print; add one")
    record = Record(config.record or config.root / "records" / "discharge-desk.csv")
    record.open()
    _log_to_stderr()
    pool = RendererPool(config.root, config.renderers)
    sessions = Sessions(config.access_code)
    server = bind(guarded(create_app(project, pool, record, sessions)), config)
    pool.start()
    try:
        run_server(server, announce, record.path)
    finally:
        pool.close()


def _log_to_stderr() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%dT%H:%M:%S"))
    for logger in (LOG, ACCESS_LOG):
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
    ACCESS_LOG.propagate = False

