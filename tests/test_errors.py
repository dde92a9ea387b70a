"""Bad input: one clear line per problem, non-zero exit, no traceback, no file left."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from clinicprint.render_pdf import resolve_project_url
from conftest import ROOT, assert_clean_failure, edit, leftovers, pdfs_in, run_cli
from pdfread import text_of

BROCHURE = "handouts/vertebroplasty-brochure.yaml"
DISCHARGE = "handouts/vertebroplasty-discharge.yaml"


def build(project: Path, *args: str):
    return run_cli("build", *args, project=project)


def assert_nothing_written(project: Path) -> None:
    assert pdfs_in(project / "output") == []
    assert leftovers(project / "output") == []


def test_malformed_yaml_names_file_and_line(project: Path) -> None:
    edit(project / DISCHARGE, "title: After your vertebroplasty",
         "title: After your vertebroplasty\n  bad: [indent")
    bad_line = (project / DISCHARGE).read_text().splitlines().index("  bad: [indent") + 1
    result = build(project)
    assert_clean_failure(result, f"{DISCHARGE}:{bad_line}: invalid YAML")
    assert_nothing_written(project)


def test_unknown_key_is_named_with_its_path_and_line(project: Path) -> None:
    edit(project / BROCHURE, "  - id: questions\n", "  - id: questions\n    colour: red\n")
    line = (project / BROCHURE).read_text().splitlines().index("    colour: red") + 1
    result = build(project)
    assert_clean_failure(result, f"{BROCHURE}:{line}: sections[0].colour: unknown key")
    assert_nothing_written(project)


def test_missing_required_field(project: Path) -> None:
    edit(project / DISCHARGE, "document_code: BSC-VP-201\n", "")
    result = build(project)
    assert_clean_failure(result, DISCHARGE, "document_code: required key is missing")
    assert_nothing_written(project)


def test_every_problem_is_reported_at_once(project: Path) -> None:
    edit(project / DISCHARGE, "revision: 2026-11-01", "revision: last tuesday")
    edit(project / BROCHURE, "    panel: fold-in\n    title: Questions",
         "    panel: attic\n    title: Questions")
    edit(project / "variants.yaml", "stylesheet: styles/variant-oncology.css",
         "stylesheet: styles/missing.css")
    result = build(project)
    assert_clean_failure(result, f"{DISCHARGE}:", "revision: must be a date",
                         "sections[0].panel: 'attic' is not a panel",
                         "variants.oncology.stylesheet: file 'styles/missing.css' not found")
    assert_nothing_written(project)


def test_unknown_variant_in_a_handout_override(project: Path) -> None:
    edit(project / BROCHURE, "  oncology:\n    subtitle:", "  teens:\n    subtitle:")
    assert_clean_failure(build(project), "overrides.teens: unknown variant 'teens'")


def test_override_naming_a_missing_section(project: Path) -> None:
    edit(project / DISCHARGE, "      call-clinic:\n        title: Call the clinic and",
         "      call-the-clinic:\n        title: Call the clinic and")
    assert_clean_failure(build(project),
                         "overrides.oncology.replace.call-the-clinic: no section")


def test_unknown_variant_or_handout_on_the_command_line(project: Path) -> None:
    assert_clean_failure(build(project, "--variant", "teens"), "unknown variant 'teens'",
                         "general, seniors-osteoporosis, oncology")
    assert_clean_failure(build(project, "--handout", "nope"), "unknown handout 'nope'")
    assert_nothing_written(project)


def test_template_referring_to_an_undefined_value(project: Path) -> None:
    edit(project / "templates/discharge.html", "<h1>{{ doc.title }}</h1>",
         "<h1>{{ doc.title }} {{ brand.fax_number }}</h1>")
    result = build(project, "--profile", "office")
    assert_clean_failure(result, "templates/discharge.html:", "fax_number",
                         "vertebroplasty-discharge [general, office]")
    # The brochures do not use that template, so they are still built.
    assert len(pdfs_in(project / "output")) == 3
    assert not list((project / "output").rglob("vertebroplasty-discharge/*"))
    assert leftovers(project / "output") == []


def test_a_failed_document_does_not_leave_its_old_pdf(project: Path) -> None:
    assert build(project, "--handout", "vertebroplasty-discharge", "--profile",
                 "office").exit_code == 0
    edit(project / "templates/discharge.html", "{{ doc.title }}", "{{ doc.nothing }}")
    result = build(project, "--handout", "vertebroplasty-discharge", "--profile", "office")
    assert_clean_failure(result, "nothing")
    assert pdfs_in(project / "output") == []
    assert "vertebroplasty-discharge" not in (project / "output/manifest.json").read_text()


def test_brochure_overflow_names_handout_variant_and_panel(project: Path) -> None:
    long_text = "Bone cement makes the broken bone strong again. " * 40
    edit(project / BROCHURE, "    title: Who is it for?\n",
         f"    title: Who is it for?\n    items: [{long_text}]\n")
    result = build(project, "--variant", "general", "--profile", "office")
    assert_clean_failure(result, "vertebroplasty-brochure [general, office]",
                         "panel 'inside-right' overflows")
    assert not (project / "output/office/vertebroplasty-brochure/general.pdf").exists()


def test_discharge_longer_than_two_pages_fails(project: Path) -> None:
    many = "\n".join(f"      - Extra instruction number {n} to read." for n in range(60))
    edit(project / DISCHARGE, "      - Keep the spot clean and dry.\n",
         f"      - Keep the spot clean and dry.\n{many}\n")
    result = build(project, "--variant", "general", "--handout", "vertebroplasty-discharge",
                   "--profile", "office")
    assert_clean_failure(result, "vertebroplasty-discharge [general, office]",
                         "more than the 2 allowed", "section '")
    assert_nothing_written(project)


def test_a_word_too_wide_for_its_panel_fails(project: Path) -> None:
    edit(project / BROCHURE, "title: Vertebroplasty\n", "title: Percutaneousvertebroplasty\n")
    result = build(project, "--variant", "general", "--handout", "vertebroplasty-brochure",
                   "--profile", "office")
    assert_clean_failure(result, "'Percutaneousvertebroplasty' is", "too wide for panel 'cover'")


def test_raw_html_in_content_is_printed_as_text(project: Path) -> None:
    edit(project / DISCHARGE, "Keep this sheet where you can find it.",
         "Keep this <b>sheet</b> <img src=x onerror=alert(1)> safe.")
    assert build(project, "--variant", "general", "--handout",
                 "vertebroplasty-discharge", "--profile", "office").exit_code == 0
    text = text_of(project / "output/office/vertebroplasty-discharge/general.pdf")
    assert "Keep this <b>sheet</b> <img src=x onerror=alert(1)> safe." in text


def test_content_cannot_point_outside_the_project(project: Path) -> None:
    edit(project / BROCHURE, "src: assets/images/vertebroplasty-side-view.svg",
         "src: ../../../etc/hostname")
    assert_clean_failure(build(project), "figure.src: '../../../etc/hostname' is outside "
                         "the project")


@pytest.mark.parametrize("template,original,replacement,refused,reason", [
    ("discharge.html", "{{ m.logo() }}", '<img src="file:///etc/hostname" alt="x">',
     "file:///etc/hostname", "outside the project"),
    ("base.html", '<link rel="stylesheet" href="styles/fonts.css">',
     '<link rel="stylesheet" href="https://fonts.example.com/x.css">',
     "https://fonts.example.com/x.css", "no network"),
], ids=["file-outside-the-project", "network"])
def test_template_loading_from_outside_the_project_is_refused(
        project: Path, template: str, original: str, replacement: str, refused: str,
        reason: str) -> None:
    edit(project / "templates" / template, original, replacement)
    result = build(project, "--handout", "vertebroplasty-discharge", "--variant", "general",
                   "--profile", "office")
    assert_clean_failure(result, f"refused to load '{refused}'", reason)
    assert_nothing_written(project)


def test_fetcher_rules(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "assets").mkdir(parents=True)
    (root / "assets/logo.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", root / "assets/link.svg")
    assert resolve_project_url((root / "assets/logo.svg").as_uri(), root) == \
        root / "assets/logo.svg"
    refused = [
        (tmp_path / "secret.txt").as_uri(),
        root.as_uri() + "/assets/../../secret.txt",
        (root / "assets/link.svg").as_uri(),  # a link that leads outside
        "https://example.com/logo.svg",
        "http://127.0.0.1/logo.svg",
        "ftp://example.com/logo.svg",
        "file://otherhost/etc/hostname",
    ]
    for url in refused:
        with pytest.raises(PermissionError, match="refused to load"):
            resolve_project_url(url, root)


def test_real_entry_point_prints_one_line_and_exits_non_zero() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "pipeline.py"), "build",
                             "--variant", "teens"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("Error: unknown variant 'teens'")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_panel_a_little_too_full_reports_by_how_much(project: Path) -> None:
    extra = ", ".join(f"Extra point {n} about healing" for n in range(7))
    edit(project / BROCHURE, "    title: Who is it for?\n",
         f"    title: Who is it for?\n    items: [{extra}]\n")
    result = build(project, "--variant", "general", "--handout", "vertebroplasty-brochure",
                   "--profile", "office")
    assert_clean_failure(result, "vertebroplasty-brochure [general, office]: panel "
                         "'inside-right' overflows by ")
    assert " pt; shorten its sections" in result.output
