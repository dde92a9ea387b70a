"""Helpers for tests that work on copies of the generated library (tests/library.py,
made once per run by conftest.py) rather than rebuilding it.

A copy of the library with a copy of the session's `built` output is up to date: input
keys hash files by their path inside the project, never the folder the project is in.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

from conftest import LIBRARY, PROJECT_FILES, with_languages
from library import load, write

BROCHURE = LIBRARY.brochures[0]
DISCHARGE = LIBRARY.discharges[0]


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
