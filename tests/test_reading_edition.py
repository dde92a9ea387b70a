"""The reading editions (screen PDF, web page) as a reader meets them (issue 24).

- Screen PDFs: no page but the last less than a third full (layout gate rule
  READING-PAGE-FILL), proved by a page the test leaves nearly empty on purpose.
- Web pages: a drawing's labels are set in the page's own fonts, as Chromium reports
  the fonts it used for each label (DevTools protocol); every pictogram the print
  layout has, shown; no line to write on, the details named instead; the summary is
  not read twice above the key points.

Documents are the generated library's (tests/library.py), in both languages; the
pictures and pictograms in it are the project's own assets.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pikepdf
import pytest

from clinicprint.content import load_project
from clinicprint.reading_order import reading_order
from clinicprint.render_html import render_html
from conftest import LIBRARY, assert_clean_failure, documents_of, run_cli
from pdfread import squash, text_of, text_of_file, unhyphenate

CHROMIUM = "/usr/bin/chromium"  # Debian's, never a downloaded browser
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE_PX = 320
DOCUMENTS = documents_of()
FIRST_VARIANT = next(iter(load_project(LIBRARY.root).variants))


def editions(kind: str, profile: str) -> list:
    """The generated library's documents of a kind in one profile, in one variant and
    every language."""
    return [d for d in DOCUMENTS if d.handout.kind == kind and d.profile.name == profile
            and d.variant.name == FIRST_VARIANT]


def ids(documents) -> list[str]:
    return [f"{d.language.code}-{d.handout.id}" for d in documents]


# --- screen PDFs: READING-PAGE-FILL --------------------------------------------------

def test_a_screen_page_left_mostly_empty_fails_the_build_naming_the_rule(
        project: Path) -> None:
    """A designer's page breaks leave one short section alone on a page (the defect
    the issue found: a section kept whole pushed to the next page); the last page,
    holding only the last section, may be short. The web page has no pages."""
    document = next(d for d in editions("brochure", "screen") if d.language.source)
    order = reading_order(document.sections)
    # The shortest section of text between the first and the last, alone on a page.
    middle = [s for s in order[1:-2] if not s.figure]
    alone = min(middle, key=lambda s: len(s.title + (s.body or "") + "".join(
        str(item) for item in s.items or ())))
    pushed, last = order[order.index(alone) + 1], order[-1]
    stylesheet = project / "styles" / "reading.css"
    stylesheet.write_text(stylesheet.read_text(encoding="utf-8") + (
        f"\n#section-{alone.id} {{ break-before: page; break-after: page; }}"
        f"\n#section-{last.id} {{ break-before: page; }}\n"), encoding="utf-8")
    result = run_cli("build", "--handout", document.handout.id, "--variant",
                     document.variant.name, "--profile", "screen", "--profile", "web",
                     project=project)
    assert_clean_failure(result, "READING-PAGE-FILL: page",
                         f"the next page starts with '{pushed.title}'")
    pages = {int(page): int(total) for page, total
             in re.findall(r"READING-PAGE-FILL: page (\d+) of (\d+)", result.output)}
    assert all(page < total for page, total in pages.items()), result.output
    assert not list((project / "output").rglob("*.pdf"))
    assert list((project / "output").rglob("*.html")), "the web page has no pages to fill"


# --- web pages in Chromium --------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    assert Path(CHROMIUM).is_file(), "Debian's chromium: scripts/system-deps.sh --test"
    with sync_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def open_page(browser):
    """A web page open at a phone's width, fonts loaded: opened once for the module
    (the tests only read it)."""
    tabs: dict[Path, object] = {}

    def opened(path: Path):
        if path not in tabs:
            context = browser.new_context(viewport={"width": PHONE_PX, "height": 900})
            tabs[path] = context.new_page()
            tabs[path].goto(path.as_uri())
            tabs[path].evaluate("document.fonts.ready.then(() => true)")
        return tabs[path]

    yield opened
    for tab in tabs.values():
        tab.context.close()


# The fonts the page itself carries (its @font-face rules), and for each label of each
# drawing in the page, the fonts Chromium used to draw it (not what CSS asked for).
PAGE_FONTS = """() => [...document.fonts].filter((f) => f.status === "loaded")
                                         .map((f) => f.family.replace(/"/g, ""))"""


def fonts_used(tab, selector: str) -> list[list[tuple[str, bool]]]:
    cdp = tab.context.new_cdp_session(tab)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    nodes = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector})["nodeIds"]
    return [[(font["familyName"], font["isCustomFont"])
             for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]]
            for node in nodes]


@pytest.mark.parametrize("document", editions("brochure", "web"),
                         ids=ids(editions("brochure", "web")))
def test_a_drawings_labels_are_set_in_the_pages_own_fonts(built: Path, open_page,
                                                          document) -> None:
    figure = next(section.figure for section in document.sections if section.figure)
    tab = open_page(built / document.relative_path)
    drawing = tab.locator("figure svg")
    assert drawing.count() == 1, "the figure is not in the page as a drawing"
    assert drawing.get_attribute("role") == "img"
    assert drawing.get_attribute("aria-label") == figure.alt
    assert tab.locator("figure svg title, figure svg desc").count() == 0, "read twice"
    assert drawing.bounding_box()["width"] > PHONE_PX / 2
    page_fonts = set(tab.evaluate(PAGE_FONTS))
    labels = fonts_used(tab, "figure svg text")
    assert labels, "the drawing has no labels to check"
    for fonts in labels:
        assert fonts and all(custom and family in page_fonts for family, custom in fonts), \
            f"a label drawn in {fonts}; the page carries {sorted(page_fonts)}"


