"""Layout gate: what a print designer checks, measured on the finished PDF.

PDFium (Chrome's PDF engine) reads the PDF back; nothing here trusts the
template's intentions. Headings are found by matching the HTML's heading texts
against the text lines of the PDF, so any language and any content works.

- Panel fullness (brochures): how far down each panel its content reaches, as a
  share of the height content may use. Below PANEL_WARN (70 %) the proof page
  and the manifest say so, naming the panel and how much room is left: a short valid handout (a clinic's
  first draft, the tests' generated ones) must still build, so an unfinished-
  looking panel is the designer's call, not an error. The cover is designed as
  a whole and is not measured.
- No heading at the foot of a panel, column or page: something of its section
  must follow it in the same column.
- No section split over a column or page with fewer than two lines of it on
  either side of the break.
- No heading or footer that wraps and leaves one word alone on its last line.
- No two lines of text printed over each other.
- Desk-printer profiles (Profile.safe_margin_in): nothing printed closer than
  that to the paper's edge.
- Large print (variant targets): headings at least min_heading_pt; write-in
  lines at least min_write_line_in long and min_write_gap_in apart. Write-in
  lines are measured on WeasyPrint's laid-out boxes, the geometry it draws into
  the PDF, because a rule on a PDF page does not say what it is for.
"""

from __future__ import annotations

import ctypes
import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser

from .box_tree import page_boxes
from .layouts import INCH, KINDS, trifold
from .merge import Document

PANEL_WARN = 0.70  # the designer's review: below about 70 % a panel reads as half empty
PANEL_BOTTOM_RESERVE_IN = 0.62  # brochure panels keep this free for the footer (brochure.css)
FOOTER_STRIP_IN = 0.75  # footer text sits this close to the bottom of the trim
CSS_PX_PER_INCH = 96
Y_TOLERANCE_PT = 2.0
WHITE = (255, 255, 255)


@dataclass
class Line:
    """One line of text on a PDF page, in points from the trim box's top-left."""

    page: int
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    text: str = ""
    baseline: float = 0.0

    @property
    def words(self) -> list[str]:
        """Words, not separators: '· Seniors' is one word alone on its line."""
        return [word for word in self.text.split() if any(c.isalnum() for c in word)]


@dataclass
class Heading:
    title: str
    lines: list[int] = field(default_factory=list)  # indexes into the line list
    level: int = 2  # 1: the document's title, which no section follows


@dataclass
class LayoutFindings:
    """What the gate measured: failures stop the build; advice goes to the proof page."""

    lines: list[Line] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    panel_fullness: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)  # for the proof page, not a failure


# --- reading the PDF ---------------------------------------------------------

