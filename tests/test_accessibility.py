"""The accessible editions, checked by tools the project did not write.

- Screen PDFs (PDF/UA-1): the `pdfua` checker from PyPI, with a rule that crashes
  reported as a failure; and a structure walker on pikepdf (qpdf) that reads the
  page content streams and the structure tree itself.
- Web pages: axe-core (npm, package-lock.json) run in Debian's headless Chromium
  at a phone width and a desktop width, plus what a browser computes (reflow,
  large print, visible focus), plus a parse of the page for anything it would fetch.

Documents are derived from the project, so a new handout is checked as well.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pikepdf
import pytest

from clinicprint.content import Section, load_project
from clinicprint.reading_order import reading_order
from conftest import ROOT, LIBRARY, assert_process_failed, documents_of, edit, run_pipeline
from pdfread import squash, text_of, unhyphenate

DOCUMENTS = documents_of()
SCREEN = [d for d in DOCUMENTS if d.profile.pdf_variant == "pdf/ua-1"]
WEB = [d for d in DOCUMENTS if d.profile.writer == "web"]
BRAND = load_project(LIBRARY.root).brand
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE_PX, DESKTOP_PX = 320, 1280  # WCAG 1.4.10 reflow: 320 CSS px wide, no sideways scroll


def ids(documents) -> list[str]:
    return [f"{d.language.code}-{d.handout.id}-{d.variant.name}" for d in documents]


def digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit() or c == "+")


# --- screen PDFs: pdfua -------------------------------------------------------

@pytest.mark.parametrize("document", SCREEN, ids=ids(SCREEN))
def test_pdfua_checker_finds_nothing_and_every_rule_runs(built: Path, document) -> None:
    from pdfua import validate

    report = validate(str(built / document.relative_path))
    crashed = [f"{o.rule_id}: {o.skipped_reason}" for o in report.outcomes if o.skipped_reason]
    assert not crashed, "pdfua rules that did not run:\n" + "\n".join(crashed)
    assert len(report.outcomes) >= 10, "pdfua ran fewer rules than it implements"
    problems = [f"{f.rule_id} {f.severity.name}: {f.message}" for f in report.findings]
    assert not problems, "\n".join(problems)


# --- screen PDFs: our own structure walker ------------------------------------

@dataclass
class Tagged:
    """A tagged PDF read back: elements in document order, content per page."""

    elements: list[tuple[str, object, int]] = field(default_factory=list)  # role, obj, depth
    reached: set[tuple[int, int]] = field(default_factory=set)  # (page index, MCID)
    marked: dict[int, list[int]] = field(default_factory=dict)  # MCIDs in each page's content
    artifacts: dict[int, list[str]] = field(default_factory=dict)  # artifact types per page
    annotations: list[tuple[int, object]] = field(default_factory=list)
    objrs: set[tuple[int, int]] = field(default_factory=set)  # annotations reached by OBJR
    pdf: object = None  # kept open: the elements are its objects


def read_tagged(path: Path) -> Tagged:
    pdf = pikepdf.open(path)
    pages = {page.obj.objgen: index for index, page in enumerate(pdf.pages)}
    tagged = Tagged(pdf=pdf)

    def kids(node) -> list:
        k = node.get("/K")
        return [] if k is None else list(k) if isinstance(k, pikepdf.Array) else [k]

    def walk(node, depth: int, page) -> None:
        page = node.get("/Pg", page)
        for kid in kids(node):
            if isinstance(kid, int):
                tagged.reached.add((pages[page.objgen], int(kid)))
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                tagged.reached.add((pages[kid.get("/Pg", page).objgen], int(kid.MCID)))
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
                tagged.objrs.add(kid.Obj.objgen)
            elif isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                tagged.elements.append((str(kid.S), kid, depth))
                walk(kid, depth + 1, page)

    walk(pdf.Root.StructTreeRoot, 0, None)
    for index, page in enumerate(pdf.pages):
        tagged.marked[index], tagged.artifacts[index] = [], []
        for instruction in pikepdf.parse_content_stream(page):
            operator, operands = str(instruction.operator), instruction.operands
            if operator == "BDC" and isinstance(operands[1], pikepdf.Dictionary):
                if "/MCID" in operands[1]:
                    tagged.marked[index].append(int(operands[1].MCID))
                if operands[0] == "/Artifact":
                    tagged.artifacts[index].append(str(operands[1].get("/Type", "")))
        for annotation in page.obj.get("/Annots", []):
            tagged.annotations.append((index, annotation))
    return tagged


@pytest.fixture(scope="module")
def tagged(built: Path) -> dict[str, Tagged]:
    return {d.relative_path: read_tagged(built / d.relative_path) for d in SCREEN}


@pytest.mark.parametrize("document", SCREEN, ids=ids(SCREEN))
def test_every_marked_content_is_in_the_structure_or_an_artifact(tagged, document) -> None:
    pdf = tagged[document.relative_path]
    for page, mcids in pdf.marked.items():
        assert mcids, f"page {page + 1}: no tagged content"
        orphans = [mcid for mcid in mcids if (page, mcid) not in pdf.reached]
        assert not orphans, f"page {page + 1}: MCIDs {orphans} not reachable from the root"
        assert len(mcids) == len(set(mcids)), f"page {page + 1}: an MCID is used twice"
        # The running footer and page number are pagination artifacts on every page.
        assert "/Pagination" in pdf.artifacts[page], f"page {page + 1}: no pagination artifact"
    assert pdf.reached <= {(p, m) for p, mcids in pdf.marked.items() for m in mcids}, \
        "the structure points at content that is not on the page"


@pytest.mark.parametrize("document", SCREEN, ids=ids(SCREEN))
def test_lists_headings_and_figures_are_well_formed(tagged, document) -> None:
    pdf = tagged[document.relative_path]
    roles = [role for role, _, _ in pdf.elements]
    for role, element, _ in pdf.elements:
        kid_roles = [str(k.S) for k in _element_kids(element)]
        if role == "/L":
            assert kid_roles and set(kid_roles) <= {"/LI", "/Caption"}, f"L holds {kid_roles}"
        if role == "/LI":
            assert kid_roles and set(kid_roles) <= {"/Lbl", "/LBody"}, f"LI holds {kid_roles}"
        if role == "/Figure":
            assert str(element.get("/Alt", "")).strip(), "a figure without alt text"
        if role in ("/Div", "/Span", "/NonStruct", "/P", "/Sect", "/Part"):
            assert element.get("/K") is not None, f"an empty {role}"
        assert role != "/NonStruct", "NonStruct wrappers are dissolved"
    if any(section.items for section in document.sections):
        assert "/L" in roles
    levels = [int(role[2]) for role in roles if re.fullmatch(r"/H[1-6]", role)]
    assert levels[0] == 1 and levels.count(1) == 1, levels
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), f"a level is skipped: {levels}"
    assert levels.count(2) >= len(document.sections), "every section has its heading"
    figures = sum(1 for section in document.sections if section.figure)
    assert roles.count("/Figure") >= figures + 1  # the logo, and each section's picture


def _element_kids(element) -> list:
    k = element.get("/K")
    kids = [] if k is None else list(k) if isinstance(k, pikepdf.Array) else [k]
    return [kid for kid in kids if isinstance(kid, pikepdf.Dictionary) and "/S" in kid]


@pytest.mark.parametrize("document", SCREEN, ids=ids(SCREEN))
def test_links_are_described_tagged_and_phone_numbers_are_tel_links(
        built: Path, tagged, document) -> None:
    pdf = tagged[document.relative_path]
    uris = set()
    for page, annotation in pdf.annotations:
        if annotation.get("/Subtype") != "/Link":
            continue
        uris.add(str(annotation.A.URI))
        assert str(annotation.get("/Contents", "")).strip(), "a link without /Contents"
        assert annotation.objgen in pdf.objrs, "a link annotation outside the structure"
    assert "/Link" in [role for role, _, _ in pdf.elements]
    text = text_of(built / document.relative_path)
    for number in (BRAND.phone, BRAND.after_hours_phone, BRAND.emergency_number):
        if number in text:
            assert f"tel:{digits(number)}" in uris, f"{number} is not a tel: link"
    assert f"tel:{digits(BRAND.emergency_number)}" in uris  # 911 on every handout


@pytest.mark.parametrize("document", SCREEN, ids=ids(SCREEN))
def test_screen_pdf_is_portrait_and_reads_in_the_readers_order(built: Path, document) -> None:
    from pypdf import PdfReader

    for page in PdfReader(built / document.relative_path).pages:
        assert page.mediabox.width < page.mediabox.height, "not a portrait page"
    text = unhyphenate(text_of(built / document.relative_path))
    position = text.index(squash(document.title))
    for section in reading_order(document.sections):
        found = text.find(squash(section.title), position)
        assert found > position, f"'{section.title}' is out of reading order"
        position = found


def test_reading_order_follows_topics_and_keeps_untagged_neighbours() -> None:
    def s(name: str, topic: str | None = None, kind: str = "text") -> Section:
        return Section(id=name, title=name, topic=topic, type=kind)

    panels = [s("ask", "questions"), s("check-up"), s("talk", "contact"), s("what", "about"),
              s("how", "procedure"), s("picture"), s("why", "benefits"), s("after", "recovery"),
              s("help", kind="call-911")]
    assert [x.id for x in reading_order(panels)] == [
        "what", "how", "picture", "why", "help", "after", "ask", "check-up", "talk"]
    # No topics at all: the file's order stands (a discharge sheet is written in order).
    plain = [s("one"), s("two"), s("three")]
    assert reading_order(plain) == tuple(plain)


def test_an_unknown_topic_is_reported_with_file_and_line(project: Path) -> None:
    handout = next((project / "handouts").glob("*.yaml"))
    text = handout.read_text(encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("  - id:"))
    edit(handout, text.splitlines()[line - 1], text.splitlines()[line - 1] + "\n    topic: dessert")
    proc = run_pipeline("build", "--profile", "screen", project=project)
    assert_process_failed(proc, f"handouts/{handout.name}:", "topic: 'dessert' is not a topic")
    assert not (project / "output").exists() or not list((project / "output").rglob("*.pdf"))


# --- web pages ------------------------------------------------------------------

class PageParts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def parts_of(path: Path) -> PageParts:
    parser = PageParts()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize("document", WEB, ids=ids(WEB))
def test_web_page_is_self_contained(built: Path, document) -> None:
    page = parts_of(built / document.relative_path)
    fetched = [attrs.get("src") or attrs.get("href") for tag, attrs in page.tags
               if tag in ("img", "script", "iframe", "source", "link", "video", "audio")]
    fetched += re.findall(r"url\(\s*['\"]?([^'\")]+)", "".join(page.styles))
    fetched += re.findall(r"@import\s+['\"]?([^'\";]+)", "".join(page.styles))
    assert fetched, "no pictures or fonts found at all"
    assert all(url.startswith("data:") for url in fetched), \
        [url[:60] for url in fetched if not url.startswith("data:")]
    assert not any(tag == "script" for tag, _ in page.tags)
    manifest = json.loads((built / "manifest.json").read_text())["documents"]
    assert document.relative_path in {entry["path"] for entry in manifest}


@pytest.mark.parametrize("document", WEB, ids=ids(WEB))
def test_web_page_has_language_landmarks_skip_link_headings_and_alt_text(
        built: Path, document) -> None:
    page = parts_of(built / document.relative_path)
    tags = [tag for tag, _ in page.tags]
    assert page.tags[0][0] == "html" and page.tags[0][1].get("lang") == document.language.tag
    assert tags.count("main") == 1 and "header" in tags and "footer" in tags
    focusable = [attrs for tag, attrs in page.tags if tag == "a"]
    target = focusable[0]["href"]
    assert target.startswith("#"), "the first link is the skip link"
    assert any(attrs.get("id") == target[1:] for tag, attrs in page.tags if tag == "main")
    levels = [int(tag[1]) for tag in tags if re.fullmatch(r"h[1-6]", tag)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), levels
    assert all(attrs.get("alt", "").strip() for tag, attrs in page.tags if tag == "img")
    assert "@media print" in "".join(page.styles), "no print stylesheet"
    meta = {attrs.get("name"): attrs.get("content") for tag, attrs in page.tags if tag == "meta"}
    assert meta.get("viewport", "").startswith("width=device-width")


RUN_AXE = """
<script>%s</script>
<script>
(function () {
  var metrics = {
    width: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    bodyFontPx: parseFloat(getComputedStyle(document.body).fontSize)
  };
  var link = document.querySelector("main a");
  if (link) { link.focus(); metrics.focusOutline = getComputedStyle(link).outlineStyle; }
  function report(result) {
    var pre = document.createElement("pre");
    pre.id = "axe-report";
    pre.textContent = JSON.stringify(Object.assign(metrics, result));
    document.body.appendChild(pre);
  }
  if (link) { link.blur(); }
  axe.run(document, {runOnly: {type: "tag", values: %s}, resultTypes: ["violations"]})
    .then(function (r) {
      report({violations: r.violations.map(function (v) {
        return {id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(function (n) { return n.target.join(" "); })};
      }), rules: r.passes.length + r.violations.length + r.inapplicable.length});
    })
    .catch(function (e) { report({error: String(e)}); });
})();
</script>
"""


def run_axe(page: Path, width: int, work: Path) -> dict:
    """Load the page in headless Chromium with axe-core added and read its report."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is installed by scripts/system-deps.sh --test"
    assert AXE.is_file(), "axe-core is installed by `make test` (npm ci)"
    probe = work / f"{page.stem}-{width}.html"
    source = page.read_text(encoding="utf-8")
    script = RUN_AXE % (AXE.read_text(encoding="utf-8"), json.dumps(WCAG_AA))
    probe.write_text(source.replace("</body>", script + "</body>"), encoding="utf-8")
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={work / f'profile-{width}'}",
         f"--window-size={width},900", "--virtual-time-budget=60000", "--dump-dom",
         probe.as_uri()], capture_output=True, text=True, timeout=180, check=False)
    found = re.search(r'<pre id="axe-report">(.*?)</pre>', result.stdout, re.DOTALL)
    assert found, f"axe-core wrote no report; chromium said: {result.stderr[-800:]}"
    return json.loads(html_lib.unescape(found[1]))


