"""The broken-input corpus: every case is applied to a copy of the generated library
(tests/library.py), run through the real entry point (`python pipeline.py` as a
process), and must end in a clean one-line error: exit code, the file and key named, no
traceback, nothing partial written and nothing left in the temporary folder.

Cases cover content, variants, brand, plain words, styles, templates and command-line
options. Add a case to the list of its kind for every new kind of bad input:
- HANDOUT_CASES break one handout each. The project validates every file before it
  renders anything and reports every problem at once, so each case breaks its OWN copy
  of a library handout (handouts/with-<case>.yaml) and one run checks them all: each
  must be named on a line of its own.
- LAYOUT_CASES are content that only the layout finds: the same, in one build.
- CASES break something shared (a template, a stylesheet, variants.yaml, brand.yaml)
  or the command line, one project and one run each.
The runs are independent, so they go two at a time (this machine has two cores).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from conftest import leftovers, pdfs_in, run_pipeline
from library import load, write
from library_extra import BROCHURE, DISCHARGE, copy_library, handout_file, section

FUTURE = dt.date(2099, 1, 1)
MARKER = "Zqxmarker Patientvalue"  # a patient value that must never be echoed
VARIANT = "general"  # one variant: the layout cases need one document each


# --- editing a handout file ----------------------------------------------------------

def edit(change: Callable[[dict], object]) -> Callable[[Path], None]:
    """A case that edits the handout's data."""
    def apply(path: Path) -> None:
        data = load(path)
        change(data)
        write(path, data)
    return apply


def text(old: str, new: str) -> Callable[[Path], None]:
    """A case that edits the handout's text (`old` is a regular expression)."""
    def apply(path: Path) -> None:
        content = path.read_text(encoding="utf-8")
        assert re.search(old, content), f"case setup: {old!r} not in {path.name}"
        path.write_text(re.sub(old, new, content, count=1), encoding="utf-8")
    return apply


def append(addition: str) -> Callable[[Path], None]:
    def apply(path: Path) -> None:
        with path.open("a", encoding="utf-8") as stream:
            stream.write(addition)
    return apply


def replace_file(make: Callable[[Path], object]) -> Callable[[Path], None]:
    """A case that puts something else where the handout file was."""
    def apply(path: Path) -> None:
        path.unlink()
        make(path)
    return apply


def symlink_outside(path: Path) -> None:
    outside = path.parents[2] / f"outside-{path.name}"
    outside.write_text(handout_file(path.parents[1], DISCHARGE).read_text())
    os.symlink(outside, path)


def override(change: dict) -> Callable[[Path], None]:
    return edit(lambda data: data.update(overrides={VARIANT: change}))


@dataclass(frozen=True)
class HandoutCase:
    """One broken handout: a copy of the library's discharge sheet (or brochure) at
    handouts/with-<name>.yaml, broken by `mutate`. FILE in a fragment is its path."""
    name: str
    mutate: Callable[[Path], None]
    fragments: tuple[str, ...]
    base: str = DISCHARGE
    file: str = ""  # where the case leaves it, if it moves it

    @property
    def path(self) -> str:
        return self.file or f"handouts/with-{self.name}.yaml"

    def expect(self) -> tuple[str, ...]:
        return tuple(f.replace("FILE", self.path) for f in self.fragments)


