"""The layout gate (clinicprint/layout_gate.py), measured on real PDFs.

Each check is fed a failing case in a copy of the generated library and run through
the real command (`build`, in this process); documents, variants and sections are the
generated library's, chosen by what a check needs. PDFium reads the PDFs back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import LIBRARY, assert_clean_failure, documents_of, edit, run_cli
from library import load, write
from library_extra import handout_path

from clinicprint.content import load_project
from clinicprint.layout_gate import check_layout_quality, pdf_lines
from clinicprint.layouts import KINDS
from clinicprint.render_html import render_html
from clinicprint.render_pdf import render_pdf

PROJECT = load_project(LIBRARY.root)


def library_document(kind: str, *, profile: str = "office", variant=None):
    """The generated library's English document of a kind in one profile (in a variant
    meeting a test's need, e.g. large print)."""
    return next(document for document in documents_of()
                if document.handout.kind == kind and document.profile.name == profile
                and document.language.source
                and (variant is None or variant(document.variant)))


def build_one(project: Path, document):
    """`pipeline.py build` of one document; one document is rendered in this process."""
    return run_cli("build", "--handout", document.handout.id, "--variant",
                   document.variant.name, "--profile", document.profile.name,
                   project=project)


def assert_build_failed(result, *fragments: str) -> None:
    assert_clean_failure(result, *fragments)
    assert result.exit_code == 1, result.output


def append_css(project: Path, stylesheet: str, css: str) -> None:
    path = project / stylesheet
    path.write_text(path.read_text(encoding="utf-8") + "\n" + css + "\n", encoding="utf-8")


def measure(document):
    html = render_html(document, PROJECT.brand, LIBRARY.root, notices=PROJECT.notices)
    rendered = render_pdf(html, document, LIBRARY.root, PROJECT.brand)
    return check_layout_quality(document, html, rendered.layout, rendered.pdf)


# --- the generated library passes --------------------------------------------------
# The build (the session's `built`) holds every document to the gate's failures. Here:
# what the gate measured, for every brochure, and that it found every heading.

def test_every_brochure_panel_is_measured_for_the_proof_page(built: Path) -> None:
    """Panel fullness (advice on the proof page) is in the manifest for every printed
    brochure, in every language and paper: each panel that holds sections."""
    panels = set(KINDS["brochure"].section_panels)
    entries = [entry for entry in json.loads((built / "manifest.json").read_text())["documents"]
               if entry["profile"] in ("office", "office-a4", "press")
               and entry["handout"] in LIBRARY.brochures]
    assert len({entry["lang"] for entry in entries}) == 2, entries
    for entry in entries:
        fullness = entry["gates"]["panels"]
        assert set(fullness) == panels, (entry["path"], fullness)
        assert all(0 < share <= 1 for share in fullness.values()), (entry["path"], fullness)


@pytest.mark.parametrize("kind", ["brochure", "discharge"])
def test_the_gate_finds_every_heading_of_a_passing_document(kind: str) -> None:
    # Large print: the discharge sheet that runs over most pages.
    document = library_document(kind, variant=lambda v: v.min_write_line_in > 0)
    findings = measure(document)
    assert not findings.failures, findings.failures
    assert len(findings.headings) >= len(document.sections)


# --- failing cases -------------------------------------------------------------

def allow_pages(project: Path, pages: int) -> None:
    """Raise every variant's page limit in the copy, so that the layout gate, not
    the page limit, is what a test hears from."""
    path = project / "variants.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for variant in data["variants"].values():
        variant["max_pages"] = {kind: pages for kind in KINDS}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")


def give_own_items(project: Path, handout: str, section_id: str, items: list[str]) -> None:
    """Replace a section's items in the copy, wherever the handout defines it (shared,
    or added by a variant)."""
    path = handout_path(project, handout)
    data = load(path)
    added = [s for o in data.get("overrides", {}).values() for s in o.get("add", [])]
    next(s for s in [*data["sections"], *added] if s["id"] == section_id)["items"] = items
    write(path, data)


def test_a_heading_left_at_the_foot_of_a_page_fails(project: Path) -> None:
    """Forcing a page break after a heading leaves it alone at the foot of a page
    (a single-column sheet: the large-print one, which may have more pages)."""
    document = library_document("discharge", variant=lambda v: v.min_write_line_in > 0)
    section = next(s for s in document.sections if s.items and s.type == "text" and not s.icons)
    # The gate knows a section's lines by their words: give it words of its own.
    give_own_items(project, document.handout.id, section.id,
                   ["Hold the rail on the stairs.", "Wear shoes that grip the floor.",
                    "Keep a light on at night."])
    allow_pages(project, 8)
    append_css(project, "styles/discharge.css",
               f"#section-{section.id} h2 {{ break-after: page !important; }}")
    proc = build_one(project, document)
    assert_build_failed(proc, f"heading '{section.title}' is at the foot of its page",
                          f"section '{section.title}' is split over a column or page with 0 "
                          "line(s) before the break")