@pytest.mark.parametrize("width", [PHONE_PX, DESKTOP_PX])
@pytest.mark.parametrize("document", WEB, ids=ids(WEB))
def test_axe_core_finds_no_wcag21_aa_violation(built: Path, tmp_path: Path, document,
                                              width: int) -> None:
    report = run_axe(built / document.relative_path, width, tmp_path)
    assert "error" not in report, report.get("error")
    assert report["rules"] > 20, "axe-core ran almost no rules"
    assert report["violations"] == [], json.dumps(report["violations"], indent=1)
    assert report["scrollWidth"] <= report["width"], "the page scrolls sideways"
    assert report["focusOutline"] not in ("none", ""), "a focused link shows no outline"
    # Large print where the variant asks for it: its own body size target, in CSS px.
    assert report["bodyFontPx"] >= document.variant.min_body_pt * 96 / 72 - 0.1
    assert report["bodyFontPx"] >= 16


def test_web_pages_are_held_to_the_quality_gates(project: Path) -> None:
    """A variant whose contrast target no page meets: no web page is written."""
    variants = project / "variants.yaml"
    edit(variants, "    min_contrast: 7", "    min_contrast: 21")
    strict = next(d.variant.name for d in documents_of(project)
                  if d.variant.min_contrast == 21)
    proc = run_pipeline("build", "--profile", "web", "--variant", strict, project=project)
    assert_process_failed(proc, f"{strict}, web]", "below 21:1")
    assert not list((project / "output").rglob("*.html"))


