#!/usr/bin/env python3
"""Speed and memory of the pipeline, measured on this machine in one run.

    .venv/bin/python benchmarks/bench.py            # print the results
    .venv/bin/python benchmarks/bench.py --write    # also write benchmarks/RESULTS.md

Measures: a full cold build with --jobs 1 and --jobs 2; a no-op rebuild; one cold
`discharge` from a new process; the same documents rendered by the bare `weasyprint`
command, one process per document (the naive reference); peak memory per worker;
and a scale run over generated libraries of 10, 25 and 50 handouts.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
CONTENT = ("brand.yaml", "variants.yaml", "plain-words.yaml", "handouts", "templates",
           "styles", "assets", "pipeline.py", "clinicprint")
TARGETS = {"speed-up over bare weasyprint": 4.0,
           "speed-up over bare weasyprint, gates off": 4.0, "jobs 2 over jobs 1": 1.6,
           "no-op rebuild (s)": 0.3, "peak memory per worker (MB)": 200}


def copy_project(into: Path) -> Path:
    into.mkdir(parents=True)
    for name in CONTENT:
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, into / name)
    return into


def timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def cold_build(project: Path, jobs: int, *extra: str) -> tuple[float, float]:
    """Wall time of a full build from a new process, and the peak worker memory."""
    from clinicprint.build import GateOptions, build

    shutil.rmtree(project / "output", ignore_errors=True)
    seconds = timed([PYTHON, "pipeline.py", "build", "--quiet", "--jobs", str(jobs), *extra],
                    project)
    # Memory: the same build once more in this process, to read the workers' peak.
    shutil.rmtree(project / "output", ignore_errors=True)
    profiles = [extra[extra.index("--profile") + 1]] if "--profile" in extra else ()
    gates = GateOptions(enabled="--no-gates" not in extra)
    result = build(project, project / "output", profiles=profiles, gates=gates,
                   jobs=max(jobs, 2), force=True)
    return seconds, result.peak_worker_mb


def bare_weasyprint(project: Path, scratch: Path) -> tuple[float, int]:
    """The naive way: render each document's HTML with one `weasyprint` process each."""
    from clinicprint.build import plan
    from clinicprint.content import load_project
    from clinicprint.render_html import render_html

    loaded = load_project(project)
    documents = plan(loaded)
    pages = []
    for number, document in enumerate(documents):
        html = scratch / f"doc{number}.html"
        html.write_text(render_html(document, loaded.brand, project), encoding="utf-8")
        pages.append(html)
    weasyprint = str(Path(PYTHON).parent / "weasyprint")
    start = time.perf_counter()
    for html in pages:
        subprocess.run([weasyprint, "-u", project.as_uri() + "/", str(html),
                        str(html.with_suffix(".pdf"))], check=True, capture_output=True)
    return time.perf_counter() - start, len(pages)


FLEX_PANELS = """<style>
  .sheet { display: flex; }
  .sheet > .panel { position: relative; left: auto !important; top: 0; flex: none;
                    height: 8.5in; hyphens: auto; }
  .panel--fold-in { order: 1; } .panel--back { order: 2; } .panel--cover { order: 3; }
  .bg, .panel-footer { display: none; }
</style></head>"""


def layout_constructions(project: Path, repeat: int = 5) -> list[tuple[str, float]]:
    """Lay out the same brochure with our absolutely placed panels and with the
    flexbox-and-hyphenation construction the issue warned about."""
    from clinicprint.build import plan
    from clinicprint.content import load_project
    from clinicprint.render_html import render_html
    from clinicprint.render_pdf import lay_out

    loaded = load_project(project)
    document = plan(loaded, ["vertebroplasty-brochure"], ["general"], ["office"])[0]
    html = render_html(document, loaded.brand, project)
    timings = []
    for name, variant in (("absolute panels (used)", html),
                          ("flexbox panels with hyphens: auto", html.replace("</head>",
                                                                            FLEX_PANELS))):
        lay_out(variant, document, project, loaded.brand)  # warm up
        start = time.perf_counter()
        for _ in range(repeat):
            lay_out(variant, document, project, loaded.brand)
        timings.append((name, (time.perf_counter() - start) / repeat))
    return timings