def pdf_lines(pdf: bytes) -> tuple[list[Line], list[tuple[float, float]]]:
    """Every text line of every page in content order, and each page's trim size."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    lines: list[Line] = []
    sizes: list[tuple[float, float]] = []
    document = pdfium.PdfDocument(pdf)
    try:
        for number, page in enumerate(document):
            left, bottom, right, top = page.get_trimbox()
            sizes.append((right - left, top - bottom))
            lines += _page_lines(page, number, left, top, raw)
    finally:
        document.close()
    return lines, sizes


def _page_lines(page, number: int, left: float, top: float, raw) -> list[Line]:
    text_page = page.get_textpage()
    box = [ctypes.c_double() for _ in range(4)]
    matrix = raw.FS_MATRIX()
    origin_x, origin_y = ctypes.c_double(), ctypes.c_double()
    lines: list[Line] = []
    baselines: dict[int, float] = {}  # id(line) -> baseline, to tell rows apart
    current: Line | None = None
    for index in range(text_page.count_chars()):
        char = chr(raw.FPDFText_GetUnicode(text_page.raw, index))
        if raw.FPDFText_IsGenerated(text_page.raw, index) and char in "\r\n":
            current = None  # PDFium's own line break
            continue
        raw.FPDFText_GetCharBox(text_page.raw, index, *map(ctypes.byref, box))
        x0, x1, y0, y1 = (value.value for value in box)
        raw.FPDFText_GetMatrix(text_page.raw, index, ctypes.byref(matrix))
        scale = abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5
        size = raw.FPDFText_GetFontSize(text_page.raw, index) * scale
        if char.isspace():
            if current is not None:
                current.text += " "
            continue
        raw.FPDFText_GetCharOrigin(text_page.raw, index, ctypes.byref(origin_x),
                                   ctypes.byref(origin_y))
        x0, x1, char_top, char_bottom = x0 - left, x1 - left, top - y1, top - y0
        baseline = top - origin_y.value
        if current is None or not _continues(current, baselines[id(current)], x0, baseline,
                                             size):
            current = Line(number, x0, x1, char_top, char_bottom, size, baseline=baseline)
            baselines[id(current)] = baseline
            lines.append(current)
        current.text += char
        current.x1 = max(current.x1, x1)
        current.top = min(current.top, char_top)
        current.bottom = max(current.bottom, char_bottom)
        current.size = max(current.size, size)
    for line in lines:
        line.text = re.sub(r"\s+", " ", line.text).strip()
    return [line for line in lines if line.text]


def _continues(line: Line, line_baseline: float, x0: float, baseline: float,
               size: float) -> bool:
    """Same baseline and no wide gap: the next character of the same line."""
    same_row = abs(baseline - line_baseline) < max(line.size, size) * 0.5
    return same_row and -size < x0 - line.x1 < max(line.size, size) * 1.6


class _Headings(HTMLParser):
    """From the HTML: heading texts in order, the footer's text, and the text of
    each section (an element whose id starts with 'section-') with its heading."""

    VOID = {"img", "br", "meta", "link", "input", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.levels: list[int] = []
        self.footer: list[str] = []
        self.sections: dict[str, list[str]] = {}  # id -> [heading, text]
        self._open: list[tuple[str, list[str]]] = []
        self._stack: list[tuple[str, str | None]] = []  # (tag, section id)

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        section = attrs.get("id") if (attrs.get("id") or "").startswith("section-") else None
        if section:
            self.sections[section] = ["", ""]
        self._stack.append((tag, section or self._section()))
        if tag in ("h1", "h2", "h3"):
            self._open.append((tag, self.headings))
            self.levels.append(int(tag[1]))
        elif {"running-footer", "panel-footer"} & set(classes):
            self._open.append((tag, self.footer))
        else:
            return
        self._open[-1][1].append("")

    def _section(self) -> str | None:
        return self._stack[-1][1] if self._stack else None

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if self._open and self._open[-1][0] == tag:
            if tag in ("h1", "h2", "h3") and self._section():
                self.sections[self._section()][0] = self.headings[-1]
            self._open.pop()
        while self._stack and self._stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if self._open:
            target = self._open[-1][1]
            target[-1] += data
        if self._section():
            self.sections[self._section()][1] += data


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text.replace("\u00ad", ""))
    return re.sub(r"\s+", " ", text).strip()


def find_headings(lines: list[Line], titles: list[str],
                  levels: list[int] | None = None) -> list[Heading]:
    """Match each heading text to the run of PDF lines it was set on."""
    used: set[int] = set()
    found: list[Heading] = []
    for title, level in zip(map(_norm, titles), levels or [2] * len(titles)):
        for start in range(len(lines)):
            indexes = _match(lines, start, title, used)
            if indexes:
                used.update(indexes)
                found.append(Heading(title, indexes, level))
                break
    return found


def _match(lines: list[Line], start: int, title: str, used: set[int]) -> list[int]:
    text, indexes = "", []
    for index in range(start, min(start + 6, len(lines))):
        if index in used:
            return []
        text = _norm(f"{text} {lines[index].text}")
        indexes.append(index)
        if text == title:
            return indexes
        if not title.startswith(text):
            return []
    return []


# --- the checks ----------------------------------------------------------------

def check_layout_quality(document: Document, html: str, laid_out, pdf: bytes) -> LayoutFindings:
    """Measure the PDF; findings carry failures and warnings as plain sentences."""
    parser = _Headings()
    parser.feed(html)
    lines, page_sizes = pdf_lines(pdf)
    findings = LayoutFindings(lines=lines,
                              headings=find_headings(lines, parser.headings, parser.levels))
    footer_text = _norm(" ".join(parser.footer))
    body = [i for i, line in enumerate(lines) if not _in_footer(line, page_sizes, footer_text)]
    drawings = _drawings(pdf)
    _headings_at_foot(findings, body, drawings)
    columns = _column_of(document, page_sizes)
    _split_sections(findings, body, parser.sections, columns,
                    flows=document.handout.kind != "brochure" or document.profile.reading_edition)
    _lone_words(findings, lines, page_sizes, footer_text)
    _overlapping_text(findings, lines)
    if document.handout.kind == "brochure" and not document.profile.reading_edition:
        _panel_fullness(findings, document, pdf, body)
        _folds(findings, document, lines)
    if document.profile.safe_margin_in:
        _edge_clearance(findings, document, pdf)
    _large_print(findings, document, laid_out)
    return findings


def _in_footer(line: Line, page_sizes, footer_text: str) -> bool:
    height = page_sizes[line.page][1]
    near_bottom = line.bottom > height - FOOTER_STRIP_IN * INCH
    return near_bottom and (line.text in footer_text or re.search(r"\d+\D+\d+$", line.text)
                            is not None and len(line.words) <= 4 and "·" not in line.text)


def _headings_at_foot(findings: LayoutFindings, body: list[int],
                      drawings: list[tuple[int, float, float, float, float]]) -> None:
    """Something printed must follow a section heading closely, right under it."""
    for heading in findings.headings:
        if heading.level == 1:
            continue  # the document's title may stand alone on a cover
        last = findings.lines[heading.lines[-1]]
        reach = last.bottom + 3 * last.size
        below = [(line.top, line.bottom) for i, line in enumerate(findings.lines)
                 if i in set(body) and line.page == last.page and i not in heading.lines]
        below += [(top, bottom) for page, x0, x1, top, bottom in drawings
                  if page == last.page and x0 < last.x1 and last.x0 < x1
                  and not (bottom - top < 2.5 and top < last.bottom + 5)]  # its own rule
        if not any(last.bottom - 1 <= top <= reach for top, _ in below):
            findings.failures.append(
                f"heading '{heading.title}' is at the foot of its page, panel or column with "
                "nothing of its section after it; move the section or shorten what is above")


def _column_of(document: Document, page_sizes):
    """Which column or panel a line is in: brochure panels, else the page's halves
    (the reading edition has one column)."""
    if document.profile.reading_edition:
        return lambda line: 0
    if document.handout.kind == "brochure":
        geometry = trifold(document.profile)
        edges = [geometry.outside[0], geometry.outside[0] + geometry.outside[1]]
        inside = [geometry.inside[0], geometry.inside[0] + geometry.inside[1]]

        def panel(line: Line) -> int:
            cuts = edges if line.page % 2 == 0 else inside
            return sum(line.x0 >= cut * INCH - 1 for cut in cuts)
        return panel
    return lambda line: int(line.x0 > page_sizes[line.page][0] / 2 - 0.1 * INCH)


def _split_sections(findings: LayoutFindings, body: list[int], sections: dict,
                    column_of, flows: bool) -> None:
    """A section's lines (found by their text in the HTML section) in its heading's
    column and, where text flows on (flows), at the top of the next column or page."""
    owner = _line_owners(findings.lines, body, sections)
    first_heading: dict[tuple[int, int], float] = {}
    for heading in findings.headings:
        line = findings.lines[heading.lines[0]]
        where = (line.page, column_of(line))
        first_heading[where] = min(first_heading.get(where, line.top), line.top)
    for heading in findings.headings:
        section = next((sid for sid, (title, _) in sections.items()
                        if _norm(title) == heading.title), None)
        if section is None:
            continue
        last = findings.lines[heading.lines[-1]]
        here = (last.page, column_of(last))
        following = {(last.page, here[1] + 1), (last.page + 1, 0)} if flows else set()
        before, after = 0, 0
        for index in body:
            line = findings.lines[index]
            if owner.get(index) != section or index in heading.lines:
                continue
            where = (line.page, column_of(line))
            if where == here and line.top > last.top:
                before += 1
            elif (where in following and line.top < first_heading.get(where, 1e9)
                  and (line.page > last.page or line.top < findings.lines[heading.lines[0]].top)):
                after += 1  # the top of the next column (above where the section began)
        if after and (before < 2 or after < 2):
            findings.failures.append(
                f"section '{heading.title}' is split over a column or page with {before} "
                f"line(s) before the break and {after} after; keep at least two on each side")


def _reading_key(line: Line, column_of) -> tuple:
    return (line.page, column_of(line), round(line.top), line.x0)


def _line_owners(lines: list[Line], body: list[int], sections: dict) -> dict[int, str]:
    """Each line belongs to the section whose HTML text contains it; when several
    do, to the one the line before belonged to."""
    texts = {sid: _norm(text) for sid, (_, text) in sections.items()}
    owners: dict[int, str] = {}
    previous = None
    for index in body:
        text = _norm(lines[index].text)
        if sum(char.isalpha() for char in text) < 3:
            continue  # list numbers and the like could belong anywhere
        candidates = [sid for sid, whole in texts.items() if text in whole]
        if len(candidates) == 1 or previous in candidates:
            owners[index] = previous = candidates[0] if len(candidates) == 1 else previous
    return owners


def _drawings(pdf: bytes) -> list[tuple[int, float, float, float, float]]:
    """(page, x0, x1, top, bottom) of every non-white path, picture and form, in
    points from the trim box's top-left."""
    import pypdfium2 as pdfium

    found = []
    document = pdfium.PdfDocument(pdf)
    try:
        for number, page in enumerate(document):
            left, _, _, top = page.get_trimbox()
            for obj in page.get_objects(max_depth=0):
                if obj.type in (2, 3, 5) and not _is_white(obj):
                    x0, y0, x1, y1 = obj.get_bounds()
                    found.append((number, x0 - left, x1 - left, top - y1, top - y0))
    finally:
        document.close()
    return found


