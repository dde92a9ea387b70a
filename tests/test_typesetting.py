"""The typesetting rules (clinicprint/layout_gate.py, clinicprint/typesetting.py) and
the print-size gate's heading rule (clinicprint/gates.py), each planted on a copy of
the generated library and built through the real command (`build`, in this process):
the build must fail naming the rule. The shipped handouts pass them all (the build's
own gates); the generated library passes them too (the session's `built`).

What a planted defect needs is forced with the copy's stylesheets: the template keeps
runs whole and binds short words, so each test first undoes that, then narrows a box
until the line must break where a reader would trip.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import pytest

from clinicprint.content import load_project
from conftest import LIBRARY, assert_clean_failure, run_cli, with_languages
from library import load, write
from library_extra import handout_path

DISCHARGE = LIBRARY.discharges[0]
BROCHURE = LIBRARY.brochures[0]


def build(project: Path, handout: str, *args: str, variant: str = "general",
          profile: str = "office"):
    return run_cli("build", "--handout", handout, "--variant", variant, "--profile",
                   profile, *args, project=project)


def failed(result, *fragments: str) -> str:
    assert_clean_failure(result, *fragments)
    assert result.exit_code == 1, result.output
    return result.output


def append_css(project: Path, stylesheet: str, css: str) -> None:
    path = project / stylesheet
    path.write_text(path.read_text(encoding="utf-8") + "\n" + css + "\n", encoding="utf-8")


def any_reading_level(project: Path) -> None:
    """Long words are what hyphens and short lines need: the copy's reading-level
    targets are lifted so the layout gate, not the reading gate, is heard."""
    path = project / "variants.yaml"
    data = load(path)
    for variant in data["variants"].values():
        variant["reading_grade_max"] = 99
    write(path, data)


def add_section(project: Path, handout: str, section: dict) -> None:
    path = handout_path(project, handout)
    data = load(path)
    data["sections"].append(section)
    write(path, data)


# Runs a reader must find whole, each in a box too narrow for it and the words before
# it, and the width of that box (the template's spans that keep them whole undone; a
# word after the run, as the typesetting binds a block's short last word to the one
# before it).
PLANTED_RUNS = [
    ("phone number", "Call (555) 010-0199", "(555) 010-0199", "0.9in"),
    ("date", "On Nov 1, 2026", "Nov 1, 2026", "0.7in"),
    ("number with its unit", "Rest 100 hours daily", "100 hours", "0.75in"),
    ("email address", "Write spine-care@example.org", "spine-care@example.org", "2.1in"),
    ("web address", "See www.example.org/spine", "www.example.org/spine", "1.75in"),
]


def test_a_break_inside_a_run_kept_whole_fails(project: Path) -> None:
    """Phone number, date, time, number with its unit, email and web address (English:
    the language's units and month names come from languages.yaml)."""
    with_languages(project)
    add_section(project, DISCHARGE, {"id": "plant", "title": "Planted runs",
                                     "items": [text for _, text, _, _ in PLANTED_RUNS]})
    widths = "\n".join(f"#section-plant li:nth-child({n}) {{ width: {width}; }}"
                       for n, (*_, width) in enumerate(PLANTED_RUNS, 1))
    append_css(project, "styles/discharge.css",
               f"#section-plant .whole {{ white-space: normal !important; }}\n{widths}")
    output = failed(build(project, DISCHARGE, "--lang", "en"), "[TYPESET-KEEP-WHOLE]")
    for kind, _, run, _ in PLANTED_RUNS:
        assert f"{kind}, '{run}', is broken over two lines" in output, (kind, output)


def test_a_time_is_read_as_one_run_across_a_line_break(project: Path) -> None:
    """A time's minutes are two digits, which the typesetting always binds to the next
    word (no stylesheet can part "10:30" from "AM" on a page): the gate's reader of the
    PDF's lines is shown the break instead, in both languages' own patterns."""
    from clinicprint.typesetting import broken_across

    languages = load_project(with_languages(project)).languages
    for code in languages:
        assert broken_across("At 10:30", "AM sharp", languages[code]) == \
            [("time", "10:30 AM")], code
        assert broken_across("At 10:30 AM", "sharp", languages[code]) == [], code


def test_hyphens_past_the_limit_and_in_the_key_points_fail(project: Path) -> None:
    """Automatic hyphens in narrow boxes: more than two hyphenated line ends on a page,
    and one in the key points' box."""
    long_words = ["Unquestionably, extraordinarily uncomfortable circumstances",
                  "Considerable disappointment, unquestionably understandable"]
    any_reading_level(project)
    path = handout_path(project, DISCHARGE)
    data = load(path)
    data["sections"][0]["items"] = long_words  # the key points
    write(path, data)
    add_section(project, DISCHARGE, {"id": "plant", "title": "Planted words",
                                     "items": long_words * 3})
    append_css(project, "styles/discharge.css",
               "html { hyphens: auto !important; }\n"
               "p, li, li * { hyphens: auto !important; hyphenate-limit-zone: 0 !important;"
               " hyphenate-limit-chars: 6 3 3 !important; }\n"
               "#section-key-points li, #section-plant li { width: 0.8in; }")
    output = failed(build(project, DISCHARGE), "[TYPESET-HYPHENS-PAGE]",
                    "[TYPESET-HYPHEN-PLACE]", "hyphenated line ends", "in the key points")
    assert "page 1 has" in output, output


def test_a_line_holding_one_short_word_fails(project: Path) -> None:
    """A paragraph set so narrow that a three-letter word has a line to itself."""
    any_reading_level(project)
    add_section(project, DISCHARGE, {"id": "plant", "title": "Planted line",
                                     "body": "Extraordinarily the incomprehensible "
                                             "consequences."})
    append_css(project, "styles/discharge.css", "#section-plant p { width: 1.2in; }")
    failed(build(project, DISCHARGE), "'the' stands alone on a line", "[TYPESET-SHORT-LINE]")


def test_a_line_broken_before_it_is_full_fails(project: Path) -> None:
    """A word bound by a no-break space to a run that may not wrap (as a kept-whole
    phone number was bound): where the run starts the next line, WeasyPrint 70 breaks
    the words before it early (Pango keeps the text whole while its extents are a pixel
    wider than the room; clinicprint/line_fit.py mends it). The same item in boxes from
    1.6 to 2.6 in wide: some width in that range puts the run at a line's start whatever
    the fonts. Planted with WeasyPrint unmended, the gate names the line; mended, the
    same sheet builds."""
    item = "Do not drive, walk or drink for\u00a0**the rest of today**."
    add_section(project, DISCHARGE, {"id": "plant", "title": "Planted break",
                                     "items": [item] * 21})
    widths = "\n".join(f"#section-plant li:nth-child({n + 1}) {{ width: {1.6 + n / 20:.2f}in; }}"
                       for n in range(21))
    append_css(project, "styles/discharge.css",
               "#section-plant strong { white-space: nowrap; font-weight: normal; }\n"
               + widths)
    with unmended_weasyprint():
        failed(build(project, DISCHARGE), "a line breaks early on page",
               "[TYPESET-EARLY-BREAK]")
    result = build(project, DISCHARGE)
    assert result.exit_code == 0, result.output


@contextmanager
def unmended_weasyprint():
    """WeasyPrint's own split_first_line where layout calls it, for this block."""
    from clinicprint.weasyprint_import import import_weasyprint

    import_weasyprint()
    from weasyprint.layout import inline, preferred
    from weasyprint.text import line_break

    original = line_break.split_first_line.__wrapped__
    with pytest.MonkeyPatch.context() as patch:
        for module in (line_break, inline, preferred):
            patch.setattr(module, "split_first_line", original)
        yield


def test_a_draft_banner_over_the_page_fails(project: Path) -> None:
    """The draft mark of an unreviewed translation, moved down over the sheet's text."""
    with_languages(project)
    path = project / "translations" / "es" / f"{DISCHARGE}.yaml"
    data = load(path)
    data["review"] = {"reviewed_by": None, "reviewed_on": None}
    write(path, data)
    append_css(project, "styles/discharge.css",
               ".translation-mark { position: absolute !important; top: 1.2in; left: 0; "
               "right: 0; }")
    output = failed(build(project, DISCHARGE, "--lang", "es", "--allow-draft"),
                    "[TYPESET-STAMP-CLEAR]", "is printed over")
    assert "Draft translation, not reviewed" in output, output


def test_a_half_empty_panel_fails_reviewed_content_and_warns_for_a_draft(
        project: Path) -> None:
    """The same emptied panel: the English (reviewed) fails, an unreviewed Spanish
    translation builds with a warning naming the rule."""
    with_languages(project)
    path = project / "translations" / "es" / f"{BROCHURE}.yaml"
    data = load(path)
    data["review"] = {"reviewed_by": None, "reviewed_on": None}
    write(path, data)
    append_css(project, "styles/brochure.css", ".panel--back .section { display: none; }")
    failed(build(project, BROCHURE, "--lang", "en"), "panel 'back' is",
           "[LAYOUT-PANEL-FILL]")
    draft = build(project, BROCHURE, "--lang", "es", "--allow-draft")
    assert draft.exit_code == 0, draft.output
    assert "panel 'back' is" in draft.output and "[LAYOUT-PANEL-FILL]" in draft.output


def test_headings_not_clearly_larger_than_the_text_fail(project: Path) -> None:
    """Headings at the body size fail the 1.25 x rule of the print-size gate."""
    append_css(project, "styles/discharge.css",
               ".section h2, .variant-general .section h2 { font-size: 13pt !important; }")
    failed(build(project, DISCHARGE), "pt (1.25 x the 12 pt body text)", "[PRINT-HEADING]")


def test_a_small_language_notice_fails_the_body_size(project: Path) -> None:
    """The language-assistance notice is body text: at the footer's size it fails."""
    append_css(project, "styles/languages.css", ".language-help { font-size: 9pt; }")
    output = failed(build(project, DISCHARGE), "is 9 pt, below the 12 pt minimum",
                    "[PRINT-BODY]")
    named = re.search(r"body text '([^']+)' is 9 pt", output)
    english = next(n for n in load_project(project).notices if n.lang.startswith("en"))
    assert named and named[1] in english.line(load_project(project).brand.phone,
                                              load_project(project).brand.tty), output
