"""Translations tracked against the English: stale and missing sections, and the
translator's PO round trip, choice fields included. Everything runs on the generated
library (tests/library.py); sections are picked from its content, never named."""

from __future__ import annotations

import shutil
from pathlib import Path

import polib

from clinicprint.content import Override, load_project
from clinicprint.translations import english_units, status_of
from conftest import LIBRARY, assert_process_failed, run_pipeline, with_languages
from library import load, write
from pdfread import text_of
from test_languages import language_status, ok

PROJECT = load_project(LIBRARY.root)
TRANSLATED = [language for language in PROJECT.languages.values() if not language.source]
LANGUAGE = TRANSLATED[0]
SHEET = LIBRARY.discharges[0]


def a_section_with_a_body(project: Path, name: str = SHEET):
    """(handout, section) of a shared section of handout `name` whose body can be
    changed. The discharge sheet by default: its out-of-date banner runs across the
    page (the brochure's Spanish one wraps into a panel heading, which fails the
    print-size gate: a product bug, reported)."""
    handout = load_project(project).handouts[name]
    replaced = {s for override in handout.overrides.values() for s in override.replace}
    section = next((s for s in handout.sections if s.body and s.id not in replaced), None)
    assert section, f"test setup: {name} has no shared section with a body"
    return handout, section


def change_english(handout, section) -> None:
    """One word of the section's body changed for another as long, so it still fits."""
    data = load(handout.path)
    entry = next(s for s in data["sections"] if s["id"] == section.id)
    word = entry["body"].split()[0]
    changed = word[::-1] if word[::-1] != word else word + "s"
    entry["body"] = entry["body"].replace(word, changed, 1)
    write(handout.path, data)


def translation_files(project: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in (project / "translations").rglob("*.yaml")}


def statuses(project: Path) -> dict[str, str]:
    """{handout: status in LANGUAGE} from `pipeline.py list`."""
    listed = ok("list", project=project).stdout
    return {name: status[LANGUAGE.code] for name, status in language_status(listed).items()}


def export(project: Path, po_path: Path, *handouts: str) -> polib.POFile:
    chosen = [arg for name in handouts for arg in ("--handout", name)]
    ok("translations", "export", "--lang", LANGUAGE.code, *chosen, "-o", po_path,
       project=project)
    return polib.pofile(str(po_path))


def import_po(project: Path, po_path: Path) -> str:
    return ok("translations", "import", po_path, "--lang", LANGUAGE.code,
              project=project).stdout


def test_a_translation_of_every_unit_is_complete_and_current() -> None:
    """The status a translation written unit by unit against the English has: nothing
    missing, stale, incomplete or left over, in any variant (what the library's own
    reviewed translations are; the shipped ones are checked by the build's gates)."""
    for language in TRANSLATED:
        for handout in PROJECT.handouts.values():
            translation = PROJECT.translations[(language.code, handout.id)]
            assert translation.exists and not translation.draft
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
    proc = run_pipeline("check", "--lang", LANGUAGE.code, "--handout", handout.id,
                        project=project)
    err = assert_process_failed(proc, f"section '{section.id}' is STALE",
                                f"translations/{LANGUAGE.code}/{handout.id}.yaml")
    stale_lines = [line for line in err.splitlines() if "STALE" in line]
    assert stale_lines and all(f"section '{section.id}'" in line for line in stale_lines)
    for variant in changed.variants:
        assert any(f"[{variant}, office, {LANGUAGE.code}]" in line
                   for line in stale_lines) or section.id in \
            changed.overrides.get(variant, Override()).remove
    # The English documents are not held up by a stale translation.
    ok("check", "--lang", next(iter(loaded.languages)), "--handout", handout.id,
       "--variant", changed.variants[0], project=project)
    assert statuses(project)[handout.id] == "stale"