def test_a_footer_that_leaves_one_word_alone_fails(project: Path) -> None:
    document = library_document("brochure")
    label = document.variant.label
    edit(project / "variants.yaml", f"label: {label}", "label: Everyone")
    append_css(project, "styles/brochure.css",
               ".panel-footer { width: 1.5in !important; padding: 0 !important; }")
    proc = build_one(project, document)
    assert_build_failed(proc, "the footer wraps and leaves 'Everyone' alone on a line")


def test_a_heading_that_leaves_one_word_alone_fails(project: Path) -> None:
    """Without the template's no-break space between the last two words, a narrow
    heading leaves its last word alone; with it (the shipped templates), it does not.
    (Words of four letters and more, and a last word longer than the typesetting's
    own binding takes: clinicprint/typesetting.py binds shorter ones in any case.)"""
    document = library_document("brochure")
    section = next(s for s in document.sections if s.panel and s.body)
    handout = project / "handouts" / document.handout.path.name
    edit(handout, f"title: {section.title}\n", "title: Aaaa bbbb cccccccc\n")
    append_css(project, "styles/brochure.css",
               f"#section-{section.id} h2 {{ width: 1.5in; }}")
    passing = build_one(project, document)
    assert passing.exit_code == 0, passing.output
    edit(project / "templates/macros.html", "{{ s.title|keep_last_words }}", "{{ s.title }}")
    proc = build_one(project, document)
    assert_build_failed(proc, "heading 'Aaaa bbbb cccccccc' leaves 'cccccccc' alone on its last line")


def test_colour_at_the_paper_edge_fails_for_desk_printers(project: Path) -> None:
    document = library_document("brochure", profile="office")
    append_css(project, "styles/brochure.css",
               ".profile-office .bg--tint { left: 0 !important; top: 0 !important; }")
    proc = build_one(project, document)
    assert_build_failed(proc, "is printed 0.00 in from the paper's edge",
                          "office printers need 0.25 in clear")


def test_small_headings_fail_the_large_print_target(project: Path) -> None:
    document = library_document("discharge", variant=lambda v: v.min_heading_pt > 0)
    variant = document.variant
    append_css(project, variant.stylesheet,
               "h2, .panel h2, .section h2 { font-size: 15pt !important; }")
    proc = build_one(project, document)
    assert_build_failed(proc, "pt, below the", f"{variant.min_heading_pt:g} pt minimum for "
                          f"{variant.name}")


def test_short_write_in_lines_fail_the_large_print_target(project: Path) -> None:
    document = library_document("discharge", variant=lambda v: v.min_write_line_in > 0)
    variant = document.variant
    allow_pages(project, 8)
    append_css(project, variant.stylesheet,
               ".write-in .line { min-width: 0 !important; }\n"
               ".write-in { width: 2.5in !important; }")
    proc = build_one(project, document)
    assert_build_failed(proc, f"in long, shorter than the {variant.min_write_line_in:g} in "
                          f"minimum for {variant.name}")


def test_crowded_write_in_lines_fail_the_large_print_target(project: Path) -> None:
    document = library_document("discharge", variant=lambda v: v.min_write_gap_in > 0)
    variant = document.variant
    append_css(project, variant.stylesheet,
               ".write-in .line { height: 0.25in !important; }\n"
               ".write-in { margin-bottom: 0 !important; }")
    proc = build_one(project, document)
    assert_build_failed(proc, f"in apart, closer than the {variant.min_write_gap_in:g} in "
                          f"minimum for {variant.name}")


# --- what the measurements are made of ---------------------------------------------

def test_pdf_lines_are_read_with_positions_from_the_trim_box(built: Path) -> None:
    """Press PDFs have bleed and marks around the trim: positions start at the trim."""
    press = library_document("brochure", profile="press")
    office = next(d for d in documents_of() if d.handout.id == press.handout.id
                  and d.variant.name == press.variant.name and d.profile.name == "office"
                  and d.language.source)
    lines = {}
    for document in (press, office):
        lines[document.profile.name], _ = pdf_lines((built / document.relative_path).read_bytes())
    title = next(line for line in lines["press"] if line.text == press.title)
    same = next(line for line in lines["office"] if line.text == office.title)
    # The same title sits at the same place on the trimmed sheet (within the office
    # profile's white frame, which moves the cover's text in by a fraction of an inch).
    assert abs(title.x0 - same.x0) < 0.5 * 72 and abs(title.top - same.top) < 0.5 * 72


def test_text_printed_over_other_text_fails(project: Path) -> None:
    document = library_document("brochure")
    # The tagline, pulled up over the lines above it.
    append_css(project, "styles/brochure.css",
               ".cover-tagline { position: static !important; margin-top: -1.6em !important;"
               " padding: 0 !important; border: 0 !important; }")
    proc = build_one(project, document)
    assert_build_failed(proc, "are printed over each other on page 1")