def _lone_words(findings: LayoutFindings, lines: list[Line], page_sizes,
                footer_text: str) -> None:
    for heading in findings.headings:
        # An orphan: one word alone after a line that could have given it company
        # (a two-word title too wide for one line is set one word a line).
        if (len(heading.lines) > 1 and len(lines[heading.lines[-1]].words) == 1
                and len(lines[heading.lines[-2]].words) > 1):
            findings.failures.append(
                f"heading '{heading.title}' leaves '{lines[heading.lines[-1]].text}' alone on "
                "its last line; shorten it or keep its last words together")
    footers = [line for line in lines if _in_footer(line, page_sizes, footer_text)]
    for line in footers:
        block = [other for other in footers if other.page == line.page
                 and other.x0 < line.x1 and line.x0 < other.x1
                 and abs(other.top - line.top) < 3 * line.size]
        if len(line.words) == 1 and len(block) > 1:
            findings.failures.append(
                f"the footer wraps and leaves '{line.text}' alone on a line (page "
                f"{line.page + 1}); keep the footer's parts together")
    _lone_words_in_text(findings, lines)


def _lone_words_in_text(findings: LayoutFindings, lines: list[Line]) -> None:
    """One word alone in the middle of a paragraph (a line-breaking slip): a warning."""
    for before, line, after in zip(lines, lines[1:], lines[2:]):
        same_column = before.page == line.page == after.page and \
            abs(before.x0 - line.x0) < 1 and abs(line.x0 - after.x0) < 1
        leading = line.baseline - before.baseline, after.baseline - line.baseline
        if (same_column and len(line.words) == 1 and len(after.words) >= 3
                and abs(leading[0] - leading[1]) < 0.5 and 0 < leading[0] < 2 * line.size
                and before.size == line.size == after.size):
            findings.advice.append(
                f"'{line.text}' stands alone on a line in the middle of a paragraph (page "
                f"{line.page + 1}); reword the sentence")