HANDOUT_CASES = [
    HandoutCase("yaml-syntax", append("\n  bad: [indent\n"), ("FILE:", "invalid YAML")),
    HandoutCase("unknown-key", edit(lambda d: d["sections"][0].update(colour="red")),
                ("FILE:", "sections[0].colour: unknown key; expected one of")),
    HandoutCase("missing-required-key", edit(lambda d: d.pop("document_code")),
                ("FILE", "document_code: required key is missing")),
    HandoutCase("not-a-date", edit(lambda d: d.update(revision="last tuesday")),
                ("FILE:", "revision: must be a date written as YYYY-MM-DD")),
    HandoutCase("impossible-date", text(r"revision: \S+", "revision: 2027-02-30"),
                ("FILE:", "'2027-02-30' is not a real date")),
    HandoutCase("future-revision", edit(lambda d: d.update(revision=FUTURE)),
                ("FILE:", "revision: 2099-01-01 is in the future")),
    HandoutCase("future-approval", edit(lambda d: d["review"].update(approved_on=FUTURE)),
                ("FILE:", "review.approved_on: 2099-01-01 is in the future")),
    HandoutCase("review-order", edit(
        lambda d: d["review"].update(next_review=d["review"]["approved_on"])),
        ("FILE:", "review.next_review: must come after approved_on")),
    HandoutCase("unknown-kind", edit(lambda d: d.update(kind="poster")),
                ("FILE:", "kind: 'poster' is not a handout kind")),
    HandoutCase("unknown-panel", edit(lambda d: d["sections"][0].update(panel="attic")),
                ("FILE:", "sections[0].panel: 'attic' is not a panel"), base=BROCHURE),
    HandoutCase("section-on-cover", edit(lambda d: d["sections"][0].update(panel="cover")),
                ("FILE:", "sections cannot go on the 'cover' panel"), base=BROCHURE),
    HandoutCase("duplicate-section-id", edit(
        lambda d: d["sections"].append(dict(d["sections"][0]))),
        ("FILE:", "section id 'key-points' is used twice")),
    HandoutCase("unknown-section-type", edit(lambda d: d["sections"][0].update(type="poem")),
                ("FILE:", "sections[0].type: 'poem' is not a section type")),
    HandoutCase("override-unknown-variant", edit(
        lambda d: d.update(overrides={"teens": {"title": "Hi"}})),
        ("FILE:", "overrides.teens: unknown variant 'teens'")),
    HandoutCase("replace-missing-section", override({"replace": {"nope": {"title": "X"}}}),
                ("FILE:", ".replace.nope: no section 'nope' to replace")),
    HandoutCase("move-after-missing-section",
                override({"replace": {"key-points": {"after": "nope"}}}),
                ("FILE:", ".replace.key-points.after: no other section 'nope'")),
    HandoutCase("add-after-missing-section", override({"add": [
        {"id": "extra", "title": "Extra", "body": "Hi.", "after": "nope"}]}),
        ("FILE:", ".add[0].after: no section 'nope'")),
    HandoutCase("remove-missing-section", override({"remove": ["nope"]}),
                ("FILE:", ".remove: no shared section 'nope' to remove")),
    HandoutCase("figure-outside-project", edit(lambda d: d["sections"][0].update(figure={
        "src": "../../../etc/hostname", "alt": "A", "caption": "C"})),
        ("FILE:", "figure.src: '../../../etc/hostname' is outside the project")),
    HandoutCase("figure-missing", edit(lambda d: d["sections"][0].update(figure={
        "src": "assets/images/nothing.svg", "alt": "A", "caption": "C"})),
        ("FILE:", "figure.src: file 'assets/images/nothing.svg' not found")),
    HandoutCase("figure-not-a-picture", edit(lambda d: d["sections"][0].update(figure={
        "src": "brand.yaml", "alt": "A", "caption": "C"})),
        ("FILE:", "figure.src: 'brand.yaml' is not a picture")),
    HandoutCase("deep-nesting", append("\nextra: " + "[" * 500 + "]" * 500 + "\n"),
                ("FILE:", "nested more than")),
    HandoutCase("huge-file", append("\n# " + "x" * 400_000 + "\n"), ("FILE", "KiB, more than the")),
    HandoutCase("too-many-sections", edit(lambda d: d["sections"].extend(
        {"id": f"more-{n}", "title": "More", "body": "Hi."} for n in range(60))),
        ("FILE:", "sections, more than the")),
    HandoutCase("too-many-items", edit(
        lambda d: d["sections"][0].update(items=[f"Item {n}." for n in range(100)])),
        ("FILE:", "sections[0].items: 100 items, more than the")),
    HandoutCase("text-too-long", edit(
        lambda d: d["sections"][0].update(body="Rest. " * 2000)),
        ("FILE:", "sections[0].body:", "characters, more than the")),
    HandoutCase("item-too-long", edit(lambda d: d["sections"][0].update(items=["Rest. " * 500])),
                ("FILE:", "sections[0].items[0]: more than 2000 characters")),
    HandoutCase("title-too-long", edit(lambda d: d.update(title="Rest at home. " * 12)),
                ("FILE:", "title:", "characters, more than the")),
    HandoutCase("word-too-long", edit(lambda d: d["sections"][0].update(body="A" * 45)),
                ("FILE:", "sections[0].body: has a word of 45 characters, more than the")),
    HandoutCase("duplicate-document-code", edit(
        lambda d: d.update(document_code="TEST-B-001")),
        ("document_code:", f"is already used by handouts/{BROCHURE}.yaml")),
    HandoutCase("lowercase-code", edit(lambda d: d.update(document_code="abc-1")),
                ("FILE:", "document_code: 'abc-1' must be capital letters")),
    HandoutCase("newline-in-code", edit(
        lambda d: d.update(document_code="BSC-1\nError: all good")),
        ("FILE:", "document_code: 'BSC-1\\nError: all good' must be capital letters")),
    HandoutCase("unknown-profile", edit(lambda d: d.update(profiles=["poster"])),
                ("FILE:", "unknown print profile 'poster'")),
    HandoutCase("unknown-patient-field", edit(lambda d: section(d, "done-today")["items"]
                                              .append({"label": "X:", "field": "ssn"})),
                ("FILE:", "'ssn' is not a field of this handout")),
    # libyaml refuses a lone surrogate while parsing, naming the line.
    HandoutCase("lone-surrogate", text("title: After your test",
                                       'title: "After \\\\ud800 your test"'),
                ("FILE:", "invalid Unicode character escape")),
    HandoutCase("control-character", text("title: After your test",
                                          'title: "After \\\\x07 your test"'),
                ("FILE:", "title: contains a character that cannot be printed")),
    HandoutCase("after-not-text", override({"add": [
        {"id": "extra", "title": "Extra", "body": "Hi.", "after": ["key-points"]}]}),
        ("FILE:", ".add[0].after: must be the id of one section")),
    HandoutCase("remove-and-replace", override({"remove": ["key-points"],
                                                "replace": {"key-points": {"title": "X"}}}),
                ("FILE:", ".replace.key-points: this section is also in remove")),
    HandoutCase("revision-1900", edit(lambda d: d.update(revision=dt.date(1900, 1, 1))),
                ("FILE:", "revision: 1900-01-01 is before 2000")),
    HandoutCase("duplicate-key", append("\ntitle: Again\n"), ("FILE:", "duplicate key 'title'")),
    HandoutCase("not-utf8", lambda p: p.write_bytes("title: caf\u00e9\n".encode("latin-1")),
                ("FILE", "save it as UTF-8")),
    HandoutCase("not-a-mapping", lambda p: p.write_text("- just\n- a list\n"),
                ("FILE", "must be a mapping of keys to values, not a list")),
    HandoutCase("empty-file", lambda p: p.write_text("# nothing yet\n"),
                ("FILE", "the file is empty")),
    # What sits in handouts/ besides handout files.
    HandoutCase("yml-extension", lambda p: p.rename(p.with_suffix(".yml")),
                ("FILE: handout files end in .yaml",), file="handouts/with-yml-extension.yml"),
    HandoutCase("bad-file-name", lambda p: p.rename(p.parent / "With Bad Name.yaml"),
                ("FILE:", "lowercase letters, digits and hyphens"),
                file="handouts/With Bad Name.yaml"),
    HandoutCase("symlink-outside", replace_file(symlink_outside),
                ("FILE", "is a link to a file outside the project")),
    HandoutCase("link-loop", replace_file(lambda p: os.symlink(p.name, p)),
                ("FILE: not a regular file",)),
    HandoutCase("named-pipe", replace_file(os.mkfifo), ("FILE: not a regular file",)),
    HandoutCase("folder-named-yaml", replace_file(Path.mkdir), ("FILE: not a regular file",)),
]

