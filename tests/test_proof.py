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
from conftest import ROOT, edit, run_cli

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
    return build_proof(built, "Brain to Spine Clinic")


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
    manifest = json.loads((gallery.parent.parent / "manifest.json").read_text())["documents"]
    # One table per handout and profile that has pages (web pages have none).
    assert html.count('<table class="compare">') == len(
        {(entry["handout"], entry["profile"]) for entry in manifest if entry["pages"]})
    assert "<th>seniors-osteoporosis</th>" in html


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


def test_a_moved_panel_fails_with_the_page_and_a_diff_image(project: Path) -> None:
    edit(project / "styles/brochure.css", "padding: 0.42in 0.34in 0.62in;",
         "padding: 0.9in 0.34in 0.62in;")
    result = run_cli("build", "--profile", "office", "--handout", "vertebroplasty-brochure",
                     "--variant", "general", project=project)
    assert result.exit_code == 0, result.output
    relative = "office/vertebroplasty-brochure/general.pdf"
    problems = compare_document(project / "output" / relative, relative, BASELINES,
                                project / "output" / "visual-diff")
    assert [p.page for p in problems] == [1]  # the outside sheet: fold-in and back panels
    assert problems[0].changed > MAX_CHANGED
    assert "office/vertebroplasty-brochure/general.pdf page 1" in problems[0].describe()
    assert problems[0].diff_image.is_file()
    assert problems[0].diff_image.is_relative_to(project / "output")


def test_approve_replaces_the_baselines(project: Path) -> None:
    assert run_cli("build", "--profile", "screen", "--handout", "vertebroplasty-discharge",
                   project=project).exit_code == 0
    result = run_cli("proof", "--approve", project=project)
    assert result.exit_code == 0, result.output
    manifest = json.loads((project / "output/manifest.json").read_text())["documents"]
    pdfs = [entry for entry in manifest if entry["path"].endswith(".pdf")]
    assert f"Approved {sum(e['pages'] for e in pdfs)} pages of {len(pdfs)} documents" \
        in result.output
    relative = "screen/vertebroplasty-discharge/oncology.pdf"
    assert (project / "tests/baselines/screen/vertebroplasty-discharge/oncology-p1.png").is_file()
    assert compare_document(project / "output" / relative, relative,
                            project / "tests/baselines", project / "diff") == []


def test_proof_without_a_build_says_what_to_do(project: Path) -> None:
    result = run_cli("proof", project=project)
    assert result.exit_code == 1 and "run `pipeline.py build` first" in result.output


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
        assert len(before) == 6 and (project / "output/proof/index.html").is_file()
        time.sleep(0.5)
        edit(project / "handouts/vertebroplasty-discharge.yaml", "Keep the spot clean and dry.",
             "Keep the spot clean and very dry.")
        line = lines.until("rebuilt", 60)
        assert "rebuilt 3 (office/vertebroplasty-discharge/" in line and "3 up to date" in line
        after = {p: p.stat().st_mtime_ns for p in output.rglob("*.pdf")}
        changed = {p.relative_to(output).as_posix() for p in before if after[p] != before[p]}
        assert changed == {f"vertebroplasty-discharge/{v}.pdf"
                           for v in ("general", "seniors-osteoporosis", "oncology")}
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    time.sleep(0.2)
    rest = lines.seen + "".join(lines.queue.queue)
    assert process.returncode == 0, rest
    assert "Stopped." in rest and "Traceback" not in rest
