"""Translations as content, tracked against the English they were made from.

`translations/<lang>/<handout>.yaml` holds one entry per translatable *unit* of
the English handout, keyed like the handout itself:

    head                                 title, subtitle, summary
    sections.<id>                        a shared section
    overrides.<variant>.head             a variant's title, subtitle, summary
    overrides.<variant>.replace.<id>     the fields a variant replaces
    overrides.<variant>.add.<id>         a section a variant adds
    fields.<name>                        a choice field the handout declares: the
                                         printed words of its choices (a field's
                                         printed label is its section item's)

Each entry records `source:`, a hash of the English unit it translates. When the
English changes, the hash no longer matches and the unit is *stale*: documents
that use it fail until it is updated (like a fuzzy gettext message, but loud).
A unit with no entry is *missing*, which always fails: English is never printed
in its place. `review:` says who reviewed the translation and when; without it
the translation is a draft.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .content import Addition, Figure, Handout, Override, Section
from .languages import Language
from .schema import Checker
from .termbase import GLOSSARY
from .yamlio import LineDict, load_yaml

TRANSLATIONS = "translations"
HEAD_FIELDS = ("title", "subtitle", "summary")
SECTION_FIELDS = ("title", "body", "items", "figure", "icons")
FIELD_TEXTS = ("choices",)


# --- the English units -------------------------------------------------------

def _section_text(values: dict[str, Any]) -> dict[str, Any]:
    """The translatable text of a whole or partial section, in a fixed shape."""
    found: dict[str, Any] = {}
    for key in ("title", "body"):
        if values.get(key):
            found[key] = values[key]
    if values.get("items"):
        found["items"] = list(values["items"])
    figure = values.get("figure")
    if figure:
        found["figure"] = {"alt": figure.alt, "caption": figure.caption}
    if values.get("icons"):  # pictograms: their alt texts are read aloud
        found["icons"] = [icon.alt for icon in values["icons"]]
    return found


def _as_fields(section: Section) -> dict[str, Any]:
    return {"title": section.title, "body": section.body, "items": section.items,
            "figure": section.figure, "icons": getattr(section, "icons", ())}


def english_units(handout: Handout) -> dict[str, dict[str, Any]]:
    """Every unit of English text in the handout, keyed as in a translation file."""
    units: dict[str, dict[str, Any]] = {}
    head = {key: getattr(handout, key) for key in HEAD_FIELDS if getattr(handout, key)}
    units["head"] = head
    for section in handout.sections:
        units[f"sections.{section.id}"] = _section_text(_as_fields(section))
    for variant, override in handout.overrides.items():
        prefix = f"overrides.{variant}"
        head = {key: value for key, value in override.fields.items() if value}
        if head:
            units[f"{prefix}.head"] = head
        for section_id, values in override.replace.items():
            text = _section_text(values)
            if text:
                units[f"{prefix}.replace.{section_id}"] = text
        for addition in override.add:
            units[f"{prefix}.add.{addition.section.id}"] = _section_text(
                _as_fields(addition.section))
    for field in declared_fields(handout):
        units[f"fields.{field.name}"] = {"choices": list(field.choices)}
    return units


def declared_fields(handout: Handout):
    """The choice fields the handout declares itself: their choices are printed."""
    return [field for field in handout.fields
            if field.name in handout.declared_fields and field.choices]


def source_hash(text: dict[str, Any]) -> str:
    """Short hash of one English unit; recorded as `source:` by the translator."""
    canonical = json.dumps(text, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


# --- translation files -------------------------------------------------------

@dataclass(frozen=True)
class Unit:
    key: str
    source: str                 # the hash of the English it was translated from
    text: dict[str, Any]        # same shape as the English unit
    line: int = 0


@dataclass(frozen=True)
class Translation:
    language: str
    handout: str
    file: str                   # relative to the project
    units: dict[str, Unit] = field(default_factory=dict)
    reviewed_by: str = ""
    reviewed_on: dt.date | None = None
    allowed_terms: tuple[str, ...] = ()
    exists: bool = True         # False: no file yet (the handout is not translated)

    @property
    def draft(self) -> bool:
        return not (self.reviewed_by and self.reviewed_on)


def translation_file(language: Language, handout_id: str) -> str:
    return f"{TRANSLATIONS}/{language.code}/{handout_id}.yaml"


def load_translations(root: Path, handouts: dict[str, Handout],
                      languages: dict[str, Language],
                      problems: list[str]) -> dict[tuple[str, str], Translation]:
    """Read translations/<lang>/<handout>.yaml for every non-source language."""
    from .errors import ContentError

    found: dict[tuple[str, str], Translation] = {}
    for language in languages.values():
        if language.source:
            continue
        folder = root / TRANSLATIONS / language.code
        for stray in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            if stray.name != GLOSSARY and stray.stem not in handouts:
                problems.append(f"{TRANSLATIONS}/{language.code}/{stray.name}: no handout "
                                f"'{stray.stem}' in handouts/; rename or remove this file")
        for handout in handouts.values():
            relative = translation_file(language, handout.id)
            if not (root / relative).is_file():
                found[(language.code, handout.id)] = Translation(language.code, handout.id,
                                                                 relative, exists=False)
                continue
            try:
                found[(language.code, handout.id)] = _read(root, relative, language,
                                                           handout, problems)
            except ContentError as exc:
                problems += exc.problems
    return found


def _read(root: Path, relative: str, language: Language, handout: Handout,
          problems: list[str]) -> Translation:
    check = Checker(relative)
    data = check.mapping(load_yaml(root / relative, relative, root), "", 1)
    if data is None:
        problems += check.problems
        return Translation(language.code, handout.id, relative)
    check.keys(data, "", {"review"}, {"head", "sections", "overrides", "allowed_terms",
                                     "fields"})
    units: dict[str, Unit] = {}
    for key, value, line in _entries(check, data):
        unit = _unit(check, key, value, line, root)
        if unit is not None:
            units[key] = unit
    reviewed_by, reviewed_on = _review(check, data)
    allowed = tuple(term.lower() for term in check.text_list(data, "allowed_terms", ""))
    problems += check.problems
    return Translation(language.code, handout.id, relative, units, reviewed_by, reviewed_on,
                       allowed)


def _entries(check: Checker, data: LineDict) -> Iterator[tuple[str, Any, int]]:
    """(unit key, entry, line) for every unit the file holds."""
    if "head" in data:
        yield "head", data["head"], data.line_of("head")
    sections = check.mapping(data.get("sections", LineDict()), "sections",
                             data.line_of("sections")) or {}
    for section_id, value in sections.items():
        yield f"sections.{section_id}", value, sections.line_of(section_id)
    overrides = check.mapping(data.get("overrides", LineDict()), "overrides",
                              data.line_of("overrides")) or {}
    fields = check.mapping(data.get("fields", LineDict()), "fields",
                           data.line_of("fields")) or {}
    for name, value in fields.items():
        yield f"fields.{name}", value, fields.line_of(name)
    for variant, entry in overrides.items():
        prefix = f"overrides.{variant}"
        entry = check.mapping(entry, prefix, overrides.line_of(variant))
        if entry is None:
            continue
        check.keys(entry, prefix, set(), {"head", "replace", "add"})
        if "head" in entry:
            yield f"{prefix}.head", entry["head"], entry.line_of("head")
        for part in ("replace", "add"):
            group = check.mapping(entry.get(part, LineDict()), f"{prefix}.{part}",
                                  entry.line_of(part)) or {}
            for section_id, value in group.items():
                yield f"{prefix}.{part}.{section_id}", value, group.line_of(section_id)


def _unit(check: Checker, key: str, value: Any, line: int, root: Path) -> Unit | None:
    entry = check.mapping(value, key, line)
    if entry is None:
        return None
    fields = (HEAD_FIELDS if key.endswith("head") else
              FIELD_TEXTS if key.startswith("fields.") else SECTION_FIELDS)
    check.keys(entry, key, {"source"}, set(fields))
    text: dict[str, Any] = {}
    for name in fields:
        if name not in entry:
            continue
        if name in ("items", "icons", "choices"):
            text[name] = list(check.text_list(entry, name, key))
        elif name == "figure":
            figure = check.mapping(entry[name], f"{key}.figure", entry.line_of(name))
            if figure is not None:
                # src: a picture of its own, where the English one has words in it.
                check.keys(figure, f"{key}.figure", set(), {"alt", "caption", "src"})
                text[name] = {part: check.text(figure, part, f"{key}.figure")
                              for part in ("alt", "caption", "src") if part in figure}
                src = text[name].get("src")
                if src and not (root / src).resolve().is_relative_to(root.resolve()) or \
                        src and not (root / src).is_file():
                    check.problem(f"{key}.figure.src", f"file '{src}' not found in the "
                                  "project", figure.line_of("src"))
        else:
            text[name] = check.text(entry, name, key)
    return Unit(key, str(entry.get("source", "")), text, line)


def _review(check: Checker, data: LineDict) -> tuple[str, dt.date | None]:
    review = check.mapping(data.get("review"), "review", data.line_of("review"))
    if review is None:
        return "", None
    check.keys(review, "review", set(), {"reviewed_by", "reviewed_on"})
    by = review.get("reviewed_by") or ""
    on = review.get("reviewed_on")
    if on is not None and not (isinstance(on, dt.date) and not isinstance(on, dt.datetime)):
        check.problem("review.reviewed_on", "must be a date written as YYYY-MM-DD, or empty "
                      "while the translation is a draft", review.line_of("reviewed_on"))
        on = None
    if bool(by) != bool(on):
        check.problem("review", "give both reviewed_by and reviewed_on (or neither, for a "
                      "draft)", review.line)
    return str(by).strip(), on


# --- status of one document ---------------------------------------------------

@dataclass(frozen=True)
class TranslationStatus:
    """How one translated document stands against the English it comes from."""

    language: str
    file: str
    missing: tuple[str, ...] = ()                      # unit keys
    stale: tuple[tuple[str, str, str], ...] = ()       # (unit key, recorded, current)
    incomplete: tuple[tuple[str, str], ...] = ()       # (unit key, what is wrong)
    orphans: tuple[str, ...] = ()
    draft: bool = True
    reviewed: str = ""
    terms: tuple[tuple[str, str], ...] = ()           # (unit key, termbase problem)


def units_of_variant(handout: Handout, variant: str) -> list[str]:
    """The unit keys whose text a variant's document prints."""
    override = handout.overrides.get(variant, Override())
    keys = ["head"] + [f"sections.{s.id}" for s in handout.sections
                       if s.id not in override.remove]
    keys += [key for key in english_units(handout)
             if key.startswith(f"overrides.{variant}.")]
    from .merge import placed_fields

    placed = set(placed_fields(handout, variant))
    keys += [f"fields.{field.name}" for field in declared_fields(handout)
             if field.name in placed]
    return keys


