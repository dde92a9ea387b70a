"""Translator tools: a language's strings out as a gettext PO file, and back in.

PO is what translators' tools (Poedit, Weblate, Lokalize, OmegaT) open; polib
reads and writes it (a small, maintained, pure-Python library, enough for PO
alone, where translate-toolkit would bring dozens of converters we do not use).

Each piece of text is one message: msgctxt `<handout>:<unit>:<piece>` (e.g.
`vertebroplasty-discharge:sections.activity:items[2]`), msgid the English,
msgstr the translation, and a comment naming handout, section and variants.
A stale unit is exported *fuzzy*, as Sphinx does; importing a message that is
not fuzzy records the English it was checked against (the unit's `source:`),
so a translator clears staleness by confirming the message in their tool.

Translation files are written in one canonical layout, so an export followed
by an import changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import yaml

from .content import Handout, Project
from .errors import PipelineError
from .languages import Language
from .output import write_atomic
from .termbase import terms_in
from .translations import (Translation, Unit, describe, english_units, source_hash,
                           translation_file)

FIELD_ORDER = ("title", "subtitle", "summary", "body", "items", "figure", "icons", "choices")


# --- pieces of a unit ------------------------------------------------------------

def pieces(text: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(piece name, text) of one unit: title, body, items[0], figure.alt, ..."""
    for name in ("title", "subtitle", "summary", "body"):
        if name in text:
            yield name, text[name]
    for index, item in enumerate(text.get("items", ())):
        yield f"items[{index}]", item
    for part in ("alt", "caption"):
        if part in text.get("figure", {}):
            yield f"figure.{part}", text["figure"][part]
    for index, alt in enumerate(text.get("icons", ())):
        yield f"icons[{index}].alt", alt
    for index, choice in enumerate(text.get("choices", ())):
        yield f"choices[{index}]", choice


def from_pieces(english: dict[str, Any], found: dict[str, str]) -> dict[str, Any] | None:
    """Rebuild a unit's text from its translated pieces; None unless all are there."""
    names = [name for name, _ in pieces(english)]
    if not all(found.get(name) for name in names):
        return None
    text: dict[str, Any] = {}
    for name in ("title", "subtitle", "summary", "body"):
        if name in english:
            text[name] = found[name]
    if "items" in english:
        text["items"] = [found[f"items[{index}]"] for index in range(len(english["items"]))]
    if "figure" in english:
        text["figure"] = {part: found[f"figure.{part}"] for part in english["figure"]}
    if "icons" in english:
        text["icons"] = [found[f"icons[{index}].alt"] for index in range(len(english["icons"]))]
    if "choices" in english:
        text["choices"] = [found[f"choices[{index}]"]
                           for index in range(len(english["choices"]))]
    return text


def variants_using(handout: Handout, key: str) -> list[str]:
    parts = key.split(".")
    if parts[0] == "overrides":
        return [parts[1]]
    if parts[0] == "sections":
        return [v for v in handout.variants
                if parts[1] not in handout.overrides.get(v, _NoOverride).remove]
    return list(handout.variants)


class _NoOverride:
    remove = ()


# --- export ------------------------------------------------------------------------

def export_po(project: Project, language: Language, handouts: list[str] | None = None):
    """A polib.POFile with every piece of every handout for `language`."""
    import polib

    po = polib.POFile(wrapwidth=0)
    po.metadata = {
        "Project-Id-Version": project.brand.name,
        "Language": language.tag.replace("-", "_"),
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "X-Source-Language": "en_US",
    }
    for handout in project.handouts.values():
        if handouts and handout.id not in handouts:
            continue
        translation = project.translations[(language.code, handout.id)]
        terms = project.termbases.get(language.code, ())
        for key, english in english_units(handout).items():
            unit = translation.units.get(key)
            stale = unit is not None and unit.source != source_hash(english)
            done = dict(pieces(unit.text)) if unit is not None else {}
            for name, text in pieces(english):
                po.append(polib.POEntry(
                    msgctxt=f"{handout.id}:{key}:{name}", msgid=text,
                    msgstr=done.get(name, ""), flags=["fuzzy"] if stale and done.get(name)
                    else [],
                    tcomment="\n".join([
                        f"handout: {handout.id} ({handout.path.name}); {describe(key)}: "
                        f"{name}; variants: {', '.join(variants_using(handout, key))}",
                        *(term.comment() for term in terms_in(text, terms))])))
    return po


