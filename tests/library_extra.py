"""Helpers beside tests/library.py.

For the visual check and the editor's-loop tests: the generated library dates its
handouts from today (a review must not have expired), and its pages print the revision
and approval dates, so its pages change from one day to the next. The visual baselines
(tests/baselines/) are pictures of a copy whose printed dates are fixed:
`freeze_printed_dates`.

For tests that work on copies of the generated library (conftest.py makes it once per
run) rather than rebuilding it: `copy_library`, and `copy_output` for a copy of the
session's build (`built`), which is up to date in the copy because input keys hash
files by their path inside the project, never the folder the project is in.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any, Callable

from conftest import LIBRARY, PROJECT_FILES, with_languages
from library import load, write

BROCHURE = LIBRARY.brochures[0]
DISCHARGE = LIBRARY.discharges[0]

# The revision and approval dates the baselines were approved with (in the past, as
# the content format wants; the next review stays a year from today).
PRINTED_REVISION = dt.date(2026, 1, 5)
PRINTED_APPROVAL = dt.date(2026, 1, 4)


def freeze_printed_dates(root: Path) -> None:
    """Give every handout of the project at `root` the same printed dates every day."""
    for path in sorted((root / "handouts").glob("*.yaml")):
        data = load(path)
        data["revision"] = PRINTED_REVISION
        data["review"]["approved_on"] = PRINTED_APPROVAL
        write(path, data)


def copy_project(source: Path, target: Path, with_output: bool = False) -> Path:
    """A copy of a project folder (and its output/, if asked), safe to change."""
    ignore = None if with_output else shutil.ignore_patterns("output")
    shutil.copytree(source, target, ignore=ignore)
    return target


def handout_path(root: Path, handout: str) -> Path:
    return root / "handouts" / f"{handout}.yaml"


def copy_library(folder: Path, languages: bool = False) -> Path:
    """A private copy of the generated library at `folder` (English only unless
    `languages`), as conftest's `project` fixture makes, for module-scoped fixtures."""
    folder.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = LIBRARY.root / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, folder / name)
    return with_languages(folder) if languages else folder


def copy_output(built: Path, project: Path) -> Path:
    """The session's build of the library, as if it had been built in `project`."""
    shutil.copytree(built, project / "output")
    return project / "output"


def handout_file(project: Path, name: str) -> Path:
    return project / "handouts" / f"{name}.yaml"


def change(path: Path, edit: Callable[[Any], object]) -> None:
    """Load a YAML file of the project, edit it in place, write it back."""
    data = load(path)
    edit(data)
    write(path, data)


def section(data: dict, section_id: str) -> dict:
    return next(s for s in data["sections"] if s["id"] == section_id)
