"""Incremental, parallel, reproducible builds: --check, --shard, keep-going, the CI workflow.

Runs on copies of the generated library (tests/library.py) through the real entry point,
with the expected documents derived from the project. Most tests start from a copy of
the session's build (`built`), which must be up to date wherever the project lies;
`build --check` and `build` decide what is stale with the same function
(build.stale_documents), so where a real rebuild shows that once, --check shows the rest
without rendering."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from clinicprint.build import shard_of
from conftest import ROOT, documents_of, pdfs_in, run_pipeline, with_languages
from library import FIGURE
from library_extra import BROCHURE, DISCHARGE, change, copy_output, handout_file

# English office documents: enough to see what is rebuilt, and fast.
OFFICE = ("--profile", "office", "--lang", "en")
GENERAL = documents_of()[0].variant.name


@pytest.fixture
def fresh(project: Path, built: Path) -> Path:
    """A copy of the library (every language) with a copy of the session's build."""
    with_languages(project)
    copy_output(built, project)
    return project


def build(project: Path, *args: str) -> subprocess.CompletedProcess:
    return run_pipeline("build", *OFFICE, *args, project=project)


def text(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout.decode() + proc.stderr.decode()


def office(project: Path, handout: str | None = None, variant: str | None = None) -> set[str]:
    return {d.relative_path for d in documents_of(project) if d.profile.name == "office"
            and d.language.code == "en"
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


def would_build(project: Path, *args: str) -> set[str]:
    proc = build(project, "--check", *args)
    return {line.split()[-1] for line in text(proc).splitlines()
            if line.startswith("would build ")}


def digests(folder: Path) -> dict[str, str]:
    """Every document written: PDFs and the web edition's pages (not the proof page)."""
    from clinicprint.layouts import PROFILES

    files = [*pdfs_in(folder), *sorted(folder.rglob("*.html"))] if folder.exists() else []
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files if _profile_folder(p.relative_to(folder).parts) in PROFILES}


def _profile_folder(parts: tuple[str, ...]) -> str:
    """output/<profile>/... for English, output/<lang>/<profile>/... for the others."""
    return parts[1] if len(parts) > 3 else parts[0]


def test_a_second_build_renders_nothing(fresh: Path) -> None:
    """The session's build, made in another folder, is the first build."""
    before = {p: p.stat().st_mtime_ns for p in pdfs_in(fresh / "output")}
    second = build(fresh)
    assert second.returncode == 0, text(second)
    assert set(statuses(text(second)).values()) == {"up to date"}
    assert f"0 built, {len(office(fresh))} up to date, 0 failed" in text(second)
    assert {p: p.stat().st_mtime_ns for p in pdfs_in(fresh / "output")} == before


def test_a_build_with_nothing_to_do_does_not_import_weasyprint(fresh: Path) -> None:
    script = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
              "from pathlib import Path\n"
              "from clinicprint.build import build\n"
              f"result = build(Path({str(fresh)!r}), Path({str(fresh / 'output')!r}),"
              " profiles=['office'])\n"
              "print(len(result.built), len(result.up_to_date), 'weasyprint' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    every_language = [d for d in documents_of(fresh) if d.profile.name == "office"]
    assert out.stdout.split() == ["0", str(len(every_language)), "False"], out.stderr


def test_touching_one_handout_rebuilds_only_its_documents(fresh: Path) -> None:
    change(handout_file(fresh, DISCHARGE),
           lambda data: data["sections"][0].update(body="Rest more."))
    assert would_build(fresh) == office(fresh, DISCHARGE)
    assert rebuilt(fresh) == office(fresh, DISCHARGE)


def test_touching_a_stylesheet_rebuilds_what_uses_it(fresh: Path) -> None:
    """Stylesheets are inputs WeasyPrint loaded, recorded in the manifest (a real
    rebuild of what --check names: test_touching_one_handout_rebuilds_only_its_documents)."""
    variant = documents_of(fresh)[-1].variant
    with (fresh / variant.stylesheet).open("a") as css:
        css.write("\n/* a comment changes the bytes */\n")
    assert would_build(fresh) == office(fresh, variant=variant.name)
    with (fresh / "styles/brand.css").open("a") as css:
        css.write("\n/* shared by every document */\n")
    assert would_build(fresh) == office(fresh)


def test_touching_an_image_rebuilds_the_documents_that_show_it(fresh: Path) -> None:
    """The brochure's figure: an input WeasyPrint loaded, recorded in the manifest."""
    image = fresh / FIGURE
    image.write_text(image.read_text() + "\n<!-- changed -->\n")
    assert would_build(fresh) == office(fresh, BROCHURE)


def test_force_rebuilds_everything_and_says_so(fresh: Path) -> None:
    quiet = build(fresh, "--quiet")
    assert quiet.returncode == 0 and text(quiet).strip() == ""
    forced = build(fresh, "--force", "--variant", GENERAL)
    assert forced.returncode == 0, text(forced)
    assert set(statuses(text(forced)).values()) == {"built"}
    assert len(statuses(text(forced))) == len(office(fresh, variant=GENERAL))
    assert forced.stdout.decode().strip().splitlines()[-1].startswith(
        f"{len(office(fresh, variant=GENERAL))} built, 0 up to date, 0 failed in ")


def test_check_mode_exit_codes_through_the_real_process(project: Path, built: Path) -> None:
    with_languages(project)  # as the session's build saw it (languages are inputs)
    empty = build(project, "--check")
    assert empty.returncode == 1, text(empty)
    assert text(empty).count("would build") == len(office(project))
    assert not (project / "output").exists()
    copy_output(built, project)
    fresh = build(project, "--check")
    assert fresh.returncode == 0, text(fresh)
    change(handout_file(project, BROCHURE), lambda data: data.update(title="Test again"))
    stale = build(project, "--check")
    assert stale.returncode == 1
    assert text(stale).count("would build") == len(office(project, BROCHURE))
    junk = sorted(office(project, DISCHARGE))[0]
    (project / "output" / junk).write_bytes(b"%PDF-junk")
    assert f"would build {junk}" in text(build(project, "--check"))


def test_shards_cover_the_matrix_exactly_once() -> None:
    documents = documents_of()
    shards = [shard_of(documents, (k, 3)) for k in (1, 2, 3)]
    paths = [d.relative_path for shard in shards for d in shard]
    assert sorted(paths) == sorted(d.relative_path for d in documents)  # all, none twice
    sizes = [len(shard) for shard in shards]
    assert max(sizes) - min(sizes) <= 1
    listed = []
    for k in (1, 2, 3):
        proc = run_pipeline("build", "--check", "--shard", f"{k}/3", "--allow-draft")
        listed += [line.split()[-1] for line in text(proc).splitlines()
                   if line.startswith("would build")]
    assert sorted(listed) == sorted(paths)


def test_shard_outputs_combine_into_one_folder_and_manifest(project: Path,
                                                            tmp_path: Path) -> None:
    # Two CI runners: the two shards side by side.
    with ThreadPoolExecutor(max_workers=2) as pool:
        shards = list(pool.map(lambda k: build(project, "--variant", GENERAL, "--shard",
                                               f"{k}/2", "-o", tmp_path / f"s{k}"), (1, 2)))
    for k, proc in zip((1, 2), shards):
        assert proc.returncode == 0, text(proc)
        assert len(pdfs_in(tmp_path / f"s{k}")) == 1
    combined = run_pipeline("combine", tmp_path / "s1", tmp_path / "s2", "-o",
                            project / "output", project=project)
    assert combined.returncode == 0, text(combined)
    manifest = json.loads((project / "output/manifest.json").read_text())["documents"]
    assert {entry["path"] for entry in manifest} == office(project, variant=GENERAL)
    assert len(pdfs_in(project / "output")) == len(office(project, variant=GENERAL))
    assert build(project, "--check", "--variant", GENERAL).returncode == 0


def test_one_broken_document_does_not_stop_the_others(project: Path) -> None:
    broken = documents_of(project)[-1].variant.name
    def overfill(data) -> None:  # the other variants keep their own overrides
        replace = data.setdefault("overrides", {}).setdefault(broken, {}).setdefault(
            "replace", {})
        replace[data["sections"][0]["id"]] = {
            "items": ["Walk a little more each day, and rest when you are tired. " * 3] * 12}

    change(handout_file(project, BROCHURE), overfill)
    proc = build(project, "--handout", BROCHURE, "--jobs", "2")
    assert proc.returncode == 1
    assert f"{BROCHURE} [{broken}, office]: panel" in text(proc), text(proc)
    assert {p.relative_to(project / "output").as_posix() for p in pdfs_in(project / "output")} \
        == office(project, BROCHURE) - office(project, BROCHURE, broken)
    assert "2 built, 0 up to date, 1 failed" in text(proc)


def test_two_clean_builds_in_two_folders_give_identical_bytes(tmp_path: Path, project: Path,
                                                              built: Path) -> None:
    """The session's build (in another folder, default jobs, in the test process) against
    a second one here, one worker, a later second on the clock: the brochure in one
    variant and every profile it is made in (press, office, A4, screen, web) is enough to
    show that folder, clock and worker count leave no trace in the bytes."""
    other = tmp_path / "elsewhere" / "copy"
    shutil.copytree(with_languages(project), other)
    proc = run_pipeline("build", "--jobs", "1", "--variant", GENERAL, "--handout", BROCHURE,
                        "--lang", "en", project=other)
    assert proc.returncode == 0, text(proc)
    first, second = digests(built), digests(other / "output")
    assert set(first) == {d.relative_path for d in documents_of()}
    mine = {d.relative_path for d in documents_of() if d.variant.name == GENERAL
            and d.handout.id == BROCHURE and d.language.code == "en"}
    assert {d.split("/")[0] for d in mine} >= {"press", "office", "office-a4", "screen", "web"}
    assert set(second) == mine
    assert {path: first[path] for path in second} == second
    manifest = json.loads((built / "manifest.json").read_text())["documents"]
    assert {e["path"]: e["sha256"] for e in manifest} == first
    assert all(e["input_key"] for e in manifest)


def test_source_date_epoch_is_respected_and_restored(project: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import run_cli

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    assert run_cli("build", *OFFICE, "--handout", DISCHARGE, "--variant", GENERAL,
                   project=project).exit_code == 0
    assert os.environ["SOURCE_DATE_EPOCH"] == "1800000000"


def test_example_ci_workflow_is_valid() -> None:
    workflow = ROOT / ".github/workflows/handouts.yml"
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                             "vendor.github-workflows", str(workflow)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    content = workflow.read_text()
    assert 'shard: ["1/3", "2/3", "3/3"]' in content and "pipeline.py combine" in content
    assert "upload-artifact" in content and "make test" in content
