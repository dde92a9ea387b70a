"""Nothing left behind: no temporary files after a build, a discharge sheet or a failure,
and no worker process outliving the build, however the build ends.

Runs on a copy of the generated library (tests/library.py). A failed render leaving
nothing behind is proved with the broken-template build of test_errors.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import ROOT, documents_of, run_pipeline
from library_extra import BROCHURE, DISCHARGE, copy_library

VARIANT = documents_of()[0].variant.name


def run_in(temporary: Path, *args: str, project: Path) -> subprocess.CompletedProcess:
    return run_pipeline(*args, project=project, cwd=temporary.parent,
                        env={"TMPDIR": str(temporary)})


# Workers and the press preflight (Ghostscript's plates) in a parallel build; renders in
# the process itself (`check` renders one document at a time, as `build --jobs 1` does);
# a nurse's sheet with its brochure.
RUNS = {
    "parallel-build": ("build", "--jobs", "2", "--force", "--variant", VARIANT, "--profile",
                       "press", "--profile", "office"),
    "check": ("check", "--variant", VARIANT, "--handout", DISCHARGE),
    "discharge-brochure": ("discharge", "--patient", "Test Person", "--with-brochure", "-o",
                           "bundle.pdf"),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Each run in its own copy of the library with its own temporary folder; the runs
    are independent, so they go side by side (two cores)."""
    def one(name: str) -> tuple[Path, Path, subprocess.CompletedProcess]:
        home = tmp_path_factory.mktemp(name)
        project, temporary = copy_library(home / "project"), home / "tmp"
        temporary.mkdir()
        return project, temporary, run_in(temporary, *RUNS[name], project=project)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(RUNS, pool.map(one, RUNS)))


@pytest.mark.parametrize("name", RUNS)
def test_the_temporary_folder_is_as_empty_after_a_run_as_before(runs: dict, name: str) -> None:
    project, temporary, proc = runs[name]
    assert proc.returncode == 0, proc.stderr.decode()
    assert list(temporary.iterdir()) == []
    if name == "parallel-build":  # both kinds, press included
        assert {p.parent.name for p in (project / "output/press").rglob("*.pdf")} == {BROCHURE}
        assert {p.parent.name for p in (project / "output/office").rglob("*.pdf")} == \
            {BROCHURE, DISCHARGE}


def children_of(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines()
                          if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGINT],
                         ids=["SIGTERM", "SIGKILL", "SIGINT"])
def test_workers_end_when_the_build_is_stopped(project: Path, tmp_path: Path,
                                               sig: signal.Signals) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "pipeline.py"), "--project", str(project), "build",
         "--jobs", "2", "--force", "--profile", "office"], cwd=tmp_path, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, env={**os.environ, "TMPDIR": str(temporary)})
    deadline = time.monotonic() + 30
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        workers = children_of(process.pid)
        time.sleep(0.05)
    assert len(workers) == 2, "the build never started its workers"
    os.kill(process.pid, sig)
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers), "a worker outlived the build"
    if sig != signal.SIGKILL:
        assert process.returncode != 0
        assert list(temporary.iterdir()) == []
    else:
        # Nothing can clean up after SIGKILL; the next run removes what it left.
        assert run_in(temporary, "list", project=project).returncode == 0
        assert list(temporary.iterdir()) == []
