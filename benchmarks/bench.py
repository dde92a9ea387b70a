#!/usr/bin/env python3
"""Speed and memory of the full build, measured on this machine in one run.

    .venv/bin/python benchmarks/bench.py                # print the results
    .venv/bin/python benchmarks/bench.py --write        # also update benchmarks/RESULTS.md
    .venv/bin/python benchmarks/bench.py --project .    # this project's own content
    .venv/bin/python benchmarks/bench.py --tiny         # does it still run?

Builds everything (every language, handout, variant and profile, as `make build` does)
of a generated library shaped like the clinic's content (one brochure, one discharge
sheet, English and Spanish; benchmarks/measure.py says why), writing only into a
temporary folder, and measures: a cold build with --jobs 1 and --jobs 2, and with the
gates off; a no-op rebuild; one cold `discharge` from a new process; the same documents
rendered by the bare `weasyprint` command, one process per document (the naive
reference); the peak memory of a worker; and a brochure's panels laid out two ways.
`--tiny` builds two documents (office, one variant, English).
How the build scales with the size of a library: benchmarks/bench_library.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from measure import (PYTHON, Measured, add_workload_options, check_workload_options,
                     handouts_of_kind, load_average, machine, pipeline, run, section_title,
                     table, workload, write_section)

TITLE = "Full build (benchmarks/bench.py)"
TARGETS = {"speed-up over bare weasyprint": 4.0,
           "speed-up over bare weasyprint, gates off": 4.0, "jobs 2 over jobs 1": 1.6,
           "no-op rebuild (s)": 0.3, "peak memory per worker (MB)": 200}


@dataclass(frozen=True)
class Scope:
    """What is measured: a project, and which of its handouts, profiles and variants
    (all when empty)."""
    project: Path
    handouts: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()
    repeat: int = 3           # best of, for the short measurements

    @property
    def args(self) -> list[str]:
        return [*(f"--handout={h}" for h in self.handouts),
                *(f"--profile={p}" for p in self.profiles),
                *(f"--variant={v}" for v in self.variants)]

    @property
    def everything(self) -> bool:
        return not (self.handouts or self.profiles or self.variants)


def cold_build(scope: Scope, output: Path, jobs: int, *extra: str) -> Measured:
    """A full build from a new process into an empty folder."""
    shutil.rmtree(output, ignore_errors=True)
    return run(pipeline(scope.project, "build", "--quiet", "--allow-draft", "--jobs", jobs,
                        "-o", output, *scope.args, *extra))


def best_of(scope: Scope, args: list[str]) -> Measured:
    return min((run(args) for _ in range(scope.repeat)), key=lambda done: done.seconds)


def bare_weasyprint(scope: Scope, scratch: Path) -> tuple[float, float, int]:
    """The naive way: render each document's HTML with one `weasyprint` process each."""
    from clinicprint.build import plan
    from clinicprint.content import load_project
    from clinicprint.render_html import render_html

    loaded = load_project(scope.project)
    pages = []
    documents = plan(loaded, scope.handouts, scope.variants, scope.profiles)
    for number, document in enumerate(documents):
        html = scratch / f"doc{number}.html"
        html.write_text(render_html(document, loaded.brand, loaded.root,
                                    notices=loaded.notices), encoding="utf-8")
        pages.append(html)
    weasyprint = str(Path(PYTHON).parent / "weasyprint")
    base = loaded.root.as_uri() + "/"
    done = [run([weasyprint, "-u", base, str(html), str(html.with_suffix(".pdf"))])
            for html in pages]
    return sum(one.seconds for one in done), sum(one.cpu_seconds for one in done), len(pages)


FLEX_PANELS = """<style>
  .sheet { display: flex; }
  .sheet > .panel { position: relative; left: auto !important; top: 0; flex: none;
                    height: 8.5in; hyphens: auto; }
  .panel--fold-in { order: 1; } .panel--back { order: 2; } .panel--cover { order: 3; }
  .bg, .panel-footer { display: none; }
</style></head>"""


def layout_constructions(scope: Scope) -> list[tuple[str, float]]:
    """Lay out a brochure with our absolutely placed panels and with the
    flexbox-and-hyphenation construction the issue warned about."""
    from clinicprint.build import plan
    from clinicprint.content import load_project
    from clinicprint.render_html import render_html
    from clinicprint.render_pdf import lay_out

    loaded = load_project(scope.project)
    brochure = handouts_of_kind(scope.project, "brochure")[0]
    document = plan(loaded, [brochure], scope.variants, ["office"])[0]
    html = render_html(document, loaded.brand, loaded.root, notices=loaded.notices)
    timings = []
    for name, variant in (("absolute panels (used)", html),
                          ("flexbox panels with hyphens: auto", html.replace("</head>",
                                                                            FLEX_PANELS))):
        lay_out(variant, document, loaded.root, loaded.brand)  # warm up
        start = time.perf_counter()
        for _ in range(scope.repeat):
            lay_out(variant, document, loaded.root, loaded.brand)
        timings.append((name, (time.perf_counter() - start) / scope.repeat))
    return timings


