"""`watch`: rebuild on save, one line per rebuild, proofs kept current."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from .errors import PipelineError

WATCHED = ("handouts", "templates", "styles", "assets", "brand.yaml", "variants.yaml",
           "plain-words.yaml")


def rebuild(root: Path, output: Path, profiles, jobs: int) -> str:
    """One incremental build and proof refresh, summed up in one line."""
    from .build import build, default_jobs
    from .content import load_project
    from .proof import build_proof

    started = time.perf_counter()
    try:
        result = build(root, output, profiles=profiles, jobs=jobs or default_jobs())
    except PipelineError as exc:  # content that does not load: say so, keep watching
        return f"error: {exc.message.splitlines()[0]}"
    if result.built or result.failures or not (output / "proof/index.html").exists():
        project = load_project(root)
        build_proof(output, project.brand.name, list(project.variants))
    names = ", ".join(entry.path for entry in result.built[:3])
    more = f" and {len(result.built) - 3} more" if len(result.built) > 3 else ""
    line = (f"rebuilt {len(result.built)}{f' ({names}{more})' if names else ''}, "
            f"{len(result.up_to_date)} up to date, {len(result.failures)} failed in "
            f"{time.perf_counter() - started:.1f} s")
    return line + "".join(f"\n  {failure}" for failure in result.failures)


def watch(root: Path, profiles, jobs: int | None, echo: Callable[[str], None]) -> None:
    from watchfiles import watch as changes

    output = root / "output"
    paths = [root / name for name in WATCHED if (root / name).exists()]
    echo(rebuild(root, output, profiles, jobs))
    echo(f"Watching {', '.join(p.name for p in paths)} (Ctrl-C stops)")
    try:
        for _ in changes(*paths, debounce=300, raise_interrupt=True):
            echo(rebuild(root, output, profiles, jobs))
    except KeyboardInterrupt:
        echo("Stopped.")
