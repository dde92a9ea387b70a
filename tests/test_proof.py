"""Proofs for reviewers: the gallery, approval of pages (approved-pages/) and what changed
since, the developers' visual baselines (tests/baselines/), and watch mode. All on the
generated library."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from clinicprint.content import load_project
from clinicprint.output import read_manifest
from clinicprint.proof import build_proof
from clinicprint.visual import approve, baseline_path, compare_document
from conftest import (LIBRARY, PROJECT_FILES, ROOT, assert_process_failed, documents_of,
                      run_cli, run_pipeline)
from library import load, write
from library_extra import copy_project, freeze_printed_dates, handout_path

BASELINES = ROOT / "tests" / "baselines"


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("src", "href"):
            if attrs.get(name) and not attrs[name].startswith("#"):
                self.refs.append(attrs[name])


@pytest.fixture(scope="module")
def gallery(built: Path) -> Path:
    project = load_project(LIBRARY.root)
    return build_proof(built, project.brand.name, list(project.variants))


def test_every_document_has_a_card_and_every_link_resolves(built: Path, gallery: Path) -> None:
    parser = Links()
    parser.feed(gallery.read_text())
    manifest = json.loads((built / "manifest.json").read_text())["documents"]
    for entry in manifest:
        card = "card-" + entry["path"].replace("/", "-").replace(".pdf", "")
        assert card in parser.ids, card
    assert parser.refs, "no links or thumbnails"
    for ref in parser.refs:
        assert not ref.startswith(("http:", "https:", "//")), f"network reference {ref}"
        assert (gallery.parent / ref).resolve().is_file(), f"broken reference {ref}"
    pdf_links = {ref for ref in parser.refs if ref.endswith((".pdf", ".html"))}
    assert len(pdf_links) == len(manifest)
    thumbs = [ref for ref in parser.refs if ref.startswith("thumbs/")]
    assert len(set(thumbs)) == sum(entry["pages"] for entry in manifest)


def test_gallery_shows_gate_results_and_side_by_side_variants(gallery: Path) -> None:
    html = gallery.read_text()
    assert "gates passed" in html and "reading grade" in html
    assert "Changed since approval" not in html  # not compared (as in `watch`)
    documents = documents_of()
    # One table per language, handout and profile with pages to show (a web page has none).
    assert html.count('<table class="compare">') == len(
        {(d.language.code, d.handout.id, d.profile.name) for d in documents
         if d.profile.extension == "pdf"})
    # Columns follow variants.yaml, as the README says.
    header = html.split('<table class="compare">')[1].split("</tr>")[0]
    order = [name for name in load_project(LIBRARY.root).variants if f"<th>{name}</th>" in header]
    assert order and [header.index(f"<th>{name}</th>") for name in order] == sorted(
        header.index(f"<th>{name}</th>") for name in order)


def test_side_by_side_alt_text_names_the_page_shown(gallery: Path) -> None:
    for row in gallery.read_text().split('<table class="compare">')[1].split("<tr>")[2:]:
        page = row.split("<th>")[1].split("</th>")[0]
        for alt in row.split('alt="')[1:]:
            assert alt.split('"')[0].endswith(f"page {page}"), (page, alt)


def test_gallery_loads_in_headless_chromium(gallery: Path, tmp_path: Path) -> None:
    from PIL import Image

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is installed by scripts/system-deps.sh --test"
    shot = tmp_path / "gallery.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
                    "--window-size=1280,1600", f"--screenshot={shot}", gallery.as_uri()],
                   capture_output=True, timeout=120, check=False)
    assert shot.is_file(), "chromium wrote no screenshot"
    image = Image.open(shot).convert("L")
    low, high = image.getextrema()
    assert high - low > 100, "the screenshot is blank"
    assert len(image.getcolors(maxcolors=1 << 16) or []) > 20  # thumbnails, text


# --- visual regression: the generated library's pages against tests/baselines/ ------
# The office (US Letter) and screen PDFs in English: every template, stylesheet and
# variant. Spanish, A4 and press pages come from the same templates; the other tests
# check their paper, panels and colours.
VISUAL_PROFILES = ("office", "screen")
APPROVE_BASELINES = ("APPROVE_BASELINES=1 .venv/bin/python -m pytest tests/test_proof.py "
                     "-k visual")


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated library (English) with its printed dates fixed, built in the visual
    profiles: its pages look the same every day."""
    root = tmp_path_factory.mktemp("visual") / "project"
    root.mkdir()
    for name in PROJECT_FILES:
        source = LIBRARY.root / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, root / name)
    freeze_printed_dates(root)
    profiles = [arg for name in VISUAL_PROFILES for arg in ("--profile", name)]
    result = run_cli("build", *profiles, "--jobs", "2", "--quiet", project=root)
    assert result.exit_code == 0, result.output
    return root


def test_visual_library_pages_match_their_baselines(frozen: Path) -> None:
    """A developer's change that moves a panel or a paragraph shows up here. After a
    deliberate change, look at the pictures in output/visual-diff/, then approve:
    APPROVE_BASELINES=1 .venv/bin/python -m pytest tests/test_proof.py -k visual"""
    entries = [entry for entry in read_manifest(frozen / "output")
               if entry.path.endswith(".pdf")]
    assert {entry.profile for entry in entries} == set(VISUAL_PROFILES)
    pdfs = [(frozen / "output" / entry.path, entry.path) for entry in entries]
    if os.environ.get("APPROVE_BASELINES") == "1":
        shutil.rmtree(BASELINES, ignore_errors=True)
        approve(pdfs, BASELINES)
    problems = [problem for pdf, relative in pdfs for problem in compare_document(
        pdf, relative, BASELINES, ROOT / "output" / "visual-diff", APPROVE_BASELINES)]
    assert not problems, "\n".join(p.describe() for p in problems)
    approved = {path.relative_to(BASELINES).as_posix() for path in BASELINES.rglob("*.png")}
    pictured = {baseline_path(Path(), relative, page).as_posix() for entry in entries
                for relative, page in [(entry.path, n) for n in range(1, entry.pages + 1)]}
    assert approved == pictured, f"baselines of pages no longer made: {approved - pictured}; "\
        f"approve again: {APPROVE_BASELINES}"