LAYOUT_CASES = [
    HandoutCase("word-too-wide", edit(
        lambda d: d.update(title="Percutaneousvertebroplastyexplained")),
        ("'Percutaneousvertebroplastyexplained' is", "too wide for panel 'cover'"),
        base=BROCHURE),
    HandoutCase("discharge-too-long", edit(lambda d: d["sections"].extend(
        {"id": f"more-{n}", "title": f"More {n}", "body": "Rest at home today. " * 90}
        for n in range(8))),
        ("with-discharge-too-long [", "more than the 4 allowed", "section '")),
    HandoutCase("runaway-length", edit(lambda d: d["sections"].extend(
        {"id": f"more-{n}", "title": f"More {n}", "body": "Rest at home today. " * 95,
         "items": ["Walk a little each day and rest when tired. " * 10] * 8}
        for n in range(10))),
        ("with-runaway-length [", "more than 12 pages, far longer than a handout may be")),
    HandoutCase("call-box-changed-type", override({"replace": {
        "call-clinic": {"type": "call-911"}}}),
        ("with-call-box-changed-type [", "required section 'call-clinic' is missing")),
]


# --- the cases that break something shared, or the command line -----------------------

def change(relative: str, edit_data: Callable[[dict], object]) -> Callable[[Path], None]:
    return lambda project: edit(edit_data)(project / relative)


