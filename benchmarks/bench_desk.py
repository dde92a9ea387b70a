#!/usr/bin/env python3
"""Speed and memory of the discharge desk (`pipeline.py serve`), measured on this machine.

    .venv/bin/python benchmarks/bench_desk.py              # print the results
    .venv/bin/python benchmarks/bench_desk.py --write      # also record them in RESULTS.md
    .venv/bin/python benchmarks/bench_desk.py --project .  # this project's own sheets
    .venv/bin/python benchmarks/bench_desk.py --tiny       # a few sheets: does it run?

Starts the real server (two warm renderers) on a generated library (benchmarks/measure.py
says why), then times whole HTTP requests for its discharge sheet in the large-print
variant, every detail every sheet has filled in: one nurse at a time, then eight at
once. Memory (resident set of the server and its
renderers together) is sampled over 500 requests from four clients. Then, with the
desk stopped, the same sheet from a cold `pipeline.py discharge` process (best of 3).
Targets from issue 25 (the desk stamps each sheet onto designs laid out once): p95 at
most 0.15 s for one nurse and 0.6 s for eight on an idle 2-core machine, a warm sheet
(the one nurse's median) at least 10 times faster than the cold process; and from
issue 16, memory flat over 500 requests (the last sample within 10 % of the one after
warm-up). `--tiny` prints a few sheets with one renderer.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from measure import (add_workload_options, check_workload_options, handouts_of_kind,
                     large_print_variant, load_average, machine, pipeline, run,
                     section_title, sheet_details, workload, write_section)
from deskserver import Desk, start_desk  # noqa: E402  (tests/, put on the path by measure)

TITLE = "Discharge desk (benchmarks/bench_desk.py)"
# Upper limits, except those named in AT_LEAST.
TARGETS = {"1 nurse p95 (s)": 0.15, "8 nurses p95 (s)": 0.6, "memory growth (%)": 10.0,
           "cold discharge over a warm sheet (x)": 10.0}
AT_LEAST = {"cold discharge over a warm sheet (x)"}


@dataclass(frozen=True)
class Size:
    warm: int = 5                                   # sheets before measuring
    rounds: tuple[tuple[int, int], ...] = ((1, 40), (8, 10))   # (nurses, sheets each)
    memory: tuple[int, int, int] = (10, 4, 50 // 4 + 1)        # rounds, clients, sheets
    renderers: int = 2
    cold: int = 3                                   # cold `discharge` runs (best of)


TINY = Size(warm=1, rounds=((1, 2), (2, 1)), memory=(2, 2, 1), renderers=1, cold=1)


def timed_sheet(desk: Desk, token: str, sheet: dict[str, str]) -> float:
    start = time.perf_counter()
    reply = desk.discharge(sheet, token)
    elapsed = time.perf_counter() - start
    if reply.status != 200:
        raise SystemExit(f"the desk answered {reply.status}:\n{reply.text[-2000:]}")
    return elapsed


def clients(desk_port: int, count: int, each: int, folder: Path,
            sheet: dict[str, str]) -> list[float]:
    """`count` nurses, each with their own session, sending `each` sheets back to back."""
    times: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def nurse() -> None:
        try:
            own = Desk(process=None, port=desk_port, folder=folder)  # type: ignore[arg-type]
            token = own.token()
            for _ in range(each):
                elapsed = timed_sheet(own, token, sheet)
                with lock:
                    times.append(elapsed)
        except BaseException as exc:  # a thread's exception would vanish; report it
            failures.append(exc)

    threads = [threading.Thread(target=nurse) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"a nurse's request failed: {failures[0]}")
    return times


def cpu_seconds(pids: list[int]) -> float:
    import os

    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(project: Path, folder: Path, size: Size) -> tuple[list, dict, dict]:
    rows: list[tuple[str, str]] = []
    measured: dict[str, float] = {}
    sheet = {**sheet_details(), "handout": handouts_of_kind(project, "discharge")[0],
             "variant": large_print_variant(project)}
    desk = start_desk(folder / "desk", project=project, renderers=size.renderers)
    try:
        token = desk.token()
        for _ in range(size.warm):  # warm: first renders fill WeasyPrint's caches
            timed_sheet(desk, token, sheet)
        for nurses, each in size.rounds:
            pids = [desk.process.pid, *desk.renderer_pids()]
            cpu_before = cpu_seconds(pids)
            times = clients(desk.port, nurses, each, folder, sheet)
            cpu = (cpu_seconds(pids) - cpu_before) / len(times)
            if nurses == 1:
                rows.append(("CPU time per sheet (server + renderers; what the load "
                             "of other work cannot change)", f"{cpu:.3f} s"))
            median, p95 = statistics.median(times), percentile(times, 0.95)
            label = "1 nurse" if nurses == 1 else f"{nurses} nurses"
            if nurses == 1:
                measured["warm sheet median (s)"] = median
            measured[f"{label} p95 (s)"] = p95
            rows.append((f"{nurses} nurse{'s' if nurses > 1 else ''} at once, {len(times)} "
                         f"sheets", f"median {median:.3f} s, p95 {p95:.3f} s, "
                         f"max {max(times):.3f} s"))
        rounds, count, each = size.memory
        samples = [rss_mb([desk.process.pid, *desk.renderer_pids()])]
        for _ in range(rounds):
            clients(desk.port, count, each, folder, sheet)
            samples.append(rss_mb([desk.process.pid, *desk.renderer_pids()]))
        growth = (samples[-1] - samples[1]) / samples[1] * 100
        measured["memory growth (%)"] = growth
        rows.append((f"memory over {rounds * count * each} requests (server and its "
                     f"{size.renderers} renderer{'s' if size.renderers > 1 else ''})",
                     " -> ".join(f"{mb:.0f}" for mb in samples) + " MB"))
        rows.append(("memory growth after warm-up", f"{growth:+.1f} %"))
    finally:
        desk.stop()
    cold = cold_discharge(project, folder, sheet, size.cold)
    rows.append((f"one cold `discharge` of the same sheet, from a new process (best of "
                 f"{size.cold})", f"{cold:.2f} s"))
    measured["cold discharge over a warm sheet (x)"] = cold / measured["warm sheet median (s)"]
    return rows, measured, sheet


def cold_discharge(project: Path, folder: Path, sheet: dict[str, str], repeat: int) -> float:
    """The best wall time of `pipeline.py discharge` for the same sheet, each from a new
    process: what a sheet costs without the desk's warm renderers."""
    options = [f"--{name}={value}" for name, value in sheet.items()]
    best = float("inf")
    for number in range(repeat):
        target = folder / f"cold-{number}.pdf"
        best = min(best, run(pipeline(project, "discharge", *options, "-o", target),
                             cwd=folder).seconds)
        target.unlink()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_workload_options(parser)
    options = parser.parse_args()
    check_workload_options(parser, options)
    title = section_title(TITLE, options)
    loads = [load_average()]
    with tempfile.TemporaryDirectory(prefix="bench-desk-") as temp:
        folder = Path(temp)
        project, what = workload(options, folder)
        rows, measured, sheet = measure(project, folder, TINY if options.tiny else Size())
    loads.append(load_average())
    report = _report(rows, measured, loads, title, what, sheet)
    print(report)
    if options.write:
        write_section(title, report)


def _report(rows, measured, loads: list[str], title: str, what: str, sheet: dict) -> str:
    lines = [f"## {title}", "",
             f"Measured on {time.strftime('%Y-%m-%d %H:%M')}, {machine()}; {what}. Whole "
             f"HTTP requests for the sheet {sheet['handout']} in the variant "
             f"{sheet['variant']}, the six details every sheet has filled in. Load "
             f"average (1, 5, 15 min) before: {loads[0]}, "
             f"after: {loads[-1]} (other work on the machine shares its cores).", "",
             "| measurement | result |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += ["", "| target | measured | goal | met |", "| --- | --- | --- | --- |"]
    for name, goal in TARGETS.items():
        value = measured.get(name)
        if value is None:
            continue
        met = value >= goal if name in AT_LEAST else value <= goal
        lines.append(f"| {name} | {value:.2f} | {'>=' if name in AT_LEAST else '<='} "
                     f"{goal:g} | {'yes' if met else 'NO'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
