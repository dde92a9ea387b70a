"""The command line: help everywhere, list, and selective builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import documents_of, pdfs_in, run_cli
from pipeline import cli


@pytest.mark.parametrize("command", [[], *[[name] for name in cli.commands]])
def test_every_command_has_help(command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output
    assert len(result.output.splitlines()) > 3


def test_list_shows_what_can_be_built() -> None:
    result = run_cli("list")
    assert result.exit_code == 0
    for name in ("vertebroplasty-brochure", "vertebroplasty-discharge", "general",
                 "seniors-osteoporosis", "oncology", "office", "office-a4", "press",
                 "screen", "web", f"{len(documents_of())} documents"):
        assert name in result.output


def test_build_only_what_is_asked(project: Path) -> None:
    result = run_cli("build", "--handout", "vertebroplasty-discharge", "--variant", "oncology",
                     "--variant", "general", "--profile", "office", project=project)
    assert result.exit_code == 0, result.output
    built = [p.relative_to(project / "output").as_posix() for p in pdfs_in(project / "output")]
    assert built == ["office/vertebroplasty-discharge/general.pdf",
                     "office/vertebroplasty-discharge/oncology.pdf"]
    manifest = json.loads((project / "output/manifest.json").read_text())["documents"]
    assert [entry["path"] for entry in manifest] == built
    assert set(manifest[0]) >= {"handout", "variant", "profile", "path", "pages", "sha256"}


def test_a_later_partial_build_keeps_earlier_manifest_entries(project: Path) -> None:
    assert run_cli("build", "--variant", "general", "--profile", "office",
                   project=project).exit_code == 0
    assert run_cli("build", "--variant", "oncology", "--profile", "screen",
                   project=project).exit_code == 0
    manifest = json.loads((project / "output/manifest.json").read_text())["documents"]
    assert {(entry["variant"], entry["profile"]) for entry in manifest} == {
        ("general", "office"), ("oncology", "screen")}
    assert len(manifest) == 4


def test_profile_selection_skips_handouts_not_made_in_it(project: Path) -> None:
    result = run_cli("build", "--profile", "press", "--variant", "general", project=project)
    assert result.exit_code == 0, result.output
    assert [p.relative_to(project / "output").as_posix() for p in pdfs_in(project / "output")] \
        == ["press/vertebroplasty-brochure/general.pdf"]
    result = run_cli("build", "--profile", "press", "--handout", "vertebroplasty-discharge",
                     project=project)
    assert result.exit_code != 0 and "nothing to build" in result.output
