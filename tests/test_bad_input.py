"""The broken-input corpus: every case is applied to a copy of the project whose
handouts the test generated itself, run through the real entry point
(`python pipeline.py` as a process), and must end in a clean one-line error (or a
good build): exit code, the file and key named, no traceback, nothing partial
written and nothing left in the temporary folder.

Cases cover content, variants, brand, plain words, styles, templates and
command-line options. Add a case to CORPUS for every new kind of bad input.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

import factory
from conftest import leftovers, pdfs_in, run_pipeline

B = "handouts/test-brochure.yaml"
D = "handouts/test-discharge.yaml"
FUTURE = dt.date(2099, 1, 1)
MARKER = "Zqxmarker Patientvalue"  # a patient value that must never be echoed


def change(project: Path, relative: str, edit: Callable[[dict], object]) -> None:
    data = factory.load(project / relative)
    edit(data)
    factory.save(project / relative, data)


def replace_text(project: Path, relative: str, old: str, new: str) -> None:
    path = project / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"case setup: {old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def append(project: Path, relative: str, text: str) -> None:
    with (project / relative).open("a", encoding="utf-8") as stream:
        stream.write(text)


def section(data: dict, section_id: str) -> dict:
    return next(s for s in data["sections"] if s["id"] == section_id)


def first_variant(project: Path) -> str:
    return next(iter(factory.load(project / "variants.yaml")["variants"]))


@dataclass(frozen=True)
class Case:
    name: str
    mutate: Callable[[Path], object]
    fragments: tuple[str, ...]
    args: tuple[str, ...] = ("build", "--profile", "office")
    code: int = 1


BUILD_DISCHARGE = ("build", "--profile", "office", "--handout", "test-discharge")
BUILD_BROCHURE = ("build", "--profile", "office", "--handout", "test-brochure")

CORPUS = [
    # --- handout content -----------------------------------------------------------
    Case("yaml-syntax", lambda p: append(p, D, "\n  bad: [indent\n"),
         (f"{D}:", "invalid YAML")),
    Case("unknown-key", lambda p: change(p, D, lambda d: d["sections"][0].update(colour="red")),
         (f"{D}:", "sections[0].colour: unknown key; expected one of")),
    Case("missing-required-key", lambda p: change(p, D, lambda d: d.pop("document_code")),
         (D, "document_code: required key is missing")),
    Case("not-a-date", lambda p: change(p, D, lambda d: d.update(revision="last tuesday")),
         (f"{D}:", "revision: must be a date written as YYYY-MM-DD")),
    Case("impossible-date", lambda p: replace_text(
        p, D, f"revision: {factory.load(p / D)['revision']}", "revision: 2027-02-30"),
         (f"{D}:", "'2027-02-30' is not a real date")),
    Case("future-revision", lambda p: change(p, D, lambda d: d.update(revision=FUTURE)),
         (f"{D}:", "revision: 2099-01-01 is in the future")),
    Case("future-approval", lambda p: change(
        p, D, lambda d: d["review"].update(approved_on=FUTURE)),
         (f"{D}:", "review.approved_on: 2099-01-01 is in the future")),
    Case("review-order", lambda p: change(
        p, D, lambda d: d["review"].update(next_review=d["review"]["approved_on"])),
         (f"{D}:", "review.next_review: must come after approved_on")),
    Case("unknown-kind", lambda p: change(p, D, lambda d: d.update(kind="poster")),
         (f"{D}:", "kind: 'poster' is not a handout kind")),
    Case("unknown-panel", lambda p: change(p, B, lambda d: d["sections"][0].update(panel="attic")),
         (f"{B}:", "sections[0].panel: 'attic' is not a panel")),
    Case("section-on-cover", lambda p: change(
        p, B, lambda d: d["sections"][0].update(panel="cover")),
         (f"{B}:", "sections cannot go on the 'cover' panel")),
    Case("duplicate-section-id", lambda p: change(
        p, D, lambda d: d["sections"].append(dict(d["sections"][0]))),
         (f"{D}:", "section id 'part-1' is used twice")),
    Case("unknown-section-type", lambda p: change(
        p, D, lambda d: d["sections"][0].update(type="poem")),
         (f"{D}:", "sections[0].type: 'poem' is not a section type")),
    Case("override-unknown-variant", lambda p: change(
        p, D, lambda d: d.update(overrides={"teens": {"title": "Hi"}})),
         (f"{D}:", "overrides.teens: unknown variant 'teens'")),
    Case("replace-missing-section", lambda p: change(
        p, D, lambda d: d.update(overrides={first_variant(p): {"replace": {"nope": {
            "title": "X"}}}})),
         (f"{D}:", ".replace.nope: no section 'nope' to replace")),
    Case("move-after-missing-section", lambda p: change(
        p, D, lambda d: d.update(overrides={first_variant(p): {"replace": {"part-1": {
            "after": "nope"}}}})),
         (f"{D}:", ".replace.part-1.after: no other section 'nope'")),
    Case("add-after-missing-section", lambda p: change(
        p, D, lambda d: d.update(overrides={first_variant(p): {"add": [
            {"id": "extra", "title": "Extra", "body": "Hi.", "after": "nope"}]}})),
         (f"{D}:", ".add[0].after: no section 'nope'")),
    Case("remove-missing-section", lambda p: change(
        p, D, lambda d: d.update(overrides={first_variant(p): {"remove": ["nope"]}})),
         (f"{D}:", ".remove: no shared section 'nope' to remove")),
    Case("figure-outside-project", lambda p: change(
        p, D, lambda d: d["sections"][0].update(figure={
            "src": "../../../etc/hostname", "alt": "A", "caption": "C"})),
         (f"{D}:", "figure.src: '../../../etc/hostname' is outside the project")),
    Case("figure-missing", lambda p: change(
        p, D, lambda d: d["sections"][0].update(figure={
            "src": "assets/images/nothing.svg", "alt": "A", "caption": "C"})),
         (f"{D}:", "figure.src: file 'assets/images/nothing.svg' not found")),
    Case("deep-nesting", lambda p: append(p, D, "\nextra: " + "[" * 500 + "]" * 500 + "\n"),
         (f"{D}:", "nested more than")),
    Case("huge-file", lambda p: append(p, D, "\n# " + "x" * 400_000 + "\n"),
         (D, "KiB, more than the")),
    Case("too-many-sections", lambda p: change(p, D, lambda d: d["sections"].extend(
        {"id": f"more-{n}", "title": "More", "body": "Hi."} for n in range(60))),
         (f"{D}:", "sections, more than the")),
    Case("too-many-items", lambda p: change(
        p, D, lambda d: d["sections"][0].update(items=[f"Item {n}." for n in range(100)])),
         (f"{D}:", "sections[0].items: 100 items, more than the")),
    Case("text-too-long", lambda p: change(
        p, D, lambda d: d["sections"][0].update(body="Rest. " * 2000)),
         (f"{D}:", "sections[0].body:", "characters, more than the")),
    Case("yml-extension", lambda p: (p / D).rename(p / "handouts/test-discharge.yml"),
         ("handouts/test-discharge.yml: handout files end in .yaml",)),
    Case("duplicate-document-code", lambda p: change(
        p, D, lambda d: d.update(document_code=factory.load(p / B)["document_code"])),
         ("document_code:", "is already used by handouts/test-brochure.yaml")),
    Case("symlink-outside", lambda p: (
        (p.parent / "outside.yaml").write_text((p / D).read_text()),
        (p / D).unlink(), os.symlink(p.parent / "outside.yaml", p / D)),
         (D, "is a link to a file outside the project")),
    Case("bad-file-name", lambda p: (p / D).rename(p / "handouts/My Handout.yaml"),
         ("handouts/My Handout.yaml:", "lowercase letters, digits and hyphens")),
    Case("not-utf8", lambda p: (p / D).write_bytes("title: caf\u00e9\n".encode("latin-1")),
         (D, "save it as UTF-8")),
    Case("not-a-mapping", lambda p: (p / D).write_text("- just\n- a list\n"),
         (D, "must be a mapping of keys to values, not a list")),
    Case("no-handouts", lambda p: [path.unlink() for path in (p / "handouts").iterdir()],
         ("handouts/: no handout files",)),
    Case("duplicate-key", lambda p: append(p, D, "\ntitle: Again\n"),
         (f"{D}:", "duplicate key 'title'")),
    Case("lowercase-code", lambda p: change(p, D, lambda d: d.update(document_code="abc-1")),
         (f"{D}:", "document_code: 'abc-1' must be capital letters")),
    Case("unknown-profile", lambda p: change(p, D, lambda d: d.update(profiles=["poster"])),
         (f"{D}:", "unknown print profile 'poster'")),
    Case("unknown-patient-field", lambda p: change(
        p, D, lambda d: section(d, "details")["items"].append({"label": "X:", "field": "ssn"})),
         (f"{D}:", "'ssn' is not a patient field")),
    # libyaml refuses a lone surrogate while parsing, naming the line.
    Case("lone-surrogate", lambda p: replace_text(
        p, D, "title: Test handout", 'title: "Test \\ud800 handout"'),
         (f"{D}:", "invalid Unicode character escape")),
    Case("control-character", lambda p: replace_text(
        p, D, "title: Test handout", 'title: "Test \\x07 handout"'),
         (f"{D}:", "title: contains a character that cannot be printed")),
    Case("after-not-text", lambda p: change(
        p, D, lambda d: d.update(overrides={first_variant(p): {"add": [
            {"id": "extra", "title": "Extra", "body": "Hi.", "after": ["part-1"]}]}})),
         (f"{D}:", ".add[0].after: must be the id of one section")),
    Case("link-loop", lambda p: os.symlink("loop.yaml", p / "handouts/loop.yaml"),
         ("handouts/loop.yaml: not a regular file",)),
    Case("named-pipe", lambda p: os.mkfifo(p / "handouts/pipe.yaml"),
         ("handouts/pipe.yaml: not a regular file",)),
    Case("folder-named-yaml", lambda p: (p / "handouts/folder.yaml").mkdir(),
         ("handouts/folder.yaml: not a regular file",)),
    Case("empty-file", lambda p: (p / D).write_text("# nothing yet\n"),
         (D, "the file is empty")),
    Case("newline-in-code", lambda p: change(
        p, D, lambda d: d.update(document_code="BSC-1\nError: all good")),
         (f"{D}:", "document_code: 'BSC-1\\nError: all good' must be capital letters")),
    Case("revision-1900", lambda p: change(
        p, D, lambda d: d.update(revision=dt.date(1900, 1, 1))),
         (f"{D}:", "revision: 1900-01-01 is before 2000")),
    Case("figure-not-a-picture", lambda p: change(
        p, D, lambda d: d["sections"][0].update(figure={
            "src": "brand.yaml", "alt": "A", "caption": "C"})),
         (f"{D}:", "figure.src: 'brand.yaml' is not a picture")),
    Case("call-box-changed-type", lambda p: change(
        p, D, lambda d: d.update(overrides={first_variant(p): {"replace": {
            "call-clinic": {"type": "call-911"}}}})),
         ("test-discharge [", "required section 'call-clinic' is missing"),
         (*BUILD_DISCHARGE, "--variant", "FIRST_VARIANT")),
    Case("remove-and-replace", lambda p: change(
        p, D, lambda d: d.update(overrides={first_variant(p): {
            "remove": ["part-1"], "replace": {"part-1": {"title": "X"}}}})),
         (f"{D}:", ".replace.part-1: this section is also in remove")),
    Case("template-link-outside", lambda p: (
        (p.parent / "macros.html").write_text((p / "templates/macros.html").read_text()),
        (p / "templates/macros.html").unlink(),
        os.symlink(p.parent / "macros.html", p / "templates/macros.html")),
         ("templates/macros.html: is a link to a file outside",), BUILD_DISCHARGE),
    Case("template-recursion", lambda p: append(
        p, "templates/macros.html", "\n{% macro loop() %}{{ loop() }}{% endmacro %}"
        "{{ loop() }}\n"),
         ("calls itself without end",), BUILD_DISCHARGE),
    # --- variants, brand, plain words -----------------------------------------------
    Case("variant-stylesheet-missing", lambda p: change(
        p, "variants.yaml", lambda d: d["variants"][first_variant(p)].update(
            stylesheet="styles/missing.css")),
         ("variants.yaml:", "stylesheet: file 'styles/missing.css' not found")),
    Case("no-variants", lambda p: factory.save(p / "variants.yaml", {"variants": {}}),
         ("variants.yaml:", "define at least one variant")),
    Case("variant-target-nan", lambda p: replace_text(
        p, "variants.yaml", "reading_grade_max: ", "reading_grade_max: .nan #"),
         ("variants.yaml:", "reading_grade_max: must be a positive number")),
    Case("variant-target-negative", lambda p: change(
        p, "variants.yaml", lambda d: d["variants"][first_variant(p)].update(min_body_pt=-2)),
         ("variants.yaml:", "min_body_pt: must be a positive number")),
    Case("brand-colour", lambda p: change(
        p, "brand.yaml", lambda d: d["colours"].update(primary="blue")),
         ("brand.yaml:", "colours.primary: must be a colour written as #RRGGBB")),
    Case("brand-cmyk", lambda p: change(
        p, "brand.yaml", lambda d: d["colours"].update(ink={"rgb": "#000000", "cmyk": [1, 2]})),
         ("brand.yaml:", "colours.ink.cmyk: must be four percentages")),
    Case("brand-missing-phone", lambda p: change(p, "brand.yaml", lambda d: d.pop("phone")),
         ("brand.yaml:", "phone: required key is missing")),
    Case("brand-logo-outside", lambda p: change(
        p, "brand.yaml", lambda d: d.update(logo="../../etc/hostname")),
         ("brand.yaml:", "logo: '../../etc/hostname' is outside the project")),
    Case("brand-http", lambda p: change(
        p, "brand.yaml", lambda d: d.update(scheduling_url="http://example.org/book")),
         ("brand.yaml:", "scheduling_url: must start with https://")),
    Case("plain-words-broken", lambda p: append(p, "plain-words.yaml", "\n  - [oops\n"),
         ("plain-words.yaml:", "invalid YAML")),
    # --- styles and templates (found while rendering) ---------------------------------
    Case("font-face-outside", lambda p: replace_text(
        p, "styles/fonts.css", "url(../assets/", "url(/usr/share/../../etc/"),
         ("styles/fonts.css: refused to load", "outside the project"), BUILD_DISCHARGE),
    Case("stylesheet-from-network", lambda p: replace_text(
        p, "templates/base.html", '<link rel="stylesheet" href="styles/brand.css">',
        '<link rel="stylesheet" href="https://fonts.example.com/x.css">'),
         ("refused to load 'https://fonts.example.com/x.css'", "no network"), BUILD_DISCHARGE),
    Case("template-syntax", lambda p: append(p, "templates/discharge.html", "{% if %}"),
         ("templates/discharge.html:", "template syntax error"), BUILD_DISCHARGE),
    Case("template-undefined", lambda p: replace_text(
        p, "templates/discharge.html", "<h1>{{ doc.title }}</h1>",
        "<h1>{{ brand.fax_number }}</h1>"),
         ("templates/discharge.html:", "fax_number", "define the value"), BUILD_DISCHARGE),
    Case("template-image-outside", lambda p: replace_text(
        p, "templates/discharge.html", "{{ m.logo() }}", '<img src="file:///etc/hostname" alt="x">'),
         ("refused to load 'file:///etc/hostname'", "outside the project"), BUILD_DISCHARGE),
    Case("css-rule-broken", lambda p: append(
        p, "styles/discharge.css", "\n.section { colour: red; margin: banana; }\n"),
         ("WeasyPrint reported",), BUILD_DISCHARGE),
    Case("word-too-wide", lambda p: change(
        p, B, lambda d: d.update(title="Percutaneousvertebroplastyexplained")),
         ("'Percutaneousvertebroplastyexplained' is", "too wide for panel 'cover'"),
         BUILD_BROCHURE),
    Case("discharge-too-long", lambda p: change(p, D, lambda d: d["sections"].extend(
        {"id": f"more-{n}", "title": f"More {n}", "body": "Rest at home. " * 60}
        for n in range(12))),
         ("test-discharge [", "more than the 2 allowed", "section '"), BUILD_DISCHARGE),
    Case("runaway-length", lambda p: change(p, D, lambda d: d["sections"].extend(
        {"id": f"more-{n}", "title": f"More {n}", "body": "Rest at home today. " * 95,
         "items": ["Walk a little each day and rest when tired. " * 10] * 8}
        for n in range(30))),
         ("test-discharge [", "more than 12 pages, far longer than a handout may be"),
         BUILD_DISCHARGE),
    Case("item-too-long", lambda p: change(
        p, D, lambda d: d["sections"][0].update(items=["Rest. " * 500])),
         (f"{D}:", "sections[0].items[0]: more than 2000 characters")),
    # --- command-line options ---------------------------------------------------------
    Case("unknown-variant-option", lambda p: None, ("unknown variant 'teens'",),
         ("build", "--variant", "teens")),
    Case("unknown-handout-option", lambda p: None, ("unknown handout 'nope'",),
         ("build", "--handout", "nope")),
    Case("unknown-profile-option", lambda p: None, ("unknown profile 'poster'",),
         ("build", "--profile", "poster")),
    Case("bad-shard", lambda p: None, ("--shard", "write it as K/N"),
         ("build", "--shard", "4/3"), code=2),
    Case("zero-jobs", lambda p: None, ("--jobs",), ("build", "--jobs", "0"), code=2),
    Case("unknown-pdfx", lambda p: None, ("--pdfx",), ("build", "--pdfx", "x-9"), code=2),
    Case("unknown-option", lambda p: None, ("No such option",), ("build", "--colour"), code=2),
    Case("discharge-bad-date", lambda p: None, ("procedure-date: not a date",),
         ("discharge", "--procedure-date", "2026-13-45")),
    Case("discharge-bad-levels", lambda p: None, ("levels: use vertebra names",),
         ("discharge", "--levels", MARKER)),
    Case("discharge-merge-without-csv", lambda p: None, ("--merge goes with --csv",),
         ("discharge", "--merge")),
    Case("discharge-csv-missing", lambda p: None, ("no-such.csv: no such CSV file",),
         ("discharge", "--csv", "no-such.csv")),
    Case("project-missing", lambda p: None, ("does not exist",),
         ("--project", "PROJECT/nowhere", "list"), code=2),
    Case("combine-path-outside", lambda p: (
        (p / "s1/office").mkdir(parents=True), (p / "evil.pdf").write_bytes(b"%PDF-1.4"),
        (p / "s1/manifest.json").write_text(json.dumps({"documents": [{
            "handout": "x", "variant": "y", "profile": "office", "path": "../evil.pdf",
            "pages": 1, "document_code": "X", "revision": "2026-01-01",
            "sha256": hashlib.sha256(b"%PDF-1.4").hexdigest()}]}))),
         ("path '../evil.pdf' leads outside",),
         ("combine", "PROJECT/s1", "-o", "PROJECT/joined")),
    Case("proof-before-build", lambda p: None, ("nothing built yet",), ("proof",)),
    Case("combine-empty-folder", lambda p: (p / "empty").mkdir(), ("missing or empty",),
         ("combine", "PROJECT/empty", "-o", "PROJECT/joined")),
    # --- good input: these must build ---------------------------------------------------
    Case("generated-handouts-build", lambda p: None, (), code=0),
    Case("html-in-content-is-text", lambda p: change(
        p, D, lambda d: d["sections"][0].update(body="Rest <b>now</b> <img src=x>.")),
         (), BUILD_DISCHARGE, code=0),
]


@pytest.fixture
def sandbox(project: Path) -> Path:
    """The project copy with the shipped handouts replaced by generated ones."""
    factory.only_generated(project)
    return project


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_bad_input_corpus(sandbox: Path, tmp_path: Path, case: Case) -> None:
    variant = first_variant(sandbox)
    case.mutate(sandbox)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    args = [arg.replace("PROJECT", str(sandbox)).replace("FIRST_VARIANT", variant)
            for arg in case.args]
    proc = run_pipeline(*args, project=sandbox, cwd=tmp_path,
                        env={"TMPDIR": str(temporary)}, timeout=120)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == case.code, (proc.returncode, err)
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    for fragment in case.fragments:
        # Each problem is one line: the fragments of a case sit on one line.
        assert any(fragment in line for line in err.splitlines()), \
            f"{fragment!r} not in:\n{err}"
    if case.code:
        assert errors, err
        assert len(set(case.fragments) - {""}) == 0 or any(
            all(f in line for f in case.fragments) for line in err.splitlines()), err
        assert pdfs_in(sandbox / "output") == [], "a failed run wrote PDFs"
        assert not list(tmp_path.glob("*.pdf")), "a failed run wrote PDFs"
    else:
        assert pdfs_in(sandbox / "output"), "a good build wrote no PDF"
    assert leftovers(sandbox / "output") == []
    assert MARKER.encode() not in proc.stdout + proc.stderr
    assert list(temporary.iterdir()) == [], "left files in the temporary folder"
