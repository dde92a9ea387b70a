"""Load and validate the project's content: brand, variants and handouts.

Everything is validated before anything is rendered, and every problem is
reported at once, each naming its file, line and key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .clinical_topics import load_checklist
from .errors import ContentError
from .field_declarations import Field, load_default_fields, merged, read_fields
from .layouts import KINDS, PROFILES
from .schema import SLUG, Checker, printable
from .yamlio import LineDict, load_yaml

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DOCUMENT_CODE = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")
# key-points: the summary box (PEMAT item 11); questions: a list with room to write
# answers under each item (PEMAT item 23).
SECTION_TYPES = ("text", "checklist", "call-clinic", "call-911", "write-in", "contacts",
                 "key-points", "questions")
OVERRIDABLE = {"title", "subtitle", "summary"}
IMAGE_SUFFIXES = (".svg", ".png", ".jpg", ".jpeg")
# Font tools write dates as seconds since 1970 (and PDF dates need four digits): an
# older revision is surely a typo.
EARLIEST_DATE = dt.date(2000, 1, 1)
# The paper a nurse prints a discharge sheet (and its brochure) on at the desk.
DESK_PROFILES = ("office", "office-a4")


@dataclass(frozen=True)
class Figure:
    src: str
    alt: str
    caption: str


@dataclass(frozen=True)
class Icon:
    """A small pictogram shown beside a section, for the action it asks of the reader."""

    src: str
    alt: str


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    type: str = "text"
    body: str = ""
    items: tuple[str, ...] = ()
    figure: Figure | None = None
    panel: str | None = None
    fields: tuple[str, ...] = ()  # write-in items: the patient field that fills each one
    icons: tuple[Icon, ...] = ()
    topic: str | None = None      # its place in the reading edition (see reading_order.py)
    covers: tuple[str, ...] = ()  # clinical topics it covers (clinical-topics.yaml)


@dataclass(frozen=True)
class Addition:
    section: Section
    after: str | None


@dataclass(frozen=True)
class Override:
    fields: dict[str, str] = field(default_factory=dict)
    replace: dict[str, dict[str, Any]] = field(default_factory=dict)
    add: tuple[Addition, ...] = ()
    remove: tuple[str, ...] = ()
    moves: dict[str, str] = field(default_factory=dict)  # section id -> id it follows


@dataclass(frozen=True)
class Review:
    approved_by: str
    approved_on: dt.date
    next_review: dt.date


@dataclass(frozen=True)
class Handout:
    id: str
    kind: str
    title: str
    subtitle: str
    summary: str
    document_code: str
    revision: dt.date
    keywords: tuple[str, ...]
    variants: tuple[str, ...]
    profiles: tuple[str, ...]
    sections: tuple[Section, ...]
    overrides: dict[str, Override]
    review: Review
    allowed_terms: tuple[str, ...]
    path: Path
    brochure: str = ""  # discharge handouts: the companion brochure's handout name
    # Discharge handouts: the details a nurse fills in (fields.yaml's, then its own).
    fields: tuple[Field, ...] = ()
    declared_fields: tuple[str, ...] = ()  # the names of those its own file declares


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    description: str
    stylesheet: str
    reading_grade_max: float
    min_body_pt: float
    min_footer_pt: float
    min_contrast: float
    # Optional targets (0 = not checked): large print for seniors, measured by the gates.
    min_heading_pt: float = 0.0
    min_write_line_in: float = 0.0  # length of a write-in line
    min_write_gap_in: float = 0.0   # distance between write-in lines, baseline to baseline
    # Most pages a handout of each kind may have in this variant; kinds not named
    # keep the kind's own limit (clinicprint/layouts.py).
    max_pages: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Brand:
    name: str
    service: str
    tagline: str
    phone: str
    after_hours_phone: str
    emergency_number: str
    address: tuple[str, ...]
    website: str
    email: str
    scheduling_url: str
    logo: str
    logo_alt: str
    colours: dict[str, str]
    colours_cmyk: dict[str, tuple[float, float, float, float]]


@dataclass(frozen=True)
class Project:
    root: Path
    brand: Brand
    variants: dict[str, Variant]
    handouts: dict[str, Handout]
    plain_words: dict[str, str]
    default_fields: tuple[Field, ...] = ()             # fields.yaml
    # Languages (clinicprint/languages.py): filled by load_languages_into().
    languages: dict = field(default_factory=dict)
    translations: dict = field(default_factory=dict)   # (lang, handout id) -> Translation
    plain_words_by_lang: dict = field(default_factory=dict)
    notices: tuple = ()                                # language-assistance lines
    checklist: object = None     # clinical_topics.Checklist: clinical-topics.yaml, if any
    termbases: dict = field(default_factory=dict)      # lang -> termbase.Term tuple


# --- brand ---------------------------------------------------------------

BRAND_KEYS = {"name", "service", "tagline", "phone", "after_hours_phone", "emergency_number",
              "address", "website", "email", "scheduling_url", "logo", "logo_alt", "colours"}
BRAND_COLOURS = {"primary", "primary_dark", "accent", "ink", "muted", "paper", "tint",
                 "emergency"}


def _load_brand(root: Path, problems: list[str]) -> Brand | None:
    check = Checker("brand.yaml")
    data = check.mapping(load_yaml(root / "brand.yaml", "brand.yaml", root), "", 1)
    if data is None:
        problems += check.problems
        return None
    check.keys(data, "", BRAND_KEYS, set())
    texts = {key: check.text(data, key, "") for key in BRAND_KEYS - {"address", "colours"}}
    address = check.text_list(data, "address", "")
    colours, cmyk = _colours(check, data)
    _must_exist(check, root, data, "logo", "", texts["logo"])
    if texts["scheduling_url"] and not texts["scheduling_url"].startswith("https://"):
        check.problem("scheduling_url", "must start with https://",
                      data.line_of("scheduling_url"))
    problems += check.problems
    if check.problems:
        return None
    return Brand(address=address, colours=colours, colours_cmyk=cmyk, **texts)


def _colours(check: Checker, data: LineDict) -> tuple[dict, dict]:
    """Each colour is #RRGGBB, or {rgb: "#RRGGBB", cmyk: [C, M, Y, K]} in percent."""
    colours = check.mapping(data.get("colours"), "colours", data.line_of("colours"))
    if colours is None:
        return {}, {}
    check.keys(colours, "colours", BRAND_COLOURS, set())
    rgb, cmyk = {}, {}
    for name, value in colours.items():
        path, line = f"colours.{name}", colours.line_of(name)
        if isinstance(value, LineDict):
            check.keys(value, path, {"rgb"}, {"cmyk"})
            if "cmyk" in value:
                cmyk[name] = _cmyk(check, value["cmyk"], f"{path}.cmyk", line)
            value = value.get("rgb")
        if not isinstance(value, str) or not HEX_COLOUR.match(value):
            check.problem(path, "must be a colour written as #RRGGBB", line)
        rgb[name] = str(value)
    return rgb, cmyk