def test_the_axe_harness_reports_violations_it_is_shown(built: Path, tmp_path: Path) -> None:
    """The checker is live: a copy of a web page with a picture's alt text removed
    and pale text added must fail the same run that passes the real pages."""
    page = built / WEB[0].relative_path
    broken = tmp_path / "broken.html"
    source = re.sub(r'(<img\b[^>]*?) alt="[^"]*"', r"\1", page.read_text(encoding="utf-8"),
                    count=1)
    broken.write_text(source.replace("</main>", '<p style="color:#ccc">Pale text</p></main>'),
                      encoding="utf-8")
    found = {v["id"] for v in run_axe(broken, DESKTOP_PX, tmp_path)["violations"]}
    assert {"image-alt", "color-contrast"} <= found, found


def test_the_repair_is_what_makes_weasyprints_tagging_whole(tmp_path: Path,
                                                            monkeypatch) -> None:
    """WeasyPrint's own output leaves the footer's marked content orphaned (the
    issue's finding); clinicprint.tagged_pdf.repair is what fixes it."""
    import clinicprint.tagged_pdf as tagged_pdf
    from clinicprint.render_html import render_html
    from clinicprint.render_pdf import render_pdf

    repair = tagged_pdf.repair
    document = SCREEN[0]
    monkeypatch.setattr(tagged_pdf, "repair", lambda data: data)
    raw = render_pdf(render_html(document, BRAND, LIBRARY.root), document, LIBRARY.root, BRAND).pdf
    (tmp_path / "raw.pdf").write_bytes(raw)
    (tmp_path / "repaired.pdf").write_bytes(repair(raw))

    def orphans(path: Path) -> int:
        pdf = read_tagged(path)
        return sum(1 for page, mcids in pdf.marked.items() for mcid in mcids
                   if (page, mcid) not in pdf.reached)

    assert orphans(tmp_path / "raw.pdf") > 0
    assert orphans(tmp_path / "repaired.pdf") == 0
    assert repair(raw) == repair(raw)  # reproducible bytes


def test_a_content_editors_new_handouts_get_accessible_editions(project: Path,
                                                                tmp_path: Path) -> None:
    """New handouts of every kind, without topics, through the real command: their
    screen PDFs pass pdfua and the walker, their web pages pass axe-core at phone width."""
    import factory
    from pdfua import validate

    added = factory.only_generated(project)
    proc = run_pipeline("build", "--profile", "screen", "--profile", "web", project=project)
    assert proc.returncode == 0, proc.stderr.decode()
    documents = [d for d in documents_of(project) if d.handout.id in added.values()
                 and d.profile.name in ("screen", "web")]
    assert {d.profile.name for d in documents} >= {"screen", "web"}
    for document in documents:
        path = project / "output" / document.relative_path
        if document.profile.writer == "web":
            report = run_axe(path, PHONE_PX, tmp_path)
            assert report.get("violations") == [], (document.label, report)
            continue
        report = validate(str(path))
        assert not [o for o in report.outcomes if o.skipped_reason], document.label
        assert not report.findings, [f.message for f in report.findings]
        pdf = read_tagged(path)
        assert all((page, mcid) in pdf.reached
                   for page, mcids in pdf.marked.items() for mcid in mcids), document.label
