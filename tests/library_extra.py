"""Helpers beside tests/library.py for the visual check and the editor's-loop tests.

The generated library dates its handouts from today (a review must not have expired),
and its pages print the revision and approval dates, so its pages change from one day
to the next. The visual baselines (tests/baselines/) are pictures of a copy whose
printed dates are fixed: `freeze_printed_dates`.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from library import load, write

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
