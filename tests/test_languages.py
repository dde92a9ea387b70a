"""Languages as an axis of the build, and as a status of each handout.

Everything runs on the generated library (tests/library.py): its languages come from
languages.yaml, its documents from conftest.documents_of, the expected words from each
language's labels and the translated content. The Spanish build read back is the
session's `built` fixture (every language, as `make build` makes it); tests that break
something work on a private `project` copy with the language files added.
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
from conftest import (LIBRARY, assert_clean_failure, assert_process_failed, documents_of,
                      edit, run_cli, run_pipeline, with_languages)
from library import ENGLISH, brochure, load, translate, write
from pdfread import lang_of_file, squash, text_of, text_of_file, unhyphenate

PROJECT = load_project(LIBRARY.root)
DOCUMENTS = documents_of()
TRANSLATED = [d for d in DOCUMENTS if not d.language.source]
IDS = [d.relative_path for d in TRANSLATED]
SHEET = LIBRARY.discharges[0]
LEAFLET = LIBRARY.brochures[0]
ONE_SHEET = ("--handout", SHEET, "--variant", "general", "--profile", "office")


def ok(*args, project: Path | None = None):
    """A command that must work, run in this process: the renderer is imported once for
    the whole session instead of once per command (errors are run as real processes)."""
    result = run_cli(*args, project=project)
    assert result.exit_code == 0, result.output
    return result


def translation_path(project: Path, handout: str, lang: str = "es") -> Path:
    return project / "translations" / lang / f"{handout}.yaml"


def set_review(path: Path, reviewed: bool) -> None:
    """Mark a translation file reviewed (by whom, when) or a draft (nobody yet)."""
    data = load(path)
    data["review"] = ({"reviewed_by": "Test Reviewer",
                       "reviewed_on": dt.date.today() - dt.timedelta(days=1)}
                      if reviewed else {"reviewed_by": None, "reviewed_on": None})
    write(path, data)


def add_brochure(project: Path, number: int) -> str:
    """Another generated brochure (TEST-B-00n), with no translation yet."""
    name = f"test-brochure-{number}"
    write(project / "handouts" / f"{name}.yaml", brochure(f"TEST-B-{number:03}"))
    return name


def words_of(path: Path) -> str:
    """A built file's text, whitespace folded: PDFium for a PDF (many files are read, and
    it is some twenty times faster than pypdf), the visible text of a web page."""
    import pypdfium2 as pdfium

    if path.suffix != ".pdf":
        return text_of_file(path)
    document = pdfium.PdfDocument(str(path))
    try:
        text = " ".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()
    return unhyphenate(squash(text.replace("\ufffe", "")))


def lines_starting(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


# --- every document in every language -----------------------------------------------

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
    text = words_of(pdf)
    language = document.language
    # Fixed labels in the language's words, dates written its way (Babel)...
    assert language.label("Medical review") in text
    assert language.format_date(document.handout.revision) in text
    assert language.label(document.variant.label) in text
    # ...the translated content, never the English in its place...
    assert squash(document.title) in text
    english = PROJECT.handouts[document.handout.id]
    assert squash(english.title) != squash(document.title)
    assert squash(english.title) not in text
    assert not [sentence for sentence in ENGLISH if sentence in text]
    for section in document.sections:
        assert squash(section.title).replace(" ", "") in text.replace(" ", ""), section.id
        for item in section.items:
            if isinstance(item, str):  # a write-in label: without its colon on a screen
                assert squash(item).rstrip(":").replace(" ", "") in text.replace(" ", ""), \
                    section.id
    # ...and, being reviewed, no draft or out-of-date mark.
    assert not document.translation.draft
    assert "Draft translation" not in text and "Out-of-date" not in text


def test_english_documents_have_no_translation_marks(built: Path) -> None:
    for document in DOCUMENTS:
        if document.language.source:
            text = words_of(built / document.relative_path)
            assert "Draft translation" not in text and "Out-of-date" not in text
            assert lang_of_file(built / document.relative_path) == document.language.tag


def test_language_assistance_notice_is_on_every_document(built: Path) -> None:
    lines = [notice.line(PROJECT.brand.phone, PROJECT.brand.tty) for notice in PROJECT.notices]
    assert {notice.lang for notice in PROJECT.notices} >= {"en-US", "es-US"}
    for document in DOCUMENTS:
        text = words_of(built / document.relative_path).replace(" ", "")
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


def test_spanish_is_hyphenated_with_the_spanish_dictionary(project: Path) -> None:
    """Hyphenation is rare by design (base.html: only where a line would end far short,
    at most two a page), so the Spanish notice line, whose words are long, is narrowed
    in a copy until they must break, and built with the gates off: every break falls
    where the language's own dictionary (pyphen) allows."""
    import pyphen

    with_languages(project)
    stylesheet = project / "styles" / "discharge.css"
    stylesheet.write_text(stylesheet.read_text(encoding="utf-8") + (
        "\n.language-help p { width: 1.4in; hyphens: auto !important;"
        " hyphenate-limit-zone: 0 !important; hyphenate-limit-chars: 6 3 3 !important; }\n"),
        encoding="utf-8")
    proc = run_pipeline("build", *ONE_SHEET, "--lang", "es", "--no-gates", project=project)
    assert proc.returncode == 0, proc.stderr.decode()
    spanish = next(d for d in documents_of(project) if d.language.code == "es"
                   and d.handout.id == SHEET and d.variant.name == "general"
                   and d.profile.name == "office")
    line = next(n for n in load_project(project).notices if n.lang.startswith("es"))
    words = {word.lower() for word in re.findall(r"\w+", line.text)}
    found = [(first, rest) for first, rest in
             _hyphenated_words(project / "output" / spanish.relative_path)
             if (first + rest).lower() in words]
    assert len(found) >= 5, found
    dictionary = pyphen.Pyphen(lang=spanish.language.hyphenation)
    wrong = [(first, rest) for first, rest in found
             if len(first) not in dictionary.positions((first + rest).lower())]
    assert not wrong, wrong


