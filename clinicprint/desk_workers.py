"""Warm renderer processes for the discharge desk.

Each renderer is a process that loads the project, WeasyPrint and the fonts once,
then renders one sheet at a time for the web layer, from memory to memory: the
patient's details arrive through a pipe and the PDF goes back through it. Nothing is
written, logged or cached with patient data.

Like the CSV batch, a renderer lays each sheet design (handout, variant, language,
paper, a note or none) out once and stamps each patient's details and the sheet id
onto it (clinicprint/stamp.py): about 50 ms of CPU a sheet instead of 400 ms. The
designs hold no patient detail (each detail is an invisible stand-in while a design is
laid out); the default sheet's is made while the renderer warms up, others the first
time they are asked for, and at most DESIGNS_KEPT are kept.

A renderer that dies, or hangs past the time limit (`render_timeout`), is killed
and replaced by the pool's monitor thread; the request it was serving is told so
at once (RendererFailed, saying which) and is answered with a page that says
nothing about the patient. The fault is kept for /healthz (`health`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path

LOG = logging.getLogger("clinicprint.desk")
# Spawned, not forked: the desk has threads, and a forked copy of a threaded
# process can inherit a held lock.
CONTEXT = multiprocessing.get_context("spawn")
SHEET_ID_FIELD = "sheet-id"  # read by templates/discharge.html
DESIGNS_KEPT = 48           # sheet designs a renderer keeps (about 40 KB each)


@dataclass(frozen=True)
class Job:
    handout: str
    variant: str
    lang: str
    profile: str
    fields: dict[str, str]  # formatted by personal.parse_patient
    with_brochure: bool
    sheet_id: str
    separate: bool = False  # the brochure apart (a print job of its own), not bundled


@dataclass(frozen=True)
class Outcome:
    """What a renderer answers: `status` is ok, refused (a message with no patient
    data, e.g. an expired medical review) or unfit (the details do not fit)."""

    status: str
    pdf: bytes = b""        # the sheet, and the brochure after it unless `separate`
    brochure: bytes = b""   # the brochure, when the job asked for it `separate`
    # Bundled: the pages the sheet takes in `pdf` (to an even number, so the brochure
    # starts on a new sheet of paper) and the brochure's; how a nurse prints each part.
    parts: tuple[int, int] = (0, 0)
    message: str = ""
    document_code: str = ""
    revision: str = ""
    warnings: tuple[str, ...] = ()


class RendererFailed(Exception):
    """The renderer died or hung while serving this request; `timed_out` says which."""

    def __init__(self, timed_out: bool):
        super().__init__("timed out" if timed_out else "stopped")
        self.timed_out = timed_out


class NoRenderer(Exception):
    """No renderer became free in time (the desk is overloaded or still starting)."""


# --- inside a renderer process ----------------------------------------------------


def _renderer_main(conn: Connection, root: str, tempdir: str, parent: int) -> None:
    """The renderer's loop: warm up, say ready, then render jobs until the pipe closes
    (which is also how it notices that the desk has gone; the kernel ends it too if
    the desk is killed outright)."""
    from .processes import end_with_parent

    end_with_parent(parent)
    tempfile.tempdir = tempdir  # WeasyPrint's font folders go where the desk removes them
    _silence_logs()
    from .content import load_project

    project = load_project(Path(root))
    brochures: dict[tuple, bytes] = {}
    designs = Designs(DESIGNS_KEPT)
    _warm_up(project, designs)
    conn.send("ready")
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(_render(project, job, brochures, designs))


class Designs(OrderedDict):
    """stamp.py's designs, the least recently used dropped beyond `limit`, so that
    a desk serving many handouts, languages and papers keeps its memory bounded."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


