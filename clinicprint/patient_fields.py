"""What a nurse writes on a discharge sheet: each value checked by its field's type
(field_declarations.py), and the CSV file of a day's list.

Values are protected health information: a message names the field (and the CSV row
and column) and the problem, never the value. The same checks serve the `discharge`
command, a CSV list and the desk's form.

Wrong-patient and error-prone-documentation lessons (the Joint Commission, ISMP) are
checked here: dates must make sense for a sheet printed today (a procedure in the
last 90 days, a follow-up after it), and a name or note may not hold characters that
hide, reorder or stack text, which could make one patient's name read as another's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import PipelineError
from .field_declarations import Field, range_words

VERTEBRA = re.compile(r"^(C[1-7]|T(?:[1-9]|1[0-2])|L[1-5]|S1)$")
PHONE = re.compile(r"^\+?[0-9(][0-9 ().-]*[0-9](?: ?(?:ext\.?|x) ?[0-9]{1,6})?$", re.I)
PHONE_DIGITS = (7, 15)  # E.164 allows at most 15 digits
NUMBER = re.compile(r"^[0-9]+(?:[.,][0-9]+)?$")
MAX_CSV_BYTES = 5_000_000  # about 20,000 patients: a larger file is not a day's list
CSV_CHOICE_COLUMNS = ("handout", "variant", "lang")
# Combining marks that stack on one letter: two cover every language a clinic meets
# (Vietnamese, Thai tone marks over vowels) once the text is composed (NFC).
MAX_STACKED_MARKS = 2
# Joiners shape Arabic and Indic letters; between Latin, Greek or Cyrillic letters
# they only hide a difference between two names that look the same.
JOINERS = {"\u200c", "\u200d"}
PLAIN_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")


def clean(value: str | None) -> str:
    """The text as it will be printed: composed (NFC) so that a Vietnamese letter is one
    character in one font, and with Windows line ends made plain."""
    text = unicodedata.normalize("NFC", value or "")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").strip()


@dataclass(frozen=True)
class Checked:
    """One value as the sheet prints it, and what other fields compare it with."""

    display: str
    moment: dt.datetime | None = None


def check_value(field: Field, value: str, label: str, language=None,
                today: dt.date | None = None) -> Checked:
    """The display text of one cleaned, non-empty value; `label` names the field in
    messages (`--levels`, `day.csv row 3, column levels`). Dates and numbers are written
    the way the sheet's `language` writes them (languages.Language; English by default)."""
    _check_characters(value, label, multiline=field.type == "text" and field.lines > 1)
    # Text is held to its length; another type says what is wrong with its form first.
    limit = field.max_chars if field.type == "text" else max(field.max_chars, 64)
    if len(value) > limit:
        raise PipelineError(f"{label}: longer than {limit} characters "
                            f"({len(value)}); shorten it so it fits its place on the sheet")
    return CHECKS[field.type](field, value, label, language, today or dt.date.today())


def check_order(fields: dict[str, Field], checked: dict[str, Checked],
                label_of) -> None:
    """A date that must come after another (a follow-up after the procedure)."""
    for name, value in checked.items():
        field = fields[name]
        earlier = checked.get(field.after) if field.after else None
        if value.moment and earlier is not None and earlier.moment and \
                value.moment.date() < earlier.moment.date():
            raise PipelineError(f"{label_of(name)}: comes before {field.after}; check both "
                                "dates")


# --- characters -----------------------------------------------------------------------

def _check_characters(value: str, label: str, multiline: bool) -> None:
    marks = 0
    for index, char in enumerate(value):
        category = unicodedata.category(char)
        if char == "\n" and multiline:
            marks = 0
            continue
        if category in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp") or char == "\ufffd":
            raise PipelineError(f"{label}: contains a control, unreadable or unassigned "
                                "character; retype it as plain text")
        if category == "Cf" and not _joining(value, index):
            raise PipelineError(f"{label}: contains an invisible or direction-changing "
                                "character (copied from another program?); retype it")
        marks = marks + 1 if category in ("Mn", "Me") else 0
        if marks > MAX_STACKED_MARKS:
            raise PipelineError(f"{label}: more than {MAX_STACKED_MARKS} accents on one "
                                "letter; retype it")


