"""A small validator that collects every problem with its file, line and key path."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from .errors import one_line
from .yamlio import LineDict

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Every text of the content format has a limit (README, "Limits"), far above what a
# page can hold, so that a runaway value fails at once instead of in the layout.
TEXT_LIMITS = {"title": 150, "subtitle": 400, "summary": 600, "alt": 600, "caption": 300,
               "label": 100, "keywords": 60, "prompt": 100}
MAX_TEXT = 2000
# A word longer than this cannot wrap in a brochure panel; a web or email address
# (with / . or @) may be longer.
MAX_WORD = 40
MAX_ADDRESS_WORD = 80
# Chinese and Japanese are written without spaces and a line may break between any
# two of their characters (UAX #14's ideographic class: CJK ideographs, kana, Hangul
# syllables, full-width forms), so a run of them is not one long word.
BREAKS = re.compile(r"[\s\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]+")
FILE_KEYS = ("src", "logo", "stylesheet", "plain_words")


class Checker:
    """Walks loaded YAML and records problems instead of stopping at the first."""

    def __init__(self, label: str):
        self.label = label
        self.problems: list[str] = []

    def problem(self, path: str, message: str, line: int | None = None) -> None:
        where = f"{self.label}:{line}" if line else self.label
        key = f" {path}:" if path else ""
        self.problems.append(one_line(f"{where}:{key} {message}"))

    def mapping(self, value: Any, path: str, line: int | None = None) -> LineDict | None:
        if isinstance(value, LineDict):
            return value
        self.problem(path, f"must be a mapping of keys to values, not {_kind(value)}", line)
        return None

    def keys(self, data: LineDict, path: str, required: set[str], optional: set[str]) -> None:
        """Report unknown keys (likely typos) and missing required ones."""
        allowed = required | optional
        for key in data:
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                self.problem(_join(path, key), f"unknown key; expected one of: {hint}",
                             data.line_of(key))
        for key in sorted(required - set(data)):
            self.problem(_join(path, key), "required key is missing", data.line)

    def text(self, data: LineDict, key: str, path: str, *, required: bool = True,
             default: str = "") -> str:
        if key not in data:
            return default
        value = data[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(_join(path, key), f"must be non-empty text, not {_kind(value)}",
                         data.line_of(key))
            return default
        if not printable(value):
            self.problem(_join(path, key), "contains a character that cannot be printed "
                         "(a control code or half of a broken character); retype it",
                         data.line_of(key))
            return default
        return self._bounded(value.strip(), key, _join(path, key), data.line_of(key))

    def _bounded(self, value: str, key: str, where: str, line: int) -> str:
        """The text, or its allowed beginning after reporting that it is too long."""
        limit = TEXT_LIMITS.get(str(key), MAX_TEXT)
        if len(value) > limit:
            self.problem(where, f"{len(value)} characters, more than the {limit} allowed; "
                         "shorten it", line)
            return value[:limit]
        if str(key) not in FILE_KEYS:
            word = max(BREAKS.split(value), key=len, default="")
            allowed = MAX_ADDRESS_WORD if any(c in word for c in "/.@") else MAX_WORD
            if len(word) > allowed:
                self.problem(where, f"has a word of {len(word)} characters, more than the "
                             f"{allowed} a line can hold; split it or check for a missing "
                             "space", line)
        return value

    def number(self, data: LineDict, key: str, path: str) -> float:
        value = data.get(key)
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or value <= 0):
            if key in data:
                self.problem(_join(path, key), f"must be a positive number, not {_kind(value)}",
                             data.line_of(key))
            return 0.0
        return float(value)

    def slug(self, data: LineDict, key: str, path: str) -> str:
        value = self.text(data, key, path)
        if value and not SLUG.match(value):
            self.problem(_join(path, key),
                         f"'{value}' must be lowercase letters, digits and hyphens",
                         data.line_of(key))
        return value

    def date(self, data: LineDict, key: str, path: str) -> dt.date | None:
        value = data.get(key)
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if key in data:
            self.problem(_join(path, key), "must be a date written as YYYY-MM-DD",
                         data.line_of(key))
        return None

    def text_list(self, data: LineDict, key: str, path: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(
                isinstance(item, str) and item.strip() and printable(item) for item in value):
            self.problem(_join(path, key), "must be a list of non-empty text items",
                         data.line_of(key))
            return ()
        return tuple(self._bounded(item.strip(), key, f"{_join(path, key)}[{index}]",
                                   data.line_of(key)) for index, item in enumerate(value))


def printable(text: str) -> bool:
    """No lone surrogates (they cannot even be encoded) and no control codes other
    than line breaks and tabs."""
    return not any(0xD800 <= ord(c) <= 0xDFFF or (ord(c) < 32 and c not in "\n\t\r")
                   or 0x7F <= ord(c) < 0xA0 for c in text)


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _kind(value: Any) -> str:
    if value is None:
        return "an empty value"
    return {dict: "a mapping", LineDict: "a mapping", list: "a list", str: "text",
            bool: "true/false", int: "a number", float: "a number",
            bytes: "binary data"}.get(type(value), "a date")
