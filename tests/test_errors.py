"""Bad input beyond the corpus: many problems at once, a failure that spares the other
documents, a failed document's last good file, the fetcher's rules, and content that
must print as written.

Tests work on copies of the generated library (tests/library.py), never on the
shipped text."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from clinicprint.render_pdf import resolve_project_url
from conftest import (assert_process_failed, documents_of, edit, leftovers, pdfs_in,
                      run_pipeline)
from library import load
from library_extra import (BROCHURE, DISCHARGE, change, copy_library, copy_output,
                           handout_file)
from pdfread import text_of

B = f"handouts/{BROCHURE}.yaml"
D = f"handouts/{DISCHARGE}.yaml"
RAW_HTML = "Keep this <b>sheet</b> <img src=x onerror=alert(1)> safe."


def test_every_problem_is_reported_at_once(project: Path) -> None:
    change(project / D, lambda data: data.update(revision="last tuesday"))
    change(project / B, lambda data: data["sections"][0].update(panel="attic"))
    edit(project / "variants.yaml", "stylesheet: styles/variant-", "stylesheet: styles/missing-")
    err = assert_process_failed(run_pipeline("build", project=project),
                                f"{D}:", "revision: must be a date",
                                "sections[0].panel: 'attic' is not a panel",
                                "stylesheet: file 'styles/missing-")
    assert len(err.strip().splitlines()) == 3  # one line per problem
    assert pdfs_in(project / "output") == []


@pytest.fixture(scope="module")
def broken_template(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One build, two workers, of the office documents of one variant, with the
    discharge template broken and raw HTML typed into the brochure's summary."""
    home = tmp_path_factory.mktemp("template")
    project = copy_library(home / "project")
    edit(project / "templates/discharge.html", "<h1>{{ doc.title }}</h1>",
         "<h1>{{ brand.fax_number }}</h1>")
    change(project / B, lambda data: data.update(summary=RAW_HTML))
    temporary = home / "tmp"
    temporary.mkdir()
    variant = documents_of(project)[0].variant.name
    proc = run_pipeline("build", "--profile", "office", "--variant", variant, "--jobs", "2",
                        project=project, cwd=home, env={"TMPDIR": str(temporary)})
    return {"project": project, "variant": variant, "proc": proc, "temporary": temporary}


def test_a_template_error_spares_the_documents_that_do_not_use_it(broken_template) -> None:
    project = broken_template["project"]
    assert_process_failed(broken_template["proc"], "templates/discharge.html:", "fax_number",
                          f"{DISCHARGE} [")
    written = {p.relative_to(project / "output").as_posix() for p in pdfs_in(project / "output")}
    expected = {d.relative_path for d in documents_of(project)
                if d.profile.name == "office" and d.variant.name == broken_template["variant"]
                and d.handout.kind != "discharge"}
    assert expected and written == expected
    assert leftovers(project / "output") == []
    # The workers' temporary files went with them (test_processes.py: nothing left behind).
    assert list(broken_template["temporary"].iterdir()) == []


def test_raw_html_in_content_is_printed_as_text(broken_template) -> None:
    project = broken_template["project"]
    [brochure] = pdfs_in(project / "output")
    assert RAW_HTML in text_of(brochure)


def test_a_failed_document_keeps_its_last_good_file_but_leaves_the_manifest(
        project: Path, built: Path) -> None:
    """An editor's failed try must not take the printed sheet away, but `build --check`
    and CI must see it as not built."""
    output = copy_output(built, project)
    document = next(d for d in documents_of(project)
                    if d.handout.id == DISCHARGE and d.profile.name == "office")
    good = (output / document.relative_path).read_bytes()
    edit(project / "templates/discharge.html", "{{ doc.title }}", "{{ doc.nothing }}")
    proc = run_pipeline("build", "--handout", DISCHARGE, "--profile", "office", "--variant",
                        document.variant.name, "--lang", "en", "--jobs", "1", project=project)
    assert_process_failed(proc, "nothing")
    assert (output / document.relative_path).read_bytes() == good
    listed = {e["path"] for e in json.loads((output / "manifest.json").read_text())["documents"]}
    assert document.relative_path not in listed
    others = {d.relative_path for d in documents_of(project) if d.handout.id == BROCHURE}
    assert others and others <= listed  # the rest of the manifest is kept
    assert run_pipeline("build", "--check", "--handout", DISCHARGE, "--profile", "office",
                        "--variant", document.variant.name, "--lang", "en",
                        project=project).returncode == 1


def test_replace_with_after_moves_a_shared_section(project: Path) -> None:
    """One variant moves a shared section to another panel, at the right place in it."""
    path = handout_file(project, BROCHURE)
    data = load(path)
    first, *_, last = data["sections"]
    variant = documents_of(project)[0].variant.name
    change(path, lambda d: d.update(overrides={variant: {"replace": {first["id"]: {
        "panel": last["panel"], "after": last["id"]}}}}))
    moved = next(d for d in documents_of(project)
                 if d.handout.id == BROCHURE and d.variant.name == variant)
    already = [s["id"] for s in data["sections"] if s.get("panel") == last["panel"]]
    assert [s.id for s in moved.in_panel(last["panel"])] == [*already, first["id"]]
    others = [d for d in documents_of(project)
              if d.handout.id == BROCHURE and d.variant.name != variant]
    assert others
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
