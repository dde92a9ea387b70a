"""The field-room gate: a discharge sheet keeps room for every detail at its longest.

A nurse's details are checked against their field's limits (patient_fields.py) before
anything is printed, so the sheet never has to grow for them at the desk. That holds
only if the sheet, as designed, has room for every field at its maximum in every
variant, language and paper: the build lays each discharge sheet out once more with
every detail at its longest and widest, and fails naming the fields that do not fit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from .errors import PipelineError, RenderError
from .field_declarations import Field
from .patient_fields import CHECKS

# Wide capitals and a long hyphenated name: what the layout must hold.
WIDE_WORDS = "MAXIMILIAN WORTHINGTON-SMYTHE "
WIDEST_LEVELS = ("T10", "T11", "T12", "C1", "C2", "C3", "C4", "C5", "C6", "C7")
WIDEST_PHONE = "+1 (999) 999-9999 x99999"
# A year's dates at a day and time that write out long (a two-digit day, 12:59 PM).
SAMPLE_DAYS = tuple(dt.datetime(2026, month, 28, 12, 59) + dt.timedelta(days=offset)
                    for month in range(1, 13) for offset in range(3))


def longest_values(fields: tuple[Field, ...], language) -> dict[str, str]:
    """Each field's longest printed text in `language`."""
    return {field.name: longest_value(field, language) for field in fields}


def longest_value(field: Field, language) -> str:
    unbounded = dataclasses.replace(field, days_from_today=None, after="")
    check = CHECKS[field.type]
    candidates = [check(unbounded, raw, field.name, language, dt.date.today()).display
                  for raw in _typed(field)]
    return max(candidates, key=len)


def _typed(field: Field) -> list[str]:
    """Values a nurse could type that print longest, for each type."""
    if field.type == "text":
        per_line = -(-int(field.max) // field.lines)
        lines = [(WIDE_WORDS * (per_line // len(WIDE_WORDS) + 1))[:per_line].strip()
                 for _ in range(field.lines)]
        return ["\n".join(lines)[:int(field.max)]]
    if field.type == "number":
        return [f"{field.max:.{field.decimals}f}", f"{field.min:.{field.decimals}f}"]
    if field.type == "date":
        return [f"{day:%Y-%m-%d}" for day in SAMPLE_DAYS]
    if field.type == "datetime":
        return [f"{day:%Y-%m-%d %H:%M}" for day in SAMPLE_DAYS] + \
            [f"{day:%Y-%m-%d} 10:30" for day in SAMPLE_DAYS]
    if field.type == "choice":
        return list(field.choices)
    if field.type == "phone":
        return [WIDEST_PHONE]
    if field.type == "levels":
        return [", ".join(WIDEST_LEVELS[:int(field.max)])]
    raise ValueError(field.type)


def has_room(document, project, notice_in=None) -> bool:
    """Whether the sheet, the language-assistance notice placed as `notice_in`
    (render_html.notice_plans), lays out with every detail at its longest: one layout."""
    fields = document.fields
    return not fields or _fits(document, project, longest_values(fields, document.language),
                               notice_in)


def culprits(document, project, notice_in=None) -> list[str]:
    """The finding for a sheet without room (has_room is False): the fields that do not
    fit even alone, one layout each."""
    longest = longest_values(document.fields, document.language)
    alone = [name for name, value in longest.items()
             if not _fits(document, project, {name: value}, notice_in)]
    named = ", ".join(alone) or "all of them together"
    return [f"{document.label}: the sheet has no room for every detail at its longest "
            f"(field-room gate): {named}; lower the field's max in fields.yaml or the "
            "handout's fields:, shorten its label, or shorten other sections"]


def _fits(document, project, values: dict[str, str], notice_in=None) -> bool:
    from .name_fonts import prepare
    from .render_html import render_html
    from .render_pdf import render_pdf

    patient = prepare(values, project.root)
    html = render_html(document, project.brand, project.root, patient, project.notices,
                       notice_in=notice_in)
    try:
        render_pdf(html, document, project.root, project.brand)
    except (RenderError, PipelineError):
        return False
    return True
