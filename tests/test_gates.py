"""Quality gates: each fed a failing case in a copy of the generated library, and the
library passing every gate. Run through the real command line (`check` in this
process; `build` as a process)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from clinicprint.content import load_project
from conftest import (LIBRARY, assert_clean_failure, assert_process_failed, documents_of,
                      pdfs_in, run_cli, run_pipeline)
from library import load, write
from pdfread import squash, text_of_file

BROCHURE = LIBRARY.brochures[0]
DISCHARGE = LIBRARY.discharges[0]
B = f"handouts/{BROCHURE}.yaml"
D = f"handouts/{DISCHARGE}.yaml"


class Checked:
    """`check`'s result, read like a process's: exit code, what it printed."""

    def __init__(self, result) -> None:
        self.result, self.returncode, self.text = result, result.exit_code, result.output

    def failed(self, *fragments: str) -> str:
        assert_clean_failure(self.result, *fragments)
        assert self.returncode == 1, self.text
        return self.text


def check(project: Path, *args: str) -> Checked:
    """`pipeline.py check` through the CLI, rendering in this process (one document or
    a few: no new Python, no second WeasyPrint)."""
    return Checked(run_cli("check", *args, project=project))


def out(proc) -> str:
    if isinstance(proc, Checked):
        return proc.text
    return proc.stdout.decode() + proc.stderr.decode()


@pytest.fixture
def sandbox(project: Path) -> Path:
    """The generated library, English only, safe to break."""
    return project


def variants(project: Path) -> list:
    return list(load_project(project).variants.values())


def edit_handout(project: Path, relative: str, change) -> None:
    data = load(project / relative)
    change(data)
    write(project / relative, data)


def test_the_library_passes_every_gate_in_every_language() -> None:
    """The check table, one row per language (one handout and variant: the session's
    build ran every gate on every document already; a failing gate fails the build).
    Its translations are reviewed: no --allow-draft."""
    variant = documents_of()[0].variant.name
    proc = check(LIBRARY.root, "--handout", DISCHARGE, "--variant", variant)
    assert proc.returncode == 0, out(proc)
    text = proc.text
    checked = {(d.handout.id, d.variant.name, d.language.code) for d in documents_of()
               if d.variant.name == variant and d.handout.id == DISCHARGE}
    assert {lang for _, _, lang in checked} == {"en", "es"}
    rows = [line.split() for line in text.splitlines()[1:] if line.split()
            and line.split()[0] in LIBRARY.handouts]
    assert {(row[0], row[1], row[2]) for row in rows} == checked
    assert all(row[-1] == "pass" for row in rows)
    for column in ("grade", "body pt", "footer pt", "contrast", "missing", "review"):
        assert column in text.splitlines()[0]
    assert f"All quality gates passed for {len(checked)} documents." in text


def test_high_reading_grade_fails(sandbox: Path) -> None:
    variant = variants(sandbox)[0]
    edit_handout(sandbox, D, lambda d: d.update(summary=" ".join(
        ["Comprehensive postprocedural documentation necessitates meticulous consideration "
         "of individualized rehabilitation considerations, particularly regarding "
         "musculoskeletal methodologies and interdisciplinary responsibilities."] * 2)))
    proc = check(sandbox, "--handout", DISCHARGE, "--variant", variant.name)
    proc.failed(f"{DISCHARGE} [{variant.name}, office]: reading grade",
                f"above the target {variant.reading_grade_max:g} for {variant.name}",
                "shorter sentences")


def use_term(project: Path, term: str) -> str:
    """The term in the first paragraph of the discharge sheet; returns its section's id."""
    data = load(project / D)
    section = next(s for s in data["sections"] if "body" in s)
    section["body"] = f"Ask about {term}."
    write(project / D, data)
    return section["id"]


def test_jargon_fails_naming_term_place_and_plain_words_unless_explained(
        sandbox: Path) -> None:
    """A listed term fails, naming it, its section and the plain words; once the
    handout lists it under allowed_terms (its text explains it), it passes."""
    term, plain = next(iter(load_project(sandbox).plain_words.items()))
    section = use_term(sandbox, term)
    variant = variants(sandbox)[0].name
    check(sandbox, "--handout", DISCHARGE, "--variant", variant).failed(
        f"'{term}' in section '{section}': say \"{plain}\" instead", "allowed_terms")
    edit_handout(sandbox, D, lambda d: d.update(allowed_terms=[term]))
    passing = check(sandbox, "--handout", DISCHARGE, "--variant", variant)
    assert passing.returncode == 0, out(passing)


