"""Bad input beyond the corpus: many problems at once, a failure that spares the other
documents, the fetcher's rules, and content that must print as written.

Tests work on generated handouts (tests/factory.py), never on the shipped text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import factory
from clinicprint.render_pdf import resolve_project_url
from conftest import assert_process_failed, documents_of, leftovers, pdfs_in, run_pipeline
from pdfread import text_of

B = "handouts/test-brochure.yaml"
D = "handouts/test-discharge.yaml"


@pytest.fixture
def sandbox(project: Path) -> Path:
    factory.only_generated(project)
    return project


def test_every_problem_is_reported_at_once(sandbox: Path) -> None:
    discharge, brochure = factory.load(sandbox / D), factory.load(sandbox / B)
    discharge["revision"] = "last tuesday"
    brochure["sections"][0]["panel"] = "attic"
    factory.save(sandbox / D, discharge)
    factory.save(sandbox / B, brochure)
    (sandbox / "variants.yaml").write_text((sandbox / "variants.yaml").read_text().replace(
        "stylesheet: styles/variant-", "stylesheet: styles/missing-", 1))
    err = assert_process_failed(run_pipeline("build", project=sandbox),
                                f"{D}:", "revision: must be a date",
                                "sections[0].panel: 'attic' is not a panel",
                                "stylesheet: file 'styles/missing-")
    assert len(err.strip().splitlines()) == 3  # one line per problem
    assert pdfs_in(sandbox / "output") == []


def test_a_template_error_spares_the_documents_that_do_not_use_it(sandbox: Path) -> None:
    template = sandbox / "templates/discharge.html"
    template.write_text(template.read_text().replace("<h1>{{ doc.title }}</h1>",
                                                     "<h1>{{ brand.fax_number }}</h1>"))
    proc = run_pipeline("build", "--profile", "office", project=sandbox)
    assert_process_failed(proc, "templates/discharge.html:", "fax_number",
                          "test-discharge [")
    written = {p.relative_to(sandbox / "output").as_posix() for p in pdfs_in(sandbox / "output")}
    expected = {d.relative_path for d in documents_of(sandbox)
                if d.profile.name == "office" and d.handout.kind != "discharge"}
    assert written == expected
    assert leftovers(sandbox / "output") == []


def test_a_failed_document_does_not_leave_its_old_pdf(sandbox: Path) -> None:
    args = ("build", "--handout", "test-discharge", "--profile", "office")
    assert run_pipeline(*args, project=sandbox).returncode == 0
    template = sandbox / "templates/discharge.html"
    template.write_text(template.read_text().replace("{{ doc.title }}", "{{ doc.nothing }}"))
    assert_process_failed(run_pipeline(*args, project=sandbox), "nothing")
    assert pdfs_in(sandbox / "output") == []
    assert "test-discharge" not in (sandbox / "output/manifest.json").read_text()


def test_raw_html_in_content_is_printed_as_text(sandbox: Path) -> None:
    data = factory.load(sandbox / D)
    data["summary"] = "Keep this <b>sheet</b> <img src=x onerror=alert(1)> safe."
    factory.save(sandbox / D, data)
    proc = run_pipeline("build", "--handout", "test-discharge", "--profile", "office",
                        project=sandbox)
    assert proc.returncode == 0, proc.stderr
    for document in documents_of(sandbox):
        if document.handout.id == "test-discharge" and document.profile.name == "office":
            text = text_of(sandbox / "output" / document.relative_path)
            assert "Keep this <b>sheet</b> <img src=x onerror=alert(1)> safe." in text


def test_replace_with_after_moves_a_shared_section(sandbox: Path) -> None:
    """One variant moves a shared section to another panel, at the right place in it."""
    data = factory.load(sandbox / B)
    first, *_, last = data["sections"]
    variant = next(iter(factory.load(sandbox / "variants.yaml")["variants"]))
    data["overrides"] = {variant: {"replace": {first["id"]: {
        "panel": last["panel"], "after": last["id"]}}}}
    factory.save(sandbox / B, data)
    moved = next(d for d in documents_of(sandbox)
                 if d.handout.id == "test-brochure" and d.variant.name == variant)
    assert [s.id for s in moved.in_panel(last["panel"])] == [last["id"], first["id"]]
    others = [d for d in documents_of(sandbox)
              if d.handout.id == "test-brochure" and d.variant.name != variant]
    for other in others:
        assert other.sections[0].id == first["id"]
        assert other.sections[0].panel == first["panel"]


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
