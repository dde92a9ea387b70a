"""The laid-out pages: panel geometry, pictures with alt text, icons and checklists."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from clinicprint.build import plan
from clinicprint.content import load_project
from clinicprint.layouts import PROFILES, trifold
from clinicprint.render_html import render_html
from clinicprint.render_pdf import lay_out
from conftest import LIBRARY

PROJECT = load_project(LIBRARY.root)
CSS_PX_PER_INCH = 96


class Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


def images_in(document) -> list[dict[str, str]]:
    parser = Images()
    parser.feed(render_html(document, PROJECT.brand, LIBRARY.root, notices=PROJECT.notices))
    return parser.images


def test_fold_in_panel_is_narrower_by_a_sixteenth_to_an_eighth() -> None:
    geometry = trifold(PROFILES["office"])
    assert geometry.sheet_width == 11 and geometry.sheet_height == 8.5
    assert sum(geometry.outside) == pytest.approx(11) == sum(geometry.inside)
    assert 1 / 16 <= geometry.full - geometry.fold_in <= 1 / 8


def test_rendered_panels_have_the_planned_widths() -> None:
    """Measured in WeasyPrint's layout, not taken from the CSS (the widths come from
    the paper alone: one brochure, one variant)."""
    document = plan(PROJECT, [LIBRARY.brochures[0]], profiles=["office"], langs=["en"])[0]
    html = render_html(document, PROJECT.brand, LIBRARY.root, notices=PROJECT.notices)
    pages = lay_out(html, document, LIBRARY.root, PROJECT.brand).pages
    widths = {}
    for page in pages:
        for name, (x1, _, x2, _) in page.anchors.items():
            if name.startswith("limit-"):
                widths[name[6:]] = (x1, x2)
    fold_in = (widths["fold-in"][1] - widths["fold-in"][0]) / CSS_PX_PER_INCH
    back = (widths["back"][1] - widths["back"][0]) / CSS_PX_PER_INCH
    inside_right = (widths["inside-right"][1] - widths["inside-right"][0]) / CSS_PX_PER_INCH
    inside_left = (widths["inside-left"][1] - widths["inside-left"][0]) / CSS_PX_PER_INCH
    assert 1 / 16 <= back - fold_in <= 1 / 8 + 1e-6
    assert inside_right == pytest.approx(fold_in)  # the back of the fold-in panel
    assert inside_left == pytest.approx(back)
    # Panels tile the sheet edge to edge with no gap.
    assert widths["fold-in"][0] == pytest.approx(0)
    assert widths["back"][0] == pytest.approx(widths["fold-in"][1])
    assert widths["cover"][1] / CSS_PX_PER_INCH == pytest.approx(11)
    assert pages[0].width / CSS_PX_PER_INCH == pytest.approx(11)


# Each language, handout and variant, in the printed template and the reading edition's.
@pytest.mark.parametrize("document", plan(PROJECT, profiles=["office", "screen"]),
                         ids=lambda d: d.label)
def test_every_image_has_alt_text(document) -> None:
    images = images_in(document)
    assert images, "expected at least the logo"
    for image in images:
        assert image.get("alt", "").strip(), f"{image.get('src')} has no alt text"


# The icons' alt text, in English; each document has it in its own language.
ICONS = {"call-clinic": "Telephone icon: call the clinic",
         "call-911": "Warning triangle icon: emergency, call {number}"}


@pytest.mark.parametrize("document", plan(PROJECT, profiles=["office"]),
                         ids=lambda d: d.label)
def test_call_boxes_have_distinct_icons_with_alt_text(document) -> None:
    """The two help boxes differ by icon and words, not colour alone."""
    html = render_html(document, PROJECT.brand, LIBRARY.root)
    for section in document.sections:
        if section.type in ICONS:
            box = html.split(f'id="section-{section.id}"')[1].split("</section>")[0]
            alt = box.split('class="icon"')[1].split('alt="')[1].split('"')[0]
            own = document.language.label(ICONS[section.type],
                                          number=PROJECT.brand.emergency_number)
            assert alt == own


@pytest.mark.parametrize("document", [d for d in plan(PROJECT, profiles=["office"])
                                      if d.handout.kind == "discharge"], ids=lambda d: d.label)
def test_discharge_has_tickable_checklists_and_write_in_lines(document) -> None:
    html = render_html(document, PROJECT.brand, LIBRARY.root)
    checklists = [s for s in document.sections if s.type == "checklist"]
    assert html.count('<ul class="checklist">') == len(checklists)
    write_ins = sum(len(s.items) for s in document.sections if s.type in ("write-in", "contacts"))
    assert html.count('class="write-in"') >= write_ins
    assert f'href="tel:{"".join(c for c in PROJECT.brand.phone if c.isdigit())}"' in html