def make_library(project: Path, handouts: int) -> None:
    """A library of N discharge-like handouts, each its own file."""
    folder = project / "handouts"
    template = (folder / "vertebroplasty-discharge.yaml").read_text()
    for path in folder.glob("*.yaml"):
        path.unlink()
    for number in range(handouts):
        (folder / f"handout-{number:03}.yaml").write_text(
            template.replace("BSC-VP-201", f"BSC-GEN-{number:03}"))


def main() -> None:
    results: dict[str, float] = {}
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as temp:
        temp = Path(temp)
        project = copy_project(temp / "project")
        jobs1, _ = cold_build(project, 1)
        jobs2, peak = cold_build(project, 2)
        ungated, _ = cold_build(project, 2, "--no-gates")
        count = len(json.loads((project / "output/manifest.json").read_text())["documents"])
        noop = min(timed([PYTHON, "pipeline.py", "build", "--quiet"], project) for _ in range(3))
        discharge = min(timed([PYTHON, str(project / "pipeline.py"), "discharge", "--patient",
                               "Bench Mark", "-o", str(temp / "one.pdf")], temp)
                        for _ in range(3))
        constructions = layout_constructions(project)
        (temp / "bare").mkdir()
        bare, bare_count = bare_weasyprint(project, temp / "bare")
        scale = []
        for handouts in (10, 25, 50):
            library = copy_project(temp / f"library-{handouts}")
            make_library(library, handouts)
            seconds, library_peak = cold_build(library, 2, "--profile", "office")
            scale.append((handouts, handouts * 3, seconds, library_peak))

    results["speed-up over bare weasyprint"] = bare / jobs2
    results["speed-up over bare weasyprint, gates off"] = bare / ungated
    results["jobs 2 over jobs 1"] = jobs1 / jobs2
    results["no-op rebuild (s)"] = noop
    results["peak memory per worker (MB)"] = peak
    rows += [
        (f"full cold build, {count} documents, --jobs 1", f"{jobs1:.2f} s"),
        (f"full cold build, {count} documents, --jobs 2", f"{jobs2:.2f} s"),
        (f"full cold build, {count} documents, --jobs 2 --no-gates", f"{ungated:.2f} s"),
        ("no-op rebuild (best of 3)", f"{noop:.3f} s"),
        ("one cold `discharge` from a new process (best of 3)", f"{discharge:.2f} s"),
        (f"bare `weasyprint`, one process per document ({bare_count})", f"{bare:.2f} s"),
        ("peak memory per worker", f"{peak:.0f} MB"),
    ]
    lines = ["| measurement | result |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += ["", "| target | measured | goal | met |", "| --- | --- | --- | --- |"]
    for name, goal in TARGETS.items():
        value = results[name]
        met = value <= goal if "(s)" in name or "(MB)" in name else value >= goal
        lines.append(f"| {name} | {value:.2f} | {'<=' if '(' in name else '>='} {goal:g} | "
                     f"{'yes' if met else 'NO'} |")
    lines += ["", "| handouts | documents (office) | --jobs 2 cold build | s per document |"
              " peak worker MB |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {h} | {d} | {s:.2f} s | {s / d:.3f} | {m:.0f} |" for h, d, s, m in scale]
    lines += ["", "| brochure layout construction | layout time per render |", "| --- | --- |"]
    lines += [f"| {name} | {seconds * 1000:.0f} ms |" for name, seconds in constructions]
    lines += ["", f"discharge target (< 1.5 s): {'met' if discharge < 1.5 else 'NOT met'}"]
    machine = (f"{platform.node() or 'this machine'}: {os.cpu_count()} CPUs, Python "
               f"{platform.python_version()}, {platform.platform()}")
    report = "\n".join(lines)
    print(machine)
    print(report)
    if "--write" in sys.argv:
        results_file = ROOT / "benchmarks/RESULTS.md"
        # Sections ("## ...") written by other benchmark scripts are kept.
        old = results_file.read_text(encoding="utf-8") if results_file.exists() else ""
        others = old[old.index("\n## "):] if "\n## " in old else ""
        results_file.write_text(
            "# Benchmark results\n\n"
            f"Measured by `benchmarks/bench.py` on {time.strftime('%Y-%m-%d')}, {machine}.\n\n"
            f"{report}\n{others}")


if __name__ == "__main__":
    main()
