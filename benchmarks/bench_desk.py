#!/usr/bin/env python3
"""Speed and memory of the discharge desk (`pipeline.py serve`), measured on this machine.

    .venv/bin/python benchmarks/bench_desk.py            # print the results
    .venv/bin/python benchmarks/bench_desk.py --write    # also record them in RESULTS.md

Starts the real server (two warm renderers), then times whole HTTP requests for a
fully filled sheet: one nurse at a time, then eight at once. Memory (resident set of
the server and its renderers together) is sampled over 500 requests from four
clients. Targets from issue 16: p95 at most 0.5 s for one nurse and 2 s for eight;
memory flat over 500 requests (here: the last sample within 10 % of the one after
warm-up).
"""

from __future__ import annotations

import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from deskserver import Desk, start_desk  # noqa: E402

SHEET = {"patient": "Jane Q. Example", "procedure-date": "2026-11-25", "levels": "T12, L1",
         "physician": "Dr. Placeholder", "follow-up": "2026-12-09T10:30",
         "notes": "Brace fitting on Tuesday. Call if the pain gets worse.",
         "variant": "seniors-osteoporosis"}
SECTION = "## Discharge desk"
TARGETS = {"1 nurse p95 (s)": 0.5, "8 nurses p95 (s)": 2.0, "memory growth (%)": 10.0}


def timed_sheet(desk: Desk, token: str) -> float:
    start = time.perf_counter()
    reply = desk.discharge(SHEET, token)
    elapsed = time.perf_counter() - start
    assert reply.status == 200, reply.status
    return elapsed


def clients(desk_port: int, count: int, each: int, folder: Path) -> list[float]:
    """`count` nurses, each with their own session, sending `each` sheets back to back."""
    times: list[float] = []
    lock = threading.Lock()

    def nurse() -> None:
        own = Desk(process=None, port=desk_port, folder=folder)  # type: ignore[arg-type]
        token = own.token()
        for _ in range(each):
            elapsed = timed_sheet(own, token)
            with lock:
                times.append(elapsed)

    threads = [threading.Thread(target=nurse) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
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


def main() -> None:
    rows: list[tuple[str, str]] = []
    measured: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        desk = start_desk(folder / "desk")
        try:
            token = desk.token()
            for _ in range(5):  # warm: first renders fill WeasyPrint's caches
                timed_sheet(desk, token)
            for nurses, each in ((1, 40), (8, 10)):
                pids = [desk.process.pid, *desk.renderer_pids()]
                cpu_before = cpu_seconds(pids)
                times = clients(desk.port, nurses, each, folder)
                cpu = (cpu_seconds(pids) - cpu_before) / len(times)
                if nurses == 1:
                    rows.append(("CPU time per sheet (server + renderers; what the load "
                                 "of other work cannot change)", f"{cpu:.3f} s"))
                median, p95 = statistics.median(times), percentile(times, 0.95)
                label = "1 nurse" if nurses == 1 else f"{nurses} nurses"
                measured[f"{label} p95 (s)"] = p95
                rows.append((f"{label} at once, {len(times)} sheets",
                             f"median {median:.3f} s, p95 {p95:.3f} s, "
                             f"max {max(times):.3f} s"))
            pids = [desk.process.pid, *desk.renderer_pids()]
            samples = [rss_mb(pids)]
            for _ in range(10):  # 10 x 50 = 500 requests from 4 clients
                clients(desk.port, 4, 50 // 4 + 1, folder)
                samples.append(rss_mb([desk.process.pid, *desk.renderer_pids()]))
            growth = (samples[-1] - samples[1]) / samples[1] * 100
            measured["memory growth (%)"] = growth
            rows.append(("memory over 500+ requests (server + 2 renderers)",
                         " -> ".join(f"{mb:.0f}" for mb in samples) + " MB"))
            rows.append(("memory growth after warm-up", f"{growth:+.1f} %"))
        finally:
            desk.stop()
    report = _report(rows, measured)
    print(report)
    if "--write" in sys.argv:
        _write(report)


def _report(rows, measured) -> str:
    machine = f"{platform.node() or 'machine'}: {len(_cpus())} CPUs, Python " \
              f"{platform.python_version()}"
    lines = [SECTION, "",
             f"Measured by `benchmarks/bench_desk.py` on {time.strftime('%Y-%m-%d')}, "
             f"{machine}; whole HTTP requests for a filled seniors sheet (two warm "
             f"renderers). Load average when done: {_load()} (other work on the machine "
             "shares its cores).", "",
             "| measurement | result |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += ["", "| target | measured | goal | met |", "| --- | --- | --- | --- |"]
    for name, goal in TARGETS.items():
        value = measured[name]
        lines.append(f"| {name} | {value:.2f} | <= {goal:g} | "
                     f"{'yes' if value <= goal else 'NO'} |")
    return "\n".join(lines) + "\n"


def _load() -> str:
    import os

    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _cpus() -> list:
    import os

    return list(os.sched_getaffinity(0))


def _write(report: str) -> None:
    path = ROOT / "benchmarks" / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if SECTION in text:  # replace this script's section, keep everything else
        before, _, after = text.partition(SECTION)
        rest = after.split("\n## ", 1)
        text = before + report + ("\n## " + rest[1] if len(rest) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + report
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