def measure_all(scope: Scope, temp: Path) -> dict:
    output = temp / "output"
    loads = [load_average()]
    jobs1 = cold_build(scope, output, 1)
    ungated = cold_build(scope, output, 2, "--no-gates")
    jobs2 = cold_build(scope, output, 2)
    count = len(json.loads((output / "manifest.json").read_text())["documents"])
    noop = best_of(scope, pipeline(scope.project, "build", "--quiet", "--allow-draft", "-o",
                                   output, *scope.args))
    sheet = handouts_of_kind(scope.project, "discharge")[0]
    discharge = best_of(scope, pipeline(scope.project, "discharge", "--handout", sheet,
                                        "--patient", "Bench Mark", "--force",
                                        "-o", temp / "one.pdf"))
    constructions = layout_constructions(scope)
    (temp / "bare").mkdir()
    bare, bare_cpu, bare_count = bare_weasyprint(scope, temp / "bare")
    loads.append(load_average())
    return {"jobs1": jobs1, "jobs2": jobs2, "ungated": ungated, "count": count,
            "noop": noop, "discharge": discharge, "constructions": constructions,
            "bare": bare, "bare_cpu": bare_cpu, "bare_count": bare_count, "loads": loads, "repeat": scope.repeat}


def report(m: dict, title: str, what: str, scope: Scope) -> str:
    jobs1, jobs2, ungated = m["jobs1"], m["jobs2"], m["ungated"]
    count = f"{m['count']} document{'s' if m['count'] != 1 else ''}"
    built = ("every language, handout, variant and profile, drafts allowed, as `make "
             "build` does" if scope.everything else " ".join(scope.args))
    lines = [f"## {title}", "",
             f"Measured on {time.strftime('%Y-%m-%d %H:%M')}, {machine()}; {what}; "
             f"built: {built}. "
             f"Load average (1, 5, 15 min) before: {m['loads'][0]}, after: {m['loads'][1]} "
             "(other sessions share the 2 cores; CPU seconds are what that load cannot "
             "change).", ""]
    rows = [
        (f"full cold build, {count}, --jobs 1",
         f"{jobs1.seconds:.2f} s ({jobs1.cpu_seconds:.1f} CPU s)"),
        (f"full cold build, {count}, --jobs 2",
         f"{jobs2.seconds:.2f} s ({jobs2.cpu_seconds:.1f} CPU s)"),
        (f"full cold build, {count}, --jobs 2 --no-gates",
         f"{ungated.seconds:.2f} s ({ungated.cpu_seconds:.1f} CPU s)"),
        (f"no-op rebuild (best of {m['repeat']})",
         f"{m['noop'].seconds:.3f} s ({m['noop'].cpu_seconds:.2f} CPU s)"),
        (f"one cold `discharge` from a new process (best of {m['repeat']})",
         f"{m['discharge'].seconds:.2f} s ({m['discharge'].cpu_seconds:.2f} CPU s)"),
        (f"bare `weasyprint`, one process per document ({m['bare_count']})",
         f"{m['bare']:.2f} s ({m['bare_cpu']:.1f} CPU s)"),
        ("peak memory per worker (--jobs 2; VmHWM, as the build's peak_worker_mb)",
         f"{jobs2.worker_mb:.0f} MB"),
        ("peak memory of the build command itself (--jobs 2)", f"{jobs2.main_mb:.0f} MB"),
    ]
    lines += table(("measurement", "result"), rows)
    results = {"speed-up over bare weasyprint": m["bare"] / jobs2.seconds,
               "speed-up over bare weasyprint, gates off": m["bare"] / ungated.seconds,
               "jobs 2 over jobs 1": jobs1.seconds / jobs2.seconds,
               "no-op rebuild (s)": m["noop"].seconds,
               "peak memory per worker (MB)": jobs2.worker_mb}
    target_rows = []
    for name, goal in TARGETS.items():
        value = results[name]
        upper = "(s)" in name or "(MB)" in name
        met = value <= goal if upper else value >= goal
        target_rows.append((name, f"{value:.2f}", f"{'<=' if upper else '>='} {goal:g}",
                            "yes" if met else "NO"))
    lines += ["", *table(("target", "measured", "goal", "met"), target_rows)]
    # What the load cannot change: the work each way takes, in CPU seconds. On two idle
    # cores --jobs 2 divides the build's share by up to 2 again.
    lines += ["", f"CPU seconds, bare `weasyprint` over the build: "
                  f"{m['bare_cpu'] / jobs1.cpu_seconds:.2f} with the gates (--jobs 1), "
                  f"{m['bare_cpu'] / ungated.cpu_seconds:.2f} without (--jobs 2)."]
    lines += ["", *table(("brochure layout construction", "layout time per render"),
                         [(name, f"{seconds * 1000:.0f} ms")
                          for name, seconds in m["constructions"]])]
    lines += ["", f"discharge target (< 1.5 s): "
                  f"{'met' if m['discharge'].seconds < 1.5 else 'NOT met'}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_workload_options(parser)
    options = parser.parse_args()
    check_workload_options(parser, options)
    title = section_title(TITLE, options)
    with tempfile.TemporaryDirectory(prefix="bench-") as temp:
        temp = Path(temp)
        project, what = workload(options, temp)
        # --tiny: one document, so that the test of every benchmark stays short.
        scope = Scope(project, tuple(handouts_of_kind(project, "brochure")[:1]), ("office",),
                      ("general",), repeat=1) if options.tiny else Scope(project)
        section = report(measure_all(scope, temp), title, what, scope)
    print(section)
    if options.write:
        write_section(title, section)


if __name__ == "__main__":
    main()
