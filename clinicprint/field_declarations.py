"""The details a nurse fills in on a discharge sheet, declared as content.

`fields.yaml` declares the details every discharge handout has (the patient's name,
the procedure date...); a discharge handout adds its own under `fields:`, and a
section item `{label: ..., field: NAME}` gives each one its place on the sheet. Each
field has a type, and each type its own check (patient_fields.py) and its own
longest value, which the layout must keep room for (the build's field-room gate).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .schema import SLUG, Checker
from .yamlio import LineDict, load_yaml

FIELDS_FILE = "fields.yaml"
# Limits far above any real write-in, so a declaration that cannot fit fails at once.
MAX_TEXT = 600
MAX_LINES = 8
MAX_CHOICES = 12
MAX_CHOICE_CHARS = 40
MAX_LEVELS = 10
MAX_FIELDS = 30
MAX_LABEL_CHARS = 80
# A phone number as a nurse writes it: digits, spaces, + ( ) - . and an extension.
PHONE_CHARS = 24


@dataclass(frozen=True)
class FieldType:
    """What a type's declaration may say, and how the desk's browser asks for it."""

    name: str
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    input: str = "text"       # the HTML input type on the desk's form
    rule: str = ""            # how --help and the README describe a value


TYPES = {kind.name: kind for kind in (
    FieldType("text", frozenset({"max"}), frozenset({"lines"}), rule="up to {max} characters"),
    FieldType("number", frozenset({"min", "max"}), frozenset({"decimals"}), input="number",
              rule="a number from {min} to {max}"),
    FieldType("date", optional=frozenset({"days_from_today", "after"}), input="date",
              rule="a date, YYYY-MM-DD"),
    FieldType("datetime", optional=frozenset({"days_from_today", "after"}),
              input="datetime-local", rule="a date and time, YYYY-MM-DD HH:MM"),
    FieldType("choice", frozenset({"choices"}), rule="one of: {choices}"),
    FieldType("phone", input="tel", rule="a phone number, e.g. (555) 010-0100"),
    FieldType("levels", optional=frozenset({"max"}),
              rule="up to {max} spine levels: C1-C7, T1-T12, L1-L5 or S1, separated by "
                   "commas"),
)}
COMMON_KEYS = frozenset({"name", "label", "type", "prompt", "on_every_sheet"})


@dataclass(frozen=True)
class Field:
    name: str                   # the CSV column, the form field, `--field NAME=...`
    label: str                  # what the nurse sees beside the box (English)
    type: str
    max: float = 0              # text: characters; number: largest; levels: how many
    min: float = 0              # number: smallest
    lines: int = 1              # text: lines a value may take
    decimals: int = 0           # number: digits after the point
    choices: tuple[str, ...] = ()
    days_from_today: tuple[int, int] | None = None   # date, datetime: the range allowed
    after: str = ""             # date, datetime: not before this other field's value
    prompt: str = ""            # the form's longer question, when the label is terse
    # Printed by the sheet's template itself (the name in the masthead, the notes box),
    # not by a section item.
    on_every_sheet: bool = False
    # The printed words for each choice in the sheet's language (translations.py).
    choice_labels: tuple[str, ...] = ()

    def choice_label(self, choice: str) -> str:
        if self.choice_labels and choice in self.choices:
            return self.choice_labels[self.choices.index(choice)]
        return choice

    @property
    def rule(self) -> str:
        """The value's rule in words, for `list --fields`, the README and the desk."""
        words = TYPES[self.type].rule.format(max=_number(self.max), min=_number(self.min),
                                             choices=", ".join(self.choices))
        if self.type == "text" and self.lines > 1:
            words += f" on up to {self.lines} lines"
        if self.days_from_today is not None:
            words += f", {range_words(self.days_from_today)}"
        if self.after:
            words += f", not before {self.after}"
        return words

    @property
    def input_type(self) -> str:
        return TYPES[self.type].input

    @property
    def max_chars(self) -> int:
        """The most characters a typed value may have (the form's maxlength)."""
        if self.type == "text":
            return int(self.max)
        if self.type == "number":
            return len(_number(self.max)) + (self.decimals + 1 if self.decimals else 0) + 1
        if self.type == "levels":
            return int(self.max) * 5
        if self.type == "choice":
            return max(len(choice) for choice in self.choices)
        if self.type == "phone":
            return PHONE_CHARS
        return 16  # YYYY-MM-DD HH:MM (a browser may send a T in the middle)

    @property
    def question(self) -> str:
        return self.prompt or self.label.rstrip(":").strip()


