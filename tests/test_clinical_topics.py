"""The clinical checklist (clinical-topics.yaml, clinicprint/clinical_topics.py, issue
24): each kind declares the topics every variant must cover, sections say which they
cover, and a document (handout x variant x language) that loses one, or no longer says
a topic's words, fails the build naming handout, variant, language and topic.

On a generated library with a generated checklist (tests/library.py, checklist=True);
defects are planted on a copy and the build runs as a process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import assert_process_failed, run_pipeline
from library import FEVER, THRESHOLD, Library, load, make_library, write

OFFICE = ("--profile", "office")


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Library:
    return make_library(tmp_path_factory.mktemp("checked") / "library", checklist=True)


@pytest.fixture
def copy(checked: Library, tmp_path: Path) -> Path:
    """A private copy of the checked library, safe to break."""
    target = tmp_path / "project"
    shutil.copytree(checked.root, target)
    return target


def sheet_of(root: Path) -> str:
    return next(root.glob("handouts/test-discharge-*.yaml")).stem


def test_every_generated_document_covers_its_topics(checked: Library) -> None:
    """Every variant in every language of the generated handouts meets the checklist
    (read without rendering: the same function the build calls)."""
    from clinicprint.build import plan
    from clinicprint.clinical_topics import clinical_problems
    from clinicprint.content import load_project

    project = load_project(checked.root)
    documents = plan(project, profiles=["office"])
    assert {d.language.code for d in documents} == {"en", "es"}
    assert {d.handout.kind for d in documents} == {"brochure", "discharge"}
    assert [problem for d in documents
            for problem in clinical_problems(d, project.checklist)] == []
    # The seniors sheet needs falls too; the general one does not.
    assert project.checklist.required("discharge", "seniors-osteoporosis") == \
        ("walking", "fever", "falls")
    assert project.checklist.required("discharge", "general") == ("walking", "fever")


def test_a_variant_that_loses_a_topic_fails_naming_it_in_each_language(copy: Path) -> None:
    sheet = sheet_of(copy)
    handout = load(copy / f"handouts/{sheet}.yaml")
    handout["overrides"]["seniors-osteoporosis"]["remove"] = ["activity"]
    write(copy / f"handouts/{sheet}.yaml", handout)
    proc = run_pipeline("build", "--handout", sheet, "--variant", "seniors-osteoporosis",
                        *OFFICE, "--output", copy / "output", project=copy)
    err = assert_process_failed(proc)
    for lang in ("en", "es"):
        line = next(line for line in err.splitlines()
                    if f"{sheet} [seniors-osteoporosis, {lang}]: clinical topic 'walking'" in line)
        assert "is not covered: no section has covers: [walking]" in line
        assert f"handouts/{sheet}.yaml" in line and "CLINICAL-TOPIC" in line
    assert "'fever'" not in err  # the topics still covered are not named
    assert not (copy / "output/office" / sheet / "seniors-osteoporosis.pdf").exists()


def test_a_translation_that_drops_the_threshold_fails_in_that_language(copy: Path) -> None:
    sheet = sheet_of(copy)
    translation = copy / f"translations/es/{sheet}.yaml"
    text = translation.read_text(encoding="utf-8")
    assert text.count(THRESHOLD) == 1  # the call box's fever line
    translation.write_text(text.replace(THRESHOLD, "38 grados"), encoding="utf-8")
    proc = run_pipeline("build", "--handout", sheet, "--variant", "general", *OFFICE,
                        "--lang", "es", "--lang", "en", "--output", copy / "output",
                        project=copy)
    err = assert_process_failed(proc, f"{sheet} [general, es]: clinical topic 'fever'",
                                f"the section covering it (call-clinic) does not say "
                                f"'{THRESHOLD}'", f"translations/es/{sheet}.yaml",
                                "CLINICAL-WORDS")
    assert f"{sheet} [general, en]" not in err  # the English still says it
    assert (copy / "output/office" / sheet / "general.pdf").is_file()


def test_a_tag_on_a_section_that_does_not_say_the_words_fails(copy: Path) -> None:
    """covers: cannot lie: a section tagged fever must say the threshold."""
    sheet = sheet_of(copy)
    handout = load(copy / f"handouts/{sheet}.yaml")
    call = next(s for s in handout["sections"] if s["id"] == "call-clinic")
    call["items"] = [item.replace(FEVER, "A fever") for item in call["items"]]
    write(copy / f"handouts/{sheet}.yaml", handout)
    proc = run_pipeline("build", "--handout", sheet, "--variant", "oncology", *OFFICE,
                        "--lang", "en", "--output", copy / "output", project=copy)
    assert_process_failed(proc, f"{sheet} [oncology, en]: clinical topic 'fever' (fever with "
                          f"its threshold): the section covering it (call-clinic) does not "
                          f"say '{THRESHOLD}'; say it in handouts/{sheet}.yaml")


def test_an_up_to_date_document_is_held_to_a_changed_checklist(copy: Path) -> None:
    """The checklist is not a document input: a build with nothing to render still
    checks every document against it."""
    sheet = sheet_of(copy)
    one = ("build", "--handout", sheet, "--variant", "general", *OFFICE, "--lang", "en",
           "--output", copy / "output")
    first = run_pipeline(*one, project=copy)
    assert first.returncode == 0, first.stderr.decode()
    checklist = load(copy / "clinical-topics.yaml")
    checklist["topics"]["follow-up"] = {"label": "the follow-up visit",
                                        "words": {"en": ["visit"], "es": ["cita"]}}
    checklist["kinds"]["discharge"]["every_variant"].append("follow-up")
    write(copy / "clinical-topics.yaml", checklist)
    again = run_pipeline(*one, project=copy)
    assert_process_failed(again, f"{sheet} [general, en]: clinical topic 'follow-up' (the "
                          "follow-up visit) is not covered")
    assert "0 built, 0 up to date, 1 failed" in again.stdout.decode()  # not rendered


def test_covers_names_only_the_checklist_topics(copy: Path, tmp_path: Path) -> None:
    sheet = sheet_of(copy)
    path = copy / f"handouts/{sheet}.yaml"
    handout = load(path)
    handout["sections"][2]["covers"] = ["walking", "no-such-topic"]
    write(path, handout)
    err = assert_process_failed(run_pipeline("list", project=copy),
                                f"handouts/{sheet}.yaml:")
    line = next(line for line in err.splitlines() if "no-such-topic" in line)
    assert "sections[2].covers: 'no-such-topic' is not a clinical topic" in line
    assert "walking, fever, falls" in line
    # Without a checklist, a section cannot claim a topic at all.
    (copy / "clinical-topics.yaml").unlink()
    assert_process_failed(run_pipeline("list", project=copy),
                          "'walking' is not a clinical topic",
                          "none: the project has no clinical-topics.yaml")


def test_a_broken_checklist_is_named_one_line_per_problem(copy: Path) -> None:
    checklist = load(copy / "clinical-topics.yaml")
    checklist["kinds"]["leaflet"] = {"every_variant": ["walking"]}
    checklist["kinds"]["discharge"]["variants"]["teens"] = ["falls"]
    checklist["kinds"]["brochure"]["every_variant"].append("sleep")
    checklist["topics"]["fever"]["sources"] = ["nowhere"]
    checklist["topics"]["walking"]["words"]["es"] = []
    write(copy / "clinical-topics.yaml", checklist)
    err = assert_process_failed(run_pipeline("list", project=copy))
    expected = ["kinds.leaflet: 'leaflet' is not a handout kind",
                "kinds.discharge.variants.teens: unknown variant 'teens'",
                "kinds.brochure.every_variant: no topic 'sleep' under topics:",
                "topics.fever.sources: no source 'nowhere' under sources:",
                "topics.walking.words.es: must be a list of 1 to 20 phrases"]
    for fragment in expected:
        line = next((line for line in err.splitlines() if fragment in line), None)
        assert line is not None, f"{fragment!r} not in:\n{err}"
        assert line.startswith("Error: clinical-topics.yaml:") or \
            line.startswith("clinical-topics.yaml:")