def _overlapping_text(findings: LayoutFindings, lines: list[Line]) -> None:
    """Two lines of text printed over each other (an absolutely placed block running
    into another one)."""
    for number, line in enumerate(lines):
        for other in lines[number + 1:]:
            if other.page != line.page:
                continue
            width = min(line.x1, other.x1) - max(line.x0, other.x0)
            height = min(line.bottom, other.bottom) - max(line.top, other.top)
            smaller = min(line.bottom - line.top, other.bottom - other.top)
            if width > 2 and height > 0.25 * smaller:
                findings.failures.append(
                    f"'{line.text[:30]}' and '{other.text[:30]}' are printed over each other "
                    f"on page {line.page + 1}; shorten what comes before them")
                return


def _panel_fullness(findings: LayoutFindings, document: Document, pdf: bytes,
                    body: list[int]) -> None:
    geometry = trifold(document.profile)
    usable = (geometry.sheet_height - PANEL_BOTTOM_RESERVE_IN) * INCH
    names = KINDS["brochure"].panels  # outside sheet left to right, then inside
    spans = [(names[:3], geometry.outside), (names[3:], geometry.inside)]
    lowest = _lowest_content(pdf, body, findings.lines, document)
    for page, (panel_names, widths) in enumerate(spans):
        left = 0.0
        for name, width in zip(panel_names, widths):
            x0, x1 = left * INCH, (left + width) * INCH
            left += width
            if name == "cover":
                continue
            bottom = max((b for p, lx0, lx1, b in lowest
                          if p == page and lx0 >= x0 - 1 and lx1 <= x1 + 1), default=0.0)
            fullness = min(bottom / usable, 1.0)
            findings.panel_fullness[name] = round(fullness, 3)
            message = (f"panel '{name}' is {fullness:.0%} full (content stops "
                       f"{(usable - bottom) / INCH:.1f} in above its limit)")
            if fullness < PANEL_WARN:
                findings.advice.append(f"{message}; below {PANEL_WARN:.0%}, it looks "
                                         "unfinished: fill it or move a section to it")