# --- drafts, gates and labels per language --------------------------------------------

def test_a_draft_fails_for_patients_unless_allowed(project: Path) -> None:
    with_languages(project)
    path = translation_path(project, SHEET)
    set_review(path, reviewed=False)
    spanish = (*ONE_SHEET, "--lang", "es")
    proc = run_pipeline("build", *spanish, project=project)
    assert_process_failed(proc, "[general, office, es]", "DRAFT, not reviewed",
                          "--allow-draft")
    assert not list((project / "output").rglob("*.pdf"))
    # The nurse's command says what to pass to it, not to "build" something.
    sheet = run_pipeline("discharge", "--patient", "Pat Example", "--lang", "es",
                         "-o", project / "sheet.pdf", project=project)
    said = assert_process_failed(sheet, "DRAFT, not reviewed", "pass --allow-draft")
    assert "build with" not in said and "Pat Example" not in said
    assert not (project / "sheet.pdf").exists()
    allowed = ok("build", *spanish, "--allow-draft", project=project)
    assert "NOT FOR PATIENTS" in allowed.stderr
    pdf = project / "output/es/office" / SHEET / "general.pdf"
    assert "Draft translation, not reviewed" in text_of(pdf)
    # A review recorded in the translation file makes it a finished edition (the
    # reviewed library's Spanish PDFs carry no mark: test_translated_pdf_is_in_its_language).
    set_review(path, reviewed=True)
    assert language_status(ok("list", project=project).stdout)[SHEET]["es"] == "reviewed"