def test_allow_stale_prints_loudly_and_marks_the_pdf(project: Path) -> None:
    with_languages(project)
    handout, section = a_section_with_a_body(project)
    change_english(handout, section)
    variant = handout.variants[0]
    profile = "office" if "office" in handout.profiles else handout.profiles[0]
    err = ok("build", "--lang", LANGUAGE.code, "--allow-stale", "--handout", handout.id,
             "--variant", variant, "--profile", profile, project=project).stderr
    assert "--allow-stale" in err and "NOT FOR PATIENTS" in err and "STALE" in err
    pdf = project / "output" / LANGUAGE.code / profile / handout.id / f"{variant}.pdf"
    assert "Out-of-date translation" in text_of(pdf)


def test_a_partly_translated_file_fails_naming_what_is_missing(project: Path) -> None:
    with_languages(project)
    handout, section = a_section_with_a_body(project)
    path = project / "translations" / LANGUAGE.code / f"{handout.id}.yaml"
    data = load(path)
    del data["sections"][section.id]
    write(path, data)
    proc = run_pipeline("build", "--lang", LANGUAGE.code, "--handout", handout.id,
                        "--profile", "office", project=project)
    assert_process_failed(proc, f"no {LANGUAGE.name} translation of section '{section.id}'",
                          f"translations/{LANGUAGE.code}/{handout.id}.yaml",
                          "English is never printed")
    built = {p.stem for p in (project / "output").rglob("*.pdf")}
    using = {v for v in handout.variants
             if section.id not in handout.overrides.get(v, Override()).remove}
    assert using and not built & using  # variants without the section still build
    # A partly translated file is not "missing" (which builds in English): it stays an error.
    assert "Note:" not in proc.stderr.decode()
    assert statuses(project)[handout.id] == "incomplete"


def test_export_and_import_round_trip_changes_nothing(project: Path, tmp_path: Path) -> None:
    with_languages(project)
    before = translation_files(project)
    po_path = tmp_path / f"{LANGUAGE.code}.po"
    po = export(project, po_path)
    loaded = load_project(project)
    pieces = sum(len(list(_pieces(text))) for h in loaded.handouts.values()
                 for text in english_units(h).values())
    assert len(po) == pieces and po.percent_translated() == 100
    entry = po[0]
    handout_id = entry.msgctxt.split(":")[0]
    assert handout_id in loaded.handouts
    assert "handout:" in entry.tcomment and "variants:" in entry.tcomment
    assert not [e for e in po if e.fuzzy]  # nothing is stale today
    assert "0 translation file(s) changed" in import_po(project, po_path)
    assert translation_files(project) == before


def _pieces(text):
    from clinicprint.translator_files import pieces

    return pieces(text)


def test_a_confirmed_message_clears_staleness(project: Path, tmp_path: Path) -> None:
    with_languages(project)
    handout, section = a_section_with_a_body(project)
    change_english(handout, section)
    po_path = tmp_path / "stale.po"
    po = export(project, po_path)
    fuzzy = [e for e in po if e.fuzzy]
    assert fuzzy and all(e.msgctxt.startswith(f"{handout.id}:sections.{section.id}:")
                         for e in fuzzy)
    for entry in fuzzy:  # the translator checks each message and confirms it
        entry.flags.remove("fuzzy")
    po.save(str(po_path))
    assert "1 translation file(s) changed" in import_po(project, po_path)
    # Current in every variant again (list sums up every variant's status).
    assert statuses(project)[handout.id] == "reviewed"


def choice_entries(po: polib.POFile, handout: str, field: str) -> list[polib.POEntry]:
    return [e for e in po if e.msgctxt.startswith(f"{handout}:fields.{field}:choices[")]