def status_of(handout: Handout, translation: Translation, variant: str) -> TranslationStatus:
    english = english_units(handout)
    missing, stale, incomplete = [], [], []
    for key in units_of_variant(handout, variant):
        unit = translation.units.get(key)
        if unit is None:
            missing.append(key)
            continue
        current = source_hash(english[key])
        if unit.source != current:
            stale.append((key, unit.source, current))
        problem = _shape_problem(english[key], unit.text)
        if problem:
            incomplete.append((key, problem))
    orphans = tuple(key for key in translation.units if key not in english)
    reviewed = (f"{translation.reviewed_by}, {translation.reviewed_on.isoformat()}"
                if not translation.draft else "")
    return TranslationStatus(translation.language, translation.file, tuple(missing),
                             tuple(stale), tuple(incomplete), orphans, translation.draft,
                             reviewed)


def _shape_problem(english: dict[str, Any], text: dict[str, Any]) -> str:
    """A translation must give every piece of text the English has, and no more."""
    for name in english:
        if name not in text:
            return f"no translation of its {name}"
    for name in text:
        if name not in english:
            return f"translates a {name} the English does not have; remove it"
    for name in ("items", "icons", "choices"):
        if name in english and len(text[name]) != len(english[name]):
            return (f"has {len(text[name])} {name} where the English has "
                    f"{len(english[name])}")
    if "figure" in english and set(text["figure"]) - {"src"} != set(english["figure"]):
        return "needs the figure's alt and caption"
    return ""


