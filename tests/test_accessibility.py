"""The accessible editions, checked by tools the project did not write.

- Screen PDFs (PDF/UA-1): the `pdfua` checker from PyPI, with a rule that crashes
  reported as a failure; and a structure walker on pikepdf (qpdf) that reads the
  page content streams and the structure tree itself.
- Web pages: axe-core (npm, package-lock.json) run in Debian's headless Chromium
  (driven by Playwright, one browser for the module) at a phone width and a desktop
  width, plus what a browser computes (reflow, large print, visible focus), plus a
  parse of the page for anything it would fetch.

Documents are those of the generated library (tests/library.py): every kind, variant
and language, so the checks do not grow with the clinic's handouts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pikepdf
import pytest

from clinicprint.content import Section, load_project
from clinicprint.reading_order import reading_order
from conftest import (LIBRARY, ROOT, assert_clean_failure, assert_process_failed, documents_of,
                      edit, run_cli, run_pipeline)
from library import load, write
from pdfread import squash, text_of, unhyphenate

DOCUMENTS = documents_of()
SCREEN = [d for d in DOCUMENTS if d.profile.pdf_variant == "pdf/ua-1"]
WEB = [d for d in DOCUMENTS if d.profile.writer == "web"]
BRAND = load_project(LIBRARY.root).brand
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"  # Debian's, never a downloaded browser
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# WCAG 1.4.10 reflow: 320 CSS px wide, no sideways scroll. (A headless Chromium window
# is never narrower than 500 px, so the viewport is set through Playwright instead.)
PHONE_PX, DESKTOP_PX = 320, 1280


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
    titles = [squash(section.title) for section in document.sections]
    if len(set(titles)) < len(titles):
        return  # titles that do not tell the sections apart cannot show their order
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
    path = project / "handouts" / f"{LIBRARY.discharges[0]}.yaml"
    data = load(path)
    data["sections"][1]["topic"] = "dessert"
    write(path, data)
    line = next(n for n, row in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if "dessert" in row)
    proc = run_pipeline("build", "--profile", "screen", project=project)
    assert_process_failed(proc, f"handouts/{path.name}:{line}:", "sections[1].topic",
                          "'dessert' is not a topic")
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


# What a browser computes, then axe-core's WCAG 2.1 A/AA rules, in the loaded page.
MEASURE = """async (tags) => {
  const metrics = {width: window.innerWidth,
                   scrollWidth: document.documentElement.scrollWidth,
                   bodyFontPx: parseFloat(getComputedStyle(document.body).fontSize)};
  const link = document.querySelector("main a");
  if (link) {
    link.focus();
    metrics.focusOutline = getComputedStyle(link).outlineStyle;
    link.blur();
  }
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                          resultTypes: ["violations"]});
  metrics.violations = result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" "))}));
  metrics.rules = result.passes.length + result.violations.length +
                  result.inapplicable.length;
  return metrics;
}"""


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, launched once for every page of this module."""
    sync_api = pytest.importorskip("playwright.sync_api")
    assert Path(CHROMIUM).is_file(), "Debian's chromium: scripts/system-deps.sh --test"
    assert AXE.is_file(), "axe-core is installed by `make test` (npm ci)"
    with sync_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=FLAGS)
        yield chromium
        chromium.close()


