"""Every benchmark script runs, as a process, at a tiny size: none can rot unnoticed.

Each script's --tiny works on a generated library (one brochure, one discharge sheet)
and prints its whole report; the numbers mean nothing at that size, so only their
presence is checked. The four run at once: each is mostly one process at a time, and
the machine has two cores.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

BENCHMARKS = ROOT / "benchmarks"
HELPERS = {"measure.py"}  # imported by the scripts, not run
# What each report must show (a regular expression per line of it).
REPORTS = {
    "bench.py": [r"^\| full cold build, 1 document, --jobs 1 \| [\d.]+ s",
                 r"^\| full cold build, 1 document, --jobs 2 --no-gates \| [\d.]+ s",
                 r"^\| no-op rebuild \(best of 1\) \| [\d.]+ s",
                 r"^\| one cold `discharge` from a new process",
                 r"^\| bare `weasyprint`, one process per document \(1\) \| [\d.]+ s",
                 r"^\| peak memory per worker .*\| [1-9]\d* MB \|$",
                 r"^\| flexbox panels with hyphens: auto \| \d+ ms \|$"],
    "bench_library.py": [r"^\| 2 \| 4 \| [\d.]+ s \|.*\| [1-9]\d* \|.*\| yes \|$",
                         r"One size only"],
    "bench_desk.py": [r"^\| 1 nurse at once, 2 sheets \| median [\d.]+ s",
                      r"^\| 2 nurses at once, 2 sheets \|",
                      r"^\| memory growth after warm-up \| [+-][\d.]+ % \|$",
                      r"^\| one cold `discharge` of the same sheet, from a new process "
                      r"\(best of 1\) \| [\d.]+ s \|$",
                      r"^\| cold discharge over a warm sheet \(x\) \| [\d.]+ \| >= 10 \|"],
    "discharge_batch.py": [r"^\| 3 rows, `--merge --jobs 2` \| [\d.]+ s",
                           r"^\| merged PDF \| [\d.]+ MB \|$",
                           r"^\| one sheet from a cold start \(best of 1\) \| [\d.]+ s \|$"],
}


def test_every_benchmark_script_has_a_tiny_run():
    scripts = {path.name for path in BENCHMARKS.glob("*.py")} - HELPERS
    assert scripts == set(REPORTS), "add the new script to REPORTS (it runs with --tiny)"


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    """Each script run with --tiny, all at once, each with its own empty TMPDIR."""
    started = {}
    for script in REPORTS:
        temp = tmp_path_factory.mktemp(script.removesuffix(".py"))
        started[script] = temp, subprocess.Popen(
            [sys.executable, str(BENCHMARKS / script), "--tiny"], cwd=temp,
            env={**os.environ, "TMPDIR": str(temp)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    finished = {}
    for script, (temp, process) in started.items():
        try:
            out, err = process.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        finished[script] = (process.returncode, out.decode(), err.decode(),
                            sorted(path.name for path in temp.iterdir()))
    return finished


@pytest.mark.parametrize("script", sorted(REPORTS))
def test_benchmark_runs_at_a_tiny_size(tiny_runs, script: str):
    returncode, out, err, left = tiny_runs[script]
    assert returncode == 0, f"{script} --tiny: exit {returncode}\n{err[-3000:]}"
    assert "Traceback" not in err, err
    for pattern in REPORTS[script]:
        assert re.search(pattern, out, re.MULTILINE), f"{pattern!r} not in:\n{out}"
    assert left == [], f"{script} left {left} in its temporary folder"