def replace_text(relative: str, old: str, new: str) -> Callable[[Path], None]:
    return lambda project: text(re.escape(old), new.replace("\\", "\\\\"))(project / relative)


def append_to(relative: str, addition: str) -> Callable[[Path], None]:
    return lambda project: append(addition)(project / relative)


def template_link_outside(project: Path) -> None:
    (project.parent / "macros.html").write_text((project / "templates/macros.html").read_text())
    (project / "templates/macros.html").unlink()
    os.symlink(project.parent / "macros.html", project / "templates/macros.html")


def combine_path_outside(project: Path) -> None:
    (project / "s1/office").mkdir(parents=True)
    (project / "evil.pdf").write_bytes(b"%PDF-1.4")
    (project / "s1/manifest.json").write_text(json.dumps({"documents": [{
        "handout": "x", "variant": "y", "profile": "office", "path": "../evil.pdf",
        "pages": 1, "document_code": "X", "revision": "2026-01-01",
        "sha256": hashlib.sha256(b"%PDF-1.4").hexdigest()}]}))


@dataclass(frozen=True)
class Case:
    name: str
    mutate: Callable[[Path], object]
    fragments: tuple[str, ...]
    args: tuple[str, ...] = ("build", "--profile", "office")
    code: int = 1
    # Cases of one group break different keys of one file: validation reports every
    # problem of a file at once, so they share one project and one run.
    group: str = ""

    @property
    def run(self) -> str:
        return self.group or self.name


# One document, rendered in the process itself (no workers to start).
BUILD_DISCHARGE = ("build", "--profile", "office", "--handout", DISCHARGE, "--variant", VARIANT,
                   "--jobs", "1")
NOTHING = lambda project: None  # noqa: E731

