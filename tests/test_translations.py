"""Translations tracked against the English: stale and missing sections, and the
translator's PO round trip. Sections are picked from the project, never named."""

from __future__ import annotations

import shutil
from pathlib import Path

import polib
import pytest

from clinicprint.content import Override, load_project
from clinicprint.translations import english_units, status_of
from conftest import ROOT, LIBRARY, assert_process_failed, run_pipeline
from test_languages import with_languages

PROJECT = load_project(LIBRARY.root)
TRANSLATED = [language for language in PROJECT.languages.values() if not language.source]


def a_section_with_a_body(project: Path):
    """(handout, section) of the first shared section whose body can be changed."""
    loaded = load_project(project)
    for handout in loaded.handouts.values():
        for section in handout.sections:
            if section.body and section.id not in {
                    s for o in handout.overrides.values() for s in o.replace}:
                return handout, section
    pytest.skip("no shared section with a body")


def change_english(handout, section) -> None:
    path = handout.path
    text = path.read_text(encoding="utf-8")
    # One word of the body changed for another as long, so the English still fits.
    marker = section.body.split("\n")[0][:30]
    assert marker in text, marker
    word = marker.split()[0]
    changed = marker.replace(word, word[::-1] if word[::-1] != word else word + "s", 1)
    path.write_text(text.replace(marker, changed, 1), encoding="utf-8")


@pytest.mark.parametrize("language", TRANSLATED, ids=[lang.code for lang in TRANSLATED])
def test_shipped_translations_are_complete_and_current(language) -> None:
    for handout in PROJECT.handouts.values():
        translation = PROJECT.translations[(language.code, handout.id)]
        for variant in handout.variants:
            status = status_of(handout, translation, variant)
            assert not status.missing and not status.stale and not status.incomplete, status
            assert not status.orphans


def test_a_changed_english_section_makes_exactly_its_translation_stale(
        project: Path) -> None:
    with_languages(project)
    handout, section = a_section_with_a_body(project)
    change_english(handout, section)
    loaded = load_project(project)
    changed = loaded.handouts[handout.id]
    for language in TRANSLATED:
        translation = loaded.translations[(language.code, handout.id)]
        for variant in changed.variants:
            status = status_of(changed, translation, variant)
            removed = changed.overrides.get(variant, Override()).remove
            expected = set() if section.id in removed else {f"sections.{section.id}"}
            assert {key for key, _, _ in status.stale} == expected, variant
    # Through the CLI: check fails for the translation, naming handout, variant, section.
    proc = run_pipeline("check", "--lang", TRANSLATED[0].code, "--allow-draft",
                        "--handout", handout.id, project=project)
    err = assert_process_failed(proc, f"section '{section.id}' is STALE",
                                f"translations/{TRANSLATED[0].code}/{handout.id}.yaml")
    stale_lines = [line for line in err.splitlines() if "STALE" in line]
    assert stale_lines and all(f"section '{section.id}'" in line for line in stale_lines)
    for variant in changed.variants:
        assert any(f"[{variant}, office, {TRANSLATED[0].code}]" in line
                   for line in stale_lines) or section.id in \
            changed.overrides.get(variant, Override()).remove
    # The English documents are not held up by a stale translation.
    english = run_pipeline("check", "--lang", next(iter(loaded.languages)),
                           "--handout", handout.id, project=project)
    assert english.returncode == 0, english.stderr.decode()


def test_allow_stale_prints_loudly_and_marks_the_pdf(project: Path) -> None:
    from pdfread import text_of

    with_languages(project)
    handout, section = a_section_with_a_body(project)
    change_english(handout, section)
    language = TRANSLATED[0]
    variant = handout.variants[0]
    profile = "office" if "office" in handout.profiles else handout.profiles[0]
    proc = run_pipeline("build", "--lang", language.code, "--allow-draft", "--allow-stale",
                        "--handout", handout.id, "--variant", variant, "--profile", profile,
                        project=project)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert "--allow-stale" in err and "NOT FOR PATIENTS" in err and "STALE" in err
    pdf = project / "output" / language.code / profile / handout.id / f"{variant}.pdf"
    assert "Out-of-date translation" in text_of(pdf)


def test_a_missing_translation_fails_naming_it(project: Path) -> None:
    import yaml

    with_languages(project)
    language = TRANSLATED[0]
    handout, section = a_section_with_a_body(project)
    path = project / "translations" / language.code / f"{handout.id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["sections"][section.id]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    proc = run_pipeline("build", "--lang", language.code, "--allow-draft", "--handout",
                        handout.id, "--profile", "office", project=project)
    assert_process_failed(proc, f"no {language.name} translation of section '{section.id}'",
                          f"translations/{language.code}/{handout.id}.yaml",
                          "English is never printed")
    built = {p.stem for p in (project / "output").rglob("*.pdf")}
    using = {v for v in handout.variants
             if section.id not in handout.overrides.get(v, Override()).remove}
    assert using and not built & using  # variants without the section still build


