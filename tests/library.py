"""A generated handout library: what the tests build, instead of the shipped content.

The shipped handouts are content: a clinic adds, edits and translates them, and the
build's own gates check every one. The tests check the code, on a small library they
write themselves: a fixed number of handouts of each kind, with every feature the
content format has (each variant's overrides, a figure, pictograms, write-in fields of
every type, a companion brochure) and a Spanish translation of each. So the suite
takes the same time whether the clinic has two handouts or two hundred.

The design (templates, styles, assets) and the clinic's settings (brand, variants,
languages, plain words, the language-assistance notice) are copied from the project:
they are what the code renders with. fields.yaml is written here, as a clinic could;
so is a clinical checklist (clinical-topics.yaml), but only for a test that asks for
one (make_library(checklist=True)): the project's own checklist names the shipped
handouts' topics, and the other tests' handouts cover none.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ("templates", "styles", "assets", "brand.yaml", "variants.yaml", "languages.yaml",
          "plain-words.yaml", "plain-words.es.yaml", "language-assistance.yaml")
FIGURE = "assets/images/vertebroplasty-simple.svg"
ICON = "assets/images/picto-rest-then-walk.svg"

# Short plain sentences that pass every variant's reading level in each language.
ENGLISH = ("Rest at home today.", "Walk a little each day.", "Ask us if you are not sure.",
           "Keep this sheet with you.", "Call us with any question.",
           "Bring a list of your medicines.")
SPANISH = ("Descanse en casa hoy.", "Camine un poco cada día.", "Pregunte si tiene dudas.",
           "Guarde esta hoja.", "Llámenos con sus preguntas.", "Traiga su lista de medicinas.")

# fields.yaml of the generated library: the six details the templates place themselves
# or every sheet has (the masthead's name, the notes box), as the shipped one declares.
DEFAULT_FIELDS = [
    {"name": "patient", "label": "Patient:", "type": "text", "max": 70,
     "on_every_sheet": True},
    {"name": "procedure-date", "label": "Date:", "prompt": "Date of the procedure",
     "type": "date", "days_from_today": [-90, 0]},
    {"name": "levels", "label": "Spine levels:", "type": "levels", "max": 6},
    {"name": "physician", "label": "Doctor:", "type": "text", "max": 50},
    {"name": "follow-up", "label": "When:", "prompt": "Follow-up appointment",
     "type": "datetime", "after": "procedure-date", "days_from_today": [0, 365]},
    {"name": "notes", "label": "Notes from your care team", "type": "text", "max": 400,
     "lines": 6, "on_every_sheet": True},
]
# A discharge handout's own fields: one of each remaining type.
OWN_FIELDS = [
    {"name": "side", "label": "Side treated:", "type": "choice",
     "choices": ["left", "right", "both"]},
    {"name": "lift-limit", "label": "Lift no more than (pounds):", "type": "number",
     "min": 1, "max": 50},
    {"name": "restart-on", "label": "Start my medicine again on:", "type": "date",
     "after": "procedure-date", "days_from_today": [0, 90]},
    {"name": "team-phone", "label": "Team phone, day and night:", "type": "phone"},
]
SPANISH_CHOICES = {"side": ["izquierdo", "derecho", "ambos"]}

# The generated checklist (clinical-topics.yaml, clinicprint/clinical_topics.py): a topic
# every variant of each kind needs, one the seniors variant adds, and the words each
# language says where a section covers a topic, matching the generated text below.
FEVER = "A fever of 100.4 °F (38 °C) or higher"
FALLS = "Keep floors clear to prevent falls."
THRESHOLD = "100.4 °F (38 °C)"
CHECKLIST = {
    "sources": {"test-source": {"title": "A generated source", "url": "https://example.org/"}},
    "topics": {
        "walking": {"label": "walking every day", "sources": ["test-source"],
                    "words": {"en": [["walk", "walks"]], "es": [["camine", "caminar"]]}},
        "fever": {"label": "fever with its threshold", "sources": ["test-source"],
                  "words": {"en": [THRESHOLD], "es": [THRESHOLD]}},
        "falls": {"label": "preventing falls",
                  "words": {"en": [["fall", "falls"]], "es": [["caídas"]]}},
    },
    "kinds": {
        "discharge": {"every_variant": ["walking", "fever"],
                      "variants": {"seniors-osteoporosis": ["falls"]}},
        "brochure": {"every_variant": ["walking"]},
    },
}
# Which generated section covers which topic, and the items it says them with.
COVERS = {"activity": ["walking"], "steps": ["walking"], "call-clinic": ["fever"],
          "falls": ["falls"]}
CHECKED_ITEMS = {"call-clinic": [FEVER, "Pain that gets worse"], "falls": [FALLS, ENGLISH[0]]}
SPANISH_ITEMS = {FEVER: f"Fiebre de {THRESHOLD} o más", FALLS: "Despeje el piso para evitar caídas."}


@dataclass(frozen=True)
class Library:
    root: Path
    brochures: tuple[str, ...]
    discharges: tuple[str, ...]

    @property
    def handouts(self) -> tuple[str, ...]:
        return self.brochures + self.discharges


def make_library(root: Path, brochures: int = 1, discharges: int = 1,
                 languages: tuple[str, ...] = ("es",), reviewed: bool = True,
                 checklist: bool = False) -> Library:
    """A project folder at `root` with generated handouts (codes TEST-B-001...,
    TEST-D-001...) and, for each of `languages`, a translation of every handout.
    `checklist`: with a clinical checklist, and sections that cover its topics."""
    root.mkdir(parents=True, exist_ok=True)
    copy_design(root)
    write(root / "fields.yaml", {"fields": DEFAULT_FIELDS})
    if checklist:
        write(root / "clinical-topics.yaml", CHECKLIST)
    (root / "handouts").mkdir(exist_ok=True)
    brochure_names = tuple(f"test-brochure-{n}" for n in range(1, brochures + 1))
    discharge_names = tuple(f"test-discharge-{n}" for n in range(1, discharges + 1))
    covered = with_covers if checklist else (lambda data: data)
    for number, name in enumerate(brochure_names, 1):
        write(root / "handouts" / f"{name}.yaml", covered(brochure(f"TEST-B-{number:03}")))
    for number, name in enumerate(discharge_names, 1):
        companion = brochure_names[(number - 1) % len(brochure_names)] if brochure_names \
            else None
        write(root / "handouts" / f"{name}.yaml",
              covered(discharge(f"TEST-D-{number:03}", companion)))
    for lang in languages:
        translate_all(root, lang, reviewed=reviewed)
    return Library(root, brochure_names, discharge_names)


def with_covers(data: dict[str, Any]) -> dict[str, Any]:
    """A generated handout whose sections say the checklist's topics they cover."""
    sections = list(data["sections"]) + [section for override in data["overrides"].values()
                                         for section in override.get("add", [])]
    for section in sections:
        if section["id"] in COVERS:
            section["covers"] = COVERS[section["id"]]
        if section["id"] in CHECKED_ITEMS:
            section["items"] = CHECKED_ITEMS[section["id"]]
    return data


