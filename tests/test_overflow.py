"""Overflow anywhere is an error, and a content editor's loop converges: every panel of
a generated brochure that overflows is reported in one run, with its size; the
discharge sheet past its last page names the section; `build --no-gates` writes the
overflowing layout marked NOT FOR PRINT; a failed build keeps the last good file but
drops it from the manifest; runaway text fails before anything is laid out.
Real layouts, read back from WeasyPrint and from the PDF (PDFium)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path

import pytest

from clinicprint.build import plan
from clinicprint.content import load_project
from clinicprint.layouts import KINDS, PROFILES
from clinicprint.render_html import NOTICE_PANELS, render_html
from clinicprint.render_pdf import render_pdf
from conftest import LIBRARY, assert_process_failed, run_cli, run_pipeline
from library import load, write
from library_extra import handout_path
from pdfread import page_texts

BROCHURE = KINDS["brochure"]
BROCHURE_NAME = LIBRARY.brochures[0]
DISCHARGE_NAME = LIBRARY.discharges[0]
LONG_ITEM = "Walk a little more each day, and rest when your back feels tired."
SHORT_ITEM = "Rest today."  # one line in every panel
SUMMARY_WORDS = ("Walk a bit each day and rest when you need to. " * 12).split()
SIZE = re.compile(r"panel '([a-z-]+)' overflows (?:by (\d+) pt|onto another page)")


def brochure_profiles() -> list[str]:
    """The profiles with panels: the reading edition (screen, web) is one column."""
    return [name for name in BROCHURE.profiles if not PROFILES[name].reading_edition]


def lay_out(project: Path, handout: str, profile: str = "office", variant: str = "general"):
    """The document laid out as the build does it, its overflow problems kept rather than
    raised (Rendered.layout_problems), so that each try is one render."""
    loaded = load_project(project)
    document = plan(loaded, [handout], [variant], [profile])[0]
    html = render_html(document, loaded.brand, project, notices=loaded.notices)
    return render_pdf(html, document, project, loaded.brand, layout_checks=False)


def last_section_of(data: dict, panel: str) -> dict:
    return [s for s in data["sections"] if s.get("panel") == panel][-1]


def overfill_every_panel(project: Path) -> None:
    """Far too much in every panel: long items under each panel's last section, and a
    summary the cover cannot hold."""
    path = handout_path(project, BROCHURE_NAME)
    data = load(path)
    for panel in BROCHURE.section_panels:
        last_section_of(data, panel)["items"] = [LONG_ITEM] * 25
    data["summary"] = " ".join(SUMMARY_WORDS)[:600]
    write(path, data)


def reported_panels(problems) -> dict[str, int | None]:
    """{panel: its overflow in points, or None when it ran onto another page}."""
    found: dict[str, int | None] = {}
    for problem in problems:
        for panel, points in SIZE.findall(problem):
            assert panel not in found, f"panel '{panel}' reported twice: {problems}"
            found[panel] = int(points) if points else None
    return found


# --- every panel at once, with its size ----------------------------------------------

def test_every_panel_a_line_too_full_is_reported_at_once_with_its_size(
        project: Path) -> None:
    """Each panel is filled, a line at a time (one search per panel, all at once), until
    it just overflows; one layout then reports every panel, each by a few points (one
    short line, never 0 pt). While the cover's summary fits, it stays above the
    tagline (fixed at the foot of the cover)."""
    # The notice's panels are left as they are: the notice goes in the emptier one.
    panels = [p for p in BROCHURE.section_panels if p not in NOTICE_PANELS] + ["cover"]
    fits = {panel: 0 for panel in panels}
    over = {panel: 30 for panel in panels}  # a section's most items
    over["cover"] = len(" ".join(SUMMARY_WORDS)[:600].split())
    path = handout_path(project, BROCHURE_NAME)
    original = load(path)

    def try_sizes(sizes: dict[str, int]):
        data = copy.deepcopy(original)
        for panel, count in sizes.items():
            if panel == "cover":
                data["summary"] = " ".join([original["summary"], *SUMMARY_WORDS[:count]])
            elif count:  # a section of its own at the foot of the panel
                data["sections"].append({"id": f"more-{panel}", "panel": panel,
                                         "title": "More", "items": [SHORT_ITEM] * count})
        write(path, data)
        rendered = lay_out(project, BROCHURE_NAME)
        return reported_panels(rendered.layout_problems), rendered

    found, _ = try_sizes(over)
    assert set(found) == set(panels), found
    while any(over[p] - fits[p] > 1 for p in panels):
        middle = {p: (fits[p] + over[p]) // 2 for p in panels}
        found, rendered = try_sizes(middle)
        for panel in panels:
            (over if panel in found else fits)[panel] = middle[panel]
        if "cover" not in found:
            bottom, tagline = text_bottom_and_fixed_top(rendered.layout, "cover")
            assert bottom <= tagline + 0.5, (middle["cover"], bottom, tagline)
    # Each panel was seen to fit with a line less (panels are laid out independently).
    found, _ = try_sizes(over)
    assert set(found) == set(panels), found
    for panel, points in found.items():
        # One short line (or a word of the summary) too many: a line's height at most.
        assert points is not None and 1 <= points <= 30, (panel, points)


def text_bottom_and_fixed_top(laid_out, panel: str) -> tuple[float, float]:
    """The lowest flowing text in the panel, and the top of its fixed-position content."""
    from clinicprint.box_tree import descendants, page_boxes
    from clinicprint.render_pdf import _panel_name, _placed_in

    for _, box, _ in page_boxes(laid_out):
        if _panel_name(box) == panel:
            fixed = list(_placed_in(box))
            inside_fixed = {id(b) for inner in fixed for b in descendants(inner)}
            texts = [b for b in descendants(box) if getattr(b, "text", "").strip()
                     and id(b) not in inside_fixed]
            return (max(b.position_y + b.height for b in texts),
                    min(inner.border_box_y() for inner in fixed))
    raise AssertionError(f"no panel {panel}")


@pytest.mark.parametrize("profile", [p for p in brochure_profiles() if p != "office"])
def test_every_overfilled_panel_is_named_in_each_paper_and_press(project: Path,
                                                                  profile: str) -> None:
    """The other geometries (A4 panels, the press sheet's bleed): all six panels at once.
    (US Letter is the editor's loop below, through the real command.)"""
    overfill_every_panel(project)
    problems = lay_out(project, BROCHURE_NAME, profile).layout_problems
    found = reported_panels(problems)
    assert set(found) == set(BROCHURE.panels), problems
    assert all(points is None or points >= 1 for points in found.values()), found
    assert all(f"{BROCHURE_NAME} [general, {profile}]" in p for p in problems)


# --- the editor's loop, through the real command ---------------------------------------

def test_editors_loop_every_panel_at_once_then_not_for_print(project: Path) -> None:
    """A brochure that built, then overfilled in every panel: one run names every panel
    (one line each, with its size where it stays on its page, never 0 pt), keeps the last
    good file but drops it from the manifest; `--no-gates` writes the overflowing layout
    with NOT FOR PRINT on every page, read back by PDFium."""
    args = ("build", "--handout", BROCHURE_NAME, "--variant", "general",
            "--profile", "office")
    first = run_cli(*args, project=project)  # in this process: one document
    assert first.exit_code == 0, first.output
    relative = f"office/{BROCHURE_NAME}/general.pdf"
    pdf = project / "output" / relative
    good = pdf.read_bytes()

    overfill_every_panel(project)
    failed = run_pipeline(*args, project=project)
    err = assert_process_failed(failed, "shorten")
    lines = [line for line in err.splitlines() if f"{BROCHURE_NAME} [general, office]" in line]
    found = reported_panels(lines)
    assert set(found) == set(BROCHURE.panels), err
    assert len(lines) == len(found), err  # one line per panel, nothing else
    assert "by 0 pt" not in err
    assert pdf.read_bytes() == good  # the last good file stays...
    manifest = json.loads((project / "output/manifest.json").read_text())["documents"]
    assert relative not in [entry["path"] for entry in manifest]  # ...but is not listed
    check = run_cli(*args, "--check", project=project)
    assert check.exit_code == 1, check.output  # CI sees it as not built

    forced = run_cli(*args, "--no-gates", project=project)
    assert forced.exit_code == 0, forced.output
    warned = forced.output
    assert set(reported_panels(warned.splitlines())) == set(BROCHURE.panels), warned
    assert warned.count("[written anyway by --no-gates, marked NOT FOR PRINT]") == \
        len(BROCHURE.panels)
    written = pdf.read_bytes()
    assert written != good
    pages = page_texts(pdf)
    assert all("NOT FOR PRINT" in text for text in pages), "unmarked page"
    assert len(pages) == 2, "the notice stays in its panel, not on a sheet of its own"
    manifest = json.loads((project / "output/manifest.json").read_text())["documents"]
    entry = next(entry for entry in manifest if entry["path"] == relative)
    assert entry["sha256"] == hashlib.sha256(written).hexdigest()
    assert entry["gates"] is None  # the proof page says the gates were not run


# --- pages -----------------------------------------------------------------------------

def test_discharge_past_its_last_page_fails_naming_the_section(project: Path) -> None:
    path = handout_path(project, DISCHARGE_NAME)
    data = load(path)
    data["sections"] += [{"id": f"more-{n}", "title": f"More {n}", "body": LONG_ITEM * 16}
                         for n in range(14)]
    write(path, data)
    loaded = load_project(project)
    variant = next(iter(loaded.variants.values()))
    problems = lay_out(project, DISCHARGE_NAME, variant=variant.name).layout_problems
    limit = variant.max_pages["discharge"]
    pages = [p for p in problems if f"more than the {limit} allowed" in p]
    assert len(pages) == 1, problems
    assert f"{DISCHARGE_NAME} [{variant.name}, office]" in pages[0]
    assert re.search(r"section 'more-\d+' runs past page \d+: shorten the content", pages[0])


# --- runaway text ----------------------------------------------------------------------

def test_runaway_text_fails_in_one_line_naming_file_and_key(project: Path) -> None:
    """Every text of the content format has a limit, alt text included, and so has a
    word: a 166,000-character alt text, a 3,000-character word (longer than any text
    may be) and a 300-character word in a short paragraph each fail at once, one line
    each naming the file, line and key, without repeating the text; nothing is laid out
    or written."""
    path = handout_path(project, BROCHURE_NAME)
    data = load(path)
    figure = next(i for i, s in enumerate(data["sections"]) if "figure" in s)
    data["sections"][figure]["figure"]["alt"] = ("A drawing of the spine. " * 6917)[:166_000]
    body, other = [i for i, s in enumerate(data["sections"]) if "body" in s][:2]
    data["sections"][body]["body"] = "a" * 3000  # one word, over a body's limit
    data["sections"][other]["body"] = "Rest " + "b" * 300 + " today."  # a short body
    write(path, data)
    proc = run_pipeline("build", "--handout", BROCHURE_NAME, project=project, timeout=60)
    err = assert_process_failed(proc)
    lines = err.splitlines()
    where = f"handouts/{BROCHURE_NAME}.yaml:"
    alt, word, long_word = ([line for line in lines if f"sections[{index}].{key}:" in line]
                            for index, key in ((figure, "figure.alt"), (body, "body"),
                                               (other, "body")))
    assert len(lines) == 3, err  # one line each, and nothing else
    assert len(alt) == 1 and where in alt[0], err
    assert "166000 characters, more than the 600 allowed; shorten it" in alt[0]
    assert len(word) == 1 and where in word[0], err
    assert "3000 characters, more than the 2000 allowed" in word[0]
    assert len(long_word) == 1 and where in long_word[0], err
    assert "has a word of 300 characters, more than the 40 a line can hold" in long_word[0]
    assert all(len(line) < 200 for line in lines), "a message repeats the text"
    assert not (project / "output").exists() or not any((project / "output").rglob("*.pdf"))