def run_axe(browser, page: Path, width: int) -> dict:
    """Open the page at `width` CSS px in a fresh context, add axe-core, read its report."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        tab = context.new_page()
        tab.goto(page.as_uri())
        tab.add_script_tag(path=str(AXE))
        return tab.evaluate(MEASURE, WCAG_AA)
    finally:
        context.close()


@pytest.fixture(scope="module")
def axe(browser):
    """run_axe, once per page and width however many tests read the report."""
    reports: dict[tuple[Path, int], dict] = {}

    def report(page: Path, width: int) -> dict:
        if (page, width) not in reports:
            reports[(page, width)] = run_axe(browser, page, width)
        return reports[(page, width)]

    return report


# Every page on a phone; on a desktop, one variant of each kind in the source language
# (what changes with the width is the layout, which the phone width strains most).
FIRST_VARIANT = next(iter(load_project(LIBRARY.root).variants))
AXE_RUNS = [(d, PHONE_PX) for d in WEB] + [
    (d, DESKTOP_PX) for d in WEB if d.language.source and d.variant.name == FIRST_VARIANT]
# Found when the phone width became a real 320 px (the old harness's headless window was
# 500 px wide): in large print, the phone numbers' unbreakable spans and the booking
# address run past a 320 px screen. A product bug, reported; strict, so the fix shows.
@pytest.mark.parametrize("document,width", AXE_RUNS,
                         ids=[f"{ids([d])[0]}-{w}" for d, w in AXE_RUNS])
def test_axe_core_finds_no_wcag21_aa_violation(built: Path, axe, document, width: int) -> None:
    report = axe(built / document.relative_path, width)
    assert report["width"] == width
    assert report["rules"] > 20, "axe-core ran almost no rules"
    assert report["violations"] == [], json.dumps(report["violations"], indent=1)
    assert report["focusOutline"] not in ("none", ""), "a focused link shows no outline"
    # Large print where the variant asks for it: its own body size target, in CSS px.
    assert report["bodyFontPx"] >= document.variant.min_body_pt * 96 / 72 - 0.1
    assert report["bodyFontPx"] >= 16


@pytest.mark.parametrize("document", WEB, ids=ids(WEB))
def test_web_page_does_not_scroll_sideways_on_a_phone(built: Path, axe, document) -> None:
    report = axe(built / document.relative_path, PHONE_PX)
    assert report["scrollWidth"] <= report["width"], "the page scrolls sideways"


def test_web_pages_are_held_to_the_quality_gates(project: Path) -> None:
    """A variant whose contrast target no page meets: no web page is written."""
    variants = project / "variants.yaml"
    edit(variants, "    min_contrast: 7", "    min_contrast: 21")
    strict = next(d.variant.name for d in documents_of(project)
                  if d.variant.min_contrast == 21)
    result = run_cli("build", "--profile", "web", "--variant", strict, "--handout",
                     LIBRARY.discharges[0], project=project)
    assert_clean_failure(result, f"{strict}, web]", "below 21:1")
    assert not list((project / "output").rglob("*.html"))


def test_the_axe_harness_reports_violations_it_is_shown(built: Path, browser,
                                                        tmp_path: Path) -> None:
    """The checker is live: a copy of a web page with a picture's alt text removed
    and pale text added must fail the same run that passes the real pages."""
    page = built / WEB[0].relative_path
    broken = tmp_path / "broken.html"
    source = re.sub(r'(<img\b[^>]*?) alt="[^"]*"', r"\1", page.read_text(encoding="utf-8"),
                    count=1)
    broken.write_text(source.replace("</main>", '<p style="color:#ccc">Pale text</p></main>'),
                      encoding="utf-8")
    found = {v["id"] for v in run_axe(browser, broken, DESKTOP_PX)["violations"]}
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
    monkeypatch.setattr(tagged_pdf, "repair", lambda data, passages=(): data)
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
                                                                browser) -> None:
    """Minimal handouts of every kind, without topics (tests/factory.py), built by the
    command in one variant: their screen PDFs pass pdfua and the walker, and their web
    pages pass axe-core at phone width."""
    import factory
    from pdfua import validate

    added = factory.only_generated(project)
    # --jobs 1: rendered in this process, where the renderer is already warm.
    result = run_cli("build", "--profile", "screen", "--profile", "web", "--variant",
                     FIRST_VARIANT, "--jobs", "1", project=project)
    assert result.exit_code == 0, result.output
    documents = [d for d in documents_of(project) if d.handout.id in added.values()
                 and d.profile.name in ("screen", "web") and d.variant.name == FIRST_VARIANT]
    assert {(d.handout.kind, d.profile.name) for d in documents} == {
        (kind, profile) for kind in added for profile in ("screen", "web")}
    for document in documents:
        path = project / "output" / document.relative_path
        if document.profile.writer == "web":
            report = run_axe(browser, path, PHONE_PX)
            assert report["violations"] == [], (document.label, report["violations"])
            continue
        report = validate(str(path))
        assert not [o for o in report.outcomes if o.skipped_reason], document.label
        assert not report.findings, [f.message for f in report.findings]
        pdf = read_tagged(path)
        assert all((page, mcid) in pdf.reached
                   for page, mcids in pdf.marked.items() for mcid in mcids), document.label