def copy_design(root: Path) -> None:
    for name in DESIGN:
        source, target = ROOT / name, root / name
        if target.exists():
            continue
        if source.is_dir():
            shutil.copytree(source, target)
        elif source.exists():
            shutil.copy2(source, target)


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    return path


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _dates() -> dict[str, Any]:
    today = dt.date.today()
    revision = today - dt.timedelta(days=7)
    return {"revision": revision,
            "review": {"approved_by": "[Test reviewer], MD",
                       "approved_on": revision - dt.timedelta(days=1),
                       "next_review": today + dt.timedelta(days=365)}}


def brochure(code: str, title: str = "Test brochure") -> dict[str, Any]:
    """A brochure with a section on every panel, each panel's kind of content, a figure
    and pictograms, and overrides in each variant."""
    return {
        "kind": "brochure", "title": title, "subtitle": "A short test of the layout",
        "summary": ENGLISH[0], "document_code": code, **_dates(),
        "keywords": ["test"],
        "sections": [
            {"id": "key-points", "type": "key-points", "topic": "key-points",
             "panel": "fold-in", "title": "Key points", "items": list(ENGLISH[:3])},
            {"id": "questions", "type": "questions", "topic": "questions",
             "panel": "fold-in", "title": "Questions to ask", "items": list(ENGLISH[3:5])},
            {"id": "before", "topic": "contact", "panel": "back", "title": "Before you come",
             "body": f"{ENGLISH[5]}\n\n- {ENGLISH[1]}\n- {ENGLISH[2]}\n"},
            {"id": "about", "topic": "about", "panel": "inside-left", "title": "What it is",
             "body": " ".join(ENGLISH[:3])},
            {"id": "picture", "panel": "inside-middle", "title": "Where it goes",
             "figure": {"src": FIGURE, "alt": "A drawing of the spine from the side.",
                        "caption": "The spine from the side."}},
            {"id": "steps", "topic": "recovery", "panel": "inside-right",
             "title": "After it is done", "items": list(ENGLISH[1:4]),
             "icons": [{"src": ICON, "alt": "Pictogram: rest, then walk."}]},
        ],
        "overrides": {
            "seniors-osteoporosis": {
                "subtitle": "A test in large print",
                "replace": {"about": {"title": "What is it?", "body": ENGLISH[0]}},
                "add": [{"id": "bones", "topic": "recovery", "panel": "fold-in",
                         "title": "Keep your bones strong", "body": ENGLISH[2]}],
            },
            "oncology": {
                "replace": {"key-points": {"items": list(ENGLISH[2:5])}},
                "add": [{"id": "teams", "topic": "procedure", "panel": "back",
                         "after": "before", "title": "Your two teams",
                         "body": ENGLISH[4]}],
            },
        },
    }


