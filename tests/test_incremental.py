"""Incremental, parallel, reproducible builds: --check, --shard, keep-going, the CI workflow.

Runs on generated handouts (tests/factory.py) through the real entry point, with the
expected documents derived from the project."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import factory
from clinicprint.build import shard_of
from conftest import ROOT, documents_of, pdfs_in, run_pipeline, with_languages

OFFICE = ("--profile", "office")  # enough to see what is rebuilt, and fast


@pytest.fixture
def sandbox(project: Path) -> Path:
    factory.only_generated(project)
    return project


def build(project: Path, *args: str) -> subprocess.CompletedProcess:
    return run_pipeline("build", *OFFICE, *args, project=project)


def text(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout.decode() + proc.stderr.decode()


def office(project: Path, handout: str | None = None, variant: str | None = None) -> set[str]:
    return {d.relative_path for d in documents_of(project) if d.profile.name == "office"
            and handout in (None, d.handout.id) and variant in (None, d.variant.name)}


def statuses(output: str) -> dict[str, str]:
    """status per document from the one-line-per-document log (not a terminal)."""
    found = {}
    for line in output.splitlines():
        for status in ("built", "up to date", "failed"):
            if line.startswith(status + " "):
                found[line[len(status):].strip()] = status
    return found


def rebuilt(project: Path) -> set[str]:
    proc = build(project)
    assert proc.returncode == 0, text(proc)
    return {path for path, status in statuses(text(proc)).items() if status == "built"}


def digests(folder: Path) -> dict[str, str]:
    """Every document written: PDFs and the web edition's pages (not the proof page)."""
    from clinicprint.layouts import PROFILES

    files = [*pdfs_in(folder), *sorted(folder.rglob("*.html"))] if folder.exists() else []
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files if _profile_folder(p.relative_to(folder).parts) in PROFILES}


def _profile_folder(parts: tuple[str, ...]) -> str:
    """output/<profile>/... for English, output/<lang>/<profile>/... for the others."""
    return parts[1] if len(parts) > 3 else parts[0]


def test_a_second_build_renders_nothing(sandbox: Path) -> None:
    first = build(sandbox)
    assert first.returncode == 0, text(first)
    assert set(statuses(text(first)).values()) == {"built"}
    before = {p: p.stat().st_mtime_ns for p in pdfs_in(sandbox / "output")}
    second = build(sandbox)
    assert second.returncode == 0
    assert set(statuses(text(second)).values()) == {"up to date"}
    assert f"0 built, {len(office(sandbox))} up to date, 0 failed" in text(second)
    assert {p: p.stat().st_mtime_ns for p in pdfs_in(sandbox / "output")} == before


def test_a_build_with_nothing_to_do_does_not_import_weasyprint(sandbox: Path) -> None:
    assert build(sandbox).returncode == 0
    script = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
              "from pathlib import Path\n"
              "from clinicprint.build import build\n"
              f"result = build(Path({str(sandbox)!r}), Path({str(sandbox / 'output')!r}),"
              " profiles=['office'])\n"
              "print(len(result.built), len(result.up_to_date), 'weasyprint' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.stdout.split() == ["0", str(len(office(sandbox))), "False"], out.stderr


def test_touching_one_handout_rebuilds_only_its_documents(sandbox: Path) -> None:
    assert build(sandbox).returncode == 0
    path = sandbox / "handouts/test-discharge.yaml"
    data = factory.load(path)
    data["sections"][0]["body"] += " Rest more."
    factory.save(path, data)
    assert rebuilt(sandbox) == office(sandbox, "test-discharge")


def test_touching_a_stylesheet_rebuilds_what_uses_it(sandbox: Path) -> None:
    assert build(sandbox).returncode == 0
    variant = documents_of(sandbox)[-1].variant
    with (sandbox / variant.stylesheet).open("a") as css:
        css.write("\n/* a comment changes the bytes */\n")
    assert rebuilt(sandbox) == office(sandbox, variant=variant.name)
    with (sandbox / "styles/brand.css").open("a") as css:
        css.write("\n/* shared by every document */\n")
    assert rebuilt(sandbox) == office(sandbox)


def test_touching_an_image_rebuilds_the_documents_that_show_it(sandbox: Path) -> None:
    path = sandbox / "handouts/test-discharge.yaml"
    data = factory.load(path)
    image = sandbox / "assets/images/test-band.svg"  # wide and short: fits any page
    image.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 20">'
                     '<rect width="400" height="20" fill="#1F4E79"/></svg>')
    data["sections"][0]["figure"] = {"src": image.relative_to(sandbox).as_posix(),
                                     "alt": "A picture", "caption": "A picture."}
    factory.save(path, data)
    assert build(sandbox).returncode == 0
    image.write_text(image.read_text() + "\n<!-- changed -->\n")
    assert rebuilt(sandbox) == office(sandbox, "test-discharge")


def test_force_rebuilds_everything(sandbox: Path) -> None:
    assert build(sandbox).returncode == 0
    assert set(statuses(text(build(sandbox, "--force"))).values()) == {"built"}


