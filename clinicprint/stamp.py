"""A day's list of discharge sheets, fast: each sheet design is laid out once, and each
patient's details are then printed into their places on it.

Laying a discharge sheet out in full costs WeasyPrint about 0.3 s of CPU; a day's list
of 2,000 patients would take minutes. But a sheet differs from the next only in the
details a nurse writes in, and each detail has a place whose size does not depend on
it (patient_fields.py: the layout keeps room for the longest). So, per design (handout,
variant, language, paper, note or none, the fonts of each detail):

1. the sheet is laid out once with every detail present but invisible (checked like
   any document), and where each detail's text starts is read from that layout;
2. each patient's details alone are laid out by WeasyPrint at those places, in the
   style the design gave them (font, size, line height, direction, wrapping), and
   that page of text is stamped onto the design's PDF (pikepdf).

A detail that does not take exactly the room its place keeps (a name that wraps, a
line taller in another font, a note longer than its box) would have moved the sheet's
layout: that sheet is laid out in full instead. So stamping never changes how a sheet
looks; tests compare stamped and fully laid-out sheets as pictures.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass

from .content import PATIENT_FIELDS, Project
from .merge import Document

# The invisible stand-in for each detail while the design is laid out: one line with a
# capital and a descender, in the detail's own font.
PROBE = "Xg"
HIDE_DETAILS = ("<style>[data-field] .value, p[data-field] { visibility: hidden }</style>"
                "</head>")
TOLERANCE_PX = 0.01
# Properties WeasyPrint computes to a bare number of CSS pixels.
PIXEL_PROPERTIES = {"font_size", "word_spacing", "letter_spacing"}

# Computed text properties (WeasyPrint's names) that decide how a detail's text is set.
TEXT_PROPERTIES = ("font_size", "font_weight", "font_style", "font_stretch", "line_height",
                   "letter_spacing", "word_spacing", "text_transform", "hyphens",
                   "overflow_wrap", "word_break", "white_space", "text_indent", "tab_size",
                   "font_kerning", "font_variant_ligatures", "font_variant_numeric",
                   "font_variant_caps", "font_variant_position", "font_variant_east_asian",
                   "text_align_last")


@dataclass(frozen=True)
class Place:
    """Where one detail's text goes, and the room it has there (CSS px, page top-left).
    A write-in line holds one line of text, set on its bottom edge (or top, as its
    cell's vertical-align says); a note may take several lines, down to its box's end."""
    field: str
    page: int
    x: float
    y: float              # the top of the text, or its bottom when `anchor` is "bottom"
    width: float
    anchor: str           # "top" or "bottom"
    room: float           # the most height the text may take without moving anything
    one_line: bool
    exact: bool           # the text must take exactly `room` (a cell aligned otherwise)
    style: str            # the detail's computed text style, as CSS
    lang: str


@dataclass(frozen=True)
class Design:
    pdf: bytes
    page_size: tuple[float, float]
    pages: int
    places: dict[str, Place]


def design_key(document: Document, fields: dict[str, str]) -> tuple:
    """What a sheet's design depends on besides its document: whether it has a note (a
    blank box holds lines to write on) and which details are set in the name fonts."""
    return (document.relative_path, "notes" in fields,
            tuple(sorted(name for name, value in fields.items()
                         if getattr(value, "any_script", False))))


def lay_out_design(project: Project, document: Document, fields: dict[str, str],
                   faces: tuple[str, ...]) -> Design:
    """The sheet with every detail invisible, and the place of each."""
    from .name_fonts import PatientText
    from .render_html import render_html
    from .render_pdf import render_pdf

    probes = {name: PatientText(PROBE, any_script=getattr(fields.get(name), "any_script",
                                                          False))
              for name in PATIENT_FIELDS if name != "notes" or "notes" in fields}
    page = render_html(document, project.brand, project.root, probes, project.notices)
    blank = render_html(document, project.brand, project.root, notices=project.notices)
    rendered = render_pdf(page.replace("</head>", HIDE_DETAILS, 1), document, project.root,
                          project.brand, identify_by=blank, font_faces=faces)
    laid_out = rendered.layout
    first = laid_out.pages[0]
    return Design(rendered.pdf, (first.width, first.height), len(laid_out.pages),
                  dict(_places(laid_out)))


def _places(laid_out):
    for number, page in enumerate(laid_out.pages):
        for box, parent in _boxes(page._page_box, None):  # no public box tree
            field = _field_of(box)
            if field is None or not box.children:
                continue
            style, lang = _css(box.style), box.style["lang"] or ""
            line = box.children[0]
            top, bottom = box.content_box_y(), box.content_box_y() + box.height
            if type(box).__name__ == "TableCellBox":  # a write-in line
                align = box.style["vertical_align"]
                if align == "bottom":
                    yield field, Place(field, number, box.content_box_x(),
                                       line.position_y + line.height, box.width, "bottom",
                                       bottom - top, True, False, style, lang)
                else:
                    yield field, Place(field, number, box.content_box_x(), line.position_y,
                                       box.width, "top", line.height if align != "top"
                                       else bottom - line.position_y, True, align != "top",
                                       style, lang)
            else:  # the note, in its box
                end = parent.content_box_y() + parent.height
                yield field, Place(field, number, box.content_box_x(), top, box.width, "top",
                                   end - top, False, False, style, lang)


def _boxes(box, parent):
    yield box, parent
    for child in getattr(box, "children", ()):
        yield from _boxes(child, box)


def _field_of(box) -> str | None:
    box = getattr(box, "_box", box)  # an absolutely placed box sits in a placeholder
    element = getattr(box, "element", None)
    field = element.get("data-field") if element is not None else None
    # The cell or paragraph itself, not the line and text boxes inside it.
    return field if field and type(box).__name__ in ("TableCellBox", "BlockBox") else None


def _css(style) -> str:
    """A computed style written back as CSS declarations."""
    families = ", ".join(f'"{name}"' for name in style["font_family"])
    color = style["color"].to("srgb")
    red, green, blue = (round(channel * 255, 3) for channel in color.coordinates)
    rules = [f"font-family: {families}", f"color: rgb({red} {green} {blue} / {color.alpha})",
             f"text-align: {style['text_align_all']}"]
    for name in TEXT_PROPERTIES:
        rules.append(f"{name.replace('_', '-')}: {_value(name, style[name])}")
    return "; ".join(rules)


def _value(name: str, value) -> str:
    unit = getattr(value, "unit", False)
    if unit is not False:  # a Dimension: a number with its unit, or a bare number
        return f"{value.value}{unit or ''}"
    if isinstance(value, (int, float)) and name in PIXEL_PROPERTIES:
        return f"{value}px"
    return str(value)  # a keyword, or a bare number (a line height, a tab size)


# --- printing the details onto a design -----------------------------------------------


def stamp_sheet(project: Project, document: Document, design: Design,
                fields: dict[str, str], faces: tuple[str, ...]) -> bytes | None:
    """The design with the patient's details printed in their places, or None when a
    detail would not take exactly its place's room (the sheet is then laid out in full)."""
    from .render_pdf import _content_clock, _weasyprint_warnings, lay_out

    overlay = _overlay_html(design, fields)
    with _weasyprint_warnings() as warnings, _content_clock(document):
        laid_out = lay_out(overlay, document, project.root, project.brand, faces)
        if warnings or not _fits(laid_out, design, fields):
            return None
        text = laid_out.write_pdf()
    return _stamped(design.pdf, text, {design.places[name].page for name in fields})