def _lowest_content(pdf: bytes, body: list[int], lines: list[Line], document: Document):
    """(page, x0, x1, bottom) of every text line and picture, in points from the trim."""
    import pypdfium2 as pdfium

    found = [(lines[i].page, lines[i].x0, lines[i].x1, lines[i].bottom) for i in body]
    panel_height = trifold(document.profile).sheet_height * INCH
    pdf_document = pdfium.PdfDocument(pdf)
    try:
        for number, page in enumerate(pdf_document):
            left, _, _, top = page.get_trimbox()
            for obj in page.get_objects(max_depth=0):
                x0, y0, x1, y1 = obj.get_bounds()
                tall = (y1 - y0) > 0.8 * panel_height  # a panel's background
                if obj.type in (2, 3, 5) and not tall and not _is_white(obj):
                    found.append((number, x0 - left, x1 - left, top - y0))
    finally:
        pdf_document.close()
    return found


def _is_white(obj) -> bool:
    """White paint (the paper colour) is not printed ink."""
    import pypdfium2.raw as raw

    if obj.type != 2:
        return False
    rgba = [ctypes.c_uint() for _ in range(4)]
    raw.FPDFPageObj_GetFillColor(obj.raw, *map(ctypes.byref, rgba))
    fill = tuple(value.value for value in rgba[:3])
    has_fill, has_stroke = ctypes.c_int(), ctypes.c_int()
    raw.FPDFPath_GetDrawMode(obj.raw, ctypes.byref(has_fill), ctypes.byref(has_stroke))
    rgba_stroke = [ctypes.c_uint() for _ in range(4)]
    raw.FPDFPageObj_GetStrokeColor(obj.raw, *map(ctypes.byref, rgba_stroke))
    stroke = tuple(value.value for value in rgba_stroke[:3])
    white_fill = not has_fill.value or fill == WHITE
    white_stroke = not has_stroke.value or stroke == WHITE
    return white_fill and white_stroke


def _edge_clearance(findings: LayoutFindings, document: Document, pdf: bytes) -> None:
    import pypdfium2 as pdfium

    margin = document.profile.safe_margin_in * INCH
    pdf_document = pdfium.PdfDocument(pdf)
    try:
        for number, page in enumerate(pdf_document):
            width, height = page.get_size()
            for obj in page.get_objects(max_depth=0):
                if _is_white(obj):
                    continue
                x0, y0, x1, y1 = obj.get_bounds()
                closest = min(x0, y0, width - x1, height - y1)
                if closest < margin - 0.5:
                    findings.failures.append(
                        f"something is printed {closest / INCH:.2f} in from the paper's edge on "
                        f"page {number + 1}; {document.profile.name} printers need "
                        f"{document.profile.safe_margin_in:g} in clear")
                    break
    finally:
        pdf_document.close()