def test_export_and_import_round_trip_changes_nothing(project: Path, tmp_path: Path) -> None:
    with_languages(project)
    language = TRANSLATED[0]
    before = {p: p.read_bytes() for p in (project / "translations").rglob("*.yaml")}
    po_path = tmp_path / f"{language.code}.po"
    exported = run_pipeline("translations", "export", "--lang", language.code, "-o", po_path,
                            project=project)
    assert exported.returncode == 0, exported.stderr.decode()
    po = polib.pofile(str(po_path))
    loaded = load_project(project)
    pieces = sum(len(list(_pieces(text))) for h in loaded.handouts.values()
                 for text in english_units(h).values())
    assert len(po) == pieces and po.percent_translated() == 100
    entry = po[0]
    handout_id = entry.msgctxt.split(":")[0]
    assert handout_id in loaded.handouts
    assert "handout:" in entry.tcomment and "variants:" in entry.tcomment
    assert not [e for e in po if e.fuzzy]  # nothing is stale today
    imported = run_pipeline("translations", "import", po_path, "--lang", language.code,
                            project=project)
    assert imported.returncode == 0, imported.stderr.decode()
    assert "0 translation file(s) changed" in imported.stdout.decode()
    assert {p: p.read_bytes() for p in (project / "translations").rglob("*.yaml")} == before


def _pieces(text):
    from clinicprint.translator_files import pieces

    return pieces(text)


def test_a_confirmed_message_clears_staleness(project: Path, tmp_path: Path) -> None:
    with_languages(project)
    language = TRANSLATED[0]
    handout, section = a_section_with_a_body(project)
    change_english(handout, section)
    po_path = tmp_path / "stale.po"
    run_pipeline("translations", "export", "--lang", language.code, "-o", po_path,
                 project=project)
    po = polib.pofile(str(po_path))
    fuzzy = [e for e in po if e.fuzzy]
    assert fuzzy and all(e.msgctxt.startswith(f"{handout.id}:sections.{section.id}:")
                         for e in fuzzy)
    for entry in fuzzy:  # the translator checks each message and confirms it
        entry.flags.remove("fuzzy")
    po.save(str(po_path))
    imported = run_pipeline("translations", "import", po_path, "--lang", language.code,
                            project=project)
    assert "1 translation file(s) changed" in imported.stdout.decode()
    proc = run_pipeline("check", "--lang", language.code, "--allow-draft", "--handout",
                        handout.id, project=project)
    assert proc.returncode == 0, proc.stderr.decode()


def test_a_po_message_for_text_that_does_not_exist_is_refused(project: Path,
                                                               tmp_path: Path) -> None:
    with_languages(project)
    po = polib.POFile()
    po.append(polib.POEntry(msgctxt="no-such-handout:sections.x:title", msgid="X",
                            msgstr="Y"))
    po.save(str(tmp_path / "bad.po"))
    before = {p: p.read_bytes() for p in (project / "translations").rglob("*.yaml")}
    proc = run_pipeline("translations", "import", tmp_path / "bad.po", "--lang",
                        TRANSLATED[0].code, project=project)
    assert_process_failed(proc, "bad.po:", "no-such-handout:sections.x:title",
                          "export a fresh file")
    assert {p: p.read_bytes() for p in (project / "translations").rglob("*.yaml")} == before


def test_a_translation_file_with_an_unknown_key_names_file_and_line(project: Path) -> None:
    with_languages(project)
    language = TRANSLATED[0]
    handout = next(iter(PROJECT.handouts))
    path = project / "translations" / language.code / f"{handout}.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "colour: red\n", encoding="utf-8")
    proc = run_pipeline("list", project=project)
    assert_process_failed(proc, f"translations/{language.code}/{handout}.yaml:",
                          "colour: unknown key")


def test_an_english_project_needs_no_language_files(project: Path) -> None:
    from conftest import documents_of

    assert not (project / "languages.yaml").exists()
    document = documents_of(project)[0]
    assert document.language.source and document.language.tag == "en-US"
    proc = run_pipeline("build", "--handout", document.handout.id, "--variant",
                        document.variant.name, "--profile", document.profile.name,
                        project=project)
    assert proc.returncode == 0, proc.stderr.decode()
    assert [p.relative_to(project / "output").as_posix()
            for p in (project / "output").rglob("*.pdf")] == [document.relative_path]
    shutil.rmtree(project / "output")