def _cmyk(check: Checker, value: Any, path: str, line: int) -> tuple:
    if (isinstance(value, list) and len(value) == 4 and all(
            isinstance(part, (int, float)) and 0 <= part <= 100 for part in value)):
        return tuple(float(part) for part in value)
    check.problem(path, "must be four percentages [C, M, Y, K], each 0 to 100", line)
    return (0.0, 0.0, 0.0, 100.0)


# --- variants ------------------------------------------------------------

VARIANT_KEYS = {"label", "description", "stylesheet"}
VARIANT_TARGETS = {"reading_grade_max", "min_body_pt", "min_footer_pt", "min_contrast"}
VARIANT_OPTIONAL = {"min_heading_pt", "min_write_line_in", "min_write_gap_in"}


def _load_variants(root: Path, problems: list[str]) -> dict[str, Variant]:
    check = Checker("variants.yaml")
    data = check.mapping(load_yaml(root / "variants.yaml", "variants.yaml", root), "", 1)
    variants: dict[str, Variant] = {}
    if data is not None:
        check.keys(data, "", {"variants"}, set())
        entries = check.mapping(data.get("variants"), "variants", data.line_of("variants"))
        for name, entry in (entries or {}).items():
            path = f"variants.{name}"
            if not re.match(r"^[a-z0-9-]+$", str(name)):
                check.problem(path, "a variant name must be lowercase letters, digits and "
                              "hyphens", entries.line_of(name))
            entry = check.mapping(entry, path, entries.line_of(name))
            if entry is None:
                continue
            check.keys(entry, path, VARIANT_KEYS | VARIANT_TARGETS,
                       VARIANT_OPTIONAL | {"max_pages"})
            values = {key: check.text(entry, key, path) for key in VARIANT_KEYS}
            values.update({key: check.number(entry, key, path)
                           for key in VARIANT_TARGETS | VARIANT_OPTIONAL})
            values["max_pages"] = _max_pages(check, entry, path)
            _must_exist(check, root, entry, "stylesheet", path, values["stylesheet"])
            variants[str(name)] = Variant(name=str(name), **values)
        if entries is not None and not entries:
            check.problem("variants", "define at least one variant", entries.line)
    problems += check.problems
    return variants