def test_check_mode_exit_codes_through_the_real_process(sandbox: Path) -> None:
    empty = build(sandbox, "--check")
    assert empty.returncode == 1, text(empty)
    assert text(empty).count("would build") == len(office(sandbox))
    assert not (sandbox / "output").exists()
    assert build(sandbox).returncode == 0
    fresh = build(sandbox, "--check")
    assert fresh.returncode == 0, text(fresh)
    path = sandbox / "handouts/test-brochure.yaml"
    data = factory.load(path)
    data["title"] += " again"
    factory.save(path, data)
    stale = build(sandbox, "--check")
    assert stale.returncode == 1
    assert text(stale).count("would build") == len(office(sandbox, "test-brochure"))
    junk = sorted(office(sandbox, "test-discharge"))[0]
    (sandbox / "output" / junk).write_bytes(b"%PDF-junk")
    assert f"would build {junk}" in text(build(sandbox, "--check"))


def test_shards_cover_the_matrix_exactly_once(sandbox: Path) -> None:
    documents = documents_of(sandbox)
    shards = [shard_of(documents, (k, 3)) for k in (1, 2, 3)]
    paths = [d.relative_path for shard in shards for d in shard]
    assert sorted(paths) == sorted(d.relative_path for d in documents)  # all, none twice
    sizes = [len(shard) for shard in shards]
    assert max(sizes) - min(sizes) <= 1
    listed = []
    for k in (1, 2, 3):
        proc = run_pipeline("build", "--check", "--shard", f"{k}/3", project=sandbox)
        listed += [line.split()[-1] for line in text(proc).splitlines()
                   if line.startswith("would build")]
    assert sorted(listed) == sorted(paths)


def test_shard_outputs_combine_into_one_folder_and_manifest(sandbox: Path,
                                                            tmp_path: Path) -> None:
    for k in (1, 2):
        proc = build(sandbox, "--shard", f"{k}/2", "-o", tmp_path / f"s{k}")
        assert proc.returncode == 0, text(proc)
    combined = run_pipeline("combine", tmp_path / "s1", tmp_path / "s2", "-o",
                            sandbox / "output", project=sandbox)
    assert combined.returncode == 0, text(combined)
    manifest = json.loads((sandbox / "output/manifest.json").read_text())["documents"]
    assert {entry["path"] for entry in manifest} == office(sandbox)
    assert len(pdfs_in(sandbox / "output")) == len(office(sandbox))
    assert build(sandbox, "--check").returncode == 0


def test_one_broken_document_does_not_stop_the_others(sandbox: Path) -> None:
    path = sandbox / "handouts/test-brochure.yaml"
    data = factory.load(path)
    broken = documents_of(sandbox)[-1].variant.name
    data["overrides"] = {broken: {"replace": {data["sections"][0]["id"]: {
        "items": ["Walk a little more each day, and rest when you are tired. " * 3] * 12}}}}
    factory.save(path, data)
    proc = build(sandbox, "--jobs", "2")
    assert proc.returncode == 1
    assert f"test-brochure [{broken}, office]: panel" in text(proc)
    assert {p.relative_to(sandbox / "output").as_posix() for p in pdfs_in(sandbox / "output")} \
        == office(sandbox) - office(sandbox, "test-brochure", broken)
    assert "1 failed" in text(proc)


def test_two_clean_builds_in_two_folders_give_identical_bytes(tmp_path: Path, project: Path,
                                                              built: Path) -> None:
    """The session's build (in the repository, default jobs) against a second one in
    another folder, one worker, a later second on the clock."""
    other = tmp_path / "elsewhere" / "copy"
    shutil.copytree(with_languages(project), other)
    # One variant in every language and profile (a third of the build) is enough to
    # show that folder, clock and worker count leave no trace in the bytes.
    variant = documents_of()[0].variant.name
    assert run_pipeline("build", "--jobs", "1", "--allow-draft", "--variant", variant,
                        project=other).returncode == 0
    first, second = digests(built), digests(other / "output")
    assert set(first) == {d.relative_path for d in documents_of()}
    assert second and set(second) == {d.relative_path for d in documents_of()
                                      if d.variant.name == variant}
    assert {path: first[path] for path in second} == second
    manifest = json.loads((built / "manifest.json").read_text())["documents"]
    assert {e["path"]: e["sha256"] for e in manifest} == first
    assert all(e["input_key"] for e in manifest)


def test_source_date_epoch_is_respected_and_restored(sandbox: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import run_cli

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    assert run_cli("build", *OFFICE, "--handout", "test-discharge",
                   project=sandbox).exit_code == 0
    assert os.environ["SOURCE_DATE_EPOCH"] == "1800000000"


def test_progress_quiet_and_summary(sandbox: Path) -> None:
    quiet = build(sandbox, "--quiet")
    assert quiet.returncode == 0 and text(quiet).strip() == ""
    loud = build(sandbox, "--force")
    assert loud.stdout.decode().strip().splitlines()[-1].startswith(
        f"{len(office(sandbox))} built, 0 up to date, 0 failed in ")


def test_example_ci_workflow_is_valid() -> None:
    workflow = ROOT / ".github/workflows/handouts.yml"
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                             "vendor.github-workflows", str(workflow)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    content = workflow.read_text()
    assert 'shard: ["1/3", "2/3", "3/3"]' in content and "pipeline.py combine" in content
    assert "upload-artifact" in content and "make test" in content
