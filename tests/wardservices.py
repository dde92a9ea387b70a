"""What a ward's desk talks to, for the tests: a private CUPS with a cups-pdf queue, and
a FHIR endpoint that validates what it receives.

CUPS: Debian's `cupsd`, started by the test with its own configuration, spool, logs and
a Unix socket in a folder of its own (never the machine's CUPS, whose port it does not
touch), and one queue whose printer is cups-pdf (printer-driver-cups-pdf). cups-pdf reads
its settings from /etc/cups/cups-pdf-<name>.conf for a device URI cups-pdf:/<name> (the
folder is compiled in, so it cannot be private): the test writes one under a name of
its own, pointing the output at its folder, and removes it afterwards. cups-pdf must run
as root (it refuses otherwise), so the tests that print need root, as CI has.

CUPS turns a PDF into PostScript for cups-pdf, which Ghostscript turns back into PDF;
poppler's pdftops (the default) loses the text layer on the way, so the queue uses the
pdftocairo renderer, which keeps it: the printed PDF can be read back as text.

The page log (PageLogFormat) records each finished job's id, name, sides, media and
user: the attributes CUPS itself kept for the job.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CUPS_PDF_CONFIG = Path("/etc/cups")
PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd")
PAGE_LOG_FIELDS = ("job", "name", "sides", "media", "user")


def cups_missing() -> str:
    """Why the private CUPS cannot run here, or ''."""
    for tool in ("/usr/sbin/cupsd", "/usr/sbin/lpadmin", "/usr/bin/lp"):
        if not Path(tool).exists():
            return f"{tool} is missing: run scripts/system-deps.sh --test"
    if not PPD.exists():
        return "printer-driver-cups-pdf is missing: run scripts/system-deps.sh --test"
    if os.geteuid() != 0:
        return "cups-pdf prints only when CUPS runs as root"
    return ""


@dataclass
class PrivateCups:
    folder: Path
    queue: str
    process: subprocess.Popen
    config: Path                 # /etc/cups/cups-pdf-<name>.conf, ours

    @property
    def socket(self) -> str:
        return str(self.folder / "cups.sock")

    @property
    def env(self) -> dict[str, str]:
        return {"CUPS_SERVER": self.socket}

    @property
    def output(self) -> Path:
        return self.folder / "printed"

    def run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(command, capture_output=True, text=True, timeout=30,
                              env={**os.environ, **self.env, "LC_ALL": "C"})

    def finished(self, job_ids: list[str], timeout: float = 90) -> dict[str, dict]:
        """The page log's line for each job (by its number), once all have finished."""
        numbers = {job.rsplit("-", 1)[1]: job for job in job_ids}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.page_log()
            if all(number in lines for number in numbers):
                return {numbers[n]: lines[n] for n in numbers}
            time.sleep(0.3)
        raise AssertionError(f"jobs {job_ids} did not finish:\n{self.log()}")

    def page_log(self) -> dict[str, dict]:
        path = self.folder / "log" / "page_log"
        text = path.read_text(errors="replace") if path.exists() else ""
        rows = [dict(zip(PAGE_LOG_FIELDS, line.split("|"))) for line in text.splitlines()]
        return {row["job"]: row for row in rows if len(row) == len(PAGE_LOG_FIELDS)}

    def printed(self, job_id: str) -> Path:
        """cups-pdf's file for a job: named after the job's name, ending job_<number>."""
        number = job_id.rsplit("-", 1)[1]
        found = sorted(self.output.glob(f"*job_{number}.pdf"))
        assert found, f"no PDF for job {job_id} in {sorted(self.output.iterdir())}"
        return found[0]

    def log(self) -> str:
        path = self.folder / "log" / "error_log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.config.unlink(missing_ok=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cups(queue: str = "Ward-Test") -> PrivateCups:
    """cupsd on a private socket with a cups-pdf queue named `queue`, accepting jobs."""
    # In /tmp itself, not in a private temporary folder (0700, like pytest's and the
    # suite's): CUPS runs its filters as the `lp` account, which must reach the spool.
    folder = Path(tempfile.mkdtemp(prefix="ward-cups-", dir="/tmp"))
    folder.chmod(0o755)
    for name in ("etc", "spool", "spool/tmp", "cache", "state", "log", "printed",
                 "cups-pdf-spool"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / "etc" / "cupsd.conf").write_text(CUPSD_CONF.format(folder=folder))
    (folder / "etc" / "cups-files.conf").write_text(CUPS_FILES_CONF.format(folder=folder))
    name = f"clinicprint-test-{folder.name.rsplit('-', 1)[1].lower()}"
    config = CUPS_PDF_CONFIG / f"cups-pdf-{name}.conf"
    config.write_text(CUPS_PDF_CONF.format(folder=folder))
    log = (folder / "log" / "cupsd-output.txt").open("wb")
    process = subprocess.Popen(
        ["/usr/sbin/cupsd", "-f", "-c", str(folder / "etc" / "cupsd.conf"),
         "-s", str(folder / "etc" / "cups-files.conf")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    cups = PrivateCups(folder, queue, process, config)
    deadline = time.monotonic() + 20
    while not Path(cups.socket).exists():
        if process.poll() is not None or time.monotonic() > deadline:
            cups.stop()
            raise AssertionError("cupsd did not start: " +
                                 (folder / "log" / "cupsd-output.txt").read_text())
        time.sleep(0.1)
    added = cups.run("/usr/sbin/lpadmin", "-p", queue, "-v", f"cups-pdf:/{name}",
                     "-P", str(PPD), "-o", "pdftops-renderer-default=pdftocairo", "-E")
    if added.returncode != 0:
        cups.stop()
        raise AssertionError(f"lpadmin: {added.stderr}")
    return cups


CUPSD_CONF = """\
Listen {folder}/cups.sock
Browsing No
BrowseLocalProtocols none
WebInterface No
LogLevel info
PageLogFormat %j|%{{job-name}}|%{{sides}}|%{{media}}|%u
PreserveJobHistory Yes
PreserveJobFiles No
DefaultAuthType None
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
"""
CUPS_FILES_CONF = """\
ServerRoot {folder}/etc
RequestRoot {folder}/spool
TempDir {folder}/spool/tmp
CacheDir {folder}/cache
StateDir {folder}/state
AccessLog {folder}/log/access_log
ErrorLog {folder}/log/error_log
PageLog {folder}/log/page_log
Printcap {folder}/printcap
FileDevice No
"""
CUPS_PDF_CONF = """\
Out {folder}/printed
AnonDirName {folder}/printed
Spool {folder}/cups-pdf-spool
Log {folder}/log
TitlePref 1
Label 1
Grp root
"""


# --- the chart's FHIR endpoint -------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    resource: dict
    problem: str        # why fhir.resources refused it, or ''


@dataclass
class ChartEndpoint:
    """A FHIR server's Procedure endpoint on a loopback port: it validates each post
    with fhir.resources (as the EHR would) and keeps what came; `answer` sets the
    status it replies with (201, or a failure to test the desk's handling)."""

    token: str
    received: list[Received] = field(default_factory=list)
    answer: int = 201
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/fhir"

    def start(self) -> "ChartEndpoint":
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                resource, problem = _validated(body)
                endpoint.received.append(Received(self.path, dict(self.headers), resource,
                                                  problem))
                status = endpoint.answer if not problem else 422
                if self.headers.get("Authorization") != f"Bearer {endpoint.token}":
                    status = 401
                self.send_response(status)
                if status == 201:
                    self.send_header("Location", "/fhir/Procedure/1/_history/1")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _validated(body: bytes) -> tuple[dict, str]:
    from fhir.resources.R4B.procedure import Procedure

    try:
        resource = json.loads(body)
        Procedure.model_validate(resource)
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        return {}, f"{type(exc).__name__}: {exc}"
    return resource, ""