# --- approval for reviewers: approved-pages/ and what changed since ------------------

def test_approve_then_proof_names_each_changed_document(frozen: Path, tmp_path: Path) -> None:
    """`proof --approve` keeps pictures of every page in approved-pages/; after a change,
    `proof` prints one line per changed document and shows the changes on its page."""
    root = copy_project(frozen, tmp_path / "project", with_output=True)
    before = run_cli("proof", project=root)
    assert before.exit_code == 0, before.output
    assert "No pages approved yet (approved-pages/): look at every page, then run " \
        "`pipeline.py proof --approve`" in before.output
    assert "No pages have been approved yet" in (root / "output/proof/index.html").read_text()
    approve_run = run_pipeline("proof", "--approve", project=root)
    assert approve_run.returncode == 0, approve_run.stderr.decode()
    entries = [e for e in read_manifest(root / "output") if e.path.endswith(".pdf")]
    said = approve_run.stdout.decode()
    assert (f"Approved {sum(e.pages for e in entries)} pages of {len(entries)} documents in "
            f"{root / 'approved-pages'}/") in said
    assert "Changed since approval" not in said
    for entry in entries:
        assert (root / "approved-pages" / entry.path.replace(".pdf", "-p1.png")).is_file()

    # The back panel is on the outside of the sheet: page 1.
    with (root / "styles/brochure.css").open("a") as css:
        css.write("\n.panel--back { background: #000000 !important; }\n")
    changed = "office/test-brochure-1/general.pdf"
    rebuilt = run_cli("build", "--profile", "office", "--handout", "test-brochure-1",
                      "--variant", "general", "--no-gates", project=root)
    assert rebuilt.exit_code == 0, rebuilt.output
    proof = run_pipeline("proof", project=root)
    assert proof.returncode == 0, proof.stderr.decode()
    lines = [line for line in proof.stdout.decode().splitlines() if "since approval" in line]
    assert len(lines) == 1 and lines[0].startswith(
        f"Changed since approval: {changed}: page 1 ("), lines
    assert "% of pixels)" in lines[0] and "page 2" not in lines[0]
    page = (root / "output/proof/index.html").read_text()
    assert "1 document changed" in page and f'href="#card-{changed[:-4].replace("/", "-")}"' \
        in page
    picture = root / "output/proof/changes" / changed.replace(".pdf", "-p1.png")
    assert picture.is_file() and 'src="changes/' + changed.replace(".pdf", "-p1.png") in page
    assert picture.stat().st_size > 0


def test_the_readme_gives_the_approval_commands_these_tests_run() -> None:
    """Issue 27: the README's approval steps work as written; these tests run them."""
    section = (ROOT / "README.md").read_text().split("## Proofs for reviewers")[1]
    section = section.split("\n## ")[0]
    assert "make build && .venv/bin/python pipeline.py proof --approve\ngit add approved-pages" \
        in section
    assert f"{APPROVE_BASELINES}\ngit add tests/baselines" in section


def test_proof_without_a_build_says_what_to_do(project: Path) -> None:
    assert_process_failed(run_pipeline("proof", project=project),
                          "run `pipeline.py build` first")


class Lines:
    """Reads a process's output on a thread, so waiting for a line can time out."""

    def __init__(self, process: subprocess.Popen):
        self.queue: queue.Queue[str] = queue.Queue()
        self.seen = ""
        threading.Thread(target=self._pump, args=(process.stdout,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.queue.put(line)

    def until(self, needle: str, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            self.seen += line
            if needle in line:
                return line
        raise AssertionError(f"no {needle!r} within {seconds} s; output so far:\n{self.seen}")


def test_watch_rebuilds_only_what_changed_and_stops_cleanly(project: Path) -> None:
    # One variant of each handout (a handout's `variants:`), so the first build is short.
    for handout in LIBRARY.handouts:
        data = load(handout_path(project, handout))
        write(handout_path(project, handout), {**data, "variants": ["general"]})
    edited = LIBRARY.discharges[0]
    office = {d.relative_path for d in documents_of(project) if d.profile.name == "office"}
    touched = {path for path in office if f"/{edited}/" in path}
    assert len(office) == 2 and len(touched) == 1
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "pipeline.py"), "--project", str(project), "watch",
         "--profile", "office", "--jobs", "2"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = Lines(process)
    try:
        lines.until("Watching", 120)
        output = project / "output" / "office"
        before = {p: p.stat().st_mtime_ns for p in output.rglob("*.pdf")}
        assert len(before) == len(office) and (project / "output/proof/index.html").is_file()
        time.sleep(0.5)
        path = handout_path(project, edited)
        data = load(path)
        data["title"] += " today"
        write(path, data)
        line = lines.until("rebuilt", 60)
        assert f"rebuilt {len(touched)} (office/{edited}/" in line
        assert f"{len(office) - len(touched)} up to date" in line
        after = {p: p.stat().st_mtime_ns for p in output.rglob("*.pdf")}
        changed = {f"office/{p.relative_to(output).as_posix()}" for p in before
                   if after[p] != before[p]}
        assert changed == touched
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    time.sleep(0.2)
    rest = lines.seen + "".join(lines.queue.queue)
    assert process.returncode == 0, rest
    assert "Stopped." in rest and "Traceback" not in rest