CASES = [
    Case("no-handouts", lambda p: [path.unlink() for path in (p / "handouts").iterdir()],
         ("handouts/: no handout files",)),
    Case("template-link-outside", template_link_outside,
         ("templates/macros.html: is a link to a file outside",), BUILD_DISCHARGE),
    Case("template-recursion", append_to(
        "templates/macros.html", "\n{% macro loop() %}{{ loop() }}{% endmacro %}"
        "{{ loop() }}\n"), ("calls itself without end",), BUILD_DISCHARGE),
    # --- variants, brand, plain words -----------------------------------------------
    Case("variant-stylesheet-missing", change(
        "variants.yaml", lambda d: d["variants"][VARIANT].update(
            stylesheet="styles/missing.css")),
         ("variants.yaml:", "stylesheet: file 'styles/missing.css' not found"),
         group="variants"),
    Case("no-variants", lambda p: write(p / "variants.yaml", {"variants": {}}),
         ("variants.yaml:", "define at least one variant")),
    Case("variant-target-nan", replace_text(
        "variants.yaml", "reading_grade_max: ", "reading_grade_max: .nan #"),
         ("variants.yaml:", "reading_grade_max: must be a positive number"),
         group="variants"),
    Case("variant-target-negative", change(
        "variants.yaml", lambda d: d["variants"][VARIANT].update(min_body_pt=-2)),
         ("variants.yaml:", "min_body_pt: must be a positive number"),
         group="variants"),
    Case("brand-colour", change("brand.yaml", lambda d: d["colours"].update(primary="blue")),
         ("brand.yaml:", "colours.primary: must be a colour written as #RRGGBB"),
         group="brand"),
    Case("brand-cmyk", change(
        "brand.yaml", lambda d: d["colours"].update(ink={"rgb": "#000000", "cmyk": [1, 2]})),
         ("brand.yaml:", "colours.ink.cmyk: must be four percentages"),
         group="brand"),
    Case("brand-missing-phone", change("brand.yaml", lambda d: d.pop("phone")),
         ("brand.yaml:", "phone: required key is missing"),
         group="brand"),
    Case("brand-logo-outside", change(
        "brand.yaml", lambda d: d.update(logo="../../etc/hostname")),
         ("brand.yaml:", "logo: '../../etc/hostname' is outside the project"),
         group="brand"),
    Case("brand-http", change(
        "brand.yaml", lambda d: d.update(scheduling_url="http://example.org/book")),
         ("brand.yaml:", "scheduling_url: must start with https://"),
         group="brand"),
    Case("plain-words-broken", append_to("plain-words.yaml", "\n  - [oops\n"),
         ("plain-words.yaml:", "invalid YAML")),
    # --- styles and templates (found while rendering) ---------------------------------
    Case("font-face-outside", replace_text(
        "styles/fonts.css", "url(../assets/", "url(/usr/share/../../etc/"),
         ("styles/fonts.css: refused to load", "outside the project"), BUILD_DISCHARGE),
    Case("stylesheet-from-network", replace_text(
        "templates/base.html", '<link rel="stylesheet" href="styles/brand.css">',
        '<link rel="stylesheet" href="https://fonts.example.com/x.css">'),
         ("refused to load 'https://fonts.example.com/x.css'", "no network"), BUILD_DISCHARGE),
    Case("template-syntax", append_to("templates/discharge.html", "{% if %}"),
         ("templates/discharge.html:", "template syntax error"), BUILD_DISCHARGE),
    Case("template-undefined", replace_text(
        "templates/discharge.html", "<h1>{{ doc.title }}</h1>",
        "<h1>{{ brand.fax_number }}</h1>"),
         ("templates/discharge.html:", "fax_number", "define the value"), BUILD_DISCHARGE),
    Case("template-image-outside", replace_text(
        "templates/discharge.html", "{{ m.logo() }}",
        '<img src="file:///etc/hostname" alt="x">'),
         ("refused to load 'file:///etc/hostname'", "outside the project"), BUILD_DISCHARGE),
    Case("css-rule-broken", append_to(
        "styles/discharge.css", "\n.section { colour: red; margin: banana; }\n"),
         ("WeasyPrint reported",), BUILD_DISCHARGE),
    # --- command-line options ---------------------------------------------------------
    Case("unknown-variant-option", NOTHING, ("unknown variant 'teens'",),
         ("build", "--variant", "teens")),
    Case("unknown-handout-option", NOTHING, ("unknown handout 'nope'",),
         ("build", "--handout", "nope")),
    Case("unknown-profile-option", NOTHING, ("unknown profile 'poster'",),
         ("build", "--profile", "poster")),
    Case("bad-shard", NOTHING, ("--shard", "write it as K/N"), ("build", "--shard", "4/3"),
         code=2),
    Case("zero-jobs", NOTHING, ("--jobs",), ("build", "--jobs", "0"), code=2),
    Case("unknown-pdfx", NOTHING, ("--pdfx",), ("build", "--pdfx", "x-9"), code=2),
    Case("unknown-option", NOTHING, ("No such option",), ("build", "--colour"), code=2),
    Case("discharge-bad-date", NOTHING, ("procedure-date: not a date",),
         ("discharge", "--procedure-date", "2026-13-45")),
    Case("discharge-bad-levels", NOTHING, ("levels: use vertebra names",),
         ("discharge", "--levels", MARKER)),
    Case("discharge-bad-field", NOTHING, ("--field side:",),
         ("discharge", "--field", f"side={MARKER}")),
    Case("discharge-merge-without-csv", NOTHING, ("--merge goes with --csv",),
         ("discharge", "--merge")),
    Case("discharge-csv-missing", NOTHING, ("no-such.csv: no such CSV file",),
         ("discharge", "--csv", "no-such.csv")),
    Case("project-missing", NOTHING, ("does not exist",),
         ("--project", "PROJECT/nowhere", "list"), code=2),
    Case("combine-path-outside", combine_path_outside, ("path '../evil.pdf' leads outside",),
         ("combine", "PROJECT/s1", "-o", "PROJECT/joined")),
    Case("proof-before-build", NOTHING, ("nothing built yet",), ("proof",)),
    Case("combine-empty-folder", lambda p: (p / "empty").mkdir(), ("missing or empty",),
         ("combine", "PROJECT/empty", "-o", "PROJECT/joined")),
]


# --- running them ----------------------------------------------------------------------