# --- import ------------------------------------------------------------------------

def import_po(project: Project, language: Language, po_path: Path) -> list[str]:
    """Write the translations in `po_path` into translations/<lang>/; return the files
    written. Every problem is reported at once, naming the PO line."""
    import polib

    try:
        po = polib.pofile(str(po_path), wrapwidth=0)
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{po_path}: cannot read as a PO file ({exc})") from None
    problems: list[str] = []
    found: dict[tuple[str, str], dict[str, tuple[str, bool]]] = {}
    for entry in po:
        if entry.obsolete:
            continue
        handout_id, key, name = _context(entry.msgctxt)
        handout = project.handouts.get(handout_id)
        english = english_units(handout).get(key) if handout else None
        if english is None or name not in dict(pieces(english)):
            problems.append(f"{po_path.name}:{entry.linenum}: msgctxt '{entry.msgctxt}': no "
                            "such text in the English handouts; export a fresh file")
            continue
        current = dict(pieces(english))[name] == entry.msgid
        confirmed = current and "fuzzy" not in entry.flags
        found.setdefault((handout_id, key), {})[name] = (entry.msgstr.strip(), confirmed)
    if problems:
        raise PipelineError("\n".join(problems))
    written = []
    for handout in project.handouts.values():
        translation = project.translations[(language.code, handout.id)]
        units = _merged_units(handout, translation, found)
        if units != translation.units:
            path = project.root / translation_file(language, handout.id)
            write_atomic(path, dump_translation(language, handout,
                                                _replace(translation, units)).encode())
            written.append(path.relative_to(project.root).as_posix())
    return written


def _context(msgctxt: str | None) -> tuple[str, str, str]:
    parts = (msgctxt or "").split(":")
    return (parts + ["", "", ""])[:3] if len(parts) != 3 else tuple(parts)


def _merged_units(handout: Handout, translation: Translation,
                  found: dict) -> dict[str, Unit]:
    units = dict(translation.units)
    for key, english in english_units(handout).items():
        given = found.get((handout.id, key))
        if not given:
            continue
        text = from_pieces(english, {name: value for name, (value, _) in given.items()})
        if text is None:
            continue  # partly translated: keep what the file had
        old = units.get(key)
        if old is not None and "src" in old.text.get("figure", {}):
            text["figure"]["src"] = old.text["figure"]["src"]  # a picture of its own
        confirmed = all(ok for _, ok in given.values())
        source = source_hash(english) if confirmed else (old.source if old else "")
        if old is not None and old.text == text and old.source == source:
            continue
        units[key] = Unit(key, source, text)
    return units


def _replace(translation: Translation, units: dict[str, Unit]) -> Translation:
    import dataclasses

    return dataclasses.replace(translation, units=units)


# --- the canonical translation file -------------------------------------------------

class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump_translation(language: Language, handout: Handout, translation: Translation) -> str:
    """The translation file in its one canonical layout (units in the English order)."""
    order = list(english_units(handout))
    units = sorted(translation.units.values(),
                   key=lambda unit: (order.index(unit.key) if unit.key in order else
                                     len(order), unit.key))
    data: dict[str, Any] = {"review": {"reviewed_by": translation.reviewed_by or None,
                                       "reviewed_on": translation.reviewed_on}}
    if translation.allowed_terms:
        data["allowed_terms"] = list(translation.allowed_terms)
    for unit in units:
        _place(data, unit)
    header = (f"# {language.name} ({language.tag}) translation of handouts/"
              f"{handout.path.name}.\n"
              "# Each entry translates the English unit with the same key; `source:` is the\n"
              "# hash of the English it was translated from (a changed English makes it\n"
              "# stale). Written by `pipeline.py translations import`; edit by hand or\n"
              "# through a PO file (see the README). review: who checked this translation\n"
              "# and when; empty means a draft, which is marked and not for patients.\n")
    return header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                              width=88, default_flow_style=False)


def _place(data: dict, unit: Unit) -> None:
    entry = {"source": unit.source}
    entry.update({name: unit.text[name] for name in FIELD_ORDER if name in unit.text})
    parts = unit.key.split(".")
    target = data
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = entry


def write_po(po, path: Path | None) -> bytes:
    text = str(po).encode("utf-8")
    if path is not None:
        write_atomic(path, text)
    return text

