"""Languages as an axis of the build: Spanish editions of every document, read back.

Everything is derived from the project: the languages from languages.yaml, the
documents from conftest.documents_of, the expected words from each language's
labels and the translated content. The Spanish build is the session's `built`
fixture (every language, as `make build` makes it).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from clinicprint.content import load_project
from conftest import (ROOT, LIBRARY, with_languages, assert_process_failed, documents_of, edit,
                      run_pipeline)
from pdfread import lang_of_file, squash, text_of, text_of_file, unhyphenate

PROJECT = load_project(LIBRARY.root)
DOCUMENTS = documents_of()
TRANSLATED = [d for d in DOCUMENTS if not d.language.source]
IDS = [d.relative_path for d in TRANSLATED]


def test_every_document_exists_in_every_language() -> None:
    languages = list(PROJECT.languages.values())
    assert len(languages) >= 2 and any(language.code == "es" for language in languages)
    source = [d for d in DOCUMENTS if d.language.source]
    for language in languages:
        mine = {(d.handout.id, d.variant.name, d.profile.name) for d in DOCUMENTS
                if d.language.code == language.code}
        assert mine == {(d.handout.id, d.variant.name, d.profile.name) for d in source}


def test_output_paths_and_manifest_carry_the_language(built: Path) -> None:
    manifest = json.loads((built / "manifest.json").read_text())["documents"]
    by_path = {entry["path"]: entry for entry in manifest}
    for document in DOCUMENTS:
        entry = by_path[document.relative_path]
        assert entry["lang"] == document.language.code
        prefix = "" if document.language.source else f"{document.language.code}/"
        assert document.relative_path.startswith(prefix + document.profile.name + "/")
        assert (built / document.relative_path).is_file()


@pytest.mark.parametrize("document", TRANSLATED, ids=IDS)
def test_translated_pdf_is_in_its_language(built: Path, document) -> None:
    pdf = built / document.relative_path
    assert lang_of_file(pdf) == document.language.tag  # es-US
    text = unhyphenate(text_of_file(pdf))
    language = document.language
    # Fixed labels in the language's words, dates written its way (Babel)...
    assert language.label("Medical review") in text
    assert language.format_date(document.handout.revision) in text
    assert language.label(document.variant.label) in text
    # ...the translated content, never the English in its place...
    assert squash(document.title) in text
    english = PROJECT.handouts[document.handout.id]
    assert squash(english.title) != squash(document.title)
    for section in document.sections[:3]:
        assert squash(section.title).replace(" ", "") in text.replace(" ", ""), section.id
    # ...and, while unreviewed, the draft mark.
    assert document.translation.draft
    assert "Draft translation, not reviewed" in text


def test_english_documents_have_no_translation_marks(built: Path) -> None:
    for document in DOCUMENTS:
        if document.language.source:
            text = text_of_file(built / document.relative_path)
            assert "Draft translation" not in text and "Out-of-date" not in text
            assert lang_of_file(built / document.relative_path) == document.language.tag


def test_language_assistance_notice_is_on_every_document(built: Path) -> None:
    lines = [notice.line(PROJECT.brand.phone) for notice in PROJECT.notices]
    assert {notice.lang for notice in PROJECT.notices} >= {"en-US", "es-US"}
    for document in DOCUMENTS:
        text = text_of_file(built / document.relative_path).replace(" ", "")
        for line in lines:
            assert line.replace(" ", "") in text, (document.relative_path, line)


def _hyphenated_words(pdf: Path) -> list[tuple[str, str]]:
    """(first part, rest) of every word broken across lines with a hyphen."""
    import pypdfium2 as pdfium

    found = []
    document = pdfium.PdfDocument(str(pdf))
    try:
        for page in document:
            text = page.get_textpage().get_text_range()
            # PDFium marks a hyphen it takes for a soft one as U+FFFE and joins the lines.
            found += [(m[1], m[2]) for m in re.finditer(r"(\w+)\ufffe(\w+)", text)
                      if m[2][0].islower()]
            lines = text.splitlines()
            for line, following in zip(lines, lines[1:]):
                match = re.search(r"(\w+)[\u2010\u00ad-]$", line.strip())
                rest = re.match(r"(\w+)", following.strip())
                if match and rest and rest[1][0].islower():
                    found.append((match[1], rest[1]))
    finally:
        document.close()
    return found


def test_spanish_is_hyphenated_with_the_spanish_dictionary(built: Path) -> None:
    import pyphen

    spanish = [d for d in TRANSLATED if d.language.hyphenate]
    assert spanish
    dictionaries = {d.language.code: pyphen.Pyphen(lang=d.language.hyphenation)
                    for d in spanish}
    agree, found = 0, []
    for document in spanish:
        if document.handout.kind != "brochure" or document.profile.name != "office":
            continue  # the narrow panels
        for first, rest in _hyphenated_words(built / document.relative_path):
            word = (first + rest).lower()
            found.append(word)
            # Broken where the language's own dictionary allows (a hyphen that is part
            # of the text, as in an address, may end a line too).
            agree += len(first) in dictionaries[document.language.code].positions(word)
    assert found, "no hyphenated line end in any Spanish brochure"
    assert agree >= 0.8 * len(found), found


def test_a_draft_fails_for_patients_unless_allowed(project: Path) -> None:
    with_languages(project)
    one = ("--handout", "vertebroplasty-discharge", "--variant", "general",
           "--profile", "office", "--lang", "es")
    proc = run_pipeline("build", *one, project=project)
    assert_process_failed(proc, "[general, office, es]", "DRAFT, not reviewed",
                          "--allow-draft")
    assert not list((project / "output").rglob("*.pdf"))
    # The nurse's command says what to pass to it, not to "build" something.
    sheet = run_pipeline("discharge", "--patient", "Pat Example", "--lang", "es",
                         "-o", project / "sheet.pdf", project=project)
    said = assert_process_failed(sheet, "DRAFT, not reviewed", "pass --allow-draft")
    assert "build with" not in said and not (project / "sheet.pdf").exists()
    allowed = run_pipeline("build", *one, "--allow-draft", project=project)
    assert allowed.returncode == 0, allowed.stderr.decode()
    assert "NOT FOR PATIENTS" in allowed.stderr.decode()
    # A review recorded in the translation file makes it a finished edition.
    path = project / "translations/es/vertebroplasty-discharge.yaml"
    edit(path, "  reviewed_by: null\n  reviewed_on: null",
         "  reviewed_by: Test Reviewer\n  reviewed_on: 2026-11-01")
    reviewed = run_pipeline("build", *one, project=project)
    assert reviewed.returncode == 0, reviewed.stderr.decode()
    pdf = project / "output/es/office/vertebroplasty-discharge/general.pdf"
    assert "Draft translation" not in text_of(pdf)


def test_check_runs_the_gates_per_language(project: Path) -> None:
    with_languages(project)
    proc = run_pipeline("check", "--lang", "es", "--allow-draft",
                        "--handout", "vertebroplasty-discharge", "--variant", "general",
                        project=project)
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    row = next(line for line in out.splitlines() if line.startswith("vertebroplasty"))
    assert " es " in row and "FH " in row  # Fernández-Huerta, against its own target


def test_spanish_plain_words_and_reading_ease_fail_in_spanish(project: Path) -> None:
    with_languages(project)
    path = project / "translations/es/vertebroplasty-discharge.yaml"
    text = path.read_text(encoding="utf-8")
    # A listed Spanish medical word and a sentence far too long for the target.
    long = ("La fluoroscopia intraoperatoria permitió la administración percutánea "
            "del polimetilmetacrilato bajo condiciones estrictamente controladas.")
    text = text.replace("    title: Actividad\n", f"    title: Actividad\n    body: {long}\n", 1)
    path.write_text(text, encoding="utf-8")
    # The English section has no body, so the translation's extra body is refused...
    proc = run_pipeline("check", "--lang", "es", "--allow-draft", "--handout",
                        "vertebroplasty-discharge", "--variant", "general", project=project)
    assert_process_failed(proc, "section 'activity'", "body the English does not have")
    # ...while the same words in a translated body that exists fail the gates.
    path.write_text(text.replace(f"    body: {long}\n", "", 1).replace(
        "Su médico trató un hueso roto", long + " Su médico trató un hueso roto", 1),
        encoding="utf-8")
    proc = run_pipeline("check", "--lang", "es", "--allow-draft", "--handout",
                        "vertebroplasty-discharge", "--variant", "general", project=project)
    assert_process_failed(proc, "'fluoroscopia' in section 'done-today'",
                          "allowed_terms in translations/es/vertebroplasty-discharge.yaml")
    # The Spanish reading target (languages.yaml) is applied with the Spanish formula.
    edit(project / "languages.yaml", "targets: {general: 60,", "targets: {general: 99.5,")
    proc = run_pipeline("check", "--lang", "es", "--allow-draft", "--handout",
                        "vertebroplasty-discharge", "--variant", "general", project=project)
    assert_process_failed(proc, "reading ease (fernandez-huerta)", "below the target 99.5")


def test_a_third_language_needs_content_only(project: Path) -> None:
    """A language added with an entry in languages.yaml and its translation files
    builds, in its own folder, with its own /Lang."""
    import yaml

    with_languages(project)
    data = yaml.safe_load((project / "languages.yaml").read_text(encoding="utf-8"))
    data["languages"]["pt"] = {**data["languages"]["es"], "tag": "pt-BR", "name": "Portuguese",
                               "native_name": "Português", "babel": "pt_BR",
                               "hyphenation": "pt_BR"}
    (project / "languages.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                            encoding="utf-8")
    shutil.copytree(project / "translations/es", project / "translations/pt")
    listed = run_pipeline("list", project=project)
    assert "pt" in listed.stdout.decode() and "Portuguese" in listed.stdout.decode()
    proc = run_pipeline("build", "--lang", "pt", "--allow-draft", "--handout",
                        "vertebroplasty-discharge", "--variant", "general", "--profile",
                        "office", project=project)
    assert proc.returncode == 0, proc.stderr.decode()
    pdf = project / "output/pt/office/vertebroplasty-discharge/general.pdf"
    assert PdfReader(pdf).trailer["/Root"]["/Lang"] == "pt-BR"


def test_unknown_language_is_a_clean_error(project: Path) -> None:
    with_languages(project)
    proc = run_pipeline("build", "--lang", "xx", project=project)
    assert_process_failed(proc, "unknown language 'xx'", "es")


def test_a_missing_label_is_named(project: Path) -> None:
    with_languages(project)
    edit(project / "languages.yaml", '      "Patient:": "Paciente:"\n', "")
    proc = run_pipeline("list", project=project)
    assert_process_failed(proc, "languages.yaml", "no Spanish for 'Patient:'",
                          "templates/discharge.html")


def test_spanish_discharge_sheet_for_one_patient(tmp_path: Path) -> None:
    from clinicprint.languages import Language

    spanish: Language = PROJECT.languages["es"]
    sheet = tmp_path / "hoja.pdf"
    proc = run_pipeline("discharge", "--lang", "es", "--allow-draft", "--patient",
                        "Test Paciente", "--procedure-date", "2026-11-20",
                        "--follow-up", "2026-12-09 10:30", "-o", sheet)
    assert proc.returncode == 0, proc.stderr.decode()
    text = text_of(sheet)
    assert spanish.format_skeleton("yMMMd", dt.date(2026, 11, 20)) in text  # Babel
    assert spanish.label("Patient:") in text and "Test Paciente" in text
    assert PdfReader(sheet).trailer["/Root"]["/Lang"] == "es-US"
    # A day's list picks the language per row.
    csv = tmp_path / "hoy.csv"
    csv.write_text("patient,lang\nUno,es\nTwo,en\nTres,fr\n", encoding="utf-8")
    bad = run_pipeline("discharge", "--csv", csv, "--merge", "--allow-draft",
                       "-o", tmp_path / "hoy.pdf")
    assert_process_failed(bad, "hoy.csv row 4, column lang: unknown language")
    assert "Tres" not in bad.stderr.decode()