def describe(key: str) -> str:
    """A unit key in words, for messages: section 'x' (variant y) ..."""
    parts = key.split(".")
    if key == "head":
        return "title, subtitle and summary"
    if parts[0] == "fields":
        return f"the choices of field '{parts[1]}'"
    if parts[0] == "sections":
        return f"section '{parts[1]}'"
    if parts[-1] == "head":
        return f"{parts[1]}'s title, subtitle and summary"
    return f"section '{parts[3]}' ({parts[2]} for {parts[1]})"


def problems_of(status: TranslationStatus, label: str, name: str,
                allow_stale: bool) -> tuple[list[str], list[str]]:
    """(failures, warnings) for one document, each naming the unit and the file."""
    failures, warnings = [], []
    for key in status.missing:
        failures.append(f"{label}: no {name} translation of {describe(key)}; add `{key}` "
                        f"to {status.file} (English is never printed in its place)")
    for key, problem in status.incomplete:
        failures.append(f"{label}: the {name} translation of {describe(key)} {problem} "
                        f"({status.file}: {key})")
    for key in status.orphans:
        failures.append(f"{label}: {status.file}: {key}: the English has no such text any "
                        "more; remove it")
    for key, problem in status.terms:
        failures.append(f"{label}: the {name} translation of {describe(key)} {problem} "
                        f"({status.file}: {key}; termbase "
                        f"{status.file.rsplit('/', 1)[0]}/{GLOSSARY})")
    for key, recorded, current in status.stale:
        message = (f"{label}: {name} {describe(key)} is STALE: its English changed since it "
                   f"was translated; update {status.file} ({key}) and set source: {current}")
        if allow_stale:
            warnings.append(f"{message} [printed anyway, marked out of date, by "
                            "--allow-stale]")
        else:
            failures.append(message)
    return failures, warnings


