"""The test suite does not grow with the clinic's library (issue 27): tests are
parametrized by the generated library (tests/library.py), never by the shipped
handouts, so a clinic adding six handouts adds no test at all."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT
from library import brochure, discharge, write

COPIED = ("clinicprint", "tests", "pipeline.py", "pyproject.toml", "handouts", "translations",
          "templates", "styles", "assets", "brand.yaml", "variants.yaml", "fields.yaml",
          "languages.yaml", "plain-words.yaml", "plain-words.es.yaml",
          "language-assistance.yaml")


def collected(checkout: Path) -> int:
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider"], cwd=checkout, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return int(re.search(r"(\d+) tests? collected", proc.stdout)[1])


def test_six_more_handouts_add_no_tests(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, checkout / name, ignore=shutil.ignore_patterns(
                "__pycache__", "baselines"))
        elif source.exists():
            shutil.copy2(source, checkout / name)
    before = collected(checkout)
    for number in range(1, 4):
        write(checkout / "handouts" / f"added-brochure-{number}.yaml",
              brochure(f"ADD-B-{number:03}"))
        write(checkout / "handouts" / f"added-discharge-{number}.yaml",
              discharge(f"ADD-D-{number:03}"))
    after = collected(checkout)
    assert before > 100 and after <= before * 1.10, (before, after)