def _overlay_html(design: Design, fields: dict[str, str]) -> str:
    width, height = design.page_size
    pages: list[list[str]] = [[] for _ in range(design.pages)]
    for name, value in fields.items():
        place = design.places[name]
        direction = ' dir="rtl"' if getattr(value, "direction", "ltr") == "rtl" else ""
        edge = (f"top: {place.y}px" if place.anchor == "top"
                else f"bottom: {height - place.y}px")
        pages[place.page].append(
            f'<div class="detail" data-field="{name}" lang="{html.escape(place.lang)}"'
            f'{direction} style="left: {place.x}px; {edge}; width: {place.width}px; '
            f'{html.escape(place.style)}">{html.escape(value)}</div>')
    body = "".join(f'<div class="page">{"".join(page)}</div>' for page in pages)
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>"
            f"@page {{ size: {width}px {height}px; margin: 0 }} "
            "body { margin: 0 } "
            f".page {{ position: relative; height: {height}px; overflow: hidden }} "
            ".page + .page { break-before: page } "
            ".detail { position: absolute; margin: 0; padding: 0; border: 0 }"
            f"</style></head><body>{body}</body></html>")


def _fits(laid_out, design: Design, fields: dict[str, str]) -> bool:
    """Every detail takes no more room than its place kept (a write-in one line), so
    the sheet laid out in full would look the same."""
    if len(laid_out.pages) != design.pages:
        return False
    seen = set()
    for page in laid_out.pages:
        for box, _ in _boxes(page._page_box, None):
            field = _field_of(box)
            if field is None or field in seen:
                continue
            seen.add(field)
            place, box = design.places[field], getattr(box, "_box", box)
            lines = [line for line in box.children if type(line).__name__ == "LineBox"]
            if place.one_line and len(lines) != 1:
                return False
            if box.height > place.room + TOLERANCE_PX:
                return False
            if place.exact and abs(box.height - place.room) > TOLERANCE_PX:
                return False
    return seen == set(fields)


def _stamped(design_pdf: bytes, text_pdf: bytes, pages: set[int]) -> bytes:
    import pikepdf

    with pikepdf.open(io.BytesIO(design_pdf)) as sheet, \
            pikepdf.open(io.BytesIO(text_pdf)) as text:
        for number in pages:
            sheet.pages[number].add_overlay(text.pages[number])
        out = io.BytesIO()
        # The file identifier stays the design's (it says nothing about the patient);
        # static_id keeps the second half fixed rather than derived from the time.
        sheet.save(out, static_id=True)
    return out.getvalue()