def _joining(value: str, index: int) -> bool:
    """A joiner between two letters of a script that uses it."""
    if value[index] not in JOINERS or not 0 < index < len(value) - 1:
        return False
    around = (value[index - 1], value[index + 1])
    if not all(unicodedata.category(char)[0] in "LM" for char in around):
        return False
    return not all(unicodedata.name(char, "").startswith(PLAIN_SCRIPTS) for char in around)


# --- one check per type ---------------------------------------------------------------

def _text(field: Field, value: str, label: str, language, today: dt.date) -> Checked:
    if value.count("\n") >= field.lines:
        raise PipelineError(f"{label}: more than {field.lines} line"
                            f"{'s' if field.lines > 1 else ''}; join some lines so it "
                            "fits its place on the sheet")
    return Checked(value)


def _number(field: Field, value: str, label: str, language, today: dt.date) -> Checked:
    if not NUMBER.match(value):
        raise PipelineError(f"{label}: not a number; write digits only, e.g. "
                            f"{field.max:g}")
    number = float(value.replace(",", "."))
    decimals = len(value.replace(",", ".").partition(".")[2])
    if decimals > field.decimals:
        raise PipelineError(f"{label}: " + ("write a whole number" if not field.decimals
                            else f"at most {field.decimals} digits after the point"))
    if not field.min <= number <= field.max:
        raise PipelineError(f"{label}: must be from {field.min:g} to {field.max:g}; check "
                            "the number with the doctor's order")
    return Checked(_format_number(number, decimals, language))


def _format_number(number: float, decimals: int, language) -> str:
    if language is None or language.source:
        return f"{number:.{decimals}f}"
    from babel.numbers import format_decimal

    return format_decimal(number, format=f"0.{'0' * decimals}" if decimals else "0",
                          locale=language.babel)


def _date(field: Field, value: str, label: str, language, today: dt.date) -> Checked:
    day = _parse(value, "%Y-%m-%d", f"{label}: not a date; write it as YYYY-MM-DD")
    _in_range(field, day.date(), label, today)
    translated = language is not None and not language.source
    return Checked(language.format_skeleton("yMMMd", day) if translated else short_date(day),
                   day)


def _datetime(field: Field, value: str, label: str, language, today: dt.date) -> Checked:
    moment = _parse(value.replace("T", " ", 1), "%Y-%m-%d %H:%M",
                    f"{label}: not a date and time; write it as YYYY-MM-DD HH:MM")
    _in_range(field, moment.date(), label, today)
    if language is not None and not language.source:  # Babel: the language's own clock
        text = f"{language.format_skeleton('yMMMEd', moment)}, {language.format_time(moment)}"
    else:
        text = f"{moment:%a, %b} {moment.day}, {moment.year}, {moment:%I:%M %p}".replace(
            ", 0", ", ")
    return Checked(text, moment)


def _in_range(field: Field, day: dt.date, label: str, today: dt.date) -> None:
    if field.days_from_today is None:
        return
    earliest, latest = (today + dt.timedelta(days=days) for days in field.days_from_today)
    if not earliest <= day <= latest:
        raise PipelineError(f"{label}: must be {range_words(field.days_from_today)}; check "
                            "the year and the month")


def _choice(field: Field, value: str, label: str, language, today: dt.date) -> Checked:
    for choice in field.choices:
        if value.casefold() == choice.casefold():
            return Checked(field.choice_label(choice))  # in the sheet's language
    raise PipelineError(f"{label}: choose one of: {', '.join(field.choices)}")