def translated(project, handout_id: str, language: Language) -> bool:
    """Whether a handout is made in a language: the source always; another language
    once its translation file exists (where languages.yaml requires the language, the
    build fails on the missing file instead: see untranslated)."""
    return language.source or project.translations[(language.code, handout_id)].exists


def summary_status(project, handout: Handout, language: Language) -> str:
    """One word for `list`: source, missing, incomplete, stale, draft or reviewed."""
    if language.source:
        return "source"
    translation = project.translations[(language.code, handout.id)]
    if not translation.exists:
        return "missing"
    statuses = [status_of(handout, translation, variant) for variant in handout.variants]
    if any(status.missing or status.incomplete or status.orphans for status in statuses):
        return "incomplete"
    if any(status.stale for status in statuses):
        return "stale"
    return "draft" if translation.draft else "reviewed"


def start_command(handout_id: str, language: Language) -> str:
    return (f"pipeline.py translations export --lang {language.code} --handout "
            f"{handout_id} -o {handout_id}.{language.code}.po")


def untranslated(project, handouts, languages) -> tuple[list[str], list[str]]:
    """(failures, notes) for each selected handout with no file in a selected language:
    a note saying how to start one, or a failure where languages.yaml requires it."""
    failures, notes = [], []
    for language in languages:
        for handout in handouts:
            if language.source or project.translations[(language.code, handout)].exists:
                continue
            file = translation_file(language, handout)
            if language.required:
                failures.append(f"{file}: missing, and languages.yaml requires {language.name} "
                                f"for every handout (required: true); start it with "
                                f"`{start_command(handout, language)}`")
            else:
                notes.append(f"{handout}: no {language.name} translation yet, so it is made "
                             f"in the other languages only; start one with "
                             f"`{start_command(handout, language)}`")
    return failures, notes


# --- the translated handout ---------------------------------------------------

def translate_handout(handout: Handout, translation: Translation) -> Handout:
    """The handout with every translated unit's text in place of the English.

    Missing units keep their English, but a document with a missing unit fails
    before it is rendered, so that English is never printed."""
    units = translation.units
    head = _texts(units.get("head"))
    sections = tuple(_section(section, units.get(f"sections.{section.id}"))
                     for section in handout.sections)
    overrides = {name: _override(name, override, units)
                 for name, override in handout.overrides.items()}
    fields = {key: head[key] for key in HEAD_FIELDS if key in head}
    allowed = handout.allowed_terms + translation.allowed_terms
    return dataclasses.replace(handout, sections=sections, overrides=overrides,
                               allowed_terms=allowed, fields=_translated_fields(
                                   handout, units), **fields)


def _translated_fields(handout: Handout, units: dict[str, Unit]) -> tuple:
    """Each choice field with its choices in the translation's words."""
    translated = []
    for field in handout.fields:
        choices = _texts(units.get(f"fields.{field.name}")).get("choices", [])
        translated.append(dataclasses.replace(
            field, choice_labels=tuple(choices) if len(choices) == len(field.choices)
            and field.choices else ()))
    return tuple(translated)


def _texts(unit: Unit | None) -> dict[str, Any]:
    return unit.text if unit is not None else {}


def _section(section: Section, unit: Unit | None) -> Section:
    return dataclasses.replace(section, **_section_values(_as_fields(section), _texts(unit)))