def _max_pages(check: Checker, entry: LineDict, path: str) -> dict[str, int]:
    """max_pages: {kind: pages}, e.g. {discharge: 4}; a kind's own limit otherwise."""
    if "max_pages" not in entry:
        return {}
    path, line = f"{path}.max_pages", entry.line_of("max_pages")
    limits = check.mapping(entry["max_pages"], path, line)
    result: dict[str, int] = {}
    for kind, pages in (limits or {}).items():
        if kind not in KINDS:
            check.problem(f"{path}.{kind}", f"'{kind}' is not a handout kind; use one of: "
                          f"{', '.join(KINDS)}", limits.line_of(kind))
        elif isinstance(pages, bool) or not isinstance(pages, int) or \
                pages < KINDS[kind].min_pages:
            check.problem(f"{path}.{kind}", "must be a whole number of pages, at least "
                          f"{KINDS[kind].min_pages}", limits.line_of(kind))
        else:
            result[str(kind)] = pages
    return result


# --- handouts ------------------------------------------------------------

HANDOUT_REQUIRED = {"kind", "title", "document_code", "revision", "review", "sections"}
HANDOUT_OPTIONAL = {"subtitle", "summary", "keywords", "variants", "profiles", "overrides",
                    "allowed_terms", "brochure", "fields"}
SECTION_REQUIRED = {"id", "title"}
SECTION_OPTIONAL = {"type", "body", "items", "figure", "panel", "icons", "topic", "covers"}
OVERRIDE_KEYS = OVERRIDABLE | {"replace", "add", "remove"}
# Limits far above any real handout, so a runaway file fails at once (README).
MAX_SECTIONS = 40
MAX_ITEMS = 30
MAX_TEXT_CHARS = 2000


