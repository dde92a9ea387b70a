"""Quality gates: each fed a failing case in a project copy, and the shipped content passing."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from conftest import assert_clean_failure, edit, pdfs_in, run_cli

DISCHARGE = "handouts/vertebroplasty-discharge.yaml"
BROCHURE = "handouts/vertebroplasty-brochure.yaml"


def check(project: Path | None, *args: str):
    return run_cli("check", *args, project=project)


def test_shipped_content_passes_every_gate() -> None:
    result = check(None)
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("vertebroplasty")]
    assert len(rows) == 6 and all(row.rstrip().endswith("pass") for row in rows)
    header = result.output.splitlines()[0]
    for column in ("grade", "body pt", "footer pt", "contrast", "missing", "review"):
        assert column in header
    assert "All quality gates passed for 6 documents." in result.output


def test_high_reading_grade_fails(project: Path) -> None:
    edit(project / DISCHARGE, "Keep this sheet where you can find it. It tells you how to look after\n"
         "  yourself and when to get help.",
         " ".join(["Comprehensive postprocedural documentation necessitates meticulous "
                   "consideration of individualized rehabilitation considerations, particularly "
                   "regarding musculoskeletal rehabilitation methodologies, pharmacological "
                   "interventions and interdisciplinary communication responsibilities."] * 4))
    result = check(project, "--handout", "vertebroplasty-discharge", "--variant", "general")
    assert_clean_failure(result, "vertebroplasty-discharge [general, office]: reading grade",
                         "above the target 8 for general", "shorter sentences")


def test_jargon_term_fails_naming_term_place_and_plain_words(project: Path) -> None:
    edit(project / DISCHARGE, "Keep the spot clean and dry.",
         "Keep the percutaneous entry spot clean and dry.")
    result = check(project, "--handout", "vertebroplasty-discharge", "--variant", "oncology")
    assert_clean_failure(result, "vertebroplasty-discharge [oncology, office]: 'percutaneous' "
                         "in section 'needle-site': say \"through the skin\" instead",
                         "allowed_terms")


def test_a_term_explained_by_the_handout_may_be_allowed(project: Path) -> None:
    edit(project / DISCHARGE, "Keep the spot clean and dry.",
         "Keep the incision (the small cut) clean and dry.")
    failing = check(project, "--handout", "vertebroplasty-discharge", "--variant", "general")
    assert_clean_failure(failing, "'incision' in section 'needle-site'")
    edit(project / DISCHARGE, "allowed_terms: [osteoporosis]", "allowed_terms: [osteoporosis, incision]")
    passing = check(project, "--handout", "vertebroplasty-discharge", "--variant", "general")
    assert passing.exit_code == 0, passing.output


def test_small_print_in_the_seniors_stylesheet_fails(project: Path) -> None:
    with (project / "styles/variant-seniors.css").open("a") as css:
        css.write("\n.section li { font-size: 8pt; }\n")
    result = check(project, "--handout", "vertebroplasty-discharge", "--variant",
                   "seniors-osteoporosis")
    assert_clean_failure(result, "vertebroplasty-discharge [seniors-osteoporosis, office]: "
                         "body text '", "is 8 pt, below the 14 pt minimum for "
                         "seniors-osteoporosis")


def test_light_grey_text_fails_contrast(project: Path) -> None:
    with (project / "styles/variant-general.css").open("a") as css:
        css.write("\n.section p { color: #BBBBBB; }\n")
    result = check(project, "--handout", "vertebroplasty-brochure", "--variant", "general")
    assert_clean_failure(result, "vertebroplasty-brochure [general, office]: text '",
                         ", below 4.5:1; use a darker text colour")
    # #BBBBBB on the white inside panels is 1.9:1, on the tinted fold-in 1.7:1.
    assert re.search(r"has contrast 1\.[79]:1", result.output)


def test_a_variant_dropping_the_911_section_fails(project: Path) -> None:
    edit(project / DISCHARGE, "  oncology:\n    replace:", "  oncology:\n    remove: [call-911]\n"
         "    replace:")
    result = check(project, "--handout", "vertebroplasty-discharge")
    assert_clean_failure(result, "vertebroplasty-discharge [oncology, office]: required "
                         "section 'call-911' is missing")
    assert "[general, office]: required" not in result.output


def set_next_review(project: Path, handout: str, day: dt.date) -> None:
    edit(project / handout, "next_review: 2027-10-28", f"next_review: {day.isoformat()}")


def test_expired_review_fails_unless_allowed_loudly(project: Path) -> None:
    set_next_review(project, DISCHARGE, dt.date.today() - dt.timedelta(days=1))
    result = check(project, "--handout", "vertebroplasty-discharge", "--variant", "general")
    assert_clean_failure(result, "medical review expired on", "update review: in "
                         "vertebroplasty-discharge.yaml")
    assert "EXPIRED" in result.output
    allowed = check(project, "--handout", "vertebroplasty-discharge", "--variant", "general",
                    "--allow-expired")
    assert allowed.exit_code == 0, allowed.output
    assert "Warning:" in allowed.output and "[allowed by --allow-expired]" in allowed.output


def test_review_due_within_30_days_warns(project: Path) -> None:
    set_next_review(project, DISCHARGE, dt.date.today() + dt.timedelta(days=12))
    result = check(project, "--handout", "vertebroplasty-discharge", "--variant", "general")
    assert result.exit_code == 0, result.output
    assert "medical review is due on" in result.output and "in 12 days" in result.output


def test_build_refuses_to_write_a_failing_document(project: Path) -> None:
    set_next_review(project, BROCHURE, dt.date.today() - dt.timedelta(days=3))
    result = run_cli("build", "--profile", "office", project=project)
    assert_clean_failure(result, "vertebroplasty-brochure [general, office]: medical review "
                         "expired")
    built = [p.relative_to(project / "output").as_posix() for p in pdfs_in(project / "output")]
    assert built and all("discharge" in path for path in built)

    forced = run_cli("build", "--profile", "office", "--no-gates", project=project)
    assert forced.exit_code == 0, forced.output
    assert "quality gates are OFF" in forced.output
    assert len(pdfs_in(project / "output")) == 6


def test_review_date_and_code_in_every_footer(built: Path) -> None:
    from pdfread import text_of

    for path in sorted(built.rglob("*.pdf")):
        text = text_of(path)
        assert "Medical review 2026-10-28" in text, path
        assert ("BSC-VP-101" in text) or ("BSC-VP-201" in text), path