def _number(value: float) -> str:
    return f"{value:g}"


def range_words(days: tuple[int, int]) -> str:
    """[earliest, latest] days from today, in words."""
    low, high = days
    if high == 0:
        return f"today or in the last {-low} days" if low else "today"
    if low == 0:
        return f"today or in the next {high} days"
    if low > 0:
        return f"{low} to {high} days from today"
    return f"from {-low} days ago to {high} days from today"


def read_fields(check: Checker, value: Any, path: str, line: int,
                known: tuple[Field, ...] = ()) -> tuple[Field, ...]:
    """A `fields:` list, each entry validated for its type; problems go to `check`.
    `after:` may name one of these or of the `known` fields (fields.yaml's)."""
    if not isinstance(value, list):
        check.problem(path, "must be a list of fields, each {name, label, type, ...}", line)
        return ()
    if len(value) > MAX_FIELDS:
        check.problem(path, f"{len(value)} fields, more than the {MAX_FIELDS} a sheet may "
                      "have", line)
        return ()
    fields = [_field(check, item, f"{path}[{index}]", line)
              for index, item in enumerate(value)]
    fields = [field for field in fields if field is not None]
    _check_unique(check, fields, path, line)
    _check_after(check, fields, path, line, {field.name: field for field in known})
    return tuple(fields)


def _field(check: Checker, item: Any, path: str, line: int) -> Field | None:
    data = check.mapping(item, path, line)
    if data is None:
        return None
    line = data.line or line
    if "type" not in data:
        check.problem(f"{path}.type", "required key is missing; use one of: "
                      f"{', '.join(TYPES)}", line)
        return None
    kind = check.text(data, "type", path)
    if kind not in TYPES:
        check.problem(f"{path}.type", f"'{kind}' is not a field type; use one of: "
                      f"{', '.join(TYPES)}", data.line_of("type"))
        return None
    spec = TYPES[kind]
    check.keys(data, path, {"name", "label"} | spec.required,
               (COMMON_KEYS | spec.optional) - {"name", "label"})
    name = check.slug(data, "name", path)
    label = check.text(data, "label", path)
    if len(label) > MAX_LABEL_CHARS:
        check.problem(f"{path}.label", f"longer than {MAX_LABEL_CHARS} characters; shorten "
                      "it", data.line_of("label"))
    if not name or not label:
        return None
    values = _typed_values(check, data, path, kind)
    every = data.get("on_every_sheet", False)
    if not isinstance(every, bool):
        check.problem(f"{path}.on_every_sheet", "must be true or false",
                      data.line_of("on_every_sheet"))
    return Field(name=name, label=label, type=kind,
                 prompt=check.text(data, "prompt", path) if "prompt" in data else "",
                 on_every_sheet=every is True, **values)