class _HandoutReader:
    """Turns one handout file into a Handout, collecting problems on the way."""

    def __init__(self, root: Path, path: Path, variants: dict[str, Variant],
                 default_fields: tuple[Field, ...] = (), checklist=None):
        self.root = root
        self.checklist = checklist  # clinical_topics.Checklist, for sections' covers:
        self.path = path
        self.variants = variants
        self.default_fields = default_fields
        self.fields: dict[str, Field] = {}
        self.declared: list[str] = []
        self.check = Checker(path.relative_to(root).as_posix())
        self.handout_id = path.stem
        self.brochure_line: int | None = None

    def read(self) -> Handout | None:
        data = self.check.mapping(load_yaml(self.path, self.check.label, self.root), "", 1)
        if data is None:
            return None
        self.check.keys(data, "", HANDOUT_REQUIRED, HANDOUT_OPTIONAL)
        kind = self.check.text(data, "kind", "")
        if kind and kind not in KINDS:
            self.check.problem("kind", f"'{kind}' is not a handout kind; use one of: "
                               f"{', '.join(KINDS)}", data.line_of("kind"))
            kind = ""
        self.kind = kind
        fields = self._fields(data, kind)
        self.fields = {field.name: field for field in fields}
        sections = self._sections(data.get("sections"), "sections", data.line_of("sections"))
        handout = Handout(
            id=self.path.stem,
            kind=kind,
            title=self.check.text(data, "title", ""),
            subtitle=self.check.text(data, "subtitle", "", required=False),
            summary=self.check.text(data, "summary", "", required=False),
            document_code=self._document_code(data),
            revision=self._past_date(data, "revision", "") or dt.date(1970, 1, 1),
            keywords=self.check.text_list(data, "keywords", ""),
            variants=self._variant_names(data),
            profiles=self._profile_names(data, kind),
            sections=tuple(sections),
            overrides=self._overrides(data, {s.id for s in sections}),
            review=self._review(data),
            allowed_terms=tuple(term.lower() for term in
                                self.check.text_list(data, "allowed_terms", "")),
            path=self.path,
            brochure=self._brochure(data, kind),
            fields=fields,
            declared_fields=tuple(self.declared),
        )
        return handout

    def _fields(self, data: LineDict, kind: str) -> tuple[Field, ...]:
        """A discharge sheet's details: fields.yaml's, then the handout's own."""
        line = data.line_of("fields")
        if kind and kind != "discharge":
            if "fields" in data:
                self.check.problem("fields", "only a discharge handout has details a nurse "
                                   "fills in; remove this key", line)
            return ()
        own = read_fields(self.check, data["fields"], "fields", line, self.default_fields) \
            if "fields" in data else ()
        self.declared = [field.name for field in own]
        return merged(self.default_fields, own)

    def _brochure(self, data: LineDict, kind: str) -> str:
        """A discharge handout names the brochure that goes home with it."""
        self.brochure_line = data.line_of("brochure")
        if "brochure" not in data:
            return ""
        if kind and kind != "discharge":
            self.check.problem("brochure", "only a discharge handout names a companion "
                               "brochure; remove this key", self.brochure_line)
            return ""
        return self.check.text(data, "brochure", "")

    def check_pairing(self, handout: Handout, handouts: dict[str, Handout]) -> None:
        """Second pass, once every handout is loaded: the named brochure must exist, be a
        brochure, and be made in every variant (and desk profile) of this handout."""
        if not handout.brochure:
            return
        line, name = self.brochure_line, handout.brochure
        companion = handouts.get(name)
        if companion is None:
            self.check.problem("brochure", f"no handout '{name}' in handouts/; name a "
                               f"brochure: {', '.join(_ids_of(handouts, 'brochure')) or 'none'}",
                               line)
        elif companion.kind != "brochure":
            self.check.problem("brochure", f"'{name}' is a {companion.kind or 'broken'} "
                               "handout, not a brochure", line)
        else:
            for what, mine, theirs in (("variants", handout.variants, companion.variants),
                                       ("profiles", [p for p in handout.profiles
                                                     if p in DESK_PROFILES],
                                        companion.profiles)):
                missing = [value for value in mine if value not in theirs]
                if missing:
                    self.check.problem("brochure", f"'{name}' is not made in the {what} "
                                       f"{', '.join(missing)} that this handout is made in; "
                                       f"add them to its {what} list or name another "
                                       "brochure", line)

    def _review(self, data: LineDict) -> Review:
        """Who approved the medical content, when, and when it must be looked at again."""
        review = self.check.mapping(data.get("review"), "review", data.line_of("review"))
        if review is None:
            return Review("", dt.date.min, dt.date.min)
        self.check.keys(review, "review", {"approved_by", "approved_on", "next_review"}, set())
        approved_on = self._past_date(review, "approved_on", "review") or dt.date.min
        next_review = self.check.date(review, "next_review", "review") or dt.date.min
        if dt.date.min < next_review <= approved_on:
            self.check.problem("review.next_review", "must come after approved_on",
                               review.line_of("next_review"))
        return Review(self.check.text(review, "approved_by", "review"), approved_on, next_review)

    def _past_date(self, data: LineDict, key: str, path: str) -> dt.date | None:
        """Revision and approval dates record what happened: never in the future."""
        day = self.check.date(data, key, path)
        if day and day < EARLIEST_DATE:
            self.check.problem(f"{path}.{key}" if path else key,
                               f"{day.isoformat()} is before {EARLIEST_DATE.year}; check "
                               "the year", data.line_of(key))
        elif day and day > dt.date.today():
            self.check.problem(f"{path}.{key}" if path else key,
                               f"{day.isoformat()} is in the future; use the date it "
                               "actually happened", data.line_of(key))
        return day

    def _document_code(self, data: LineDict) -> str:
        code = self.check.text(data, "document_code", "")
        if code and not DOCUMENT_CODE.match(code):
            self.check.problem("document_code", f"'{code}' must be capital letters, digits "
                               "and hyphens, e.g. BSC-VP-101", data.line_of("document_code"))
        return code

    def _variant_names(self, data: LineDict) -> tuple[str, ...]:
        if "variants" not in data:
            return tuple(self.variants)
        names = self.check.text_list(data, "variants", "")
        for name in names:
            if name not in self.variants:
                self.check.problem("variants", f"unknown variant '{name}'; variants.yaml "
                                   f"defines: {', '.join(self.variants)}",
                                   data.line_of("variants"))
        return names

    def _profile_names(self, data: LineDict, kind: str) -> tuple[str, ...]:
        if "profiles" not in data:
            return KINDS[kind].profiles if kind else ()
        names = self.check.text_list(data, "profiles", "")
        for name in names:
            if name not in PROFILES:
                self.check.problem("profiles", f"unknown print profile '{name}'; use any "
                                   f"of: {', '.join(PROFILES)}", data.line_of("profiles"))
        return names

    def _sections(self, value: Any, path: str, line: int) -> list[Section]:
        if not isinstance(value, list) or not value:
            self.check.problem(path, "must be a non-empty list of sections", line)
            return []
        if len(value) > MAX_SECTIONS:
            self.check.problem(path, f"{len(value)} sections, more than the {MAX_SECTIONS} "
                               "a handout may have; split it into two handouts", line)
            return []
        sections = [self._section(item, f"{path}[{index}]", line)
                    for index, item in enumerate(value)]
        sections = [section for section in sections if section is not None]
        self._unique_ids(sections, path, line)
        return sections

    def _unique_ids(self, sections: list[Section], path: str, line: int) -> None:
        seen: set[str] = set()
        for section in sections:
            if section.id in seen:
                self.check.problem(path, f"section id '{section.id}' is used twice", line)
            seen.add(section.id)

    def _section(self, value: Any, path: str, line: int) -> Section | None:
        data = self.check.mapping(value, path, line)
        if data is None:
            return None
        self.check.keys(data, path, SECTION_REQUIRED, SECTION_OPTIONAL)
        fields = self._section_fields(data, path)
        if "id" not in fields or "title" not in fields:
            return None
        return Section(**fields)

    def _section_fields(self, data: LineDict, path: str) -> dict[str, Any]:
        """Validate the section keys present in `data`; used for whole and partial sections."""
        fields: dict[str, Any] = {}
        if "id" in data:
            fields["id"] = self.check.slug(data, "id", path)
        for key in ("title", "body"):
            if key in data:
                fields[key] = self._bounded(self.check.text(data, key, path), data, key, path)
        if "type" in data:
            fields["type"] = self.check.text(data, "type", path)
            if fields["type"] not in SECTION_TYPES:
                self.check.problem(f"{path}.type", f"'{fields['type']}' is not a section "
                                   f"type; use one of: {', '.join(SECTION_TYPES)}",
                                   data.line_of("type"))
        if "items" in data:
            fields["items"], fields["fields"] = self._items(data, path)
        if "figure" in data:
            fields["figure"] = self._figure(data, path)
        if "panel" in data:
            fields["panel"] = self._panel(data, path)
        if "icons" in data:
            fields["icons"] = self._icons(data, path)
        if "topic" in data:
            fields["topic"] = self._topic(data, path)
        if "covers" in data:
            fields["covers"] = self._covers(data, path)
        return fields

    def _covers(self, data: LineDict, path: str) -> tuple[str, ...]:
        """The clinical topics a section covers: names from clinical-topics.yaml."""
        from .clinical_topics import CHECKLIST, unknown_topics

        covers = self.check.text_list(data, "covers", path)
        for name in unknown_topics(covers, self.checklist):
            known = (", ".join(self.checklist.topics) if self.checklist is not None else
                     f"none: the project has no {CHECKLIST}")
            self.check.problem(f"{path}.covers", f"'{name}' is not a clinical topic; use "
                               f"one of {CHECKLIST}'s topics ({known})",
                               data.line_of("covers"))
        return covers

    def _topic(self, data: LineDict, path: str) -> str:
        from .reading_order import TOPICS

        topic = self.check.text(data, "topic", path)
        if topic not in TOPICS:
            self.check.problem(f"{path}.topic", f"'{topic}' is not a topic; use one of: "
                               f"{', '.join(TOPICS)}", data.line_of("topic"))
        return topic

    def _icons(self, parent: LineDict, path: str) -> tuple[Icon, ...]:
        """Pictograms: a list of {src, alt}; files must exist in the project."""
        path, value = f"{path}.icons", parent["icons"]
        if not isinstance(value, list):
            self.check.problem(path, "must be a list of {src, alt}", parent.line_of("icons"))
            return ()
        icons = []
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            data = self.check.mapping(item, item_path, parent.line_of("icons"))
            if data is None:
                continue
            self.check.keys(data, item_path, {"src", "alt"}, set())
            icon = Icon(**{key: self.check.text(data, key, item_path) for key in ("src", "alt")})
            _must_exist(self.check, self.root, data, "src", item_path, icon.src)
            icons.append(icon)
        return tuple(icons)

    def _bounded(self, text: str, data: LineDict, key: str, path: str) -> str:
        if len(text) > MAX_TEXT_CHARS:
            self.check.problem(f"{path}.{key}", f"{len(text)} characters, more than the "
                               f"{MAX_TEXT_CHARS} allowed; shorten it or split the section",
                               data.line_of(key))
            return text[:MAX_TEXT_CHARS]
        return text

    def _items(self, data: LineDict, path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Items are text; a write-in item may be {label, field} to be filled per patient."""
        value = data["items"]
        if isinstance(value, list) and len(value) > MAX_ITEMS:
            self.check.problem(f"{path}.items", f"{len(value)} items, more than the "
                               f"{MAX_ITEMS} a section may have; split the section",
                               data.line_of("items"))
            return (), ()
        if not isinstance(value, list):
            return self.check.text_list(data, "items", path), ()
        too_long = [index for index, item in enumerate(value)
                    if isinstance(item, str) and len(item) > MAX_TEXT_CHARS]
        if too_long:
            self.check.problem(f"{path}.items[{too_long[0]}]", f"more than {MAX_TEXT_CHARS} "
                               "characters; shorten it", data.line_of("items"))
            return (), ()
        labels, fields = [], []
        for index, item in enumerate(value):
            item_path = f"{path}.items[{index}]"
            if isinstance(item, LineDict):
                self.check.keys(item, item_path, {"label", "field"}, set())
                field_name = self.check.text(item, "field", item_path)
                if field_name and field_name not in self.fields:
                    known = ", ".join(self.fields) or "none: only a discharge handout has them"
                    self.check.problem(f"{item_path}.field", f"'{field_name}' is not a field "
                                       f"of this handout; declare it under fields: (known: "
                                       f"{known})", item.line_of("field"))
                labels.append(self.check.text(item, "label", item_path))
                fields.append(field_name)
            elif isinstance(item, str) and item.strip() and printable(item):
                labels.append(item.strip())
                fields.append("")
            else:
                self.check.problem(item_path, "must be text, or {label, field} for a write-in",
                                   data.line_of("items"))
        return tuple(labels), tuple(fields) if any(fields) else ()

    def _panel(self, data: LineDict, path: str) -> str | None:
        panel = self.check.text(data, "panel", path)
        panels = KINDS[self.kind].section_panels if self.kind else ()
        if self.kind and panel in KINDS[self.kind].panels and panel not in panels:
            self.check.problem(f"{path}.panel", f"sections cannot go on the '{panel}' panel: "
                               "it holds the title, subtitle and summary; use one of: "
                               f"{', '.join(panels)}", data.line_of("panel"))
        elif self.kind and panel not in panels:
            where = (f"one of: {', '.join(panels)}" if panels
                     else "nothing: this kind of handout has no panels")
            self.check.problem(f"{path}.panel", f"'{panel}' is not a panel; use {where}",
                               data.line_of("panel"))
        return panel

    def _figure(self, parent: LineDict, path: str) -> Figure | None:
        path = f"{path}.figure"
        data = self.check.mapping(parent["figure"], path, parent.line_of("figure"))
        if data is None:
            return None
        self.check.keys(data, path, {"src", "alt", "caption"}, set())
        figure = Figure(**{key: self.check.text(data, key, path)
                           for key in ("src", "alt", "caption")})
        _must_exist(self.check, self.root, data, "src", path, figure.src)
        if figure.src and Path(figure.src).suffix.lower() not in IMAGE_SUFFIXES:
            self.check.problem(f"{path}.src", f"'{figure.src}' is not a picture; use an "
                               f"{', '.join(IMAGE_SUFFIXES)} file", data.line_of("src"))
        return figure

    def _overrides(self, data: LineDict, section_ids: set[str]) -> dict[str, Override]:
        if "overrides" not in data:
            return {}
        entries = self.check.mapping(data["overrides"], "overrides", data.line_of("overrides"))
        overrides = {}
        for name, entry in (entries or {}).items():
            path = f"overrides.{name}"
            if name not in self.variants:
                self.check.problem(path, f"unknown variant '{name}'; variants.yaml defines: "
                                   f"{', '.join(self.variants)}", entries.line_of(name))
            entry = self.check.mapping(entry, path, entries.line_of(name))
            if entry is not None:
                overrides[str(name)] = self._override(entry, path, section_ids)
        return overrides

    def _override(self, data: LineDict, path: str, section_ids: set[str]) -> Override:
        self.check.keys(data, path, set(), OVERRIDE_KEYS)
        # An empty subtitle or summary drops it for this variant.
        fields = {key: self.check.text(data, key, path, required=key == "title")
                  for key in OVERRIDABLE if key in data}
        added = self._additions(data, path, section_ids)
        known = section_ids | {addition.section.id for addition in added}
        remove = self.check.text_list(data, "remove", path)
        for section_id in remove:
            if section_id not in section_ids:
                self.check.problem(f"{path}.remove", f"no shared section '{section_id}' "
                                   "to remove", data.line_of("remove"))
        moves: dict[str, str] = {}
        replace = self._replacements(data, path, known, moves)
        for section_id in sorted(set(remove) & set(replace)):
            self.check.problem(f"{path}.replace.{section_id}", "this section is also in "
                               "remove; keep one of the two", data.line_of("replace"))
        return Override(fields=fields, replace=replace, add=tuple(added), remove=remove,
                        moves=moves)

    def _replacements(self, data: LineDict, path: str, known: set[str],
                      moves: dict[str, str]) -> dict:
        """Changed fields per section; `after: ID` also moves the section (to place a
        shared section at the right point of another panel for one variant)."""
        if "replace" not in data:
            return {}
        path = f"{path}.replace"
        entries = self.check.mapping(data["replace"], path, data.line_of("replace"))
        replacements = {}
        for section_id, entry in (entries or {}).items():
            entry_path = f"{path}.{section_id}"
            if section_id not in known:
                self.check.problem(entry_path, f"no section '{section_id}' to replace; "
                                   "check the id", entries.line_of(section_id))
            entry = self.check.mapping(entry, entry_path, entries.line_of(section_id))
            if entry is not None:
                self.check.keys(entry, entry_path, set(), SECTION_OPTIONAL | {"title", "after"})
                after = self._move_target(entry, entry_path, str(section_id), known)
                if after:
                    moves[str(section_id)] = after
                replacements[str(section_id)] = self._section_fields(entry, entry_path)
        return replacements

    def _move_target(self, entry: LineDict, path: str, section_id: str,
                     known: set[str]) -> str | None:
        if "after" not in entry:
            return None
        after = self.check.text(entry, "after", path)
        if after == section_id or (after and after not in known):
            self.check.problem(f"{path}.after", f"no other section '{after}' to place this "
                               "after; name a shared or added section", entry.line_of("after"))
            return None
        return after

    def _additions(self, data: LineDict, path: str, section_ids: set[str]) -> list[Addition]:
        if "add" not in data:
            return []
        path = f"{path}.add"
        value = data["add"]
        line = data.line_of("add")
        if not isinstance(value, list):
            self.check.problem(path, "must be a list of sections", line)
            return []
        additions = []
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            after = item.pop("after", None) if isinstance(item, LineDict) else None
            if after is not None and not isinstance(after, str):
                self.check.problem(f"{item_path}.after", "must be the id of one section",
                                   line)
                after = None
            section = self._section(item, item_path, line)
            if section is None:
                continue
            if section.id in section_ids:
                self.check.problem(f"{item_path}.id", f"'{section.id}' already exists; use "
                                   "replace to change a shared section", line)
            placed = section_ids | {addition.section.id for addition in additions}
            if after is not None and after not in placed:
                self.check.problem(f"{item_path}.after", f"no section '{after}' (shared or "
                                   "added above) to place this after", line)
            additions.append(Addition(section=section, after=after))
        return additions

    def post_validate(self, handout: Handout) -> None:
        """Rules that need the merged picture: brochure sections need panels; a discharge
        sheet's fields each have one place."""
        if handout.kind == "discharge":
            self._check_placements(handout)
        if handout.kind != "brochure":
            return
        every = list(handout.sections) + [addition.section for override in
                                          handout.overrides.values()
                                          for addition in override.add]
        for section in every:
            if not section.panel:
                self.check.problem(f"sections.{section.id}.panel", "a brochure section "
                                   f"needs a panel: {', '.join(KINDS['brochure'].section_panels)}")


    def _check_placements(self, handout: Handout) -> None:
        """Each variant places a field at most once; each of the handout's own fields is
        placed in some variant (a detail typed in must be printed somewhere)."""
        from .merge import placed_fields

        placed_anywhere: set[str] = set()
        for variant in handout.variants:
            try:
                placed_anywhere |= set(placed_fields(handout, variant))
            except ValueError as exc:
                self.check.problem("sections", f"variant {variant}: field '{exc}' is placed "
                                   "twice; a detail has one place on the sheet")
        defaults = {field.name for field in self.default_fields}
        for field in handout.fields:
            if field.name not in placed_anywhere and field.name not in defaults:
                self.check.problem(f"fields.{field.name}", "is not placed on the sheet in "
                                   "any variant; add a section item {label: ..., field: "
                                   f"{field.name}}} or remove the field")


def _ids_of(handouts: dict[str, Handout], kind: str) -> list[str]:
    return [handout.id for handout in handouts.values() if handout.kind == kind]


def _must_exist(check: Checker, root: Path, data: LineDict, key: str, path: str,
                relative: str) -> None:
    """A referenced file must exist inside the project (resolved from the project root)."""
    if not relative:
        return
    where = f"{path}.{key}" if path else key
    try:
        target = (root / relative).resolve()
    except (OSError, RuntimeError):
        check.problem(where, f"'{relative}' cannot be resolved (a link loop?)",
                      data.line_of(key))
        return
    if not target.is_relative_to(root.resolve()):
        check.problem(where, f"'{relative}' is outside the project; keep files inside it",
                      data.line_of(key))
    elif not target.is_file():
        check.problem(where, f"file '{relative}' not found (paths are relative to the "
                      "project folder)", data.line_of(key))


def load_project(root: Path) -> Project:
    """Load brand, variants and every handout; raise ContentError listing all problems."""
    problems: list[str] = []
    brand = _guarded(problems, _load_brand, root, problems)
    variants = _guarded(problems, _load_variants, root, problems) or {}
    default_fields = _guarded(problems, load_default_fields, root, problems) or ()
    checklist = _guarded(problems, load_checklist, root, tuple(KINDS), tuple(variants),
                         problems)
    handouts: dict[str, Handout] = {}
    paths = _handout_files(root, problems)
    readers: list[_HandoutReader] = []
    for path in paths:
        reader = _HandoutReader(root, path, variants, default_fields, checklist)
        try:
            handout = reader.read()
        except ContentError as exc:
            problems += exc.problems
            continue
        if handout is not None:
            reader.post_validate(handout)
            handouts[handout.id] = handout
        readers.append(reader)
    for reader in readers:
        if reader.handout_id in handouts:
            reader.check_pairing(handouts[reader.handout_id], handouts)
        problems += reader.check.problems
    plain_words = _guarded(problems, _load_plain_words, root, problems) or {}
    problems += _shared_codes(handouts)
    if problems or brand is None:
        raise ContentError(problems or ["brand.yaml: could not be loaded"])
    project = Project(root=root, brand=brand, variants=variants, handouts=handouts,
                      plain_words=plain_words, default_fields=default_fields,
                      checklist=checklist)
    from .translations import load_languages_into  # languages, translations, notices

    return load_languages_into(project)


def _handout_files(root: Path, problems: list[str]) -> list[Path]:
    """handouts/*.yaml; a .yml file is refused rather than silently skipped."""
    folder = root / "handouts"
    paths = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        label = f"handouts/{path.name}"
        if path.name.startswith(".") or path.suffix.lower() not in (".yaml", ".yml"):
            continue
        if not _regular_file(path):
            problems.append(f"{label}: not a regular file (a folder, a pipe or a broken "
                            "link); a handout is a YAML text file")
        elif path.suffix != ".yaml":
            problems.append(f"{label}: handout files end in .yaml; rename it to "
                            f"{path.stem}.yaml")
        elif not SLUG.match(path.stem):
            problems.append(f"{label}: a handout's file name is its name in output paths; "
                            "use lowercase letters, digits and hyphens")
        else:
            paths.append(path)
    if not paths and not problems:
        problems.append("handouts/: no handout files (*.yaml) found")
    return paths


def _regular_file(path: Path) -> bool:
    """A named pipe would block reading forever; a link loop cannot be resolved."""
    import stat

    try:
        return stat.S_ISREG(path.stat().st_mode)
    except (OSError, RuntimeError):
        return False


def _shared_codes(handouts: dict[str, Handout]) -> list[str]:
    """A document code names one handout: two with one code could not be told apart."""
    first: dict[str, Handout] = {}
    problems = []
    for handout in handouts.values():
        other = first.setdefault(handout.document_code, handout)
        if other is not handout:
            problems.append(f"handouts/{handout.path.name}: document_code: "
                            f"'{handout.document_code}' is already used by "
                            f"handouts/{other.path.name}; give each handout its own code")
    return problems


def _load_plain_words(root: Path, problems: list[str],
                      name: str = "plain-words.yaml") -> dict[str, str]:
    check = Checker(name)
    data = check.mapping(load_yaml(root / name, name, root), "", 1)
    terms = {}
    if data is not None:
        check.keys(data, "", {"terms"}, set())
        entries = check.mapping(data.get("terms"), "terms", data.line_of("terms")) or {}
        terms = {str(term).lower(): check.text(entries, term, "terms") for term in entries}
    problems += check.problems
    return terms


def _guarded(problems: list[str], load, *args):
    """Run one loader; a file that cannot even be parsed becomes one more problem."""
    try:
        return load(*args)
    except ContentError as exc:
        problems += exc.problems
        return None


def with_fields(section: Section, fields: dict[str, Any]) -> Section:
    return dataclasses.replace(section, **fields)