def test_a_choice_fields_words_go_through_the_po_file_onto_the_spanish_sheet(
        project: Path, tmp_path: Path) -> None:
    """fields.<name>: the choices of a field the handout declares are a unit of their
    own; a translator changes them in the PO file and the sheet prints them."""
    with_languages(project)
    english = load(project / "handouts" / f"{SHEET}.yaml")
    field = next(f for f in english["fields"] if f["type"] == "choice")
    po_path = tmp_path / "choices.po"
    po = export(project, po_path, SHEET)
    entries = choice_entries(po, SHEET, field["name"])
    assert [e.msgid for e in entries] == field["choices"]
    assert all(e.msgstr and "variants:" in e.tcomment for e in entries)
    words = [f"opción {choice} nueva" for choice in field["choices"]]
    for entry, word in zip(entries, words):
        entry.msgstr = word
    po.save(str(po_path))
    assert "1 translation file(s) changed" in import_po(project, po_path)
    saved = load(project / "translations" / LANGUAGE.code / f"{SHEET}.yaml")
    assert saved["fields"][field["name"]]["choices"] == words
    sheet = tmp_path / "hoja.pdf"
    ok("discharge", "--lang", LANGUAGE.code, "--field",
       f"{field['name']}={field['choices'][1]}", "-o", sheet, project=project)
    assert words[1] in text_of(sheet)


def test_the_note_s_command_starts_a_translation(project: Path, tmp_path: Path) -> None:
    """A handout with no translation file: the export the build's note names gives every
    piece with an empty translation; filled in and imported, it is a draft to review."""
    with_languages(project)
    (project / "translations" / LANGUAGE.code / f"{SHEET}.yaml").unlink()
    assert statuses(project)[SHEET] == "missing"
    po_path = tmp_path / f"{SHEET}.{LANGUAGE.code}.po"
    po = export(project, po_path, SHEET)
    units = english_units(load_project(project).handouts[SHEET])
    assert len(po) == sum(len(list(_pieces(text))) for text in units.values())
    assert {e.msgctxt.split(":")[0] for e in po} == {SHEET} and po.percent_translated() == 0
    assert any(":fields." in e.msgctxt for e in po)  # the choices are asked for too
    half = len(po) // 2
    for entry in po[:half]:
        entry.msgstr = f"[{LANGUAGE.code}] {entry.msgid}"
    po.save(str(po_path))
    import_po(project, po_path)
    assert statuses(project)[SHEET] == "incomplete"  # partly done: an error, not English
    for entry in po[half:]:
        entry.msgstr = f"[{LANGUAGE.code}] {entry.msgid}"
    po.save(str(po_path))
    assert "1 translation file(s) changed" in import_po(project, po_path)
    assert statuses(project)[SHEET] == "draft"


def test_a_po_message_for_text_that_does_not_exist_is_refused(project: Path,
                                                               tmp_path: Path) -> None:
    with_languages(project)
    po = polib.POFile()
    po.append(polib.POEntry(msgctxt="no-such-handout:sections.x:title", msgid="X",
                            msgstr="Y"))
    po.save(str(tmp_path / "bad.po"))
    before = translation_files(project)
    proc = run_pipeline("translations", "import", tmp_path / "bad.po", "--lang",
                        LANGUAGE.code, project=project)
    assert_process_failed(proc, "bad.po:", "no-such-handout:sections.x:title",
                          "export a fresh file")
    assert translation_files(project) == before


def test_a_translation_file_with_an_unknown_key_names_file_and_line(project: Path) -> None:
    with_languages(project)
    handout = LIBRARY.brochures[0]
    path = project / "translations" / LANGUAGE.code / f"{handout}.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "colour: red\n", encoding="utf-8")
    proc = run_pipeline("list", project=project)
    assert_process_failed(proc, f"translations/{LANGUAGE.code}/{handout}.yaml:",
                          "colour: unknown key")


def test_an_english_project_needs_no_language_files(project: Path) -> None:
    from conftest import documents_of

    assert not (project / "languages.yaml").exists()
    document = next(d for d in documents_of(project) if d.profile.name == "office")
    assert document.language.source and document.language.tag == "en-US"
    result = ok("build", "--handout", document.handout.id, "--variant",
                document.variant.name, "--profile", document.profile.name, project=project)
    assert "Note:" not in result.stderr  # no language to be missing
    assert [p.relative_to(project / "output").as_posix()
            for p in (project / "output").rglob("*.pdf")] == [document.relative_path]
    shutil.rmtree(project / "output")