@pytest.mark.parametrize("document", editions("discharge", "web") + editions("brochure", "web"),
                         ids=ids(editions("discharge", "web") + editions("brochure", "web")))
def test_every_pictogram_of_the_print_layout_is_shown(built: Path, open_page,
                                                      document) -> None:
    icons = [icon for section in document.sections for icon in section.icons]
    assert icons, "the generated handout has pictograms"
    tab = open_page(built / document.relative_path)
    for icon in icons:
        shown = tab.locator(f'main img[alt="{icon.alt}"]')
        assert shown.count() == 1, icon.alt
        assert shown.evaluate("(img) => img.complete && img.naturalWidth > 0"), icon.alt
        assert shown.bounding_box()["width"] >= 48, "a pictogram smaller than half an inch"


@pytest.mark.parametrize("document", editions("discharge", "web"),
                         ids=ids(editions("discharge", "web")))
def test_a_web_page_has_no_line_to_write_on_and_names_each_detail(built: Path, open_page,
                                                                 document) -> None:
    """A bottom rule with nothing on it is a line to write on: none in the page; each
    write-in label is named in words, without the colon that asks for a value."""
    tab = open_page(built / document.relative_path)
    lines = tab.evaluate("""() => [...document.querySelectorAll("main *")].filter((e) => {
        const s = getComputedStyle(e);
        return parseFloat(s.borderBottomWidth) > 0 && s.borderBottomStyle !== "none"
               && parseFloat(s.borderTopWidth) === 0; }).map((e) => e.outerHTML.slice(0, 80))""")
    assert lines == []
    text = text_of_file(built / document.relative_path)
    for label in written_labels(document):
        assert label.rstrip(":") in text and label not in text, label


@pytest.mark.parametrize("document", editions("discharge", "screen"),
                         ids=ids(editions("discharge", "screen")))
def test_a_screen_pdf_names_each_detail_and_shows_each_pictogram(built: Path,
                                                                 document) -> None:
    path = built / document.relative_path
    text = unhyphenate(text_of(path))
    for label in written_labels(document):
        assert squash(label.rstrip(":")) in text and squash(label) not in text, label
    with pikepdf.open(path) as pdf:
        alts = {str(element.get("/Alt")) for element in _elements(pdf.Root.StructTreeRoot)
                if element.get("/S") == "/Figure"}
    assert {icon.alt for section in document.sections for icon in section.icons} <= alts


def written_labels(document) -> list[str]:
    """The labels of the lines a care team writes on (write-in and contact sections)."""
    labels = [label for section in document.sections
              if section.type in ("write-in", "contacts") for label in section.items]
    assert labels, "the generated discharge has write-in lines"
    return labels


def _elements(node):
    kids = node.get("/K")
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield kid
            yield from _elements(kid)


# --- the summary is not read twice ------------------------------------------------------

@pytest.mark.parametrize("document", editions("brochure", "screen") + editions("brochure", "web"),
                         ids=[f"{d.profile.name}-{i}" for d, i in zip(
                             editions("brochure", "screen") + editions("brochure", "web"),
                             ids(editions("brochure", "screen") + editions("brochure", "web")))])
def test_the_key_points_follow_the_title_without_the_summary_above_them(
        built: Path, document) -> None:
    """The generated brochure's first key point is its summary, word for word (as the
    Spanish seniors brochure's was): between the subtitle and the key points'
    heading, nothing."""
    text = unhyphenate(text_of_file(built / document.relative_path))
    key_points = reading_order(document.sections)[0]
    assert key_points.type == "key-points" and document.summary
    start = text.index(squash(document.subtitle)) + len(squash(document.subtitle))
    assert text[start:text.index(squash(key_points.title), start)].strip() == ""


def test_a_summary_leads_where_no_key_points_follow() -> None:
    document = editions("brochure", "web")[0]
    without = dataclasses.replace(document, sections=tuple(
        section for section in document.sections if section.type != "key-points"))
    project = load_project(LIBRARY.root)
    html = render_html(without, project.brand, LIBRARY.root, notices=project.notices)
    assert squash(document.summary) in squash(re.sub(r"<[^>]+>", " ", html))


def test_only_a_plain_drawing_goes_into_the_page_and_its_ids_stay_its_own(
        tmp_path: Path) -> None:
    """Two drawings with words and the same gradient id: each keeps its own; one that
    carries a script stays a picture (a browser never runs a picture's script)."""
    from clinicprint.web_edition import web_page

    labelled = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><title>T</title>'
                '<linearGradient id="g"/><rect fill="url(#g)" width="9" height="9"/>'
                '<text x="1" y="9">{}</text>{}</svg>')
    (tmp_path / "a.svg").write_text(labelled.format("One", ""), encoding="utf-8")
    (tmp_path / "b.svg").write_text(labelled.format("Two", ""), encoding="utf-8")
    (tmp_path / "c.svg").write_text(labelled.format("Three", "<script>alert(1)</script>"),
                                    encoding="utf-8")
    html = "".join(f'<figure><img src="{name}.svg" alt="Drawing &amp; {name}"></figure>'
                   for name in "abc")
    page, inputs = web_page(html, tmp_path, "test page")
    page = page.decode("utf-8")
    assert page.count("<svg") == 2 and 'aria-label="Drawing &amp; a"' in page
    assert 'id="figure1-g"' in page and 'url(#figure2-g)' in page and "<title>" not in page
    assert "<script" not in page and 'alt="Drawing &amp; c"' in page
    assert "data:image/svg+xml;base64," in page
    assert set(inputs) == {"a.svg", "b.svg", "c.svg"}
