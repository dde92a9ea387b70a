"""Proofs for reviewers: the gallery, visual-regression baselines, and watch mode."""

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

from clinicprint.proof import build_proof
from clinicprint.visual import MAX_CHANGED, compare_document
import factory
from clinicprint.content import load_project
from conftest import ROOT, LIBRARY, assert_process_failed, documents_of, run_cli, run_pipeline

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
    thumbs = [ref for ref in parser.refs if ref.endswith(".png")]
    assert len(set(thumbs)) == sum(entry["pages"] for entry in manifest)


def test_gallery_shows_gate_results_and_side_by_side_variants(gallery: Path) -> None:
    html = gallery.read_text()
    assert "gates passed" in html and "reading grade" in html
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


def test_shipped_pages_match_their_baselines(built: Path) -> None:
    manifest = json.loads((built / "manifest.json").read_text())["documents"]
    problems = []
    for entry in [entry for entry in manifest if entry["path"].endswith(".pdf")]:
        # Diff pictures land where a developer looks: output/visual-diff/.
        problems += compare_document(built / entry["path"], entry["path"], BASELINES,
                                     ROOT / "output" / "visual-diff")
    assert not problems, "\n".join(p.describe() for p in problems)


def test_a_changed_panel_fails_with_the_page_and_a_diff_image(project: Path) -> None:
    document = next(d for d in documents_of()
                    if d.handout.kind == "brochure" and d.profile.name == "office")
    with (project / "styles/brochure.css").open("a") as css:
        css.write("\n.panel--back { background: #000000 !important; }\n")
    result = run_cli("build", "--profile", "office", "--handout", document.handout.id,
                     "--variant", document.variant.name, "--no-gates", project=project)
    assert result.exit_code == 0, result.output
    relative = document.relative_path
    problems = compare_document(project / "output" / relative, relative, BASELINES,
                                project / "output" / "visual-diff")
    assert [p.page for p in problems] == [1]  # the outside sheet holds the back panel
    assert problems[0].changed > MAX_CHANGED
    assert f"{relative} page 1" in problems[0].describe()
    assert problems[0].diff_image.is_file()
    assert problems[0].diff_image.is_relative_to(project / "output")


def test_approve_replaces_the_baselines(project: Path) -> None:
    factory.only_generated(project)
    proc = run_pipeline("build", "--profile", "office", "--handout", "test-discharge",
                        project=project)
    assert proc.returncode == 0, proc.stderr.decode()
    approve = run_pipeline("proof", "--approve", project=project)
    assert approve.returncode == 0, approve.stderr.decode()
    manifest = json.loads((project / "output/manifest.json").read_text())["documents"]
    pages = sum(entry["pages"] for entry in manifest)
    assert f"Approved {pages} pages of {len(manifest)} documents" in approve.stdout.decode()
    for entry in manifest:
        relative = entry["path"]
        assert (project / "tests/baselines" / relative.replace(".pdf", "-p1.png")).is_file()
        assert compare_document(project / "output" / relative, relative,
                                project / "tests/baselines", project / "diff") == []


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
    factory.only_generated(project)
    office = {d.relative_path for d in documents_of(project) if d.profile.name == "office"}
    touched = {path for path in office if "/test-discharge/" in path}
    shutil.copy2(ROOT / "pipeline.py", project / "pipeline.py")
    shutil.copytree(ROOT / "clinicprint", project / "clinicprint")
    process = subprocess.Popen(
        [sys.executable, "pipeline.py", "watch", "--profile", "office", "--jobs", "2"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = Lines(process)
    try:
        lines.until("Watching", 120)
        output = project / "output" / "office"
        before = {p: p.stat().st_mtime_ns for p in output.rglob("*.pdf")}
        assert len(before) == len(office) and (project / "output/proof/index.html").is_file()
        time.sleep(0.5)
        path = project / "handouts/test-discharge.yaml"
        data = factory.load(path)
        data["title"] += " today"
        factory.save(path, data)
        line = lines.until("rebuilt", 60)
        assert f"rebuilt {len(touched)} (office/test-discharge/" in line
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
