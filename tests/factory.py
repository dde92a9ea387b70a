"""Generated handouts: tests write the content they test, so that a content editor
can add, edit or remove any shipped handout without turning a test red.

Each generated handout is valid for the project it is written into: its kind,
panels, required sections and variants come from the pipeline's own definitions
(`KINDS`) and the project's variants.yaml; its dates are relative to today.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

import library
from clinicprint.content import load_project
from clinicprint.layouts import KINDS

# Short, plain sentences: they pass every variant's reading-level gate.
SENTENCES = ("Rest at home today.", "Walk a little each day.", "Ask us if you are not sure.",
             "Keep this sheet with you.", "Call us with any question.")


def handout_data(kind: str, code: str, *, title: str = "Test handout",
                 revision: dt.date | None = None) -> dict[str, Any]:
    """A minimal valid handout of `kind`: one short section per panel (brochures) or
    one of each required section (discharge sheets)."""
    today = dt.date.today()
    revision = revision or today - dt.timedelta(days=7)
    data: dict[str, Any] = {
        "kind": kind, "title": title, "document_code": code, "revision": revision,
        "review": {"approved_by": "[Test reviewer], MD",
                   "approved_on": revision - dt.timedelta(days=1),
                   "next_review": today + dt.timedelta(days=365)},
        "sections": sections_for(kind),
    }
    return data


def sections_for(kind: str) -> list[dict[str, Any]]:
    spec = KINDS[kind]
    sections = []
    for index, panel in enumerate(spec.section_panels):
        sections.append({"id": f"part-{index + 1}", "panel": panel,
                         "title": f"Part {index + 1}", "body": SENTENCES[index % 5]})
    if not spec.panels:  # a flowing sheet: some of each kind of section
        sections += [
            {"id": "part-1", "title": "Part 1", "body": SENTENCES[0],
             "items": list(SENTENCES[1:3])},
            {"id": "details", "type": "write-in", "title": "Your details",
             "items": [{"label": "Date:", "field": "procedure-date"}, "Doctor:"]},
            {"id": "ticks", "type": "checklist", "title": "Before you go",
             "items": list(SENTENCES[3:5])},
        ]
    for name in spec.required_sections:
        section_type = name if name in ("call-clinic", "call-911", "contacts") else "text"
        section = {"id": name, "type": section_type, "title": name.replace("-", " ").title()}
        if section_type in ("call-clinic", "call-911"):
            section["items"] = ["You feel much worse."]
        else:
            section["body"] = SENTENCES[len(sections) % 5]
        sections.append(section)
    return sections


def write_handout(project: Path, name: str, data: dict[str, Any]) -> Path:
    path = project / "handouts" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    return path


def unused_code(project: Path, prefix: str = "TEST") -> str:
    taken = {h.document_code for h in load_project(project).handouts.values()}
    number = 1
    while f"{prefix}-{number:03}" in taken:
        number += 1
    return f"{prefix}-{number:03}"


def add_one_of_each_kind(project: Path) -> dict[str, str]:
    """What a content editor does: a new handout of every kind, with its own code and
    dates. Returns {kind: handout name}."""
    added = {}
    for kind in KINDS:
        name = f"added-{kind}"
        code = unused_code(project, "ADD")
        # A finished brochure fills its panels (the layout gate's LAYOUT-PANEL-FILL),
        # so the one added is the generated library's, not a minimal one.
        data = (library.brochure(code, title=f"Added {kind}") if kind == "brochure"
                else handout_data(kind, code, title=f"Added {kind}"))
        write_handout(project, name, data)
        added[kind] = name
    return added


def only_generated(project: Path) -> dict[str, str]:
    """Replace the project's handouts (in a test's copy of the generated library) with
    one minimal generated handout of each kind, so a test can break content whose text
    it wrote itself. Returns {kind: handout name}."""
    for path in (project / "handouts").iterdir():
        path.unlink()
    names = {kind: write_handout(project, f"test-{kind}",
                                 handout_data(kind, f"TEST-{index:03}")).stem
             for index, kind in enumerate(KINDS, 1)}
    if "discharge" in names and "brochure" in names:  # the brochure that goes home with it
        path = project / "handouts" / f"{names['discharge']}.yaml"
        save(path, {**load(path), "brochure": names["brochure"]})
    return names


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def save(path: Path, data: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
