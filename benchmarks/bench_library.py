#!/usr/bin/env python3
"""How the build scales with a clinic's library: generated libraries of 10, 50 and 200
handouts (half brochures, half discharge sheets; three variants; English and a
reviewed Spanish translation; tests/library.py), each built cold with --jobs 2, and
again as four `--shard K/4` runs joined by `pipeline.py combine`, the way CI's
runners share a big rebuild.

    .venv/bin/python benchmarks/bench_library.py                  # 10, 50, 200; screen
    .venv/bin/python benchmarks/bench_library.py --write          # also update RESULTS.md
    .venv/bin/python benchmarks/bench_library.py --sizes 10 50 --profile office --profile press
    .venv/bin/python benchmarks/bench_library.py --tiny           # does it still run?

Reports seconds (wall and CPU) per document and the peak memory of a worker at each
size, whether they stay flat from the smallest size to the largest, and checks that the
combined shards equal the single build byte for byte: every file's sha256 and every
manifest entry. Exits 1 when they differ or a build does not make every document.

One profile by default, screen (1,200 documents at 200 handouts): every profile at 200
handouts (6,600 documents) is hours on a 2-core machine, and office alone about 20
minutes, because the field-room gate lays out every office and office-a4 discharge
sheet a second time (about 0.7 CPU s each), where screen keeps the 200 run within 15
minutes. `--profile` chooses others (repeatable); each set of profiles has its own
section in RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from measure import (Measured, compile_bytecode, generated_library, load_average, machine,
                     pipeline, run, table, write_section)

TITLE = "Handout library (benchmarks/bench_library.py)"
DEFAULT_PROFILES = ["screen"]
JOBS = 2
# Flat: the largest library costs at most this much more per document than the
# smallest, and its workers at most this much more memory.
FLAT_TIME, FLAT_MEMORY = 1.15, 1.10


@dataclass
class SizeResult:
    handouts: int
    documents: int
    single: Measured
    shards: list[Measured]
    combine: Measured
    differences: list[str]

    @property
    def shard_seconds(self) -> float:
        return sum(shard.seconds for shard in self.shards)

    @property
    def shard_cpu(self) -> float:
        return sum(shard.cpu_seconds for shard in self.shards)

    @property
    def shard_worker_mb(self) -> float:
        return max(shard.worker_mb for shard in self.shards)


def measure_size(handouts: int, temp: Path, scope: list[str], shards: int,
                 languages: tuple[str, ...]) -> SizeResult:
    folder = temp / f"library-{handouts}"
    library = generated_library(folder / "project", handouts, languages).root
    single, combined = folder / "single", folder / "combined"
    build = ["build", "--quiet", "--jobs", JOBS, *scope]
    single_run = run(pipeline(library, *build, "-o", single))
    shard_folders = [folder / f"shard-{k}" for k in range(1, shards + 1)]
    shard_runs = [run(pipeline(library, *build, "--shard", f"{k}/{shards}", "-o", out))
                  for k, out in enumerate(shard_folders, 1)]
    combine_run = run(pipeline(library, "combine", *shard_folders, "-o", combined))
    differences = compare(single, combined)
    differences += missing_documents(library, single, scope)
    check = run(pipeline(library, "build", "--check", "-o", combined, *scope), check=False)
    if check.returncode:
        differences.append(f"`build --check` on the combined folder: exit {check.returncode}"
                           f": {(check.stdout + check.stderr).strip()[-300:]}")
    documents = len(manifest_entries(single))
    shutil.rmtree(folder)  # 200 handouts leave ~1 GB of PDFs in three copies
    return SizeResult(handouts, documents, single_run, shard_runs, combine_run, differences)


# --- byte for byte -------------------------------------------------------------

def file_hashes(folder: Path) -> dict[str, str]:
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def manifest_entries(folder: Path) -> dict[str, dict]:
    payload = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {entry["path"]: entry for entry in payload["documents"]}


def compare(single: Path, combined: Path) -> list[str]:
    """Every difference between two output folders: files (sha256, manifest.json
    included) and manifest entries, field by field."""
    problems = []
    ours, theirs = file_hashes(single), file_hashes(combined)
    for path in sorted(ours.keys() | theirs.keys()):
        if path not in theirs:
            problems.append(f"{path}: in the single build only")
        elif path not in ours:
            problems.append(f"{path}: in the combined shards only")
        elif ours[path] != theirs[path]:
            problems.append(f"{path}: sha256 differs")
    entries, combined_entries = manifest_entries(single), manifest_entries(combined)
    for path in sorted(entries.keys() | combined_entries.keys()):
        one, other = entries.get(path), combined_entries.get(path)
        if one is None or other is None:
            problems.append(f"manifest entry {path}: in one manifest only")
        elif one != other:
            fields = sorted(key for key in one.keys() | other.keys()
                            if one.get(key) != other.get(key))
            problems.append(f"manifest entry {path}: differs in {', '.join(fields)}")
    return problems


def missing_documents(library: Path, output: Path, scope: list[str]) -> list[str]:
    """The single build made every document the plan has (a build that quietly made
    fewer would compare equal to shards that made fewer too)."""
    from clinicprint.build import plan
    from clinicprint.content import load_project

    profiles = [value for flag, value in zip(scope, scope[1:]) if flag == "--profile"]
    variants = [value for flag, value in zip(scope, scope[1:]) if flag == "--variant"]
    planned = {d.relative_path for d in plan(load_project(library), (), variants, profiles)}
    made = set(manifest_entries(output))
    return [f"{path}: planned but not built" for path in sorted(planned - made)]


# --- the report ----------------------------------------------------------------

def report(results: list[SizeResult], profiles: list[str], variants: list[str],
           loads: list[str], tiny: bool) -> str:
    shards = len(results[0].shards)
    what = (f"profile{'s' if len(profiles) > 1 else ''} {', '.join(profiles)} only" +
            (f", variant {', '.join(variants)} only" if variants else ", three variants") +
            ", English and Spanish")
    lines = [f"## {title(profiles)}", "",
             f"Measured on {time.strftime('%Y-%m-%d %H:%M')}, {machine()}; generated "
             f"handouts, half brochures and half discharge sheets; {what}. "
             f"Each size is built cold with `--jobs {JOBS}`, then as "
             f"{shards} `--shard K/{shards}` runs (one after another, each `--jobs {JOBS}`) "
             f"joined by `combine`. Load average (1, 5, 15 min) before: {loads[0]}, after: "
             f"{loads[-1]}; other sessions share the cores, so wall seconds are noisy and "
             "CPU seconds (all processes of the build) are the steadier measure." +
             (" --tiny: too small to measure anything." if tiny else ""), ""]
    rows = []
    for r in results:
        rows.append((r.handouts, r.documents,
                     f"{r.single.seconds:.1f} s", f"{r.single.seconds / r.documents:.3f}",
                     f"{r.single.cpu_seconds / r.documents:.3f}",
                     f"{r.single.worker_mb:.0f}", f"{r.single.main_mb:.0f}",
                     f"{r.shard_seconds:.1f} s (longest {max(s.seconds for s in r.shards):.1f})",
                     f"{r.shard_seconds / r.documents:.3f}",
                     f"{r.shard_cpu / r.documents:.3f}", f"{r.shard_worker_mb:.0f}",
                     f"{r.combine.seconds:.1f} s", "yes" if not r.differences else "NO"))
    lines += table(("handouts", "documents", "cold build", "s / doc", "CPU s / doc",
                    "peak worker MB", "build command MB", f"{shards} shards",
                    "shards s / doc", "shards CPU s / doc", "shards peak worker MB",
                    "combine", "combined = single, byte for byte"), rows)
    lines += ["", *flatness(results)]
    for r in results:
        for problem in r.differences[:10]:
            lines.append(f"- {r.handouts} handouts: {problem}")
    return "\n".join(lines) + "\n"


def title(profiles: list[str]) -> str:
    return f"{TITLE}, {' and '.join(profiles)}"


def flatness(results: list[SizeResult]) -> list[str]:
    if len(results) < 2:
        return ["One size only: nothing to compare."]
    small, large = results[0], results[-1]
    ratios = [
        ("cold build, CPU s per document", small.single.cpu_seconds / small.documents,
         large.single.cpu_seconds / large.documents, FLAT_TIME),
        ("cold build, wall s per document", small.single.seconds / small.documents,
         large.single.seconds / large.documents, FLAT_TIME),
        ("shards, CPU s per document", small.shard_cpu / small.documents,
         large.shard_cpu / large.documents, FLAT_TIME),
        ("peak worker MB, cold build", small.single.worker_mb, large.single.worker_mb,
         FLAT_MEMORY),
        ("peak worker MB, shards", small.shard_worker_mb, large.shard_worker_mb,
         FLAT_MEMORY),
        ("build command MB, cold build", small.single.main_mb, large.single.main_mb,
         FLAT_MEMORY),
    ]
    rows = [(name, f"{a:.3f}" if a < 10 else f"{a:.0f}", f"{b:.3f}" if b < 10 else f"{b:.0f}",
             f"{b / a:.2f}", f"<= {limit:.2f}", "yes" if b / a <= limit else "NO")
            for name, a, b, limit in ratios]
    return table(("stays flat", f"{small.handouts} handouts", f"{large.handouts} handouts",
                  "ratio", "flat if", "flat"), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200],
                        help="Library sizes in handouts (at least 2 each).")
    parser.add_argument("--profile", dest="profiles", action="append",
                        help="Profile to build (repeatable).  [default: screen]")
    parser.add_argument("--variant", dest="variants", action="append", default=[],
                        help="Only this variant (repeatable).  [default: all three]")
    parser.add_argument("--shards", type=int, default=4,
                        help="CI runners sharing the rebuild.  [default: 4]")
    parser.add_argument("--tiny", action="store_true",
                        help="One brochure and one discharge sheet, one variant, two "
                             "shards: checks that the benchmark runs "
                             "(tests/test_benchmarks.py); measures nothing.")
    parser.add_argument("--write", action="store_true", help="Update benchmarks/RESULTS.md.")
    options = parser.parse_args()
    if options.tiny and options.write:
        parser.error("--tiny measures nothing worth keeping; leave out --write")
    if options.tiny:
        options.sizes, options.shards = [2], 2
        options.variants = options.variants or ["general"]
    else:
        compile_bytecode()
    if min(options.sizes) < 2:
        parser.error("--sizes: at least 2 handouts (one brochure, one discharge sheet)")
    profiles = options.profiles or DEFAULT_PROFILES
    scope = [*(a for p in profiles for a in ("--profile", p)),
             *(a for v in options.variants for a in ("--variant", v))]
    loads = [load_average()]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-library-") as temp:
        for size in sorted(options.sizes):
            results.append(measure_size(size, Path(temp), scope, options.shards, ("es",)))
            print(f"{size} handouts: {results[-1].documents} documents, "
                  f"{results[-1].single.seconds:.1f} s cold", file=sys.stderr, flush=True)
    loads.append(load_average())
    section = report(results, profiles, options.variants, loads, options.tiny)
    print(section)
    if options.write:
        write_section(title(profiles), section)
    if any(r.differences for r in results):
        raise SystemExit("The combined shards differ from the single build (listed above).")


if __name__ == "__main__":
    main()
