"""The ward's printer: the desk sends each sheet to a CUPS queue (`serve --printer`).

Through `lp` and `lpstat` (Debian's cups-client), the commands every CUPS system has
and every administrator knows, rather than a Python binding: pycups must be compiled
against libcups, and pyipp is an asyncio client made for reading printer status. The
PDF goes to `lp` on its standard input, so nothing is written on the desk's computer
(CUPS keeps its own spool; see the README for PreserveJobFiles). A job's name is the
sheet id, never the patient's name; the sheet is printed on both sides flipped on the
long edge, the brochure (landscape, tri-fold) as a job of its own flipped on the short
edge, each on the paper it was laid out for.

Messages from CUPS go to the nurse and the log as they are: they name the queue and
the job, and the desk gives CUPS nothing else to quote.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from .errors import PipelineError

LP_TIMEOUT = 20.0          # seconds for CUPS to take a job
SHEET_SIDES = "two-sided-long-edge"      # IPP `sides` (RFC 8011): a portrait sheet
BROCHURE_SIDES = "two-sided-short-edge"  # a landscape tri-fold, flipped on its short edge
MEDIA = {"office": "Letter", "office-a4": "A4"}  # the desk's papers, as CUPS names them
QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,127}$")
JOB_ID = re.compile(r"request id is (\S+)")


@dataclass(frozen=True)
class PrintJob:
    pdf: bytes
    title: str        # the job's name: the sheet id and what it is, no patient detail
    sides: str
    media: str


class PrintFailed(Exception):
    """CUPS did not take a job; the message says why, in CUPS's words."""


@dataclass(frozen=True)
class WardPrinter:
    queue: str

    def check(self) -> None:
        """At start: `lp` is installed and the queue exists, so that a mistyped name
        stops the desk instead of every nurse's print."""
        if not QUEUE_NAME.match(self.queue):
            raise PipelineError(f"--printer {self.queue}: not a printer queue name; "
                                "`lpstat -p` lists the queues")
        for command in ("lp", "lpstat"):
            if shutil.which(command) is None:
                raise PipelineError(f"--printer: the `{command}` command is missing; install "
                                    "Debian's cups-client (apt-get install cups-client)")
        answer = _run(["lpstat", "-p", self.queue])
        if answer.returncode != 0:
            raise PipelineError(f"--printer {self.queue}: CUPS has no such printer queue "
                                f"({_first_line(answer.stderr) or 'lpstat found none'}); "
                                "`lpstat -p` lists the queues")

    def state(self) -> str:
        """`lpstat -p`'s line for the queue, e.g. 'printer Ward-3 is idle.  enabled
        since ...'; empty if CUPS does not answer."""
        answer = _run(["lpstat", "-p", self.queue])
        return _first_line(answer.stdout) if answer.returncode == 0 else ""

    def stopped(self) -> bool:
        """A stopped (disabled) queue takes jobs and holds them: the nurse must know."""
        return " disabled" in self.state()

    def submit(self, job: PrintJob) -> str:
        """Send one job; its CUPS id (e.g. 'Ward-3-42'), or PrintFailed."""
        try:
            answer = subprocess.run(
                ["lp", "-d", self.queue, "-t", job.title, "-o", f"sides={job.sides}",
                 "-o", f"media={job.media}", "-"],
                input=job.pdf, capture_output=True, timeout=LP_TIMEOUT, env=_cups_env())
        except subprocess.TimeoutExpired:
            raise PrintFailed(f"CUPS did not answer within {LP_TIMEOUT:g} seconds") from None
        except OSError as exc:
            raise PrintFailed(f"lp could not run ({exc.strerror})") from None
        found = JOB_ID.search(answer.stdout.decode("utf-8", "replace"))
        if answer.returncode != 0 or not found:
            raise PrintFailed(_first_line(answer.stderr) or "lp gave no job id")
        return found[1]


def sheet_jobs(sheet_id: str, sheet: bytes, brochure: bytes, profile: str) -> list[PrintJob]:
    """The sheet, then the brochure (if any) as its own job."""
    media = MEDIA[profile]
    jobs = [PrintJob(sheet, sheet_id, SHEET_SIDES, media)]
    if brochure:
        jobs.append(PrintJob(brochure, f"{sheet_id} brochure", BROCHURE_SIDES, media))
    return jobs


def _run(command: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, capture_output=True, timeout=LP_TIMEOUT,
                              env=_cups_env(), text=True, errors="replace")
    except (subprocess.TimeoutExpired, OSError):
        return subprocess.CompletedProcess(command, 1, "", "CUPS did not answer")


def _cups_env() -> dict[str, str]:
    """CUPS's own settings (CUPS_SERVER ...) pass through; English messages, so that
    the desk's log reads the same on every computer."""
    return {**os.environ, "LC_ALL": "C", "LANG": "C"}


def _first_line(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:300] if lines else ""
