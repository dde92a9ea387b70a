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
   that page of text is stamped onto the design's PDF (pikepdf); its fonts are
   renamed first, so that no two subsets of a face share a name (`_own_font_names`).

A detail may have several places: the desk's sheet id sits in the running footer of
every page (templates/discharge.html), and is stamped into each.

A detail that does not take exactly the room its place keeps (a name that wraps, a
line taller in another font, a note longer than its box) would have moved the sheet's
layout: that sheet is laid out in full instead. So stamping never changes how a sheet
looks; tests compare stamped and fully laid-out sheets as pictures.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from dataclasses import dataclass

from .box_tree import page_boxes
from .content import Project
from .merge import Document
from .typesetting import keep_whole_html

# The invisible stand-in for each detail while a design is laid out: a capital and a
# descender in the detail's own font, on as many lines as the detail takes.
PROBE = "Xg"
HIDE_DETAILS = ("<style>[data-field] .value { visibility: hidden; white-space: pre-line } "
                "p[data-field] { visibility: hidden }</style></head>")
MAX_LINES = 4  # a write-in taking more lines than this is laid out in full
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
    """Where one detail's text goes and how much room it has (CSS px from the page's top
    left). A write-in's text sits on its cell's bottom edge (or top, as the cell's
    vertical-align says) and takes a set number of lines; a note takes any number of
    lines down to the end of its box."""
    field: str
    page: int
    x: float
    y: float              # the top of the text, or its bottom when `anchor` is "bottom"
    width: float
    anchor: str           # "top" or "bottom"
    height: float         # the height of the stand-in's text
    room: float           # the height the text may take without moving anything below
    lines: int            # a write-in's lines; 0 for a note (any number)
    style: str            # the detail's computed text style, as CSS
    lang: str


@dataclass(frozen=True)
class Design:
    pdf: bytes
    page_size: tuple[float, float]
    pages: int
    places: dict[str, tuple[Place, ...]]   # a detail's places, one per page at most
    font_tags: frozenset[str]              # its font subsets' tags (`_own_font_names`)

    def slots(self, fields) -> set[tuple[str, int]]:
        """(field, page) for every place of the `fields` given."""
        return {(name, place.page) for name in fields for place in self.places[name]}


def stamped_sheet(project: Project, document: Document, fields: dict[str, str],
                  faces: tuple[str, ...], designs: dict) -> bytes | None:
    """The sheet with the patient's details stamped onto its design (laid out on first
    use and kept in `designs`), or None when it must be laid out in full: a design
    that does not lay out, a write-in taking more than MAX_LINES lines, a detail that
    would not take exactly the room its place keeps."""
    lines: dict[str, int] = {}
    for _ in range(2):  # the second time with a design whose write-ins take more lines
        design = _design(project, document, fields, faces, lines, designs)
        if design is None or not set(fields) <= design.places.keys():
            return None
        laid_out, text = _lay_out_details(project, document, design, fields, faces)
        if laid_out is None:
            return None
        boxes = _detail_boxes(laid_out)
        taken = {field: _lines_in(box) for (field, page), box in boxes.items()
                 if _place(design, field, page).lines and _lines_in(box) > 1}
        if any(count > MAX_LINES for count in taken.values()):
            return None
        if taken == lines:
            if not _fits(laid_out, boxes, design, fields):
                return None
            return _stamped(design, text(), {page for _, page in design.slots(fields)})
        lines = taken
    return None


def _design(project: Project, document: Document, fields: dict[str, str],
            faces: tuple[str, ...], lines: dict[str, int], designs: dict) -> Design | None:
    from .errors import RenderError

    key = design_key(document, fields, lines)
    if key not in designs:
        try:
            designs[key] = lay_out_design(project, document, fields, faces, lines)
        except RenderError:
            designs[key] = None  # the full layout will say why, in its own words
    return designs[key]