def test_check_runs_the_gates_per_language_with_its_own_words_and_formula(
        project: Path) -> None:
    with_languages(project)
    path = translation_path(project, SHEET)
    english = load(project / "handouts" / f"{SHEET}.yaml")
    with_body = next(s["id"] for s in english["sections"] if s.get("body"))
    without_body = next(s["id"] for s in english["sections"] if not s.get("body"))
    # A listed Spanish medical word and a sentence far too long for the target.
    long = ("La fluoroscopia intraoperatoria permitió la administración percutánea "
            "del polimetilmetacrilato bajo condiciones estrictamente controladas.")
    one = ("check", "--lang", "es", "--handout", SHEET, "--variant", "general")
    # A body where the English section has none is refused...
    data = load(path)
    data["sections"][without_body]["body"] = long
    write(path, data)
    proc = run_pipeline(*one, project=project)
    assert_process_failed(proc, f"section '{without_body}'", "body the English does not have")
    # ...while the same words in a translated body that exists fail the gates, and the
    # Spanish reading target (languages.yaml) is applied with the Spanish formula.
    del data["sections"][without_body]["body"]
    data["sections"][with_body]["body"] = f"{long} {data['sections'][with_body]['body']}"
    write(path, data)
    edit(project / "languages.yaml", "targets: {general: 60,", "targets: {general: 99.5,")
    result = run_cli(*one, project=project)
    assert_clean_failure(result, f"'fluoroscopia' in section '{with_body}'",
                         f"allowed_terms in translations/es/{SHEET}.yaml",
                         "reading ease (fernandez-huerta)", "below the target 99.5")
    row = next(line for line in result.stdout.splitlines() if line.startswith(SHEET))
    assert " es " in row and "FH " in row  # Fernández-Huerta, in check's table


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
    listed = ok("list", project=project).stdout
    assert language_status(listed)[SHEET]["pt"] == "reviewed" and "Portuguese" in listed
    ok("build", "--lang", "pt", *ONE_SHEET, project=project)
    pdf = project / "output/pt/office" / SHEET / "general.pdf"
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
    today = dt.date.today()
    procedure, follow_up = today - dt.timedelta(days=3), today + dt.timedelta(days=14)
    sheet = tmp_path / "hoja.pdf"
    ok("discharge", "--lang", "es", "--patient", "Test Paciente",
       "--procedure-date", procedure.isoformat(), "--follow-up", f"{follow_up} 10:30",
       "--field", "side=left", "-o", sheet)
    text = text_of(sheet)
    assert spanish.format_skeleton("yMMMd", procedure) in text  # Babel
    assert spanish.label("Patient:") in text and "Test Paciente" in text
    # A choice prints in the sheet's language (the translation's fields.<name> unit).
    side = PROJECT.translations[("es", SHEET)].units["fields.side"].text["choices"][0]
    assert side in text
    assert PdfReader(sheet).trailer["/Root"]["/Lang"] == "es-US"
    # A day's list picks the language per row.
    csv = tmp_path / "hoy.csv"
    csv.write_text("patient,lang\nUno,es\nTwo,en\nTres,fr\n", encoding="utf-8")
    bad = run_pipeline("discharge", "--csv", csv, "--merge", "-o", tmp_path / "hoy.pdf")
    assert_process_failed(bad, "hoy.csv row 4, column lang: unknown language")
    assert "Tres" not in bad.stderr.decode() and not (tmp_path / "hoy.pdf").exists()


# --- languages per handout are a status (issue 27) ---------------------------------------

def language_status(listed: str) -> dict[str, dict[str, str]]:
    """{handout: {language: status}} from the Handouts part of `pipeline.py list`."""
    handouts = listed.split("Handouts:\n", 1)[1].split("\nVariants:", 1)[0]
    found, handout = {}, ""
    for line in handouts.splitlines():
        if not line[2].isspace():  # a handout's first line: its name, kind and code
            handout = line.split()[0]
        elif line.split()[0] == "languages:":
            found[handout] = dict(pair.split() for pair in line.split(":", 1)[1].split(","))
    return found


def test_list_shows_each_handouts_status_in_each_language(project: Path) -> None:
    with_languages(project)
    set_review(translation_path(project, SHEET), reviewed=False)  # draft
    stale, incomplete, missing = (add_brochure(project, n) for n in (2, 3, 4))
    for name in (stale, incomplete):
        translate(project, name, "es", reviewed=True)
    # The English changes after it was translated: that translation is out of date.
    handout = load(project / "handouts" / f"{stale}.yaml")
    write(project / "handouts" / f"{stale}.yaml", {**handout, "title": "Test brochure, new"})
    # A unit left out of a translation: partly translated.
    data = load(translation_path(project, incomplete))
    del data["sections"][next(iter(data["sections"]))]
    write(translation_path(project, incomplete), data)
    assert language_status(ok("list", project=project).stdout) == {
        LEAFLET: {"en": "source", "es": "reviewed"}, SHEET: {"en": "source", "es": "draft"},
        stale: {"en": "source", "es": "stale"}, incomplete: {"en": "source", "es": "incomplete"},
        missing: {"en": "source", "es": "missing"}}