def discharge(code: str, companion: str | None = None,
              title: str = "After your test") -> dict[str, Any]:
    """A discharge sheet placing every default field and one field of each other type,
    with the sections a discharge sheet needs and overrides in each variant."""
    data: dict[str, Any] = {
        "kind": "discharge", "title": title, "subtitle": ENGLISH[3], "document_code": code,
        **_dates(), "keywords": ["test"], "fields": OWN_FIELDS,
        "sections": [
            {"id": "key-points", "type": "key-points", "title": "Key points",
             "items": list(ENGLISH[:3])},
            {"id": "done-today", "type": "write-in", "title": "What was done today",
             "body": ENGLISH[0],
             "items": [{"label": "Date:", "field": "procedure-date"},
                       {"label": "Spine levels:", "field": "levels"},
                       {"label": "Doctor:", "field": "physician"}]},
            {"id": "activity", "title": "Moving", "items": list(ENGLISH[1:3]),
             "icons": [{"src": ICON, "alt": "Pictogram: rest, then walk."}]},
            {"id": "limits", "type": "write-in", "title": "Your limits", "body": ENGLISH[2],
             "items": [{"label": "Side treated:", "field": "side"},
                       {"label": "Lift no more than (pounds):", "field": "lift-limit"},
                       {"label": "Start my medicine again on:", "field": "restart-on"}]},
            {"id": "call-clinic", "type": "call-clinic", "title": "Call the clinic if you have",
             "items": ["A fever", "Pain that gets worse"]},
            {"id": "call-911", "type": "call-911", "title": "Call 911 if you have",
             "items": ["New weakness in your legs"]},
            {"id": "follow-up", "type": "write-in", "title": "Your follow-up visit",
             "items": [{"label": "When:", "field": "follow-up"}]},
            {"id": "checklist", "type": "checklist", "title": "Before you go",
             "items": list(ENGLISH[3:5])},
            {"id": "contacts", "type": "contacts", "title": "Contact numbers",
             "items": [{"label": "Team phone, day and night:", "field": "team-phone"}]},
        ],
        "overrides": {
            "seniors-osteoporosis": {
                "replace": {"key-points": {"items": list(ENGLISH[3:5])}},
                "add": [{"id": "falls", "after": "activity", "title": "Stay safe from falls",
                         "items": list(ENGLISH[:2])}],
            },
            "oncology": {
                "add": [{"id": "counts", "after": "activity",
                         "title": "If your blood counts are low", "body": ENGLISH[4]}],
            },
        },
    }
    if companion:
        data["brochure"] = companion
    return data


# --- translations ------------------------------------------------------------------

def translate_all(root: Path, lang: str, reviewed: bool = True) -> None:
    """A translation of every handout into `lang`, unit by unit, each recording the hash
    of the English it translates (so it is current), reviewed or a draft."""
    for path in sorted((root / "handouts").glob("*.yaml")):
        translate(root, path.stem, lang, reviewed)


def translate(root: Path, handout: str, lang: str = "es", reviewed: bool = True) -> Path:
    from clinicprint.content import load_project
    from clinicprint.translations import english_units, source_hash

    units = english_units(load_project(root).handouts[handout])
    data: dict[str, Any] = {"review": {"reviewed_by": "[Test translator]" if reviewed else None,
                                       "reviewed_on": dt.date.today() - dt.timedelta(days=1)
                                       if reviewed else None}}
    for number, (key, english) in enumerate(units.items(), 1):
        entry = {"source": source_hash(english), **_spanish_like(key, english, number)}
        target = data
        *parents, last = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = entry
    return write(root / "translations" / lang / f"{handout}.yaml", data)


def _spanish_like(key: str, english: dict[str, Any], number: int) -> dict[str, Any]:
    """Spanish text of the same shape as the English unit; each title its own."""
    text: dict[str, Any] = {}
    for index, (name, value) in enumerate(english.items()):
        if name in ("title", "subtitle"):
            text[name] = f"Parte {number}" if name == "title" else SPANISH[3]
        elif name in ("summary", "body"):
            text[name] = SPANISH[index % len(SPANISH)]
        elif name == "items":
            text[name] = [_spanish_item(item, n) for n, item in enumerate(value)]
        elif name == "figure":
            text[name] = {"alt": "Un dibujo de la columna de lado.",
                          "caption": "La columna de lado."}
        elif name == "icons":
            text[name] = ["Pictograma: descanse y luego camine."] * len(value)
        elif name == "choices":
            text[name] = SPANISH_CHOICES.get(key.split(".")[-1],
                                             [f"opción {n}" for n in range(len(value))])
    return text


def _spanish_item(english: str, index: int) -> str:
    if english in SPANISH_ITEMS:  # what the checklist's words are found in
        return SPANISH_ITEMS[english]
    if english.endswith(":"):  # a write-in's label
        return f"Dato {index + 1}:"
    return SPANISH[index % len(SPANISH)]