def _large_print(findings: LayoutFindings, document: Document, laid_out) -> None:
    variant = document.variant
    if variant.min_heading_pt:
        for heading in findings.headings:
            size = min(findings.lines[i].size for i in heading.lines)
            if size < variant.min_heading_pt - 0.05:
                findings.failures.append(
                    f"heading '{heading.title}' is {size:.1f} pt, below the "
                    f"{variant.min_heading_pt:g} pt minimum for {variant.name}")
    if variant.min_write_line_in or variant.min_write_gap_in:
        _write_in_lines(findings, document, laid_out)


def write_in_lines(laid_out) -> list[tuple[int, float, float, float]]:
    """(page, left, bottom, width) in inches of every line drawn to write on."""
    found = []
    for number, box, _ in page_boxes(laid_out):
        element = getattr(box, "element", None)
        classes = (element.get("class") or "").split() if element is not None else []
        if ("line" in classes or "answer-line" in classes) and box.width:
            # The line is the box's bottom border.
            width = box.border_width() / CSS_PX_PER_INCH
            bottom = (box.position_y + box.margin_height() - box.margin_bottom) / \
                CSS_PX_PER_INCH
            found.append((number, box.position_x / CSS_PX_PER_INCH, bottom, width))
    return found


def _write_in_lines(findings: LayoutFindings, document: Document, laid_out) -> None:
    variant = document.variant
    lines = sorted(write_in_lines(laid_out))
    for page, left, bottom, width in lines:
        if width < variant.min_write_line_in - 0.01:
            findings.failures.append(
                f"a write-in line on page {page + 1} is {width:.2f} in long, shorter than the "
                f"{variant.min_write_line_in:g} in minimum for {variant.name}")
    for page, left, bottom, width in lines:
        below = [b for p, l, b, w in lines if p == page and b > bottom + 0.001
                 and l < left + width and left < l + w]  # the next line under this one
        gap = min(below, default=bottom + 99) - bottom
        if gap < variant.min_write_gap_in - 0.01:
            findings.failures.append(
                f"two write-in lines on page {page + 1} are {gap:.2f} in apart, closer than "
                f"the {variant.min_write_gap_in:g} in minimum for {variant.name}")


# --- folds -----------------------------------------------------------------------
# A folded sheet is read panel by panel: text on a fold, or so close that the fold
# cuts through it, is unreadable. Rule PRESS-FOLD (clinicprint/gwg.py) in the
# preflight, and here for every profile of a folded kind.

def fold_lines(profile) -> list[tuple[float, ...]]:
    """Each page's folds, in points from the trim's left edge: the outside sheet and
    the inside sheet of a letter fold (layouts.trifold), alternately."""
    geometry = trifold(profile)
    outside = (geometry.outside[0], geometry.outside[0] + geometry.outside[1])
    inside = (geometry.inside[0], geometry.inside[0] + geometry.inside[1])
    return [tuple(x * INCH for x in outside), tuple(x * INCH for x in inside)]


def text_on_folds(lines: list[Line], folds: list[tuple[float, ...]],
                  clearance_pt: float) -> list[tuple[Line, float]]:
    """(line, fold) for every text line that crosses a fold or comes closer to it
    than `clearance_pt`."""
    found = []
    for line in lines:
        page_folds = folds[line.page % len(folds)] if folds else ()
        for fold in page_folds:
            if line.x0 - clearance_pt < fold < line.x1 + clearance_pt:
                found.append((line, fold))
                break
    return found


def _folds(findings: LayoutFindings, document: Document, lines: list[Line]) -> None:
    from .gwg import FOLD_CLEARANCE_IN

    names = KINDS["brochure"].panels
    sheets = [names[:3], names[3:]]
    for line, fold in text_on_folds(lines, fold_lines(document.profile),
                                    FOLD_CLEARANCE_IN * INCH):
        left = [fold for fold in fold_lines(document.profile)[line.page % 2]]
        panel = sheets[line.page % 2][sum(line.x0 >= cut - 1 for cut in left)]
        findings.failures.append(
            f"text '{line.text[:40]}' in panel '{panel}' (page {line.page + 1}) runs "
            f"{'across' if line.x0 < fold < line.x1 else 'within 1/8 in of'} the fold at "
            f"{fold / INCH:.2f} in; keep every line inside one panel, "
            f"{FOLD_CLEARANCE_IN:g} in clear of the folds")