@dataclass
class Run:
    project: Path
    folder: Path        # the working folder; tmp/ in it is the run's TMPDIR
    proc: subprocess.CompletedProcess | None = None

    @property
    def err(self) -> str:
        return self.proc.stderr.decode("utf-8", "replace")


def prepare(folder: Path, mutate: Callable[[Path], object]) -> Run:
    project = copy_library(folder / "project")
    (folder / "tmp").mkdir()
    mutate(project)
    return Run(project, folder)


def prepare_handouts(folder: Path, cases: list[HandoutCase]) -> Run:
    """One project with each case's own broken copy of a library handout."""
    def mutate(project: Path) -> None:
        for number, case in enumerate(cases, 1):
            path = project / f"handouts/with-{case.name}.yaml"
            data = load(handout_file(project, case.base))
            data["document_code"] = f"TEST-W-{number:03}"
            write(path, data)
            case.mutate(path)
    return prepare(folder, mutate)


def execute(run: Run, args: tuple[str, ...]) -> Run:
    args = tuple(arg.replace("PROJECT", str(run.project)) for arg in args)
    run.proc = run_pipeline(*args, project=run.project, cwd=run.folder,
                            env={"TMPDIR": str(run.folder / "tmp")}, timeout=120)
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every run of the corpus, two at a time."""
    home = tmp_path_factory.mktemp("corpus")
    jobs = {"handouts": (prepare_handouts(home / "handouts", HANDOUT_CASES),
                         ("build", "--profile", "office")),
            "layout": (prepare_handouts(home / "layout", LAYOUT_CASES),
                       ("build", "--profile", "office", "--variant", VARIANT, "--jobs", "2",
                        *(arg for case in LAYOUT_CASES
                          for arg in ("--handout", f"with-{case.name}"))))}
    for name in dict.fromkeys(case.run for case in CASES):
        group = [case for case in CASES if case.run == name]
        assert len({case.args for case in group}) == 1, name
        jobs[name] = (prepare(home / name, lambda project: [case.mutate(project)
                                                            for case in group]),
                      group[0].args)
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = {name: pool.submit(execute, run, args) for name, (run, args) in jobs.items()}
        return {name: future.result() for name, future in done.items()}


def assert_clean(run: Run, code: int, *fragments: str) -> None:
    """The exit code, each fragment on one line with the others, and nothing left."""
    assert run.proc.returncode == code, (run.proc.returncode, run.err)
    assert "Traceback" not in run.err, run.err
    lines = run.err.splitlines()
    assert any(all(f in line for f in fragments) for line in lines), \
        f"no line holds all of {fragments}:\n{run.err}"
    if code == 1:
        assert any(line.startswith("Error:") for line in lines), run.err
    assert pdfs_in(run.project / "output") == [], "a failed run wrote PDFs"
    assert not list(run.folder.glob("*.pdf")), "a failed run wrote PDFs"
    assert leftovers(run.project / "output") == []
    assert MARKER.encode() not in run.proc.stdout + run.proc.stderr
    assert list((run.folder / "tmp").iterdir()) == [], "left files in the temporary folder"


@pytest.mark.parametrize("case", HANDOUT_CASES, ids=[case.name for case in HANDOUT_CASES])
def test_a_broken_handout_is_named(runs: dict[str, Run], case: HandoutCase) -> None:
    assert_clean(runs["handouts"], 1, *case.expect())


def test_every_broken_handout_is_one_line(runs: dict[str, Run]) -> None:
    """One problem a line, each naming the file it is in; nothing about the good handouts."""
    lines = runs["handouts"].err.strip().splitlines()
    assert len(lines) >= len(HANDOUT_CASES)
    for line in lines:
        assert line.removeprefix("Error: ").startswith("handouts/"), line
        assert not line.removeprefix("Error: ").startswith((f"handouts/{BROCHURE}.yaml",
                                                            f"handouts/{DISCHARGE}.yaml")), line


@pytest.mark.parametrize("case", LAYOUT_CASES, ids=[case.name for case in LAYOUT_CASES])
def test_content_the_layout_refuses_is_named(runs: dict[str, Run], case: HandoutCase) -> None:
    """(That the other documents of a build are still written is test_errors.py's and
    test_incremental.py's.)"""
    assert_clean(runs["layout"], 1, *case.expect())


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_corpus(runs: dict[str, Run], case: Case) -> None:
    assert_clean(runs[case.run], case.code, *case.fragments)