def _phone(field: Field, value: str, label: str, language, today: dt.date) -> Checked:
    digits = sum(char.isdigit() for char in value.split("x")[0].split("ext")[0])
    if not PHONE.match(value) or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
        raise PipelineError(f"{label}: not a phone number; write digits with spaces, "
                            "( ) or -, e.g. (555) 010-0100")
    return Checked(value)


def _levels(field: Field, value: str, label: str, language, today: dt.date) -> Checked:
    levels = [level.strip().upper() for level in value.split(",")]
    if not all(VERTEBRA.match(level) for level in levels):
        raise PipelineError(f"{label}: use vertebra names C1-C7, T1-T12, L1-L5 or S1, "
                            "separated by commas")
    if len(levels) > field.max:
        raise PipelineError(f"{label}: more than {field.max:g} levels; write the rest in "
                            "the notes")
    return Checked(", ".join(levels))


CHECKS = {"text": _text, "number": _number, "date": _date, "datetime": _datetime,
          "choice": _choice, "phone": _phone, "levels": _levels}


def _parse(value: str, pattern: str, message: str) -> dt.datetime:
    try:
        moment = dt.datetime.strptime(value, pattern)
    except ValueError:
        raise PipelineError(message) from None
    if moment.year < 1900:
        raise PipelineError(message)
    return moment


def short_date(moment: dt.date) -> str:
    return f"{moment:%b} {moment.day}, {moment.year}"


# --- a day's list ----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    number: int                # the spreadsheet row (the header is row 1)
    handout: str               # "" when the file has no handout column or leaves it empty
    variant: str
    lang: str                  # "" when not given: the --lang default
    values: dict[str, str]     # cleaned cell text for each patient column


def read_rows(path: Path, shown: str, columns: tuple[str, ...]) -> tuple[list[Row], int]:
    """Rows with at least one cell filled, and how many empty rows were skipped.
    `shown` is the path as the nurse typed it, for messages; `columns` the field names
    any discharge handout of the project declares."""
    text = _read_text(path, shown)
    records = csv.reader(io.StringIO(text))
    try:
        header = [cell.strip() for cell in next(records, [])]
        _check_header(header, shown, (*CSV_CHOICE_COLUMNS, *columns))
        rows, empty = [], 0
        for number, cells in enumerate(records, start=2):
            if not any(cell.strip() for cell in cells):
                empty += 1
                continue
            if len(cells) > len(header):
                raise PipelineError(f"{shown} row {number}: more cells than the header has "
                                    "columns; check for a stray comma")
            values = {column: clean(cell) for column, cell in zip(header, cells)}
            rows.append(Row(number, values.pop("handout", ""), values.pop("variant", ""),
                            values.pop("lang", ""), values))
    except csv.Error:
        raise PipelineError(f"{shown} row {records.line_num}: not a readable CSV row; save "
                            "the file again as CSV (UTF-8)") from None
    if not rows:
        raise PipelineError(f"{shown}: no patients in the file (a header row and one row "
                            "per patient are needed)")
    return rows, empty


def _read_text(path: Path, shown: str) -> str:
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise PipelineError(f"{shown}: larger than {MAX_CSV_BYTES // 1_000_000} MB; "
                                "split the list into smaller files")
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PipelineError(f"{shown}: no such CSV file; check the name and folder") from None
    except (OSError, UnicodeDecodeError):
        raise PipelineError(f"{shown}: cannot read the CSV file; save it as UTF-8 text") \
            from None


def _check_header(header: list[str], shown: str, known: tuple[str, ...]) -> None:
    # A header cell is not echoed: without a header row, it is a patient's details.
    for position, column in enumerate(header, start=1):
        if column not in known:
            raise PipelineError(f"{shown} row 1, column {position}: not a known column "
                                f"name; the first row names the columns: "
                                f"{', '.join(known)}")
        if header.count(column) > 1:
            raise PipelineError(f"{shown}: column '{column}' appears twice in the header "
                                "row; keep one")
