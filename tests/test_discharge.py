"""Personalised discharge sheets: filled, blank, batches, brochure, stdout, bad input, privacy.

On the generated library's discharge sheet (tests/library.py), which declares a field
of every type; dates are relative to today, as a nurse's would be."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pypdf import PdfReader

from clinicprint.content import load_project
from conftest import LANGUAGE_FILES, LIBRARY, PROJECT_FILES, ROOT, run_cli, run_pipeline
from pdfread import squash, text_of

TODAY = dt.date.today()
PROCEDURE = TODAY - dt.timedelta(days=8)
FOLLOW_UP = TODAY + dt.timedelta(days=6)
RESTART = TODAY + dt.timedelta(days=3)


def day(date: dt.date) -> str:
    """A date as the English sheet prints it, e.g. Nov 25, 2026."""
    return f"{date:%b} {date.day}, {date.year}"


FULL = ["--patient", "Jane Q. Example", "--procedure-date", PROCEDURE.isoformat(), "--levels",
        "T12, l1", "--physician", "Dr. Placeholder", "--follow-up",
        f"{FOLLOW_UP.isoformat()} 10:30", "--notes", "Brace fitting on Tuesday.",
        # The sheet's own fields (one of each other type), as `--field NAME=VALUE`.
        "--field", "side=left", "--field", "lift-limit=10",
        "--field", f"restart-on={RESTART.isoformat()}", "--field", "team-phone=(727) 555-2400"]


def discharge(tmp_path: Path, *args: str):
    """Run the command from a scratch folder, as a nurse would from their desk."""
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        return run_cli("discharge", *args)
    finally:
        os.chdir(old)


def written(result) -> list[Path]:
    return [Path(line.split("Wrote ", 1)[1]) for line in result.output.splitlines()
            if line.startswith("Wrote ")]


def test_fully_filled_sheet_shows_every_detail(tmp_path: Path) -> None:
    result = discharge(tmp_path, "--variant", "seniors-osteoporosis", *FULL)
    assert result.exit_code == 0, result.output
    [path] = written(result)
    assert path.name.startswith("discharge-") and "Jane" not in path.name
    text = text_of(tmp_path / path)
    for expected in ("Jane Q. Example", day(PROCEDURE), "T12, L1", "Dr. Placeholder",
                     f"{FOLLOW_UP:%a}, {day(FOLLOW_UP)}, 10:30 AM", "Brace fitting on Tuesday.",
                     "Side treated: left", "(pounds): 10", f"again on: {day(RESTART)}",
                     "day and night: (727) 555-2400"):
        assert expected in text, expected
    assert "Stay safe from falls" in text  # the seniors variant
    limit = load_project(LIBRARY.root).variants["seniors-osteoporosis"].max_pages.get(
        "discharge", 2)
    assert len(PdfReader(tmp_path / path).pages) <= limit  # large print: up to two sheets


def test_blank_sheet_has_write_in_lines_and_no_placeholders(tmp_path: Path) -> None:
    result = discharge(tmp_path, "-o", "blank.pdf")
    assert result.exit_code == 0, result.output
    text = text_of(tmp_path / "blank.pdf")
    assert "Patient:" in text and "Date:" in text and "When:" in text
    for leftover in ("None", "{{", "}}", "undefined"):
        assert leftover not in text


def test_csv_batch_merged_for_duplex(tmp_path: Path) -> None:
    (tmp_path / "day.csv").write_text(
        "patient,variant,procedure-date,levels\n"
        f"Ann Alpha,general,{PROCEDURE.isoformat()},L1\n"
        f"Ben Beta,seniors-osteoporosis,{PROCEDURE.isoformat()},T12\n"
        "Cy Gamma,oncology,,\n")
    result = discharge(tmp_path, "--csv", "day.csv", "--merge", "-o", "day.pdf")
    assert result.exit_code == 0, result.output
    reader = PdfReader(tmp_path / "day.pdf")
    assert len(reader.pages) % 2 == 0
    starts = []
    for name in ("Ann Alpha", "Ben Beta", "Cy Gamma"):
        starts.append(next(i for i, page in enumerate(reader.pages)
                           if name in squash(page.extract_text())))
    assert starts == sorted(starts)
    # Each patient starts on the front of a new sheet of paper.
    assert all(index % 2 == 0 for index in starts)
    assert "falls" in squash(reader.pages[starts[1]].extract_text() +
                             reader.pages[starts[1] + 1].extract_text())
    assert "blood counts" in squash(" ".join(p.extract_text() for p in reader.pages[starts[2]:]))


def test_csv_batch_as_separate_files(tmp_path: Path) -> None:
    (tmp_path / "day.csv").write_text("patient\nAnn Alpha\nBen Beta\n")
    (tmp_path / "sheets").mkdir()
    result = discharge(tmp_path, "--csv", "day.csv", "-o", "sheets")
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "sheets").glob("*.pdf"))
    assert len(files) == 2
    assert not any("Ann" in f.name or "Ben" in f.name for f in files)
    assert "Ann Alpha" in text_of(files[0]) and "Ben Beta" in text_of(files[1])


def test_with_brochure_makes_one_print_job(tmp_path: Path) -> None:
    result = discharge(tmp_path, "--variant", "oncology", "--patient", "Dee Delta",
                       "--with-brochure", "-o", "all.pdf")
    assert result.exit_code == 0, result.output
    reader = PdfReader(tmp_path / "all.pdf")
    assert len(reader.pages) == 4  # sheet (two sides), then the tri-fold's two sides
    sheet = squash(reader.pages[0].extract_text() + reader.pages[1].extract_text())
    brochure = squash(reader.pages[2].extract_text() + reader.pages[3].extract_text())
    companion = load_project(LIBRARY.root).handouts[LIBRARY.brochures[0]]
    assert "Dee Delta" in sheet and companion.title in brochure
    assert "Your two teams" in brochure  # the brochure's oncology variant
    assert float(reader.pages[2].mediabox.width) > float(reader.pages[2].mediabox.height)


def test_a4_sheet(tmp_path: Path) -> None:
    result = discharge(tmp_path, "--profile", "office-a4", "-o", "a4.pdf")
    assert result.exit_code == 0, result.output
    page = PdfReader(tmp_path / "a4.pdf").pages[0]
    assert round(float(page.mediabox.width)) == 595 and round(float(page.mediabox.height)) == 842


def test_stdout_is_a_valid_pdf(tmp_path: Path) -> None:
    result = run_pipeline("discharge", "--patient", "Eve Epsilon", "-o", "-", cwd=tmp_path,
                          timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"%PDF-") and result.stdout.rstrip().endswith(b"%%EOF")
    (tmp_path / "piped.pdf").write_bytes(result.stdout)
    assert "Eve Epsilon" in text_of(tmp_path / "piped.pdf")
    assert list(tmp_path.iterdir()) == [tmp_path / "piped.pdf"]  # nothing else written


BAD_OPTIONS = [
    (["--procedure-date", "25/11/2026"], "--procedure-date: not a date", "25/11/2026"),
    (["--follow-up", "tomorrow"], "--follow-up: not a date and time", "tomorrow"),
    (["--levels", "T13, L1"], "--levels: use vertebra names", "T13"),
    (["--variant", "teens"], "--variant: unknown variant", None),
    (["--field", "lift-limit=99"], "--field lift-limit: must be from 1 to 50", "99"),
]


@pytest.mark.parametrize("args,message,secret", BAD_OPTIONS, ids=["date", "follow-up",
                                                                   "levels", "variant",
                                                                   "field"])
def test_bad_options_fail_in_one_line_without_echoing_the_value(
        tmp_path: Path, args: list[str], message: str, secret: str | None) -> None:
    result = discharge(tmp_path, "--patient", "Zed Zulu", *args)
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert "Zed Zulu" not in result.output
    if secret:
        assert secret not in result.output
    assert list(tmp_path.iterdir()) == []


BAD_CSV = [
    ("", "no patients in the file"),
    ("patient\n", "no patients in the file"),
    ("patient,ward\nAnn,3\n", "day.csv row 1, column 2: not a known column name"),
    ("patient,levels\nAnn,L1\nBen,X9\n", "day.csv row 3, column levels: use vertebra names"),
    ("patient,procedure-date\nAnn,2026-13-45\n", "day.csv row 2, column procedure-date: not a"),
    ("patient,variant\nAnn,kids\n", "day.csv row 2, column variant: unknown variant"),
]


@pytest.mark.parametrize("content,message", BAD_CSV,
                         ids=["empty", "header-only", "unknown-column", "levels", "date",
                              "variant"])
def test_bad_csv_names_row_and_column_and_writes_nothing(tmp_path: Path, content: str,
                                                         message: str) -> None:
    (tmp_path / "day.csv").write_text(content)
    result = discharge(tmp_path, "--csv", "day.csv", "--merge", "-o", "day.pdf")
    assert result.exit_code == 1
    assert message in result.output
    assert "Ann" not in result.output and "Ben" not in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["day.csv"]


# Made at run time, so no file in the repository holds it before the run.
MARKER = f"Zq{uuid.uuid4().hex[:12]} Example"
SECRET = MARKER.split()[0]


def test_patient_details_appear_only_in_the_page_text(tmp_path: Path) -> None:
    """Search everything the run touched: project, working folder, temp dir, home, caches.
    The project is the program beside a copy of the generated library, so its own folder
    (the default --project) is searched too."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy2(ROOT / "pipeline.py", project)
    shutil.copytree(ROOT / "clinicprint", project / "clinicprint",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in (*PROJECT_FILES, *LANGUAGE_FILES):
        source = LIBRARY.root / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, project / name)
    work, temp, home = (tmp_path / name for name in ("work", "tmp", "home"))
    for folder in (work, temp, home):
        folder.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "HOME": str(home),
           "XDG_CACHE_HOME": str(home / ".cache")}
    args = [sys.executable, str(project / "pipeline.py"), "discharge", "--patient", MARKER,
            "--physician", f"Dr. {MARKER}", "--notes", f"See {MARKER} again."]
    ok = subprocess.run(args, capture_output=True, text=True, cwd=work, env=env, timeout=60)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(args + ["--levels", "Q9"], capture_output=True, text=True, cwd=work,
                         env=env, timeout=60)
    assert bad.returncode == 1
    for stream in (ok.stdout, ok.stderr, bad.stdout, bad.stderr):
        assert SECRET not in stream

    [pdf] = list(work.glob("*.pdf"))
    assert SECRET not in pdf.name
    reader = PdfReader(pdf)
    assert MARKER in squash(" ".join(page.extract_text() for page in reader.pages))
    info = " ".join(str(value) for value in (reader.metadata or {}).values())
    assert SECRET not in info
    root = reader.trailer["/Root"]
    if "/Metadata" in root:
        assert SECRET.encode() not in root["/Metadata"].get_object().get_data()
    assert SECRET.encode() not in repr(reader.trailer.get("/ID")).encode()

    for folder in (project, temp, home, work):
        for path in folder.rglob("*"):
            if path.is_file() and path != pdf:
                assert SECRET.encode() not in path.read_bytes(), path
    assert not (project / "output/manifest.json").exists()
