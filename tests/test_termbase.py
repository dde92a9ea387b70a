"""A termbase per language (translations/<lang>/glossary.yaml, issue 24): where the
English uses a term, the translation must use an approved rendering and none of the
forbidden ones; the PO export shows the terms to the translator. Planted on a copy of
the generated library, checked through `pipeline.py check` as a process."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import LIBRARY, assert_process_failed, run_pipeline, with_languages
from library import ENGLISH, SPANISH, load, write

[SHEET] = LIBRARY.discharges
ONE = ("--lang", "es", "--handout", SHEET, "--variant", "general")


def glossary(project: Path, *terms: dict) -> None:
    write(project / "translations/es/glossary.yaml", {"terms": list(terms)})


def test_a_missing_or_forbidden_rendering_fails_and_the_approved_one_passes(
        project: Path) -> None:
    with_languages(project)
    # The library's English says "Walk a little each day." and its Spanish
    # "Camine un poco cada día." (tests/library.py).
    assert ENGLISH[1] == "Walk a little each day." and SPANISH[1] == "Camine un poco cada día."
    glossary(project, {"en": "walk", "es": ["camine", "caminar"], "forbidden": ["ande"]})
    passed = run_pipeline("check", *ONE, project=project)
    assert passed.returncode == 0, passed.stderr.decode()
    glossary(project, {"en": ["walk", "walks"], "es": "pasee", "note": "the clinic's word"})
    err = assert_process_failed(run_pipeline("check", *ONE, project=project),
                                "does not use the approved 'pasee' for 'walk'",
                                "termbase translations/es/glossary.yaml")
    assert f"translations/es/{SHEET}.yaml: sections.activity" in err
    glossary(project, {"en": "walk", "es": "pasee", "forbidden": ["camine"],
                       "note": "camine is not ours"})
    assert_process_failed(run_pipeline("check", *ONE, project=project),
                          "uses 'camine' for 'walk' (camine is not ours); use 'pasee'")


def test_a_broken_glossary_is_named_in_one_line(project: Path) -> None:
    with_languages(project)
    write(project / "translations/es/glossary.yaml", {"terms": [{"en": "walk"}]})
    assert_process_failed(run_pipeline("list", project=project),
                          "translations/es/glossary.yaml", "terms[0].es: required key")


def test_the_po_export_shows_the_terms_to_the_translator(project: Path,
                                                         tmp_path: Path) -> None:
    with_languages(project)
    glossary(project, {"en": "walk", "es": "camine", "forbidden": ["ande"],
                       "note": "plain word"})
    po = tmp_path / "es.po"
    proc = run_pipeline("translations", "export", "--lang", "es", "-o", po, project=project)
    assert proc.returncode == 0, proc.stderr.decode()
    text = po.read_text(encoding="utf-8")
    entry = text[text.index(f'msgid "{ENGLISH[1]}"') - 600:text.index(f'msgid "{ENGLISH[1]}"')]
    assert "# Term: walk = camine; not: ande (plain word)" in entry
    import polib

    entries = polib.pofile(str(po))
    using = [e for e in entries if re.search(r"\bwalk\b", e.msgid, re.IGNORECASE)]
    commented = [e for e in entries if "Term: walk" in e.tcomment]
    assert commented == using and using  # only where the term is used
    # Export then import changes nothing (the comments are not content).
    before = load(project / f"translations/es/{SHEET}.yaml")
    imported = run_pipeline("translations", "import", po, "--lang", "es", project=project)
    assert imported.returncode == 0, imported.stderr.decode()
    assert load(project / f"translations/es/{SHEET}.yaml") == before