def _silence_logs() -> None:
    """WeasyPrint logs problems it meets, which could quote the page's text: keep
    them out of the desk's output (render_pdf collects the ones it needs)."""
    for name in ("weasyprint", "fontTools"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [logging.NullHandler()]
        logger.propagate = False


def _warm_up(project, designs: dict) -> None:
    """Load WeasyPrint and the fonts, and lay out the default sheet's design, so the
    first nurse does not wait. (One design: each costs a full layout, and the desk's
    tests start many renderers; a design with a note is made when first asked for.)"""
    from .personal import Sheet

    handout = discharge_handouts(project)[0]
    variant = next(iter(project.variants))
    lang = next(iter(project.languages))
    job = Job(handout, variant, lang, "office", {}, False, WARM_UP_ID)
    try:
        _render_sheet(project, job, Sheet(variant, {SHEET_ID_FIELD: job.sheet_id}),
                      allow_expired=True, designs=designs)
    except Exception:  # noqa: BLE001 - each request reports its own problem
        pass


# A stand-in id for the warm-up: a design depends on whether there is an id, not on it.
WARM_UP_ID = "XXXX-XXXX"


def _render(project, job: Job, brochures: dict, designs: dict) -> Outcome:
    from .errors import PipelineError, RenderError
    from .personal import Sheet, bundle_for_duplex

    fields = {**job.fields, SHEET_ID_FIELD: job.sheet_id}
    try:
        pdf, warnings = _render_sheet(project, job, Sheet(job.variant, fields),
                                      designs=designs)
        if job.with_brochure:
            key = (job.handout, job.variant, job.lang, job.profile)
            if key not in brochures:  # the same for every patient: no patient data
                brochures[key] = _render_brochure(project, job)
            if job.separate:
                return _ok(project, job, pdf, warnings, brochure=brochures[key])
            parts = (_pages(pdf) + _pages(pdf) % 2, _pages(brochures[key]))
            return _ok(project, job, bundle_for_duplex([[pdf, brochures[key]]]), warnings,
                       parts=parts)
    except RenderError:
        # Its message may quote the patient's text (a word too wide for its line).
        return Outcome("unfit")
    except PipelineError as exc:
        return Outcome("refused", message=str(exc.message))
    except Exception as exc:  # noqa: BLE001 - never let a message with patient data out
        return Outcome("failed", message=type(exc).__name__)
    return _ok(project, job, pdf, warnings)


def _ok(project, job: Job, pdf: bytes, warnings, brochure: bytes = b"",
        parts: tuple[int, int] = (0, 0)) -> Outcome:
    handout = project.handouts[job.handout]
    return Outcome("ok", pdf=pdf, brochure=brochure, parts=parts,
                   document_code=handout.document_code,
                   revision=handout.revision.isoformat(), warnings=tuple(warnings))


def _pages(pdf: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def discharge_handouts(project) -> list[str]:
    return [h.id for h in project.handouts.values() if h.kind == "discharge"]


def _render_sheet(project, job: Job, sheet, **extra) -> tuple[bytes, list[str]]:
    """personal.render_sheet: the same checks as the `discharge` command, including the
    translation gate (a draft or out-of-date translation is refused, never printed)."""
    from . import personal

    sheet = dataclasses.replace(sheet, handout=job.handout, lang=job.lang)
    return personal.render_sheet(project, sheet, job.profile, dt.date.today(), **extra)


def _render_brochure(project, job: Job) -> bytes:
    from . import personal

    return personal.render_brochure(project, job.variant, job.profile, handout=job.handout,
                                    lang=job.lang)


# --- in the desk process ------------------------------------------------------------


@dataclass(eq=False)
class _Slot:
    index: int
    process: multiprocessing.process.BaseProcess | None = None
    conn: Connection | None = None
    state: str = "empty"  # starting, idle, busy, dead
    started: float = 0.0
    busy_since: float = 0.0
    served: int = 0
    quick_deaths: int = 0   # renderers that died soon after starting, in a row
    retry_at: float = 0.0


@dataclass(eq=False)
class _Ticket:
    """A request waiting for a renderer."""

    event: threading.Event = field(default_factory=threading.Event)
    slot: _Slot | None = None


@dataclass
class PoolStats:
    replaced: int = 0
    deaths: list[str] = field(default_factory=list)
    faults: int = 0             # renderers that hung or died while making a sheet
    last_fault: str = ""
    last_fault_at: float = 0.0  # time.time()


class RendererPool:
    """`size` warm renderer processes; `render` lends one to a request."""

    def __init__(self, root: Path, size: int, render_timeout: float = 15.0,
                 max_jobs: int = 1000):
        self.root = root
        self.render_timeout = render_timeout
        self.max_jobs = max_jobs  # a renderer is renewed after this many sheets
        self.slots = [_Slot(i) for i in range(size)]
        self.stats = PoolStats()
        self._cond = threading.Condition()
        self._waiting: deque[_Ticket] = deque()
        self._stopping = False
        self._tempdir = ""
        self._monitor = threading.Thread(target=self._watch, name="renderer-monitor",
                                         daemon=True)

    # lifecycle

    def start(self) -> None:
        self._tempdir = tempfile.mkdtemp(prefix="clinicprint-desk-")
        with self._cond:
            for slot in self.slots:
                self._spawn(slot)
        self._monitor.start()

    def ready(self) -> int:
        with self._cond:
            return sum(slot.state in ("idle", "busy") for slot in self.slots)

    def health(self) -> dict:
        """For /healthz: `status` is ready, starting, or fault (a renderer is past the
        time limit, or one that failed is being replaced); the last fault, if any."""
        now = time.monotonic()
        with self._cond:
            ready = sum(slot.state in ("idle", "busy") for slot in self.slots)
            stuck = sum(slot.state == "busy" and now - slot.busy_since > self.render_timeout
                        for slot in self.slots)
            stats = self.stats
            recent = stats.faults and time.time() - stats.last_fault_at < 3600
            if stuck or (ready < len(self.slots) and recent):
                status = "fault"
            else:
                status = "ready" if ready == len(self.slots) else "starting"
            return {"status": status, "renderers": len(self.slots), "ready": ready - stuck,
                    "replaced": stats.replaced, "faults": stats.faults,
                    "render_timeout": self.render_timeout,
                    "last_fault": {"what": stats.last_fault, "at": _iso(stats.last_fault_at)}
                    if stats.faults else None}

    def _fault(self, what: str) -> None:
        with self._cond:
            self.stats.faults += 1
            self.stats.last_fault, self.stats.last_fault_at = what, time.time()

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            for ticket in self._waiting:
                ticket.event.set()  # no renderer for them: they answer 503
            self._cond.notify_all()
        for slot in self.slots:
            if slot.conn is not None:
                slot.conn.close()  # the renderer sees the pipe close and returns
        for slot in self.slots:
            if slot.process is not None:
                slot.process.join(timeout=5)
                if slot.process.is_alive():
                    slot.process.kill()
                    slot.process.join(timeout=5)
        if self._monitor.is_alive():
            self._monitor.join(timeout=5)
        if self._tempdir:
            shutil.rmtree(self._tempdir, ignore_errors=True)

    # serving

    def render(self, job: Job, wait_for: float = 30.0) -> Outcome:
        slot = self._acquire(wait_for)
        healthy = False
        try:
            slot.conn.send(job)
            if not slot.conn.poll(self.render_timeout):
                self._fault(f"renderer {slot.index} did not finish a sheet within "
                            f"{self.render_timeout:g} s; it was stopped and replaced")
                raise RendererFailed(timed_out=True)
            outcome = slot.conn.recv()
            healthy = True
            return outcome
        except (EOFError, OSError):
            self._fault(f"renderer {slot.index} stopped while making a sheet; it was "
                        "replaced")
            raise RendererFailed(timed_out=False) from None
        finally:
            self._release(slot, healthy)

    def _acquire(self, wait_for: float) -> _Slot:
        """First come, first served: a free renderer goes to the longest-waiting
        request, so no nurse waits behind a luckier thread again and again."""
        with self._cond:
            if self._stopping:
                raise NoRenderer()
            ticket = _Ticket()
            self._waiting.append(ticket)
            self._hand_out()
        ticket.event.wait(wait_for)
        with self._cond:
            if ticket.slot is None:
                self._waiting.remove(ticket)
                raise NoRenderer()
            return ticket.slot

    def _hand_out(self) -> None:
        """Give idle renderers to waiting requests, oldest first (lock held)."""
        for slot in self.slots:
            if not self._waiting:
                return
            if slot.state != "idle":
                continue
            if not slot.process.is_alive():  # died while idle: the monitor replaces it
                self._fault(f"renderer {slot.index} stopped on its own; it was replaced")
                slot.state = "dead"
                continue
            ticket = self._waiting.popleft()
            slot.state, ticket.slot = "busy", slot
            slot.busy_since = time.monotonic()
            ticket.event.set()

    def _release(self, slot: _Slot, healthy: bool) -> None:
        with self._cond:
            slot.served += 1
            if healthy and slot.served < self.max_jobs:
                slot.state = "idle"
            else:
                slot.state = "dead"
                if slot.process is not None and slot.process.is_alive():
                    slot.process.kill()  # hung, or renewed after max_jobs
            self._hand_out()
            self._cond.notify_all()

    # the monitor: starts replacements and collects "ready" messages

    def _spawn(self, slot: _Slot) -> None:
        if slot.conn is not None:
            slot.conn.close()
        parent, child = CONTEXT.Pipe()
        process = CONTEXT.Process(target=_renderer_main, name=f"renderer-{slot.index}",
                                  args=(child, str(self.root), self._tempdir, os.getpid()),
                                  daemon=True)
        process.start()
        child.close()  # so the desk sees EOF when the renderer dies
        slot.process, slot.conn, slot.state = process, parent, "starting"
        slot.started, slot.served = time.monotonic(), 0

    def _watch(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                self._replace_dead()
                starting = {s.conn: s for s in self.slots if s.state == "starting"}
                sentinels = [s.process.sentinel for s in self.slots if s.process]
            ready = wait([*starting, *sentinels], timeout=0.5)
            with self._cond:
                for conn in ready:
                    if conn in starting:
                        self._collect_ready(starting[conn])
                self._cond.notify_all()

    def _collect_ready(self, slot: _Slot) -> None:
        try:
            message = slot.conn.recv() if slot.conn.poll() else None
        except (EOFError, OSError):
            message = None
        if message == "ready" and slot.state == "starting":
            slot.state, slot.quick_deaths = "idle", 0
            self._hand_out()
            LOG.info("renderer %d ready in %.1f s", slot.index, time.monotonic() - slot.started)

    def _replace_dead(self) -> None:
        for slot in self.slots:
            process = slot.process
            dead = slot.state == "dead" or (
                slot.state in ("idle", "starting") and process is not None
                and not process.is_alive())
            if not dead:
                continue
            if time.monotonic() < slot.retry_at:
                continue
            if slot.state in ("idle", "starting") and slot.retry_at == 0.0:
                self._fault(f"renderer {slot.index} stopped on its own; it was replaced")
            if process is not None and slot.retry_at == 0.0:
                process.join(timeout=1)
                if slot.served < self.max_jobs:
                    LOG.warning("renderer %d stopped (exit code %s); starting another",
                                slot.index, process.exitcode)
                    self.stats.deaths.append(str(process.exitcode))
                if self._dies_on_start(slot):
                    continue
            slot.retry_at = 0.0
            self.stats.replaced += 1
            self._spawn(slot)

    def _dies_on_start(self, slot: _Slot) -> bool:
        """A renderer that keeps dying as it starts (a broken font, say) is retried
        after a growing pause instead of in a tight loop."""
        if slot.state != "starting" and slot.served:
            slot.quick_deaths = 0
            return False
        slot.quick_deaths += 1
        if slot.quick_deaths < 2:
            return False
        slot.state = "dead"
        slot.retry_at = time.monotonic() + min(30.0, 2.0 ** slot.quick_deaths)
        return True


def _iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_size() -> int:
    return max(1, os.cpu_count() or 1)
