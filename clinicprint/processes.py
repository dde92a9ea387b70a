"""Process hygiene: nothing left behind, whatever way a run ends.

WeasyPrint writes each font configuration's fonts to a `weasyprint-*` folder in
the temporary directory and removes it only when the configuration is garbage
collected, which never happens in a worker process that exits with os._exit.
So every run gets one private temporary folder, removed when the run ends, and
folders of runs that were killed outright are removed by the next run. Worker
processes ask the kernel to end them when their parent dies, so a build killed
with SIGTERM or SIGKILL leaves no orphans.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

PREFIX = "clinicprint-"
PR_SET_PDEATHSIG = 1  # linux/prctl.h


@contextmanager
def private_tempdir() -> Iterator[Path]:
    """Point this process and its children at a fresh temporary folder, and remove
    it afterwards."""
    base = Path(tempfile.gettempdir())
    _remove_abandoned(base)
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{_namespace()}-{os.getpid()}-",
                                   dir=base))
    saved_env, saved_dir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = str(folder), str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = saved_dir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        shutil.rmtree(folder, ignore_errors=True)


def _remove_abandoned(base: Path) -> None:
    """Folders of earlier runs whose process no longer exists (killed with -9). Only
    runs of this PID namespace are judged: a container sharing /tmp has its own pids."""
    for folder in base.glob(f"{PREFIX}{_namespace()}-*-*"):
        pid = folder.name[len(PREFIX):].split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _namespace() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        # OverflowError: not a process id (another tool's folder); leave it alone.
        return True
    return True


def end_with_parent(parent: int) -> None:
    """Called first in each worker process: the kernel sends SIGTERM when the parent
    dies, even by SIGKILL. Linux only; elsewhere the pool's own shutdown applies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def exit_cleanly_on_sigterm() -> None:
    """SIGTERM (kill, timeout, a container stop) unwinds like Ctrl-C, so worker pools
    shut down and temporary folders are removed."""
    def stop(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