def _section_values(english: dict[str, Any], text: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in ("title", "body"):
        if key in text and english.get(key):
            values[key] = text[key]
    if "items" in text and english.get("items") and \
            len(text["items"]) == len(english["items"]):
        values["items"] = tuple(text["items"])
    icons = english.get("icons")
    if icons and len(text.get("icons", ())) == len(icons):
        values["icons"] = tuple(dataclasses.replace(icon, alt=alt)
                                for icon, alt in zip(icons, text["icons"]))
    figure = english.get("figure")
    if figure and "figure" in text:
        values["figure"] = Figure(src=text["figure"].get("src", figure.src),
                                  alt=text["figure"].get("alt", figure.alt),
                                  caption=text["figure"].get("caption", figure.caption))
    return values


def _override(variant: str, override: Override, units: dict[str, Unit]) -> Override:
    prefix = f"overrides.{variant}"
    head = _texts(units.get(f"{prefix}.head"))
    fields = {key: (head.get(key, value) if value else value)
              for key, value in override.fields.items()}
    replace = {}
    for section_id, values in override.replace.items():
        text = _texts(units.get(f"{prefix}.replace.{section_id}"))
        replace[section_id] = {**values, **_section_values(values, text)}
    add = tuple(Addition(_section(addition.section,
                                  units.get(f"{prefix}.add.{addition.section.id}")),
                         addition.after) for addition in override.add)
    return dataclasses.replace(override, fields=fields, replace=replace, add=add)


# --- loading with the project ----------------------------------------------------

def load_languages_into(project):
    """Add languages, translations, plain-words lists and notices to a loaded project;
    raise ContentError listing every problem at once."""
    from .assistance import load_notices
    from .content import _guarded, _load_plain_words
    from .errors import ContentError
    from .languages import check_brand_labels, load_languages
    from .layouts import PROFILES
    from .termbase import load_termbase

    problems: list[str] = []
    root = project.root
    languages = _guarded(problems, load_languages, root, project.variants, PROFILES,
                         problems) or {}
    check_brand_labels(languages, project.brand, problems)
    plain = {}
    for language in languages.values():
        plain[language.code] = (project.plain_words if language.plain_words ==
                                "plain-words.yaml" else
                                _guarded(problems, _load_plain_words, root, problems,
                                         language.plain_words) or {})
    translations = load_translations(root, project.handouts, languages, problems)
    notices = _guarded(problems, load_notices, root, problems) or ()
    termbases = {code: _guarded(problems, load_termbase, root, code, problems) or ()
                 for code, language in languages.items() if not language.source}
    if problems:
        raise ContentError(problems)
    return dataclasses.replace(project, languages=languages, translations=translations,
                               plain_words_by_lang=plain, notices=notices,
                               termbases=termbases)


# --- documents in a language -------------------------------------------------------

def merge_in(project, handout: Handout, variant, profile, language: Language):
    """One document in one language: the translated handout, merged for the variant,
    with the translation's status against today's English."""
    from .merge import merge_variant

    if language.source:
        return merge_variant(handout, variant, profile, language)
    translation = project.translations[(language.code, handout.id)]
    status = status_of(handout, translation, variant.name)
    terms = term_problems(handout, translation, variant.name,
                          project.termbases.get(language.code, ()))
    return merge_variant(translate_handout(handout, translation), variant, profile, language,
                         dataclasses.replace(status, terms=terms))


def term_problems(handout: Handout, translation: Translation, variant: str,
                  terms: tuple) -> tuple[tuple[str, str], ...]:
    """Each unit the variant prints, held to the language's termbase."""
    from .termbase import unit_problems

    if not terms:
        return ()
    english = english_units(handout)
    found = []
    for key in units_of_variant(handout, variant):
        unit = translation.units.get(key)
        if unit is not None:
            found += [(key, problem) for problem in unit_problems(english[key], unit.text,
                                                                   terms)]
    return tuple(found)


def translation_gate(document, gates) -> tuple[list[str], list[str]]:
    """Missing and stale text fail a translated document; so does a draft, unless
    --allow-draft (or --no-gates) says to print it anyway, visibly marked."""
    status = document.translation
    if status is None:
        return [], []
    name = document.language.name
    failures, warnings = problems_of(status, document.label, name, gates.allow_stale)
    if status.draft:
        message = (f"{document.label}: the {name} translation is a DRAFT, not reviewed; have "
                   f"it reviewed and fill in review: in {status.file}")
        if gates.allow_draft or not gates.enabled:
            # One line per file, however many documents it makes (the build says each
            # line once).
            warnings.append(f"{status.file}: the {name} translation is a DRAFT, not "
                            "reviewed: its documents are printed anyway, marked 'Draft "
                            "translation, not reviewed': NOT FOR PATIENTS")
        else:
            # Said for every command that prints (build, discharge, proof), not "build".
            failures.append(f"{message}, or pass --allow-draft to print it marked as a "
                            "draft (not for patients)")
    return failures, warnings
