"""Incremental, parallel, reproducible builds: --check, --shard, keep-going, the CI workflow."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clinicprint.build import plan, shard_of
from clinicprint.content import load_project
from conftest import ROOT, edit, pdfs_in, run_cli

OFFICE = ("--profile", "office")  # 6 documents: enough to see what is rebuilt, and fast


def build(project: Path, *args: str):
    result = run_cli("build", *OFFICE, *args, project=project)
    return result


def statuses(output: str) -> dict[str, str]:
    """status per document from the one-line-per-document log (not a terminal)."""
    found = {}
    for line in output.splitlines():
        for status in ("built", "up to date", "failed"):
            if line.startswith(status + " "):
                found[line[len(status):].strip()] = status
    return found


def digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in pdfs_in(folder)}


def test_a_second_build_renders_nothing(project: Path) -> None:
    first = build(project)
    assert first.exit_code == 0, first.output
    assert set(statuses(first.output).values()) == {"built"}
    before = {p: p.stat().st_mtime_ns for p in pdfs_in(project / "output")}
    second = build(project)
    assert second.exit_code == 0
    assert set(statuses(second.output).values()) == {"up to date"}
    assert "0 built, 6 up to date, 0 failed" in second.output
    assert {p: p.stat().st_mtime_ns for p in pdfs_in(project / "output")} == before


def test_a_build_with_nothing_to_do_does_not_import_weasyprint(project: Path) -> None:
    assert build(project).exit_code == 0
    script = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
              "from pathlib import Path\n"
              "from clinicprint.build import build\n"
              f"result = build(Path({str(project)!r}), Path({str(project / 'output')!r}),"
              " profiles=['office'])\n"
              "print(len(result.built), len(result.up_to_date), 'weasyprint' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.stdout.split() == ["0", "6", "False"], out.stderr


def test_touching_one_handout_rebuilds_only_its_documents(project: Path) -> None:
    assert build(project).exit_code == 0
    edit(project / "handouts/vertebroplasty-discharge.yaml", "Keep the spot clean and dry.",
         "Keep the spot clean and dry at all times.")
    result = build(project)
    assert result.exit_code == 0, result.output
    found = statuses(result.output)
    assert {p for p, s in found.items() if s == "built"} == {
        f"office/vertebroplasty-discharge/{v}.pdf"
        for v in ("general", "seniors-osteoporosis", "oncology")}
    assert sum(s == "up to date" for s in found.values()) == 3


def test_touching_a_stylesheet_rebuilds_what_uses_it(project: Path) -> None:
    assert build(project).exit_code == 0
    with (project / "styles/variant-seniors.css").open("a") as css:
        css.write("\n/* a comment changes the bytes */\n")
    found = statuses(build(project).output)
    assert {p for p, s in found.items() if s == "built"} == {
        "office/vertebroplasty-brochure/seniors-osteoporosis.pdf",
        "office/vertebroplasty-discharge/seniors-osteoporosis.pdf"}
    with (project / "styles/brand.css").open("a") as css:
        css.write("\n/* shared by every document */\n")
    assert set(statuses(build(project).output).values()) == {"built"}


def test_touching_an_image_rebuilds_the_documents_that_show_it(project: Path) -> None:
    assert build(project).exit_code == 0
    svg = project / "assets/images/vertebroplasty-simple.svg"
    svg.write_text(svg.read_text().replace("Bone cement", "Bone  cement"))
    found = statuses(build(project).output)
    assert {p for p, s in found.items() if s == "built"} == {
        "office/vertebroplasty-brochure/seniors-osteoporosis.pdf"}


def test_force_rebuilds_everything(project: Path) -> None:
    assert build(project).exit_code == 0
    assert set(statuses(build(project, "--force").output).values()) == {"built"}


def test_check_mode_reports_stale_outputs_and_writes_nothing(project: Path) -> None:
    empty = build(project, "--check")
    assert empty.exit_code == 1
    assert "would build office/vertebroplasty-brochure/general.pdf" in empty.output
    assert not (project / "output").exists()
    assert build(project).exit_code == 0
    assert build(project, "--check").exit_code == 0
    edit(project / "handouts/vertebroplasty-brochure.yaml", "Talk with us", "Talk to us")
    stale = build(project, "--check")
    assert stale.exit_code == 1
    assert stale.output.count("would build") == 3
    (project / "output/office/vertebroplasty-discharge/general.pdf").write_bytes(b"%PDF-junk")
    assert "would build office/vertebroplasty-discharge/general.pdf" in build(
        project, "--check").output


def test_shards_cover_the_matrix_exactly_once(project: Path) -> None:
    documents = plan(load_project(ROOT))
    shards = [shard_of(documents, (k, 3)) for k in (1, 2, 3)]
    paths = [d.relative_path for shard in shards for d in shard]
    assert sorted(paths) == sorted(d.relative_path for d in documents)  # all, none twice
    assert all(6 <= len(shard) <= 8 for shard in shards)
    listed = []
    for k in (1, 2, 3):
        result = run_cli("build", "--check", "--shard", f"{k}/3", project=project)
        listed += [line.split()[-1] for line in result.output.splitlines()
                   if line.startswith("would build")]
    assert sorted(listed) == sorted(paths)


def test_shard_outputs_combine_into_one_folder_and_manifest(project: Path, tmp_path: Path) -> None:
    for k in (1, 2):
        result = run_cli("build", *OFFICE, "--shard", f"{k}/2", "-o", tmp_path / f"s{k}",
                         project=project)
        assert result.exit_code == 0, result.output
    combined = run_cli("combine", tmp_path / "s1", tmp_path / "s2", "-o", project / "output",
                       project=project)
    assert combined.exit_code == 0, combined.output
    manifest = json.loads((project / "output/manifest.json").read_text())["documents"]
    assert len(manifest) == 6 and len(pdfs_in(project / "output")) == 6
    assert build(project, "--check").exit_code == 0


def test_bad_shard_is_a_clean_error(project: Path) -> None:
    result = build(project, "--shard", "4/3")
    assert result.exit_code == 2 and "K/N" in result.output


def test_one_broken_document_does_not_stop_the_others(project: Path) -> None:
    long_text = ", ".join(f"Extra point {n} about healing" for n in range(30))
    edit(project / "handouts/vertebroplasty-brochure.yaml", "      - id: bone-health\n",
         f"      - id: bone-health\n        items: [{long_text}]\n")
    result = build(project, "--jobs", "2")
    assert result.exit_code == 1
    assert "vertebroplasty-brochure [seniors-osteoporosis, office]: panel" in result.output
    assert len(pdfs_in(project / "output")) == 5
    assert "1 failed" in result.output


def test_two_clean_builds_in_two_folders_give_identical_bytes(tmp_path: Path,
                                                              project: Path) -> None:
    other = tmp_path / "elsewhere" / "copy"
    shutil.copytree(project, other)
    assert run_cli("build", "--jobs", "2", project=project).exit_code == 0
    time.sleep(1.1)  # a different second on the clock must not matter
    assert run_cli("build", "--jobs", "1", project=other).exit_code == 0
    first, second = digests(project / "output"), digests(other / "output")
    assert len(first) == 21 and first == second
    recorded = {e["path"]: e["sha256"] for e in
                json.loads((project / "output/manifest.json").read_text())["documents"]}
    assert recorded == first
    assert all(e["input_key"] for e in
               json.loads((project / "output/manifest.json").read_text())["documents"])


def test_source_date_epoch_is_respected_and_restored(project: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    assert build(project, "--variant", "general", "--handout",
                 "vertebroplasty-discharge").exit_code == 0
    assert os.environ["SOURCE_DATE_EPOCH"] == "1800000000"


def test_progress_quiet_and_summary(project: Path) -> None:
    quiet = build(project, "--quiet")
    assert quiet.exit_code == 0 and quiet.output.strip() == ""
    loud = build(project, "--force")
    assert loud.output.strip().splitlines()[-1].startswith("6 built, 0 up to date, 0 failed in ")


def test_example_ci_workflow_is_valid() -> None:
    workflow = ROOT / ".github/workflows/handouts.yml"
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                             "vendor.github-workflows", str(workflow)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    text = workflow.read_text()
    assert 'shard: ["1/3", "2/3", "3/3"]' in text and "pipeline.py combine" in text
    assert "upload-artifact" in text and "make test" in text