def design_key(document: Document, fields: dict[str, str],
               lines: dict[str, int] | None = None) -> tuple:
    """What a sheet's design depends on besides its document: whether it has a note (a
    blank box holds lines to write on), which details are set in the name fonts, and
    the write-ins that take more than one line. Never a patient's detail itself."""
    return (document.relative_path,
            tuple(sorted(field.name for field in document.fields
                         if field.lines > 1 and field.name in fields)),
            tuple(sorted(name for name, value in fields.items()
                         if getattr(value, "any_script", False))),
            tuple(sorted((lines or {}).items())),
            # Details the template places itself besides the sheet's fields (the desk's
            # sheet id: a footer line of its own).
            tuple(sorted(set(fields) - {field.name for field in document.fields})))


def lay_out_design(project: Project, document: Document, fields: dict[str, str],
                   faces: tuple[str, ...], lines: dict[str, int] | None = None) -> Design:
    """The sheet with every detail invisible (taking `lines`, one by default), checked
    like any document, and the place of each detail."""
    from .name_fonts import PatientText
    from .render_html import render_html
    from .render_pdf import render_pdf

    # A box for several lines (the notes) holds lines to write on when empty: a
    # different design, chosen by design_key.
    probes = {field.name: PatientText("\n".join([PROBE] * (lines or {}).get(field.name, 1)),
                                      any_script=getattr(fields.get(field.name), "any_script",
                                                         False))
              for field in document.fields if field.lines == 1 or field.name in fields}
    own = {field.name for field in document.fields}
    probes.update({name: PatientText(PROBE) for name in fields if name not in own})
    from .build import with_fitting_notice

    def render(notice_in):
        page = render_html(document, project.brand, project.root, probes, project.notices,
                           notice_in=notice_in)
        blank = render_html(document, project.brand, project.root, notices=project.notices,
                            notice_in=notice_in)
        return render_pdf(page.replace("</head>", HIDE_DETAILS, 1), document, project.root,
                          project.brand, identify_by=blank, font_faces=faces)

    rendered = with_fitting_notice(document, project, render)
    laid_out = rendered.layout
    first = laid_out.pages[0]
    places: dict[str, list[Place]] = {}
    for field, place in _places(laid_out):
        places.setdefault(field, []).append(place)
    return Design(rendered.pdf, (first.width, first.height), len(laid_out.pages),
                  {field: tuple(found) for field, found in places.items()},
                  _font_tags(rendered.pdf))


def _places(laid_out):
    for number, box, parent in page_boxes(laid_out):
        field = _field_of(box)
        if field is None or not box.children:
            continue
        style, lang = _css(box.style), box.style["lang"] or ""
        x, top, bottom = box.content_box_x(), box.content_box_y(), \
            box.content_box_y() + box.height
        rows = [line for line in box.children if type(line).__name__ == "LineBox"]
        text_top = rows[0].position_y
        text_bottom = rows[-1].position_y + rows[-1].height
        if type(box).__name__ == "TableCellBox":  # a write-in line
            # Set on the bottom edge, the text may be shorter than the cell's own
            # height; once it is taller, the cell grows to it, so it must be as tall.
            own = getattr(box, "computed_height", "auto")
            grown = not isinstance(own, (int, float)) or box.height > own + TOLERANCE_PX
            room = text_bottom - text_top if grown else bottom - top
            if box.style["vertical_align"] == "bottom":
                yield field, Place(field, number, x, text_bottom, box.width, "bottom",
                                   text_bottom - text_top, room, len(rows), style, lang)
            else:  # elsewhere in its cell: only text exactly as tall sits the same
                yield field, Place(field, number, x, text_top, box.width, "top",
                                   text_bottom - text_top, text_bottom - text_top,
                                   len(rows), style, lang)
        else:  # the note, in its box
            end = parent.content_box_y() + parent.height
            yield field, Place(field, number, x, top, box.width, "top",
                               text_bottom - text_top, end - top, 0, style, lang)


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