def test_small_print_fails_the_print_size_gate(sandbox: Path) -> None:
    variant = max(variants(sandbox), key=lambda v: v.min_body_pt)
    with (sandbox / variant.stylesheet).open("a") as css:
        css.write("\n.section li { font-size: 8pt; }\n")
    proc = check(sandbox, "--handout", DISCHARGE, "--variant", variant.name)
    proc.failed(f"{DISCHARGE} [{variant.name}, office]: body text '",
                f"is 8 pt, below the {variant.min_body_pt:g} pt minimum for {variant.name}")


def test_light_grey_text_fails_contrast(sandbox: Path) -> None:
    variant = variants(sandbox)[0]
    with (sandbox / variant.stylesheet).open("a") as css:
        css.write("\n.section p { color: #BBBBBB; }\n")
    proc = check(sandbox, "--handout", BROCHURE, "--variant", variant.name)
    err = proc.failed(f"{BROCHURE} [{variant.name}, office]: text '",
                      f", below {variant.min_contrast:g}:1; use a darker text")
    # #BBBBBB on white is 1.9:1, on the tinted fold-in 1.7:1.
    assert re.search(r"has contrast 1\.[79]:1", err)


def test_a_variant_dropping_a_required_section_fails(sandbox: Path) -> None:
    dropping, other = variants(sandbox)[:2]  # one that drops it, one that does not
    edit_handout(sandbox, D, lambda d: d.update(overrides={dropping.name: {
        "remove": ["call-911"]}}))
    proc = check(sandbox, "--handout", DISCHARGE, "--variant", dropping.name,
                 "--variant", other.name)
    err = proc.failed(f"{DISCHARGE} [{dropping.name}, office]: required section 'call-911' "
                      "is missing")
    assert f"[{other.name}, office]: required" not in err


def set_next_review(project: Path, relative: str, day: dt.date) -> None:
    edit_handout(project, relative, lambda d: d["review"].update(next_review=day))


def test_expired_review_fails_unless_allowed_loudly(sandbox: Path) -> None:
    set_next_review(sandbox, D, dt.date.today() - dt.timedelta(days=1))
    variant = variants(sandbox)[0].name
    proc = check(sandbox, "--handout", DISCHARGE, "--variant", variant)
    proc.failed("medical review expired on", f"update review: in {DISCHARGE}.yaml")
    assert "EXPIRED" in proc.text
    allowed = check(sandbox, "--handout", DISCHARGE, "--variant", variant,
                    "--allow-expired")
    assert allowed.returncode == 0, out(allowed)
    assert "Warning:" in out(allowed) and "[allowed by --allow-expired]" in out(allowed)


def test_review_due_within_30_days_warns(sandbox: Path) -> None:
    set_next_review(sandbox, D, dt.date.today() + dt.timedelta(days=12))
    proc = check(sandbox, "--handout", DISCHARGE, "--variant", variants(sandbox)[0].name)
    assert proc.returncode == 0, out(proc)
    assert "medical review is due on" in out(proc) and "in 12 days" in out(proc)


def test_build_refuses_to_write_a_failing_document(sandbox: Path) -> None:
    """One variant of each handout; the brochure fails a gate, the sheet is written."""
    set_next_review(sandbox, B, dt.date.today() - dt.timedelta(days=3))
    variant = variants(sandbox)[0].name
    selection = ("--profile", "office", "--variant", variant, "--jobs", "1")
    proc = run_pipeline("build", *selection, project=sandbox)
    assert_process_failed(proc, f"{BROCHURE} [", "medical review expired")
    office = [d for d in documents_of(sandbox) if d.profile.name == "office"
              and d.variant.name == variant]
    built = {p.relative_to(sandbox / "output").as_posix() for p in pdfs_in(sandbox / "output")}
    assert built == {d.relative_path for d in office if d.handout.id != BROCHURE}

    forced = run_cli("build", *selection, "--no-gates", project=sandbox)
    assert forced.exit_code == 0, forced.output
    assert "quality gates are OFF" in forced.output
    assert len(pdfs_in(sandbox / "output")) == len(office)


def test_review_date_and_code_in_every_footer(built: Path) -> None:
    for document in documents_of():
        path = built / document.relative_path
        # The web edition's page carries the same footer, as text in its HTML.
        text = text_of_file(path)
        handout = document.handout
        language = document.language  # the footer is in the document's language
        assert squash(f"{language.label('Medical review')} "
                      f"{language.format_date(handout.review.approved_on)}") in squash(text)
        assert handout.document_code in text
