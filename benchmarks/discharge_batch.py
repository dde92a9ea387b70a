#!/usr/bin/env python3
"""Speed and memory of `discharge` for a nurse: one sheet from a cold start, and a
day's list of 2,000 patients merged into one PDF with worker processes.

    .venv/bin/python benchmarks/discharge_batch.py            # print the results
    .venv/bin/python benchmarks/discharge_batch.py --write    # also update RESULTS.md
    .venv/bin/python benchmarks/discharge_batch.py --rows 200 # a quicker run
    .venv/bin/python benchmarks/discharge_batch.py --project . # this project's sheet
    .venv/bin/python benchmarks/discharge_batch.py --tiny     # does it still run?

Memory is the peak of the whole process tree (the command and its workers, summed
as proportional set size, so pages shared after fork count once), sampled from /proc
every 50 ms, and the largest single process's peak resident size (getrusage).
Targets: 2,000 rows with --jobs 2 in under 3 minutes and 300 MB; one sheet from a
cold start in under 1.5 s. The sheets are the discharge sheet of a generated library
(benchmarks/measure.py says why; with --project, the project's first discharge sheet by
name); `--tiny` prints three rows.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from measure import (add_workload_options, check_workload_options, handouts_of_kind,
                     load_average, machine, pipeline, section_title, sheet_details, workload,
                     write_section)

TITLE = "Discharge sheets (benchmarks/discharge_batch.py)"
TARGETS = {"batch seconds": 180.0, "batch peak MB (all processes)": 300.0,
           "cold single sheet (s)": 1.5}
NAMES = ["Ann Alpha", "Ben Beta", "Nguyễn Thị Ánh", "Иван Петров", "محمد عبد الله",
         "王小明", "Γιώργος Παππάς", "דוד כהן", "राम शर्मा", "Maria José García-López"]


def day_list(path: Path, rows: int, project: Path) -> None:
    """A realistic day: every variant, most fields filled, a note on every third row,
    dated for today (a procedure last week, a follow-up next week)."""
    from clinicprint.content import load_project

    variants = list(load_project(project).variants)
    details = sheet_details()
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["patient", "variant", "procedure-date", "levels", "physician",
                         "follow-up", "notes"])
        for number in range(rows):
            writer.writerow([f"{NAMES[number % len(NAMES)]} {number}",
                             variants[number % len(variants)], details["procedure-date"],
                             details["levels"], details["physician"], details["follow-up"],
                             "Brace when up; walk twice a day." if number % 3 == 0 else ""])


def tree_rss_mb(root_pid: int) -> float:
    """Memory of a process and all its descendants (proportional set size), in MB."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        try:
            # Proportional set size: pages the forked workers share with the command
            # are counted once, not once per process as resident size would.
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            total += int(re.search(r"^Pss:\s+(\d+)", rollup, re.MULTILINE)[1])
        except (OSError, TypeError):
            pass
        stack += children.get(pid, [])
    return total / 1024


def run_measured(args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and peak summed memory of a command and its workers."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_rss_mb(proc.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"failed: {' '.join(args)}\n{proc.stderr.read().decode()}")
    return seconds, peak


def measure(rows: int, jobs: int, options) -> dict:
    tiny = options.tiny
    with tempfile.TemporaryDirectory(prefix="discharge-bench-") as folder:
        work = Path(folder)
        project, what = workload(options, work)
        day_list(work / "day.csv", rows, project)
        command = pipeline(project, "discharge", "--handout",
                           handouts_of_kind(project, "discharge")[0])
        seconds, peak = run_measured([*command, "--csv", "day.csv", "--merge", "--jobs",
                                      str(jobs), "-o", "day.pdf"], work)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        largest, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
        size = (work / "day.pdf").stat().st_size / 1e6
        cold = min(run_measured([*command, "--patient", "Jane Q. Example", "--force", "-o",
                                 "one.pdf"], work)[0] for _ in range(1 if tiny else 3))
        return {"rows": rows, "jobs": jobs, "batch seconds": seconds,
                "batch peak MB (all processes)": peak, "largest process MB": largest,
                "merged PDF MB": size, "cold single sheet (s)": cold,
                "batch CPU seconds": cpu, "load average": load_average(), "tiny": tiny,
                "what": what, "handout": command[-1]}


def report(result: dict, title: str) -> str:
    rows, jobs = int(result["rows"]), int(result["jobs"])
    lines = [f"## {title}", "",
             f"Measured on {time.strftime('%Y-%m-%d %H:%M')}, {machine()} (shared with "
             f"other work while measured); {result['what']}; the sheet {result['handout']}, "
             "rows in every variant in turn.", "",
             "| measurement | result |", "| --- | --- |",
             f"| {rows} rows, `--merge --jobs {jobs}` | {result['batch seconds']:.1f} s "
             f"({result['batch seconds'] / rows * 1000:.0f} ms per sheet) |",
             f"| CPU time of the batch, all processes | {result['batch CPU seconds']:.0f} s "
             f"(that is {result['batch CPU seconds'] / jobs:.0f} s of wall time on {jobs} "
             "otherwise idle cores) |",
             f"| load average of the machine at the end (1, 5, 15 min; other sessions' "
             f"work) | {result['load average']} |",
             f"| peak memory, command and workers summed | "
             f"{result['batch peak MB (all processes)']:.0f} MB |",
             f"| peak memory of the largest single process | "
             f"{result['largest process MB']:.0f} MB |",
             f"| merged PDF | {result['merged PDF MB']:.1f} MB |",
             f"| one sheet from a cold start (best of {1 if result['tiny'] else 3}) | "
             f"{result['cold single sheet (s)']:.2f} s |", "",
             "| target | measured | goal | met |", "| --- | --- | --- | --- |"]
    for name, goal in TARGETS.items():
        value = result[name]
        lines.append(f"| {name} | {value:.2f} | < {goal:g} | "
                     f"{'yes' if value < goal else 'NO'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    add_workload_options(parser)
    options = parser.parse_args()
    check_workload_options(parser, options)
    title = section_title(TITLE, options)
    rows = 3 if options.tiny else options.rows
    section = report(measure(rows, options.jobs, options), title)
    print(section)
    if options.write:
        write_section(title, section)


if __name__ == "__main__":
    main()
