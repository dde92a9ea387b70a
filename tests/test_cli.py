"""The command line: help everywhere, list, selective builds, and the exit code of every
command when it runs as a real process (the way a shell or CI sees it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import factory
from conftest import (ROOT, assert_process_failed, documents_of, pdfs_in, run_cli,
                      run_pipeline)
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


@pytest.fixture
def sandbox(project: Path) -> Path:
    factory.only_generated(project)
    return project


def built_paths(project: Path) -> list[str]:
    return [p.relative_to(project / "output").as_posix() for p in pdfs_in(project / "output")]


def test_build_only_what_is_asked(sandbox: Path) -> None:
    names = [d.variant.name for d in documents_of(sandbox)]
    chosen = sorted(set(names))[:2]
    args = [arg for name in chosen for arg in ("--variant", name)]
    proc = run_pipeline("build", "--handout", "test-discharge", *args, "--profile", "office",
                        project=sandbox)
    assert proc.returncode == 0, proc.stderr.decode()
    expected = sorted(d.relative_path for d in documents_of(sandbox)
                      if d.handout.id == "test-discharge" and d.variant.name in chosen
                      and d.profile.name == "office")
    assert built_paths(sandbox) == expected
    manifest = json.loads((sandbox / "output/manifest.json").read_text())["documents"]
    assert [entry["path"] for entry in manifest] == expected
    assert set(manifest[0]) >= {"handout", "variant", "profile", "path", "pages", "sha256"}


def test_a_later_partial_build_keeps_earlier_manifest_entries(sandbox: Path) -> None:
    first, *_, last = sorted({d.variant.name for d in documents_of(sandbox)})
    assert run_pipeline("build", "--variant", first, "--profile", "office",
                        project=sandbox).returncode == 0
    assert run_pipeline("build", "--variant", last, "--profile", "screen",
                        project=sandbox).returncode == 0
    manifest = json.loads((sandbox / "output/manifest.json").read_text())["documents"]
    expected = {d.relative_path for d in documents_of(sandbox)
                if (d.variant.name, d.profile.name) in {(first, "office"), (last, "screen")}}
    assert {entry["path"] for entry in manifest} == expected


def test_profile_selection_skips_handouts_not_made_in_it(sandbox: Path) -> None:
    variant = documents_of(sandbox)[0].variant.name
    proc = run_pipeline("build", "--profile", "press", "--variant", variant, project=sandbox)
    assert proc.returncode == 0, proc.stderr.decode()
    assert built_paths(sandbox) == sorted(
        d.relative_path for d in documents_of(sandbox)
        if d.profile.name == "press" and d.variant.name == variant)
    assert "test-discharge" not in " ".join(built_paths(sandbox))
    assert_process_failed(run_pipeline("build", "--profile", "press", "--handout",
                                       "test-discharge", project=sandbox), "nothing to build")


# --- exit codes of every command, as a process ---------------------------------------

def test_exit_codes_of_every_command(sandbox: Path, tmp_path: Path) -> None:
    """0 on success and 1 on a problem to fix, for each command, through the process."""
    out = sandbox / "output"
    ok = lambda *args: run_pipeline(*args, project=sandbox, cwd=tmp_path)  # noqa: E731
    assert ok("list").returncode == 0
    assert ok("build", "--check").returncode == 1          # nothing built yet
    assert ok("build", "--profile", "office").returncode == 0
    assert ok("build", "--profile", "office", "--check").returncode == 0
    assert ok("build", "--check").returncode == 1          # other profiles still missing
    assert ok("check").returncode == 0
    assert ok("proof").returncode == 0
    assert ok("combine", out, "-o", tmp_path / "joined").returncode == 0
    assert ok("combine", tmp_path, "-o", tmp_path / "joined2").returncode == 1
    assert ok("discharge", "-o", tmp_path / "sheet.pdf").returncode == 0
    assert ok("discharge", "--levels", "Q9").returncode == 1
    for args in (("build", "--variant", "nope"), ("check", "--handout", "nope"),
                 ("list",), ("proof",), ("discharge",)):
        data = factory.load(sandbox / "handouts/test-discharge.yaml")
        broken = dict(data, kind="poster")
        factory.save(sandbox / "handouts/test-discharge.yaml", broken)
        assert_process_failed(ok(*args), "Error:")
        factory.save(sandbox / "handouts/test-discharge.yaml", data)


def test_usage_errors_exit_2_in_one_line(sandbox: Path) -> None:
    proc = run_pipeline("build", "--jobs", "0", project=sandbox)
    assert proc.returncode == 2
    err = proc.stderr.decode().strip()
    assert err.startswith("Error: ") and len(err.splitlines()) == 1 and "--help" in err


def test_the_console_script_gives_the_same_exit_codes(sandbox: Path) -> None:
    import subprocess

    script = Path(sys.executable).parent / "handouts"
    if not script.exists():
        pytest.skip("the handouts console script is installed by `make` (pip install -e .)")
    stale = subprocess.run([str(script), "--project", str(sandbox), "build", "--check"],
                           capture_output=True)
    assert stale.returncode == 1
    bad = subprocess.run([str(script), "--project", str(sandbox), "build", "--variant", "x"],
                         capture_output=True)
    assert bad.returncode == 1 and b"Traceback" not in bad.stderr
