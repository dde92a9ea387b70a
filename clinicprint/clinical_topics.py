"""The clinical checklist: the topics every variant of each kind of handout must cover.

`clinical-topics.yaml` (content, beside the handouts) names each topic, the sources
it comes from, the words each language must use where a section covers it (the fever
threshold, "chest pain"), and which topics each kind of handout needs in every
variant and in particular variants. A section says what it covers with
`covers: [fever, bleeding]`; the loader checks those names against the list.

The check runs before rendering, on each document as the patient gets it (the
variant merged, the translation in place), so a variant that drops a section, or a
translation that leaves out the threshold, fails naming handout, variant, language
and topic. The words keep a tag honest: a section tagged `fever` that no longer
says "100.4 °F (38 °C)" fails too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .schema import SLUG, Checker
from .yamlio import LineDict, load_yaml

CHECKLIST = "clinical-topics.yaml"
MAX_TOPICS = 200
MAX_WORDS = 20


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    standard: str
    wants: str


# The checklist's rules; each failure names its rule. The standard is the topic's own
# sources, listed in clinical-topics.yaml.
RULES = {
    "CLINICAL-TOPIC": Rule("CLINICAL-TOPIC", "error", CHECKLIST,
                           "every topic the kind and variant need is covered by a section"),
    "CLINICAL-WORDS": Rule("CLINICAL-WORDS", "error", CHECKLIST,
                           "a section that covers a topic says the topic's words, in the "
                           "document's language"),
}


@dataclass(frozen=True)
class Topic:
    name: str
    label: str
    sources: tuple[str, ...] = ()
    # language code -> requirements; each requirement is met by any one of its phrases
    words: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Checklist:
    file: str
    topics: dict[str, Topic]
    every_variant: dict[str, tuple[str, ...]]            # kind -> topics
    per_variant: dict[tuple[str, str], tuple[str, ...]]  # (kind, variant) -> more topics

    def required(self, kind: str, variant: str) -> tuple[str, ...]:
        both = self.every_variant.get(kind, ()) + self.per_variant.get((kind, variant), ())
        return tuple(dict.fromkeys(both))


# --- loading -------------------------------------------------------------------------

def load_checklist(root: Path, kinds: tuple[str, ...], variants: tuple[str, ...],
                   problems: list[str]) -> Checklist | None:
    """The project's checklist, or None when it has no clinical-topics.yaml."""
    if not (root / CHECKLIST).is_file():
        return None
    check = Checker(CHECKLIST)
    data = check.mapping(load_yaml(root / CHECKLIST, CHECKLIST, root), "", 1)
    if data is None:
        problems += check.problems
        return None
    check.keys(data, "", {"topics", "kinds"}, {"sources"})
    sources = _sources(check, data)
    topics = _topics(check, data, sources)
    every, per = _kinds(check, data, set(topics), kinds, variants)
    problems += check.problems
    return Checklist(CHECKLIST, topics, every, per)


def _sources(check: Checker, data: LineDict) -> set[str]:
    """sources: {id: {title, url}}: where the topics come from."""
    if "sources" not in data:
        return set()
    entries = check.mapping(data["sources"], "sources", data.line_of("sources")) or {}
    for name, entry in entries.items():
        path = f"sources.{name}"
        entry = check.mapping(entry, path, entries.line_of(name))
        if entry is not None:
            check.keys(entry, path, {"title"}, {"url", "note"})
            for key in ("title", "note"):
                check.text(entry, key, path)
            url = entry.get("url", "https://")
            # An address is one long word: not held to the text's word length.
            if not isinstance(url, str) or not url.startswith("https://") or \
                    len(url.split()) != 1:
                check.problem(f"{path}.url", "must be one web address starting with "
                              "https://", entry.line_of("url"))
    return {str(name) for name in entries}


def _topics(check: Checker, data: LineDict, sources: set[str]) -> dict[str, Topic]:
    entries = check.mapping(data.get("topics"), "topics", data.line_of("topics")) or {}
    if len(entries) > MAX_TOPICS:
        check.problem("topics", f"{len(entries)} topics, more than the {MAX_TOPICS} "
                      "allowed", data.line_of("topics"))
        return {}
    topics = {}
    for name, entry in entries.items():
        path, line = f"topics.{name}", entries.line_of(name)
        if not SLUG.match(str(name)):
            check.problem(path, "a topic name is lowercase letters, digits and hyphens", line)
        entry = check.mapping(entry, path, line)
        if entry is None:
            continue
        check.keys(entry, path, {"label", "words"}, {"sources"})
        cited = check.text_list(entry, "sources", path)
        for source in cited:
            if source not in sources:
                check.problem(f"{path}.sources", f"no source '{source}' under sources:; "
                              "add it there or fix the name", entry.line_of("sources"))
        topics[str(name)] = Topic(str(name), check.text(entry, "label", path), cited,
                                  _words(check, entry, path))
    return topics


