"""The laid-out pages: panel geometry, pictures with alt text, icons and checklists."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from clinicprint.build import plan
from clinicprint.content import load_project
from clinicprint.layouts import PROFILES, trifold
from clinicprint.render_html import render_html
from clinicprint.render_pdf import lay_out
from conftest import ROOT

PROJECT = load_project(ROOT)
CSS_PX_PER_INCH = 96


class Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


def images_in(handout: str, variant: str) -> list[dict[str, str]]:
    document = plan(PROJECT, [handout], [variant])[0]
    parser = Images()
    parser.feed(render_html(document, PROJECT.brand, ROOT))
    return parser.images


def test_fold_in_panel_is_narrower_by_a_sixteenth_to_an_eighth() -> None:
    geometry = trifold(PROFILES["office"])
    assert geometry.sheet_width == 11 and geometry.sheet_height == 8.5
    assert sum(geometry.outside) == pytest.approx(11) == sum(geometry.inside)
    assert 1 / 16 <= geometry.full - geometry.fold_in <= 1 / 8


@pytest.mark.parametrize("variant", ["general", "seniors-osteoporosis"])
def test_rendered_panels_have_the_planned_widths(variant: str) -> None:
    """Measured in WeasyPrint's layout, not taken from the CSS."""
    document = plan(PROJECT, ["vertebroplasty-brochure"], [variant])[0]
    pages = lay_out(render_html(document, PROJECT.brand, ROOT), document, ROOT, PROJECT.brand).pages
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


@pytest.mark.parametrize("document", plan(PROJECT), ids=lambda d: f"{d.handout.id}-{d.variant.name}")
def test_every_image_has_alt_text(document) -> None:
    images = images_in(document.handout.id, document.variant.name)
    assert images, "expected at least the logo"
    for image in images:
        assert image.get("alt", "").strip(), f"{image.get('src')} has no alt text"


def test_brochure_illustration_is_larger_and_simpler_for_seniors() -> None:
    general = [i["src"] for i in images_in("vertebroplasty-brochure", "general")]
    seniors = [i["src"] for i in images_in("vertebroplasty-brochure", "seniors-osteoporosis")]
    assert "assets/images/vertebroplasty-side-view.svg" in general
    assert "assets/images/vertebroplasty-simple.svg" in seniors
    simple = (ROOT / "assets/images/vertebroplasty-simple.svg").read_text()
    detailed = (ROOT / "assets/images/vertebroplasty-side-view.svg").read_text()
    assert simple.count("<text") < detailed.count("<text")  # fewer labels
    assert 'font-size="19"' in simple and 'font-size="16"' in detailed  # larger type


def test_discharge_call_lists_have_distinct_icons() -> None:
    for variant in PROJECT.variants:
        sources = {i["src"]: i["alt"] for i in images_in("vertebroplasty-discharge", variant)}
        assert "Telephone" in sources["assets/images/icon-call-clinic.svg"]
        assert "emergency" in sources["assets/images/icon-call-911.svg"]


def test_discharge_has_a_tickable_checklist_and_write_in_lines() -> None:
    document = plan(PROJECT, ["vertebroplasty-discharge"], ["general"])[0]
    html = render_html(document, PROJECT.brand, ROOT)
    assert html.count('<ul class="checklist">') == 1
    assert html.count('class="write-in"') >= 5
    assert 'href="tel:5550100100"' in html
