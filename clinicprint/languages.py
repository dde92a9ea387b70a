"""The languages a project is made in, declared as content in `languages.yaml`.

Each language names its BCP 47 tag (the HTML `lang` and the PDF `/Lang`), its
Babel locale (dates), its pyphen dictionary (hyphenation), its reading formula
and targets, its plain-words list, and the words of every fixed template label.

Fixed labels follow the gettext model: a template writes `_("Contact us")` in
the source language (English), and each other language maps that English text
to its own. A label with no translation is an error naming the label, so an
edited English label can never print in English on a Spanish page. Adding a
third language therefore needs content only: an entry here and its files in
`translations/<code>/`.

Without `languages.yaml` a project is made in English only.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ContentError
from .schema import Checker
from .yamlio import LineDict, load_yaml

LANGUAGES_FILE = "languages.yaml"
# Reading formulas textstat computes. Grade formulas: lower is easier, the
# target is a maximum. Ease formulas (0-100): higher is easier, a minimum.
FORMULAS = {
    "flesch-kincaid-grade": "max",
    "fernandez-huerta": "min",
    "szigriszt-pazos": "min",
}
# Labels the code prints (the marks on draft and out-of-date translations).
CODE_LABELS = ("Draft translation, not reviewed",
               "Out-of-date translation: the English has changed")
LABEL_CALL = re.compile(r"""\b_\(\s*(?P<q>["'])(?P<text>.+?)(?P=q)""")
BCP47 = re.compile(r"^[a-z]{2,3}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|\d{3}))?$")
CODE = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True)
class Reading:
    formula: str
    targets: dict[str, float] = field(default_factory=dict)  # per variant; empty: variants.yaml

    @property
    def lower_is_easier(self) -> bool:
        return FORMULAS[self.formula] == "max"


@dataclass(frozen=True)
class Language:
    code: str               # short code: folder names, --lang, the CSV column
    tag: str                # BCP 47: html lang, PDF /Lang
    name: str               # in English, for messages
    native_name: str        # in the language itself, for readers
    babel: str              # Babel locale for dates
    hyphenation: str        # pyphen dictionary
    hyphenate: bool         # hyphens: auto in running text
    reading: Reading
    plain_words: str        # file of medical words and their plain alternatives
    date_style: str         # footer dates: iso, or a Babel style (short, medium, long)
    labels: dict[str, str] = field(default_factory=dict)  # English label -> this language
    source: bool = False    # the language of handouts/ (the English)
    # Every handout must be translated: a missing translation file fails the build
    # (otherwise a handout is made in the languages it has).
    required: bool = False
    # Words for units that follow a number ("hours"): a number and its unit are never
    # split over two lines (clinicprint/typesetting.py).
    units: tuple[str, ...] = ()

    def label(self, english: str, **values: str) -> str:
        text = english if self.source else self.labels.get(english)
        if text is None:
            raise ContentError([f"{LANGUAGES_FILE}: languages.{self.code}.labels: no "
                                f"{self.name} for '{english}'; add it"])
        return text.format(**values) if values else text

    def format_date(self, day, style: str | None = None) -> str:
        """A date written the way this language writes it (Babel, CLDR data)."""
        style = style or self.date_style
        if style == "iso":
            return day.isoformat()
        from babel.dates import format_date

        return _spaces(format_date(day, format=style, locale=self.babel))

    def format_skeleton(self, skeleton: str, moment) -> str:
        from babel.dates import format_skeleton

        return _spaces(format_skeleton(skeleton, moment, locale=self.babel))

    def format_time(self, moment) -> str:
        from babel.dates import format_time

        return _spaces(format_time(moment, format="short", locale=self.babel))


def _spaces(text: str) -> str:
    # CLDR uses narrow no-break spaces (e.g. before "a. m."); the shipped fonts
    # have the ordinary no-break space, which breaks the same way.
    return text.replace("\u202f", "\u00a0")


ENGLISH = Language(code="en", tag="en-US", name="English", native_name="English",
                   babel="en_US", hyphenation="en_US", hyphenate=False,
                   reading=Reading("flesch-kincaid-grade"), plain_words="plain-words.yaml",
                   date_style="iso", source=True)

LANGUAGE_KEYS = {"tag", "name", "babel", "hyphenation", "reading", "plain_words"}
LANGUAGE_OPTIONAL = {"native_name", "hyphenate", "date_style", "labels", "source", "required",
                     "units"}


def load_languages(root: Path, variants: dict, profiles: dict,
                   problems: list[str]) -> dict[str, Language]:
    """Every language the project is made in, the source language first."""
    path = root / LANGUAGES_FILE
    if not path.exists():
        return {"en": ENGLISH}
    check = Checker(LANGUAGES_FILE)
    data = check.mapping(load_yaml(path, LANGUAGES_FILE, root), "", 1)
    languages: dict[str, Language] = {}
    if data is not None:
        check.keys(data, "", {"languages"}, set())
        entries = check.mapping(data.get("languages"), "languages", data.line_of("languages"))
        for code, entry in (entries or {}).items():
            language = _language(check, str(code), entry, entries.line_of(code), root,
                                 variants, profiles)
            if language is not None:
                languages[language.code] = language
        sources = [language for language in languages.values() if language.source]
        if entries is not None and len(sources) != 1:
            check.problem("languages", "exactly one language must say `source: true` (the "
                          "language of handouts/)", entries.line)
        _check_labels(check, root, languages, variants)
    problems += check.problems
    return dict(sorted(languages.items(), key=lambda item: not item[1].source))


def _language(check: Checker, code: str, entry, line: int, root: Path, variants: dict,
              profiles: dict) -> Language | None:
    path = f"languages.{code}"
    if not CODE.match(code) or code in profiles or code == "proof":
        check.problem(path, "a language code is two or three lowercase letters (ISO 639), "
                      "and not a print profile's name", line)
    entry = check.mapping(entry, path, line)
    if entry is None:
        return None
    check.keys(entry, path, LANGUAGE_KEYS, LANGUAGE_OPTIONAL)
    texts = {key: check.text(entry, key, path) for key in
             ("tag", "name", "babel", "hyphenation", "plain_words")}
    if texts["tag"] and not BCP47.match(texts["tag"]):
        check.problem(f"{path}.tag", f"'{texts['tag']}' is not a BCP 47 tag such as es-US",
                      entry.line_of("tag"))
    _check_locale(check, entry, path, texts["babel"])
    _check_dictionary(check, entry, path, texts["hyphenation"])
    if texts["plain_words"] and not (root / texts["plain_words"]).is_file():
        check.problem(f"{path}.plain_words", f"file '{texts['plain_words']}' not found",
                      entry.line_of("plain_words"))
    date_style = check.text(entry, "date_style", path, default="medium")
    if date_style not in ("iso", "short", "medium", "long"):
        check.problem(f"{path}.date_style", "use iso, short, medium or long",
                      entry.line_of("date_style"))
    return Language(
        code=code, native_name=check.text(entry, "native_name", path,
                                          default=texts["name"]),
        hyphenate=bool(entry.get("hyphenate", False)), source=bool(entry.get("source")),
        required=_flag(check, entry, "required", path),
        reading=_reading(check, entry, path, variants), date_style=date_style,
        labels=_labels(check, entry, path), units=_units(check, entry, path), **texts)


def _units(check: Checker, entry: LineDict, path: str) -> tuple[str, ...]:
    if "units" not in entry:
        return ()
    units = check.text_list(entry, "units", path)
    for unit in units:
        if not unit.strip() or len(unit) > 20:
            check.problem(f"{path}.units", "each unit is a word or short phrase",
                          entry.line_of("units"))
            break
    return tuple(units)


def _flag(check: Checker, entry: LineDict, key: str, path: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        check.problem(f"{path}.{key}", "must be true or false", entry.line_of(key))
    return value is True


def _check_locale(check: Checker, entry: LineDict, path: str, locale: str) -> None:
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(locale) if locale else None
    except (UnknownLocaleError, ValueError):
        check.problem(f"{path}.babel", f"'{locale}' is not a Babel locale such as es_US",
                      entry.line_of("babel"))


def _check_dictionary(check: Checker, entry: LineDict, path: str, name: str) -> None:
    import pyphen

    if name and name not in pyphen.LANGUAGES:
        check.problem(f"{path}.hyphenation", f"pyphen has no dictionary '{name}'",
                      entry.line_of("hyphenation"))


def _reading(check: Checker, entry: LineDict, path: str, variants: dict) -> Reading:
    path = f"{path}.reading"
    data = check.mapping(entry.get("reading"), path, entry.line_of("reading"))
    if data is None:
        return Reading("flesch-kincaid-grade")
    check.keys(data, path, {"formula"}, {"targets"})
    formula = check.text(data, "formula", path)
    if formula not in FORMULAS:
        check.problem(f"{path}.formula", f"use one of: {', '.join(FORMULAS)}",
                      data.line_of("formula"))
        return Reading("flesch-kincaid-grade")
    targets = {}
    if "targets" in data:
        given = check.mapping(data["targets"], f"{path}.targets", data.line_of("targets"))
        targets = {str(name): check.number(given, name, f"{path}.targets")
                   for name in (given or {})}
        for name in variants:
            if name not in targets:
                check.problem(f"{path}.targets.{name}", "no target for this variant",
                              data.line_of("targets"))
    elif FORMULAS[formula] == "min":
        check.problem(f"{path}.targets", "an ease formula needs a target per variant",
                      data.line)
    return Reading(formula, targets)


def _labels(check: Checker, entry: LineDict, path: str) -> dict[str, str]:
    if "labels" not in entry:
        return {}
    labels = check.mapping(entry["labels"], f"{path}.labels", entry.line_of("labels")) or {}
    found = {}
    for english, text in labels.items():
        value = check.text(labels, english, f"{path}.labels")
        if _fields(value) != _fields(str(english)):
            check.problem(f"{path}.labels.{english}", "must use the same {placeholders} as "
                          "the English", labels.line_of(english))
        found[str(english)] = value
    return found


def _fields(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:
        return {"?"}


def template_labels(root: Path) -> dict[str, str]:
    """Every `_("...")` label in the templates, with the file that uses it."""
    found: dict[str, str] = {}
    for template in sorted((root / "templates").glob("*.html")):
        for match in LABEL_CALL.finditer(template.read_text(encoding="utf-8")):
            found.setdefault(match["text"], f"templates/{template.name}")
    return found


def _check_labels(check: Checker, root: Path, languages: dict[str, Language],
                  variants: dict) -> None:
    """Each language has every fixed label the templates and variants print."""
    from .layouts import KINDS

    needed = template_labels(root)
    needed.update({label: "clinicprint/render_html.py" for label in CODE_LABELS})
    needed.update({kind.capitalize(): "the handout kinds" for kind in KINDS})
    needed.update({variant.label: f"variants.yaml ({name})"
                   for name, variant in variants.items()})
    for language in languages.values():
        if language.source:
            continue
        for english, where in needed.items():
            if english not in language.labels:
                check.problem(f"languages.{language.code}.labels", f"no {language.name} for "
                              f"'{english}' (used in {where}); add it")


def brand_labels(brand) -> list[str]:
    """Brand texts that are printed, so each language must give them in its words."""
    return [brand.service, brand.tagline, brand.logo_alt]


def check_brand_labels(languages: dict[str, Language], brand, problems: list[str]) -> None:
    for language in languages.values():
        if language.source:
            continue
        for english in brand_labels(brand):
            if english not in language.labels:
                problems.append(f"{LANGUAGES_FILE}: languages.{language.code}.labels: no "
                                f"{language.name} for '{english}' (from brand.yaml); add it")


def select(languages: dict[str, Language], asked: list[str]) -> list[Language]:
    from .errors import PipelineError

    for code in asked:
        if code not in languages:
            raise PipelineError(f"unknown language '{code}'; choose from: "
                                f"{', '.join(languages)} (declared in {LANGUAGES_FILE})")
    return [languages[code] for code in (asked or languages)]