def _words(check: Checker, entry: LineDict, path: str) -> dict[str, tuple]:
    """words: {lang: [phrase, [phrase, or phrase], ...]}: each item must be said; a list
    is met by any one of its phrases."""
    path = f"{path}.words"
    languages = check.mapping(entry.get("words"), path, entry.line_of("words")) or {}
    words = {}
    for lang, value in languages.items():
        line = languages.line_of(lang)
        if not isinstance(value, list) or not value or len(value) > MAX_WORDS:
            check.problem(f"{path}.{lang}", f"must be a list of 1 to {MAX_WORDS} phrases "
                          "(a phrase, or a list of phrases any one of which will do)", line)
            continue
        requirements = []
        for item in value:
            options = item if isinstance(item, list) else [item]
            if not options or not all(isinstance(option, str) and option.strip()
                                      for option in options):
                check.problem(f"{path}.{lang}", "each entry is a phrase, or a list of "
                              "phrases", line)
                continue
            requirements.append(tuple(option.strip() for option in options))
        words[str(lang)] = tuple(requirements)
    return words


def _kinds(check: Checker, data: LineDict, topics: set[str], kinds: tuple[str, ...],
           variants: tuple[str, ...]) -> tuple[dict, dict]:
    """kinds: {kind: {every_variant: [...], variants: {variant: [...]}}}."""
    entries = check.mapping(data.get("kinds"), "kinds", data.line_of("kinds")) or {}
    every, per = {}, {}
    for kind, entry in entries.items():
        path, line = f"kinds.{kind}", entries.line_of(kind)
        if kind not in kinds:
            check.problem(path, f"'{kind}' is not a handout kind; use one of: "
                          f"{', '.join(kinds)}", line)
        entry = check.mapping(entry, path, line)
        if entry is None:
            continue
        check.keys(entry, path, {"every_variant"}, {"variants"})
        every[str(kind)] = _topic_list(check, entry, "every_variant", path, topics)
        extra = check.mapping(entry.get("variants", LineDict()), f"{path}.variants",
                              entry.line_of("variants")) or {}
        for variant, names in extra.items():
            if variant not in variants:
                check.problem(f"{path}.variants.{variant}", f"unknown variant '{variant}'; "
                              f"variants.yaml defines: {', '.join(variants)}",
                              extra.line_of(variant))
            per[(str(kind), str(variant))] = _topic_list(check, extra, variant,
                                                         f"{path}.variants", topics)
    return every, per


def _topic_list(check: Checker, data: LineDict, key: str, path: str,
                topics: set[str]) -> tuple[str, ...]:
    names = check.text_list(data, key, path)
    for name in names:
        if name not in topics:
            check.problem(f"{path}.{key}", f"no topic '{name}' under topics:",
                          data.line_of(key))
    return names


def unknown_topics(covers: tuple[str, ...], checklist: Checklist | None) -> list[str]:
    """The names in a section's `covers:` that the checklist does not define."""
    known = checklist.topics if checklist is not None else {}
    return [name for name in covers if name not in known]


# --- the check -----------------------------------------------------------------------

def clinical_problems(document, checklist: Checklist | None) -> list[str]:
    """One line per topic a document (handout x variant x language) misses, or per
    phrase a section that covers a topic does not say."""
    if checklist is None:
        return []
    handout, variant = document.handout, document.variant.name
    label = f"{handout.id} [{variant}, {document.language.code}]"
    covering: dict[str, list] = {}
    for section in document.sections:
        for name in section.covers:
            covering.setdefault(name, []).append(section)
    problems = []
    for name in checklist.required(handout.kind, variant):
        if name not in covering:
            topic = checklist.topics[name]
            problems.append(f"{label}: clinical topic '{name}' ({topic.label}) is not "
                            f"covered: no section has covers: [{name}]; cover it in "
                            f"{_source_file(document, english=True)} [CLINICAL-TOPIC, "
                            f"{checklist.file}]")
    for name, sections in covering.items():
        problems += _missing_words(document, checklist, checklist.topics[name], sections,
                                   label)
    return problems


def _missing_words(document, checklist: Checklist, topic: Topic, sections: list,
                   label: str) -> list[str]:
    code = document.language.code
    ids = ", ".join(section.id for section in sections)
    if code not in topic.words:
        return [f"{label}: clinical topic '{topic.name}' has no words for "
                f"{document.language.name}; add words.{code} to topics.{topic.name} in "
                f"{checklist.file} [CLINICAL-WORDS]"]
    said = _plain(" ".join(_section_words(section) for section in sections))
    problems = []
    for options in topic.words[code]:
        if not any(_has(said, phrase) for phrase in options):
            wanted = " or ".join(f"'{phrase}'" for phrase in options)
            problems.append(f"{label}: clinical topic '{topic.name}' ({topic.label}): the "
                            f"section covering it ({ids}) does not say {wanted}; say it "
                            f"in {_source_file(document)} [CLINICAL-WORDS, "
                            f"{checklist.file}]")
    return problems


def _section_words(section) -> str:
    """What a section prints in words: its heading, text and items (write-in labels)."""
    return " ".join((section.title, section.body, *section.items))


def _source_file(document, english: bool = False) -> str:
    """Where the words are written: the handout, or the translation file."""
    status = document.translation
    if status is None or english:
        return f"handouts/{document.handout.path.name}"
    return status.file


def _plain(text: str) -> str:
    """Lower case, composed, without emphasis marks or soft hyphens, one space."""
    text = unicodedata.normalize("NFC", text).casefold().replace("\u00ad", "")
    return " ".join(re.sub(r"[*_]", "", text).split())


def _has(text: str, phrase: str) -> bool:
    phrase = _plain(phrase)
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None


def clinical_gate(document, project, gates) -> list[str]:
    """The build's check: skipped with the other gates by --no-gates."""
    if not gates.enabled:
        return []
    return clinical_problems(document, project.checklist)