def _typed_values(check: Checker, data: LineDict, path: str, kind: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if kind == "text":
        values["max"] = _whole(check, data, "max", path, 1, MAX_TEXT)
        values["lines"] = _whole(check, data, "lines", path, 1, MAX_LINES, default=1)
    elif kind == "number":
        values["min"] = _decimal(check, data, "min", path)
        values["max"] = _decimal(check, data, "max", path)
        values["decimals"] = _whole(check, data, "decimals", path, 0, 3, default=0)
        if values["min"] > values["max"]:
            check.problem(f"{path}.min", "must not be larger than max", data.line_of("min"))
    elif kind == "levels":
        values["max"] = _whole(check, data, "max", path, 1, MAX_LEVELS, default=6)
    elif kind == "choice":
        values["choices"] = _choices(check, data, path)
    elif kind in ("date", "datetime"):
        values["days_from_today"] = _day_range(check, data, path)
        if "after" in data:
            values["after"] = check.slug(data, "after", path)
    return values


def _whole(check: Checker, data: LineDict, key: str, path: str, low: int, high: int,
           default: int | None = None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        check.problem(f"{path}.{key}", f"must be a whole number from {low} to {high}",
                      data.line_of(key) if key in data else data.line)
        return default if default is not None else low
    return value


def _decimal(check: Checker, data: LineDict, key: str, path: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not -1e6 < value < 1e6:
        check.problem(f"{path}.{key}", "must be a number", data.line_of(key) or data.line)
        return 0.0
    return float(value)


def _choices(check: Checker, data: LineDict, path: str) -> tuple[str, ...]:
    choices = check.text_list(data, "choices", path)
    if not 2 <= len(choices) <= MAX_CHOICES:
        check.problem(f"{path}.choices", f"give from 2 to {MAX_CHOICES} choices",
                      data.line_of("choices"))
    elif any(len(choice) > MAX_CHOICE_CHARS for choice in choices):
        check.problem(f"{path}.choices", f"a choice is longer than {MAX_CHOICE_CHARS} "
                      "characters; shorten it", data.line_of("choices"))
    elif len({choice.casefold() for choice in choices}) != len(choices):
        check.problem(f"{path}.choices", "a choice is listed twice", data.line_of("choices"))
    return choices


def _day_range(check: Checker, data: LineDict, path: str) -> tuple[int, int] | None:
    """[earliest, latest] in days from the day the sheet is printed (-90 = 90 days ago)."""
    if "days_from_today" not in data:
        return None
    value = data["days_from_today"]
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(part, int) and not isinstance(part, bool)
                       and -3660 <= part <= 3660 for part in value)
            or value[0] > value[1]):
        check.problem(f"{path}.days_from_today", "must be [earliest, latest], whole days "
                      "from the day of printing, e.g. [-90, 0] for the last 90 days",
                      data.line_of("days_from_today"))
        return None
    return (value[0], value[1])


def _check_unique(check: Checker, fields: list[Field], path: str, line: int) -> None:
    seen: set[str] = set()
    for field in fields:
        if field.name in seen:
            check.problem(path, f"field '{field.name}' is declared twice", line)
        seen.add(field.name)


def _check_after(check: Checker, fields: list[Field], path: str, line: int,
                 known: dict[str, Field] | None = None) -> None:
    by_name = {**(known or {}), **{field.name: field for field in fields}}
    for field in fields:
        other = by_name.get(field.after) if field.after else None
        if field.after and (other is None or other.type not in ("date", "datetime")
                            or other.name == field.name):
            check.problem(f"{path}.{field.name}.after", f"'{field.after}' is not another "
                          "date or date-and-time field", line)


def load_default_fields(root: Path, problems: list[str]) -> tuple[Field, ...]:
    """fields.yaml: the details every discharge handout has. Optional: without it a
    sheet has only the details its handout declares."""
    path = root / FIELDS_FILE
    if not path.exists():
        return ()
    check = Checker(FIELDS_FILE)
    data = check.mapping(load_yaml(path, FIELDS_FILE, root), "", 1)
    fields: tuple[Field, ...] = ()
    if data is not None:
        check.keys(data, "", {"fields"}, set())
        if "fields" in data:
            fields = read_fields(check, data["fields"], "fields", data.line_of("fields"))
    problems += check.problems
    return fields


def merged(defaults: tuple[Field, ...], own: tuple[Field, ...]) -> tuple[Field, ...]:
    """The defaults, each replaced by the handout's own field of that name, then the
    handout's other fields, in their order."""
    mine = {field.name: field for field in own}
    return tuple(mine.pop(field.name, field) for field in defaults) + tuple(mine.values())


def by_name(fields: tuple[Field, ...]) -> dict[str, Field]:
    return {field.name: field for field in fields}


def is_field_name(value: str) -> bool:
    return bool(SLUG.match(value))