def _lay_out_details(project: Project, document: Document, design: Design,
                     fields: dict[str, str], faces: tuple[str, ...]):
    """The details alone laid out at their places, and a function writing them as PDF;
    (None, None) if WeasyPrint had anything to say (the full layout will say it)."""
    from .render_pdf import _content_clock, _weasyprint_warnings, lay_out

    with _weasyprint_warnings() as warnings, _content_clock(document):
        # Typeset as the full page is (render_html): short words bound, runs such as
        # a phone number kept whole, so a detail breaks where it would have there.
        overlay = keep_whole_html(_overlay_html(design, fields), document.language)
        laid_out = lay_out(overlay, document, project.root, project.brand, faces)
    if warnings:
        return None, None

    def write() -> bytes:
        with _content_clock(document):
            return laid_out.write_pdf()

    return laid_out, write


def _overlay_html(design: Design, fields: dict[str, str]) -> str:
    width, height = design.page_size
    pages: list[list[str]] = [[] for _ in range(design.pages)]
    for name, value in fields.items():
        for place in design.places[name]:
            pages[place.page].append(_detail_div(name, value, place, height))
    body = "".join(f'<div class="page">{"".join(page)}</div>' for page in pages)
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>"
            f"@page {{ size: {width}px {height}px; margin: 0 }} "
            "body { margin: 0 } "
            f".page {{ position: relative; height: {height}px; overflow: hidden }} "
            ".page + .page { break-before: page } "
            ".detail { position: absolute; margin: 0; padding: 0; border: 0 } "
            ".whole { white-space: nowrap } .whole--link { hyphens: manual }"
            f"</style></head><body>{body}</body></html>")


def _detail_div(name: str, value: str, place: Place, page_height: float) -> str:
    direction = ' dir="rtl"' if getattr(value, "direction", "ltr") == "rtl" else ""
    edge = (f"top: {place.y}px" if place.anchor == "top"
            else f"bottom: {page_height - place.y}px")
    return (f'<div class="detail" data-field="{name}" lang="{html.escape(place.lang)}"'
            f'{direction} style="left: {place.x}px; {edge}; width: {place.width}px; '
            f'{html.escape(place.style)}">{html.escape(value)}</div>')


def _detail_boxes(laid_out):
    """Each detail's box in the laid-out details, by (field, page)."""
    found = {}
    for page, box, _ in page_boxes(laid_out):
        field = _field_of(box)
        if field is not None and (field, page) not in found:
            found[(field, page)] = getattr(box, "_box", box)
    return found


def _place(design: Design, field: str, page: int) -> Place:
    return next(place for place in design.places[field] if place.page == page)


def _fits(laid_out, boxes: dict, design: Design, fields: dict[str, str]) -> bool:
    """Every detail takes the room its place kept, so the sheet laid out in full would
    look the same: a write-in as many lines as its stand-in and no more height than its
    cell had (exactly as much once it grew the cell); a note no more than its box."""
    if len(laid_out.pages) != design.pages or set(boxes) != design.slots(fields):
        return False
    for (field, page), box in boxes.items():
        place = _place(design, field, page)
        taken = box.height
        if place.lines and _lines_in(box) != place.lines:
            return False
        if taken > place.room + TOLERANCE_PX:
            return False
        if place.lines and place.room == place.height and \
                abs(taken - place.height) > TOLERANCE_PX:
            return False
    return True


def _lines_in(box) -> int:
    return sum(type(line).__name__ == "LineBox" for line in box.children)


def _stamped(design: Design, text_pdf: bytes, pages: set[int]) -> bytes:
    import pikepdf

    with pikepdf.open(io.BytesIO(design.pdf)) as sheet, \
            pikepdf.open(io.BytesIO(text_pdf)) as text:
        _own_font_names(text, set(design.font_tags))
        for number in pages:
            sheet.pages[number].add_overlay(text.pages[number])
        out = io.BytesIO()
        # The file identifier stays the design's (it says nothing about the patient);
        # static_id keeps the second half fixed rather than derived from the time.
        sheet.save(out, static_id=True)
    return out.getvalue()


