"""The command line: help everywhere, list, selective builds, and the exit code of every
command when it runs as a real process (the way a shell or CI sees it).

Runs on copies of the generated library (tests/library.py), never the shipped handouts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import assert_process_failed, documents_of, pdfs_in, run_cli, run_pipeline
from library_extra import BROCHURE, DISCHARGE, change, copy_library, handout_file
from pipeline import cli


@pytest.mark.parametrize("command", [[], *[[name] for name in cli.commands]])
def test_every_command_has_help(command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output
    assert len(result.output.splitlines()) > 3


def test_list_shows_what_can_be_built() -> None:
    proc = run_pipeline("list")
    assert proc.returncode == 0
    text = proc.stdout.decode()
    documents = documents_of()
    for document in documents:
        for name in (document.handout.id, document.variant.name, document.profile.name):
            assert name in text
    assert f"{len(documents)} documents in all." in text


def built_paths(output: Path) -> list[str]:
    return sorted(p.relative_to(output).as_posix() for p in pdfs_in(output))


def manifest_paths(output: Path) -> list[str]:
    return [entry["path"] for entry in
            json.loads((output / "manifest.json").read_text())["documents"]]


@pytest.fixture(scope="module")
def selective(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two selective builds, one after the other, into one output folder; what each
    left behind. The discharge sheet is made without the A4 profile here, so the second
    build (office-a4) must skip it."""
    project = copy_library(tmp_path_factory.mktemp("cli") / "project")
    change(handout_file(project, DISCHARGE),
           lambda data: data.update(profiles=["office", "screen", "web"]))
    output = project / "output"
    first, *_, last = sorted({d.variant.name for d in documents_of(project)})
    runs = {"project": project, "output": output, "first": first, "last": last}
    runs["one"] = run_pipeline("build", "--handout", DISCHARGE, "--variant", first,
                               "--variant", last, "--profile", "office", project=project)
    runs["one-pdfs"], runs["one-manifest"] = built_paths(output), manifest_paths(output)
    runs["two"] = run_pipeline("build", "--profile", "office-a4", "--variant", last,
                               project=project)
    runs["two-pdfs"], runs["two-manifest"] = built_paths(output), manifest_paths(output)
    runs["none"] = run_pipeline("build", "--profile", "office-a4", "--handout", DISCHARGE,
                                project=project)
    return runs


def expected(project: Path, **wanted) -> set[str]:
    """Paths of the project's documents whose handout, variant, profile are in `wanted`."""
    return {d.relative_path for d in documents_of(project)
            if all(getattr(d, key).name in names if key != "handout"
                   else d.handout.id in names for key, names in wanted.items())}


def test_build_only_what_is_asked(selective: dict) -> None:
    assert selective["one"].returncode == 0, selective["one"].stderr.decode()
    asked = expected(selective["project"], handout={DISCHARGE}, profile={"office"},
                     variant={selective["first"], selective["last"]})
    assert len(asked) == 2
    assert selective["one-pdfs"] == sorted(asked)
    assert selective["one-manifest"] == sorted(asked)
    manifest = json.loads((selective["output"] / "manifest.json").read_text())["documents"]
    assert set(manifest[0]) >= {"handout", "variant", "profile", "path", "pages", "sha256"}


def test_a_later_partial_build_keeps_earlier_manifest_entries(selective: dict) -> None:
    assert selective["two"].returncode == 0, selective["two"].stderr.decode()
    later = expected(selective["project"], profile={"office-a4"},
                     variant={selective["last"]})
    assert set(selective["two-manifest"]) == set(selective["one-manifest"]) | later
    assert selective["two-pdfs"] == sorted(set(selective["one-pdfs"]) | later)


def test_profile_selection_skips_handouts_not_made_in_it(selective: dict) -> None:
    later = expected(selective["project"], profile={"office-a4"},
                     variant={selective["last"]})
    assert later and all(path.split("/")[1] == BROCHURE for path in later)
    assert_process_failed(selective["none"], "nothing to build")


# --- exit codes of every command, as a process ---------------------------------------

def test_exit_codes_of_every_command(selective: dict, tmp_path: Path) -> None:
    """0 on success and 1 on a problem to fix, for each command, through the process.
    (`build` succeeding is the fixture's; `check` and `discharge` succeeding as processes
    are in test_processes.py, which runs each of them.)"""
    project, out = selective["project"], selective["output"]
    ok = lambda *args: run_pipeline(*args, project=project, cwd=tmp_path)  # noqa: E731
    assert selective["one"].returncode == 0
    assert ok("list").returncode == 0
    assert ok("build", "--check", "-o", tmp_path / "empty").returncode == 1  # nothing built
    assert ok("build", "--check", "--handout", DISCHARGE, "--profile", "office",
              "--variant", selective["first"], "--variant", selective["last"]).returncode == 0
    assert ok("build", "--check").returncode == 1          # other profiles still missing
    assert ok("proof").returncode == 0
    assert ok("combine", out, "-o", tmp_path / "joined").returncode == 0
    assert ok("combine", tmp_path, "-o", tmp_path / "joined2").returncode == 1
    assert ok("discharge", "--levels", "Q9").returncode == 1
    path = handout_file(project, DISCHARGE)
    good = path.read_text(encoding="utf-8")
    change(path, lambda data: data.update(kind="poster"))
    try:
        for args in (("build", "--variant", "nope"), ("check", "--handout", "nope"),
                     ("list",), ("proof",), ("discharge",), ("preflight",)):
            assert_process_failed(ok(*args), "Error:")
    finally:
        path.write_text(good, encoding="utf-8")


def test_usage_errors_exit_2_in_one_line() -> None:
    proc = run_pipeline("build", "--jobs", "0")
    assert proc.returncode == 2
    err = proc.stderr.decode().strip()
    assert err.startswith("Error: ") and len(err.splitlines()) == 1 and "--help" in err


def test_the_console_script_gives_the_same_exit_codes(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "handouts"
    if not script.exists():
        pytest.skip("the handouts console script is installed by `make` (pip install -e .)")
    from conftest import LIBRARY

    stale = subprocess.run([str(script), "--project", str(LIBRARY.root), "build", "--check",
                            "-o", str(tmp_path / "output")], capture_output=True)
    assert stale.returncode == 1
    bad = subprocess.run([str(script), "--project", str(LIBRARY.root), "build",
                          "--variant", "x"], capture_output=True)
    assert bad.returncode == 1 and b"Traceback" not in bad.stderr