def test_a_handout_without_a_translation_is_made_in_english_with_one_note(
        project: Path) -> None:
    with_languages(project)
    new = add_brochure(project, 2)
    start = f"pipeline.py translations export --lang es --handout {new}"
    # Every variant and profile of it in Spanish: nothing to make, one line saying so.
    spanish = run_pipeline("build", "--handout", new, "--lang", "es", project=project)
    err = spanish.stderr.decode()
    assert spanish.returncode == 0, err
    notes = lines_starting(err, "Note:")
    assert len(notes) == 1 and new in notes[0] and "no Spanish translation yet" in notes[0], err
    assert start in notes[0]
    assert not lines_starting(err, "Error:") and not list((project / "output").rglob("*.pdf"))
    # All languages: the English is made, the same one note, no Spanish file.
    english = ok("build", "--handout", new, "--variant", "general", "--profile", "office",
                 project=project)
    assert lines_starting(english.stderr, "Note:") == notes
    assert [p.relative_to(project / "output").as_posix()
            for p in (project / "output").rglob("*.pdf")] == [f"office/{new}/general.pdf"]
    manifest = json.loads((project / "output/manifest.json").read_text())["documents"]
    assert [entry["lang"] for entry in manifest] == ["en"]


def test_a_required_language_makes_a_missing_file_one_failure(project: Path) -> None:
    with_languages(project)
    new = add_brochure(project, 2)
    edit(project / "languages.yaml", "    name: Spanish\n",
         "    name: Spanish\n    required: true\n")
    # Every variant and profile of it: one line for the one missing file.
    proc = run_pipeline("build", "--handout", new, "--lang", "es", project=project)
    err = assert_process_failed(proc, f"translations/es/{new}.yaml: missing",
                                "languages.yaml requires Spanish", "required: true",
                                f"translations export --lang es --handout {new}")
    assert len(lines_starting(err, "Error:")) == 1 and len(err.strip().splitlines()) == 1, err
    assert not list((project / "output").rglob("*.pdf"))


def test_a_sheet_in_a_language_its_handout_lacks_is_refused_in_a_nurses_words(
        project: Path, tmp_path: Path) -> None:
    with_languages(project)
    translation_path(project, SHEET).unlink()
    nurse = f"{SHEET} has no Spanish translation yet; print it in English (en) and call " \
            "the interpreter service"
    sheet = tmp_path / "hoja.pdf"
    proc = run_pipeline("discharge", "--lang", "es", "--patient", "Paciente Prueba",
                        "-o", sheet, project=project)
    said = assert_process_failed(proc, "--lang: " + nurse)
    assert "Paciente Prueba" not in said and "Traceback" not in said and not sheet.exists()
    assert len(lines_starting(said, "Error:")) == 1
    # The same in a day's list, naming the row and column.
    csv = tmp_path / "hoy.csv"
    csv.write_text("patient,lang\nOne,en\nDos,es\n", encoding="utf-8")
    rows = run_pipeline("discharge", "--csv", csv, "--merge", "-o", sheet, project=project)
    said = assert_process_failed(rows, "hoy.csv row 3, column lang: " + nurse)
    assert "Dos" not in said and not sheet.exists()
    # A translated sheet whose companion brochure is not translated: refused too.
    translate(project, SHEET, "es", reviewed=True)
    translation_path(project, LEAFLET).unlink()
    both = run_pipeline("discharge", "--lang", "es", "--with-brochure", "-o", sheet,
                        project=project)
    assert_process_failed(both, f"--with-brochure: {LEAFLET} has no Spanish translation yet",
                          "call the interpreter service")
    assert not sheet.exists()