# --- the details' fonts, apart from the design's ---------------------------------------

SUBSET_TAG = re.compile(r"^/?([A-Z]{6})\+")
NAME_ID_POSTSCRIPT = 6  # the OpenType name table's PostScript name


def _font_tags(pdf: bytes) -> frozenset[str]:
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as document:
        return frozenset(tag for _, tag, _ in _subset_fonts(document))


def _subset_fonts(pdf):
    """(font dictionary, subset tag, font program) of each embedded font subset."""
    import pikepdf

    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Type") != "/Font":
            continue
        tag = SUBSET_TAG.match(str(obj.get("/BaseFont", "")))
        fonts = obj.get("/DescendantFonts") or [obj]
        descriptor = fonts[0].get("/FontDescriptor")
        program = next((descriptor[key] for key in ("/FontFile2", "/FontFile3")
                        if descriptor is not None and key in descriptor), None)
        if tag and program is not None:
            yield obj, tag[1], program


def _own_font_names(text_pdf, taken: set[str]) -> None:
    """Give each font subset of the details a tag (and PostScript name) of its own.

    WeasyPrint tags a subset from its face, not from its glyphs, so the details' page
    and the design name their two different subsets of a face alike, which PDF forbids
    (ISO 32000-1, 9.6.4: different subsets in one file have different tags). A printer
    path through PostScript (CUPS: pdftocairo writes each font under the PostScript
    name inside its program, then Ghostscript merges fonts of one name) mixed the two,
    and the details' glyphs lost their text: the printed sheet read back without the
    patient's name, its id as stray glyphs. The new tag comes from the subset's glyphs."""
    renamed: dict[tuple[int, int], str] = {}  # a program two font dictionaries share
    for font, tag, program in list(_subset_fonts(text_pdf)):
        own = renamed.get(program.objgen)
        if own is None:
            own = _new_tag(program.read_raw_bytes(), taken | {tag})
            taken.add(own)
            _rename_program(program, own)
            renamed[program.objgen] = own
        for named in (font, *font.get("/DescendantFonts", [])):
            named.BaseFont = _retagged(named.BaseFont, own)
            if "/FontDescriptor" in named:
                named.FontDescriptor.FontName = _retagged(named.FontDescriptor.FontName, own)


def _new_tag(program: bytes, taken: set[str]) -> str:
    digest = hashlib.sha256(program).digest()
    while True:
        tag = "".join(chr(ord("A") + byte % 26) for byte in digest[:6])
        if tag not in taken:  # never the design's, however unlikely
            return tag
        digest = hashlib.sha256(digest).digest()


def _retagged(name, tag: str):
    import pikepdf

    return pikepdf.Name("/" + tag + "+" + SUBSET_TAG.sub("", str(name)).lstrip("/"))


def _rename_program(program, tag: str) -> None:
    """The font program's PostScript name (a CFF's font name too) ends with `tag`: a
    printer driver drops a subset tag in front of it (cairo does), not one behind."""
    import zlib

    import pikepdf
    from fontTools.ttLib import TTFont

    # Fixed timestamps and boxes: the same details give the same bytes.
    font = TTFont(io.BytesIO(program.read_bytes()), recalcBBoxes=False,
                  recalcTimestamp=False)
    if "name" in font:
        for record in font["name"].names:
            if record.nameID == NAME_ID_POSTSCRIPT:
                record.string = f"{SUBSET_TAG.sub('', record.toUnicode())}.{tag}"
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [f"{SUBSET_TAG.sub('', name)}.{tag}" for name in cff.fontNames]
    out = io.BytesIO()
    font.save(out, reorderTables=False)  # as they were: quicker
    data = out.getvalue()
    program.write(zlib.compress(data), filter=pikepdf.Name.FlateDecode)
    if "/Length1" in program:  # a TrueType program's length, decoded
        program.Length1 = len(data)
