"""Nothing left behind: no temporary files after a build, a discharge sheet or a failure,
and no worker process outliving the build, however the build ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import factory
from conftest import ROOT, run_pipeline


@pytest.fixture
def sandbox(project: Path) -> Path:
    factory.only_generated(project)
    return project


def run_in(temporary: Path, *args: str, project: Path) -> subprocess.CompletedProcess:
    return run_pipeline(*args, project=project, cwd=temporary.parent,
                        env={"TMPDIR": str(temporary)})


@pytest.mark.parametrize("args", [
    ("build", "--jobs", "2", "--force"),
    ("build", "--jobs", "1", "--profile", "office", "--force"),
    ("check",),
    ("discharge", "--patient", "Test Person", "-o", "sheet.pdf"),
    ("discharge", "--with-brochure", "-o", "bundle.pdf"),
], ids=["parallel-build", "serial-build", "check", "discharge", "discharge-brochure"])
def test_the_temporary_folder_is_as_empty_after_a_run_as_before(sandbox: Path, tmp_path: Path,
                                                                 args: tuple[str, ...]) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    proc = run_in(temporary, *args, project=sandbox)
    assert proc.returncode == 0, proc.stderr.decode()
    assert list(temporary.iterdir()) == []


def test_a_failed_render_leaves_nothing_either(sandbox: Path, tmp_path: Path) -> None:
    template = sandbox / "templates/discharge.html"
    template.write_text(template.read_text().replace("{{ doc.title }}", "{{ doc.nothing }}"))
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    proc = run_in(temporary, "build", "--jobs", "2", project=sandbox)
    assert proc.returncode == 1
    assert list(temporary.iterdir()) == []


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
def test_workers_end_when_the_build_is_stopped(sandbox: Path, tmp_path: Path,
                                               sig: signal.Signals) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "pipeline.py"), "--project", str(sandbox), "build",
         "--jobs", "2", "--force"], cwd=tmp_path, stdout=subprocess.DEVNULL,
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
        assert run_in(temporary, "list", project=sandbox).returncode == 0
        assert list(temporary.iterdir()) == []
