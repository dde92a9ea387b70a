"""A termbase per language: the approved rendering of each medical or key term, and the
renderings a reviewer rejected (translations/<lang>/glossary.yaml).

A translator's glossary is the usual way a medical translation stays consistent: the
same English term gets the same approved words in every handout, and a rendering that
misleads (Spanish "calmante", read as a painkiller, for the medicine that helps a patient
relax) is never used again. The translation check holds every translated unit to it:
where the English uses a term, the translation must use an approved rendering and none
of the forbidden ones. The PO export shows the terms to the translator beside each
message that uses them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .schema import Checker
from .yamlio import load_yaml

GLOSSARY = "glossary.yaml"
MAX_TERMS = 500


@dataclass(frozen=True)
class Term:
    english: tuple[str, ...]       # the term and its other forms ("blood thinners")
    approved: tuple[str, ...]      # one of these must appear where the English has it
    forbidden: tuple[str, ...] = ()
    note: str = ""                 # why, for the translator

    def comment(self) -> str:
        text = f"Term: {self.english[0]} = {' / '.join(self.approved)}"
        if self.forbidden:
            text += f"; not: {', '.join(self.forbidden)}"
        return text + (f" ({self.note})" if self.note else "")


def glossary_file(code: str) -> str:
    return f"translations/{code}/{GLOSSARY}"


def load_termbase(root: Path, code: str, problems: list[str]) -> tuple[Term, ...]:
    """The language's glossary, if it has one."""
    relative = glossary_file(code)
    if not (root / relative).is_file():
        return ()
    check = Checker(relative)
    data = check.mapping(load_yaml(root / relative, relative, root), "", 1)
    terms: list[Term] = []
    if data is not None:
        check.keys(data, "", {"terms"}, {"source"})
        entries = data.get("terms")
        if not isinstance(entries, list) or len(entries) > MAX_TERMS:
            check.problem("terms", f"must be a list of at most {MAX_TERMS} terms, each {{en, "
                          f"{code}, forbidden, note}}", data.line_of("terms"))
            entries = []
        for index, entry in enumerate(entries):
            term = _term(check, entry, f"terms[{index}]", code, data.line_of("terms"))
            if term is not None:
                terms.append(term)
    problems += check.problems
    return tuple(terms)


def _term(check: Checker, entry: Any, path: str, code: str, line: int) -> Term | None:
    data = check.mapping(entry, path, line)
    if data is None:
        return None
    check.keys(data, path, {"en", code}, {"forbidden", "note"})
    english, approved = _texts(check, data, "en", path), _texts(check, data, code, path)
    forbidden = _texts(check, data, "forbidden", path) if "forbidden" in data else ()
    note = check.text(data, "note", path) if "note" in data else ""
    if not english or not approved:
        return None
    return Term(english, approved, forbidden, note)


def _texts(check: Checker, data, key: str, path: str) -> tuple[str, ...]:
    """One text, or a list of texts (a term's forms)."""
    value = data.get(key)
    if isinstance(value, str):
        return (check.text(data, key, path),)
    return check.text_list(data, key, path)


# --- the check -------------------------------------------------------------------------

def unit_problems(english: dict[str, Any], translated: dict[str, Any],
                  terms: tuple[Term, ...]) -> list[str]:
    """What one translated unit does wrong against the termbase, in words."""
    source, target = _plain(_strings(english)), _plain(_strings(translated))
    problems = []
    for term in terms:
        if not any(_has(source, form) for form in term.english):
            continue
        used = [word for word in term.forbidden if _has(target, word)]
        if used:
            problems.append(f"uses '{used[0]}' for '{term.english[0]}'"
                            f"{f' ({term.note})' if term.note else ''}; use "
                            f"'{term.approved[0]}'")
        elif not any(_has(target, word) for word in term.approved):
            problems.append(f"does not use the approved '{' or '.join(term.approved)}' "
                            f"for '{term.english[0]}'")
    return problems


def terms_in(text: str, terms: tuple[Term, ...]) -> list[Term]:
    """The terms an English text uses (for the PO export's comments)."""
    plain = _plain(text)
    return [term for term in terms if any(_has(plain, form) for form in term.english)]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for name, item in value.items():
            if name != "src":
                yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _plain(texts) -> str:
    """Lower case, composed, without Markdown's emphasis marks, one space between words."""
    text = " ".join(texts) if not isinstance(texts, str) else texts
    text = unicodedata.normalize("NFC", text).casefold()
    return " ".join(re.sub(r"[*_]", "", text).split())


def _has(text: str, phrase: str) -> bool:
    phrase = _plain(phrase)
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None
