"""What a nurse may write on a discharge sheet, and the CSV file of a day's list.

Every field has a maximum that the sheet's layout has room for on every variant and
paper size (tests/test_discharge_nurse.py fills them all). Values are checked here,
before anything is rendered. They are protected health information: a message names
the field (and the CSV row and column) and the problem, never the value.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .content import PATIENT_FIELDS
from .errors import PipelineError

VERTEBRA = re.compile(r"^(C[1-7]|T(?:[1-9]|1[0-2])|L[1-5]|S1)$")


@dataclass(frozen=True)
class FieldLimit:
    max_chars: int
    max_lines: int = 1
    rule: str = ""  # how the README and --help describe it


# The layout reserves room for each field at its maximum (see styles/discharge.css).
LIMITS = {
    "patient": FieldLimit(70, rule="up to 70 characters"),
    "procedure-date": FieldLimit(10, rule="a date, YYYY-MM-DD"),
    "levels": FieldLimit(40, rule="up to 6 vertebrae: C1-C7, T1-T12, L1-L5 or S1, "
                              "separated by commas"),
    "physician": FieldLimit(50, rule="up to 50 characters"),
    "follow-up": FieldLimit(16, rule="a date and time, YYYY-MM-DD HH:MM"),
    "notes": FieldLimit(400, max_lines=6, rule="up to 400 characters on up to 6 lines"),
}
MAX_LEVELS = 6
MAX_CSV_BYTES = 5_000_000  # about 20,000 patients: a larger file is not a day's list
CSV_CHOICE_COLUMNS = ("handout", "variant", "lang")
CSV_COLUMNS = (*CSV_CHOICE_COLUMNS, *PATIENT_FIELDS)


def clean(value: str | None) -> str:
    """The text as it will be printed: composed (NFC) so that a Vietnamese letter is one
    character in one font, and with Windows line ends made plain."""
    text = unicodedata.normalize("NFC", value or "")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").strip()


def check_field(name: str, value: str, where: str, language=None) -> str:
    """The display text of one field; `where` prefixes the field name in messages
    (`--` for options, `day.csv row 3, column ` for a CSV cell). Dates are written the
    way the sheet's `language` writes them (languages.Language; English by default)."""
    label = f"{where}{name}"
    limit = LIMITS[name]
    if name in ("procedure-date", "follow-up"):
        return _format(name, value, label, language)  # the format says more than the length
    _check_characters(value, label, multiline=limit.max_lines > 1)
    if len(value) > limit.max_chars:
        raise PipelineError(f"{label}: longer than {limit.max_chars} characters "
                            f"({len(value)}); shorten it so it fits its place on the sheet")
    if value.count("\n") >= limit.max_lines:
        raise PipelineError(f"{label}: more than {limit.max_lines} lines; join some lines "
                            "so the note fits its box on the sheet")
    return _format(name, value, label, language)


def _check_characters(value: str, label: str, multiline: bool) -> None:
    for char in value:
        if char == "\n" and multiline:
            continue
        if unicodedata.category(char) in ("Cc", "Cs", "Co", "Cn"):
            raise PipelineError(f"{label}: contains a control or unassigned character; "
                                "retype it as plain text")


def _format(name: str, value: str, label: str, language=None) -> str:
    translated = language is not None and not language.source
    if name == "procedure-date":
        day = _parse(value, "%Y-%m-%d", f"{label}: not a date; write it as YYYY-MM-DD")
        return language.format_skeleton("yMMMd", day) if translated else short_date(day)
    if name == "follow-up":
        moment = _parse(value, "%Y-%m-%d %H:%M", f"{label}: not a date and time; write it "
                        "as YYYY-MM-DD HH:MM")
        if translated:  # Babel: the language's own order, names and clock
            return (f"{language.format_skeleton('yMMMEd', moment)}, "
                    f"{language.format_time(moment)}")
        return f"{moment:%a, %b} {moment.day}, {moment.year}, {moment:%I:%M %p}".replace(
            ", 0", ", ")
    if name == "levels":
        levels = [level.strip().upper() for level in value.split(",")]
        if not all(VERTEBRA.match(level) for level in levels):
            raise PipelineError(f"{label}: use vertebra names C1-C7, T1-T12, L1-L5 or S1, "
                                "separated by commas")
        if len(levels) > MAX_LEVELS:
            raise PipelineError(f"{label}: more than {MAX_LEVELS} levels; write the rest in "
                                "the notes")
        return ", ".join(levels)
    return value


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


def read_rows(path: Path, shown: str) -> tuple[list[Row], int]:
    """Rows with at least one cell filled, and how many empty rows were skipped.
    `shown` is the path as the nurse typed it, for messages."""
    text = _read_text(path, shown)
    records = csv.reader(io.StringIO(text))
    try:
        header = [cell.strip() for cell in next(records, [])]
        _check_header(header, shown)
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


def _check_header(header: list[str], shown: str) -> None:
    # A header cell is not echoed: without a header row, it is a patient's details.
    for position, column in enumerate(header, start=1):
        if column not in CSV_COLUMNS:
            raise PipelineError(f"{shown} row 1, column {position}: not a known column "
                                f"name; the first row names the columns: "
                                f"{', '.join(CSV_COLUMNS)}")
        if header.count(column) > 1:
            raise PipelineError(f"{shown}: column '{column}' appears twice in the header "
                                "row; keep one")
