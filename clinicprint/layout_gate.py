"""Layout gate: what a print designer checks, measured on the finished PDF.

PDFium (Chrome's PDF engine) reads the PDF back; nothing here trusts the
template's intentions. Headings are found by matching the HTML's heading texts
against the text lines of the PDF, so any language and any content works.

- Panel fullness (brochures): how far down each panel its content reaches, as a
  share of the height content may use. Below the typesetting standard's minimum
  (75 %) a panel looks unfinished: that fails reviewed content and is a warning
  for a translation still in draft. The cover is designed as a whole and is not
  measured.
- Typesetting (every profile and language): no line break inside a phone number,
  an email or web address, a date, a time or a number with its unit; at most two
  hyphenated line ends a page and none in a heading, the key points or a help box;
  no line holding one short word; a draft's banner over nothing else.
- No heading at the foot of a panel, column or page: something of its section
  must follow it in the same column.
- No section split over a column or page with fewer than two lines of it on
  either side of the break.
- No heading or footer that wraps and leaves one word alone on its last line.
- No two lines of text printed over each other.
- Desk-printer profiles (Profile.safe_margin_in): nothing printed closer than
  that to the paper's edge.
- Reading edition (screen PDF), rule READING-PAGE-FILL: no page but the last less
  than a third full; measured from the top of the page's content area to the
  lowest line or drawing on it.
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
from .render_pdf import handout_pages

PANEL_BOTTOM_RESERVE_IN = 0.62  # brochure panels keep this free for the footer (brochure.css)
FOOTER_STRIP_IN = 0.75  # footer text sits this close to the bottom of the trim
CSS_PX_PER_INCH = 96
PT_PER_PX = 72 / CSS_PX_PER_INCH
# Issue 24's typesetting rules (the designer's review of the reading edition): a page
# left mostly empty (a section or picture kept whole that did not fit under the text
# before it) looks like the end of the document, and a reader may stop there.
READING_PAGE_FILL = "READING-PAGE-FILL"  # the rule's stable id; severity: error
READING_PAGE_MIN = 1 / 3  # every page but the last is at least this full
Y_TOLERANCE_PT = 2.0
WHITE = (255, 255, 255)


@dataclass(frozen=True)
class TypesettingStandard:
    """The numbers of the typesetting rules, in one block under their standard's name."""

    name: str
    max_hyphenated_ends_per_page: int
    short_word_max_chars: int   # a line holding only a word this short fails
    min_panel_fill: float       # a brochure panel's share of its height with content


# The clinic's typesetting rules for patient handouts, from the designer's and the
# translator's review of issue 24 (a panel under 75 % full reads as unfinished; more
# than two hyphenated line ends a page, or one in a heading or a help box, slows a
# reader with low literacy; "la" alone on a line is a slip a reader trips on).
TYPESETTING = TypesettingStandard(
    name="house typesetting rules for patient handouts (issue 24)",
    max_hyphenated_ends_per_page=2,
    short_word_max_chars=3,
    min_panel_fill=0.75,
)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str   # "error" fails the build; "warning" is printed; "advice" goes
    standard: str   # to the proof page and the manifest
    wants: str


_DESIGN = "print designer's review"
_TYPESET = TYPESETTING.name
RULES = {rule.id: rule for rule in (
    Rule("LAYOUT-HEADING-FOOT", "error", _DESIGN,
         "something of a section follows its heading in the same column"),
    Rule("LAYOUT-SPLIT", "error", _DESIGN,
         "a section split over a column or page keeps two lines on each side"),
    Rule("LAYOUT-LONE-WORD", "error", _DESIGN,
         "no heading or footer leaves one word alone on its last line"),
    Rule("LAYOUT-OVERPRINT", "error", _DESIGN, "no two lines of text printed over each other"),
    Rule("LAYOUT-EDGE", "error", _DESIGN,
         "desk printers: nothing printed within the profile's safe margin of the edge"),
    Rule("LAYOUT-LARGE-PRINT", "error", "variants.yaml (large print)",
         "headings, write-in lines and their spacing at the variant's minimums"),
    Rule("PRESS-FOLD", "error", "house rule for folded sheets",
         "no text on a fold or within 1/8 in of one"),
    Rule("LAYOUT-PANEL-FILL", "error", _TYPESET,
         f"every brochure panel at least {TYPESETTING.min_panel_fill:.0%} full (a warning "
         "for a translation still in draft)"),
    Rule("TYPESET-KEEP-WHOLE", "error", _TYPESET,
         "no line break inside a phone number, an email or web address, a date, a time "
         "or a number with its unit"),
    Rule("TYPESET-HYPHENS-PAGE", "error", _TYPESET,
         f"at most {TYPESETTING.max_hyphenated_ends_per_page} hyphenated line ends a page"),
    Rule("TYPESET-HYPHEN-PLACE", "error", _TYPESET,
         "no hyphenated line end in a heading, the key points or a help box"),
    Rule("TYPESET-SHORT-LINE", "error", _TYPESET,
         f"no line of a paragraph holding only one word of "
         f"{TYPESETTING.short_word_max_chars} characters or fewer"),
    Rule("TYPESET-EARLY-BREAK", "error", _TYPESET,
         "no line of a paragraph ends while the next line's first word would fit on it"),
    Rule("TYPESET-STAMP-CLEAR", "error", _TYPESET,
         "a draft's or out-of-date translation's banner overlaps no text or drawing"),
)}


# The rules whose findings the language-assistance notice's place may change: where
# sections fall, how full each panel is, what crosses a fold (build._first_good_place).
PLACE_RULES = ("LAYOUT-HEADING-FOOT", "LAYOUT-SPLIT", "LAYOUT-PANEL-FILL", "PRESS-FOLD")


def place_may_mend(failures: list[str]) -> bool:
    """Whether every failure is one another place for the notice may mend."""
    rules = [re.search(r"\[([A-Z-]+)\]$", failure) for failure in failures]
    return all(rule is not None and rule.group(1) in PLACE_RULES for rule in rules)


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
    warnings: list[str] = field(default_factory=list)  # printed by build, not a failure
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
        # A subset font may map spaces and no-break spaces to one glyph.
        char = chr(raw.FPDFText_GetUnicode(text_page.raw, index)).replace("\u00a0", " ")
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
        if unicodedata.category(char) in ("Mn", "Mc", "Me") and (
                current is not None or (lines and lines[-1].page == number)):
            # A vowel sign or tone mark (Thai, Devanagari, Khmer...) is drawn over or
            # under the letter before it, often placed left of that letter's end (and
            # PDFium may then start a line of its own): part of the letter's line,
            # never a line printed over it.
            current = current or lines[-1]
            current.text += char
            continue
        raw.FPDFText_GetCharOrigin(text_page.raw, index, ctypes.byref(origin_x),
                                   ctypes.byref(origin_y))
        x0, x1, char_top, char_bottom = x0 - left, x1 - left, top - y1, top - y0
        baseline = top - origin_y.value
        if current is None or not (_continues(current, baselines[id(current)], x0, baseline,
                                              size)
                                   or _bidi_continues(current, baselines[id(current)], char,
                                                      x0, x1, baseline, size)):
            current = Line(number, x0, x1, char_top, char_bottom, size, baseline=baseline)
            baselines[id(current)] = baseline
            lines.append(current)
        current.text += char
        current.x0 = min(current.x0, x0)
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


def _bidi_continues(line: Line, line_baseline: float, char: str, x0: float, x1: float,
                    baseline: float, size: float) -> bool:
    """A right-to-left line holding a left-to-right run (a phone number in a Hebrew or
    Arabic line) is drawn run by run, so its next character may lie left or right of
    what came before on the same baseline: still the same line, if it is next to it."""
    rtl = any(unicodedata.bidirectional(c) in ("R", "AL") for c in line.text + char)
    same_row = abs(baseline - line_baseline) < max(line.size, size) * 0.5
    reach = max(line.size, size) * 1.6
    return rtl and same_row and line.x0 - reach < x1 and x0 < line.x1 + reach


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
    marks = _mark_lines(document, lines)
    body = [i for i, line in enumerate(lines)
            if not _in_footer(line, page_sizes, footer_text) and i not in marks]
    drawings = _drawings(pdf)
    _headings_at_foot(findings, body, drawings)
    columns = _column_of(document, page_sizes)
    # The notice's own sheet after the handout belongs to no section, though its
    # clinic name and numbers are words of one.
    pages = handout_pages(laid_out)
    in_handout = [i for i in body if lines[i].page < pages]
    _split_sections(findings, in_handout, parser.sections, columns,
                    flows=document.handout.kind != "brochure" or document.profile.reading_edition)
    _lone_words(findings, lines, page_sizes, footer_text)
    _overlapping_text(findings, lines)
    _typesetting(findings, document, laid_out, body)
    _stamp_clear(findings, marks, drawings, page_sizes)
    if document.handout.kind == "brochure" and not document.profile.reading_edition:
        _panel_fullness(findings, document, pdf, body)
        _folds(findings, document, lines)
    if document.profile.safe_margin_in:
        _edge_clearance(findings, document, pdf)
    if document.profile.reading_edition and document.profile.writer == "pdf":
        _reading_page_fill(findings, body, drawings, laid_out)
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
                "nothing of its section after it; move the section or shorten what is above "
                "[LAYOUT-HEADING-FOOT]")


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
                f"line(s) before the break and {after} after; keep at least two on each side "
                "[LAYOUT-SPLIT]")


def _reading_key(line: Line, column_of) -> tuple:
    return (line.page, column_of(line), round(line.top), line.x0)


def _line_owners(lines: list[Line], body: list[int], sections: dict) -> dict[int, str]:
    """Each line belongs to the section whose HTML text contains it; when several
    do, to the one the line before belonged to."""
    texts = {sid: _norm(text) for sid, (_, text) in sections.items()}
    owners: dict[int, str] = {}
    previous = None
    for index in body:
        text = _norm(lines[index].text.replace(SOFT_HYPHEN_MARK, ""))
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
                "its last line; shorten it or keep its last words together [LAYOUT-LONE-WORD]")
    footers = [line for line in lines if _in_footer(line, page_sizes, footer_text)]
    for line in footers:
        block = [other for other in footers if other.page == line.page
                 and other.x0 < line.x1 and line.x0 < other.x1
                 and abs(other.top - line.top) < 3 * line.size]
        if len(line.words) == 1 and len(block) > 1:
            findings.failures.append(
                f"the footer wraps and leaves '{line.text}' alone on a line (page "
                f"{line.page + 1}); keep the footer's parts together [LAYOUT-LONE-WORD]")
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
                    f"on page {line.page + 1}; shorten what comes before them [LAYOUT-OVERPRINT]")
                return


def _panel_fullness(findings: LayoutFindings, document: Document, pdf: bytes,
                    body: list[int]) -> None:
    """How far down each panel its content reaches; under the standard's minimum a
    panel looks unfinished: a failure for reviewed content, a warning for a
    translation not yet reviewed (or out of date), which is not for patients yet."""
    geometry = trifold(document.profile)
    usable = (geometry.sheet_height - PANEL_BOTTOM_RESERVE_IN) * INCH
    names = KINDS["brochure"].panels  # outside sheet left to right, then inside
    spans = [(names[:3], geometry.outside), (names[3:], geometry.inside)]
    lowest = _lowest_content(pdf, body, findings.lines, document)
    translation = document.translation
    draft = translation is not None and (translation.draft or translation.stale)
    minimum = TYPESETTING.min_panel_fill
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
            if fullness >= minimum:
                continue
            message = (f"panel '{name}' is {fullness:.0%} full (content stops "
                       f"{(usable - bottom) / INCH:.1f} in above its limit); below "
                       f"{minimum:.0%} it looks unfinished: fill it or move a section to it "
                       "[LAYOUT-PANEL-FILL]")
            findings.advice.append(message)
            (findings.warnings if draft else findings.failures).append(
                message + (" (a draft: not a failure yet)" if draft else ""))


def _lowest_content(pdf: bytes, body: list[int], lines: list[Line], document: Document):
    """(page, x0, x1, bottom) of every text line and picture, in points from the trim."""
    import pypdfium2 as pdfium

    found = [(lines[i].page, lines[i].x0, lines[i].x1, lines[i].bottom) for i in body]
    panel_height = trifold(document.profile).sheet_height * INCH
    pdf_document = pdfium.PdfDocument(pdf)
    try:
        for number, page in enumerate(pdf_document):
            left, _, _, top = page.get_trimbox()
            drawn = []
            for obj in page.get_objects(max_depth=0):
                x0, y0, x1, y1 = obj.get_bounds()
                tall = (y1 - y0) > 0.8 * panel_height  # a panel's background
                if obj.type in (2, 3, 5) and not tall and not _is_white(obj):
                    drawn.append((obj.type, x0 - left, x1 - left, top - y1, top - y0))
            found += [(number, x0, x1, bottom) for _, x0, x1, _, bottom
                      in _without_repeated_marks(drawn)]
    finally:
        pdf_document.close()
    return found


def _without_repeated_marks(drawn: list[tuple]) -> list[tuple]:
    """Without a picture drawn at the same height in three panels or more: a mark
    behind the content (the SAMPLE of a press file made from placeholder details),
    not content."""
    def band(item):
        return item[0], round(item[3]), round(item[4])
    counts: dict[tuple, int] = {}
    for item in drawn:
        if item[0] == 5:
            counts[band(item)] = counts.get(band(item), 0) + 1
    return [item for item in drawn if item[0] != 5 or counts[band(item)] < 3]


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


def _reading_page_fill(findings: LayoutFindings, body: list[int],
                       drawings: list[tuple[int, float, float, float, float]],
                       laid_out) -> None:
    """READING-PAGE-FILL: how far down its content area each page's lowest line or
    drawing reaches (the web page has no pages; the print layouts have their own
    panel and column rules)."""
    areas = [_content_area(page) for page in laid_out.pages]
    lowest: dict[int, float] = {}
    for index in body:
        line = findings.lines[index]
        lowest[line.page] = max(lowest.get(line.page, 0.0), line.bottom)
    for page, _, _, top, bottom in drawings:
        if page < len(areas) and top < areas[page][1]:
            lowest[page] = max(lowest.get(page, 0.0), min(bottom, areas[page][1]))
    for page, (top, bottom) in enumerate(areas[:-1]):
        fill = max(lowest.get(page, top) - top, 0.0) / (bottom - top)
        if fill < READING_PAGE_MIN:
            findings.failures.append(
                f"{READING_PAGE_FILL}: page {page + 1} of {len(areas)} is {fill:.0%} full, "
                f"under the {READING_PAGE_MIN:.0%} a page before the last must be; "
                f"{_pushed_on(findings, page + 1)}")


def _content_area(page) -> tuple[float, float]:
    """(top, bottom) of a laid-out page's content area, in points from its top edge."""
    box = page._page_box
    top = box.content_box_y()
    return top * INCH / CSS_PX_PER_INCH, (top + box.height) * INCH / CSS_PX_PER_INCH


def _pushed_on(findings: LayoutFindings, page: int) -> str:
    """What to do, naming the section that starts the next page (kept whole, it did
    not fit under the page before)."""
    first = min((heading for heading in findings.headings
                 if findings.lines[heading.lines[0]].page == page),
                key=lambda heading: findings.lines[heading.lines[0]].top, default=None)
    if first is None:
        return "shorten what the next page starts with, or what comes before it"
    return (f"the next page starts with '{first.title}': shorten it or what comes before "
            "it, or move a section, so that it fits under this page's text")


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
                        f"{document.profile.safe_margin_in:g} in clear [LAYOUT-EDGE]")
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
                    f"{variant.min_heading_pt:g} pt minimum for {variant.name} [LAYOUT-LARGE-PRINT]")
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
                f"{variant.min_write_line_in:g} in minimum for {variant.name} [LAYOUT-LARGE-PRINT]")
    for page, left, bottom, width in lines:
        below = [b for p, l, b, w in lines if p == page and b > bottom + 0.001
                 and l < left + width and left < l + w]  # the next line under this one
        gap = min(below, default=bottom + 99) - bottom
        if gap < variant.min_write_gap_in - 0.01:
            findings.failures.append(
                f"two write-in lines on page {page + 1} are {gap:.2f} in apart, closer than "
                f"the {variant.min_write_gap_in:g} in minimum for {variant.name} "
                "[LAYOUT-LARGE-PRINT]")


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
            f"{FOLD_CLEARANCE_IN:g} in clear of the folds [PRESS-FOLD]")


# --- typesetting -------------------------------------------------------------------
# Measured on the lines PDFium reads back, in every profile and language. A line
# continues the one before it (a paragraph's next line) when it starts at the same
# edge, in the same size, one line's leading below.

SOFT_HYPHEN_MARK = "\x02"  # PDFium's code for the hyphen a line break added
HYPHEN_ENDS = ("-", "\u2010", "\u00ad", SOFT_HYPHEN_MARK)
BOXED_TYPES = ("key-points", "call-clinic", "call-911")


def _continues_paragraph(first: Line, second: Line) -> bool:
    if first.page != second.page or abs(first.size - second.size) > 0.3:
        return False
    leading = second.baseline - first.baseline
    aligned = abs(first.x0 - second.x0) < 1.5 or abs(first.x1 - second.x1) < 1.5
    return aligned and 0.8 * first.size < leading < 1.75 * first.size


def _typesetting(findings: LayoutFindings, document: Document, laid_out,
                 body: list[int]) -> None:
    lines = findings.lines
    in_heading = {i for heading in findings.headings for i in heading.lines}
    pairs = [(a, b) for a, b in zip(body, body[1:])
             if _continues_paragraph(lines[a], lines[b])]
    _kept_whole(findings, document, pairs, _line_measures(laid_out))
    _hyphenated_ends(findings, document, laid_out, pairs, in_heading)
    _short_lines(findings, body, pairs, in_heading)
    if document.profile.writer != "web":  # a browser sets the web page's lines
        _early_breaks(findings, laid_out)


def _kept_whole(findings: LayoutFindings, document: Document, pairs, measures) -> None:
    from .typesetting import LINK_KINDS, allowed_break, broken_across

    lines, reported = findings.lines, set()
    web = document.profile.writer == "web"  # reflows on a phone: an address may wrap
    for a, b in pairs:
        for kind, text in broken_across(lines[a].text, lines[b].text, document.language):
            if (lines[a].page, text) in reported or (web and kind in LINK_KINDS) or (
                    allowed_break(kind, lines[a].text)
                    and _too_wide(text, lines[a], lines[b], _measure(measures, lines[a]))):
                continue
            reported.add((lines[a].page, text))
            findings.failures.append(
                f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}, '{text}', is broken over two "
                f"lines on page {lines[a].page + 1} "
                f"('{lines[a].text[-20:].replace(SOFT_HYPHEN_MARK, '-')}' / "
                f"'{lines[b].text[:20]}'); keep it on one line [TYPESET-KEEP-WHOLE]")


def _line_measures(laid_out) -> list[tuple[int, float, float, float, float]]:
    """(page, top, bottom, left, measure) of every line WeasyPrint set, in points from
    the trim's top-left: the measure is the width of the block the line is set in."""
    measures = []
    for number, box, parent in page_boxes(laid_out):
        if type(box).__name__ != "LineBox" or not getattr(parent, "width", None):
            continue
        top = box.position_y * PT_PER_PX
        measures.append((number, top, top + box.height * PT_PER_PX,
                         parent.content_box_x() * PT_PER_PX, parent.width * PT_PER_PX))
    return measures


def _measure(measures, line: Line) -> float:
    """The measure of the block a line of the PDF was set in (the two lines of a run
    broken over them alone are narrower than their column: it would not have broken);
    the line's own width if no laid-out line matches it."""
    middle = (line.top + line.bottom) / 2
    widths = [width for page, top, bottom, left, width in measures
              if page == line.page and top <= middle <= bottom
              and left - Y_TOLERANCE_PT <= line.x0 <= left + width]
    return min(widths, default=line.x1 - line.x0)


def _too_wide(text: str, first: Line, second: Line, measure: float) -> bool:
    """Whether a run is wider than its column: then it cannot stay on one line. Its
    width is estimated from the lines' own letters."""
    per_char = max((line.x1 - line.x0) / max(len(line.text), 1) for line in (first, second))
    return len(text) * per_char > 0.97 * measure


def _hyphenated(line: Line) -> bool:
    return line.text.endswith(HYPHEN_ENDS)


def _broken_word(first: Line, second: Line) -> str:
    head = first.text.split()[-1].rstrip("".join(HYPHEN_ENDS))
    return f"{head}-{second.text.split()[0]}" if second.text.split() else head


def _hyphenated_ends(findings: LayoutFindings, document: Document, laid_out,
                     pairs, in_heading: set[int]) -> None:
    lines = findings.lines
    boxes = _boxed_sections(document, laid_out)
    per_page: dict[int, list[str]] = {}
    for a, b in pairs:
        if not _hyphenated(lines[a]):
            continue
        word = _broken_word(lines[a], lines[b])
        per_page.setdefault(lines[a].page, []).append(word)
        owner = next((section for section, box in boxes if _inside(lines[a], box)), None)
        if a in in_heading or owner is not None:
            where = (f"the heading '{_heading_of(findings, a)}'" if a in in_heading else
                     f"the {'key points' if owner.type == 'key-points' else 'help box'} "
                     f"'{owner.title}'")
            findings.failures.append(
                f"'{word}' is hyphenated at a line end in {where} (page "
                f"{lines[a].page + 1}); reword it so no word breaks there "
                "[TYPESET-HYPHEN-PLACE]")
    limit = TYPESETTING.max_hyphenated_ends_per_page
    for page, words in sorted(per_page.items()):
        if len(words) > limit:
            findings.failures.append(
                f"page {page + 1} has {len(words)} hyphenated line ends "
                f"({', '.join(words[:6])}); at most {limit}: reword or shorten the lines "
                "around them [TYPESET-HYPHENS-PAGE]")


def _boxed_sections(document: Document, laid_out):
    """(section, (page, x0, x1, top, bottom)) of the key points and the help boxes, in
    points from the trim's top-left: their border boxes as WeasyPrint laid them out
    (the geometry it drew into the PDF), one per page a box runs over."""
    wanted = {f"section-{section.id}": section for section in document.sections
              if section.type in BOXED_TYPES}
    found = []
    for number, box, _ in page_boxes(laid_out):
        element = getattr(box, "element", None)
        section = wanted.get(element.get("id") or "") if element is not None else None
        if section is None or getattr(box, "height", None) is None:
            continue
        x0, top = box.border_box_x() * PT_PER_PX, box.border_box_y() * PT_PER_PX
        found.append((section, (number, x0, x0 + box.border_width() * PT_PER_PX, top,
                                top + box.border_height() * PT_PER_PX)))
    return found


def _inside(line: Line, box) -> bool:
    page, x0, x1, top, bottom = box
    return line.page == page and x0 <= line.x0 and line.x1 <= x1 + 1 and \
        top <= line.top and line.bottom <= bottom


def _heading_of(findings: LayoutFindings, index: int) -> str:
    return next(heading.title for heading in findings.headings if index in heading.lines)


# Scripts written without spaces between words (a notice line in Thai or Lao): what
# PDFium reads as a "word" there is a phrase, and lines break between syllables, so a
# short "word" alone on a line is not the defect the rule is about.
UNSPACED_SCRIPTS = ("THAI", "LAO", "KHMER", "MYANMAR", "CJK", "HIRAGANA", "KATAKANA",
                    "HANGUL", "TIBETAN")


def _unspaced(word: str) -> bool:
    return any(unicodedata.name(char, "").startswith(UNSPACED_SCRIPTS) for char in word)


def _short_lines(findings: LayoutFindings, body: list[int], pairs,
                 in_heading: set[int]) -> None:
    """A paragraph's line holding one short word: after a line that does not end a
    sentence, or before the paragraph's next line."""
    lines = findings.lines
    follows = {b: a for a, b in pairs}
    leads = {a for a, _ in pairs}
    longest = TYPESETTING.short_word_max_chars
    for index in body:
        line = lines[index]
        if index in in_heading or len(line.words) != 1 or _unspaced(line.words[0]):
            continue
        letters = sum(char.isalnum() for char in line.words[0])
        before = follows.get(index)
        mid_sentence = before is not None and not lines[before].text.rstrip().endswith(
            (".", ":", "!", "?", "\u3002"))
        if letters <= longest and (mid_sentence or index in leads):
            findings.failures.append(
                f"'{line.text}' stands alone on a line (page {line.page + 1}, after "
                f"'{lines[before].text[-25:] if before is not None else ''}'); reword the "
                "sentence so no line holds one short word [TYPESET-SHORT-LINE]")


def _early_breaks(findings: LayoutFindings, laid_out) -> None:
    from .line_breaks import early_breaks

    for broken in early_breaks(laid_out):
        findings.failures.append(
            f"a line breaks early on page {broken.page + 1}: '{broken.ends[-30:]}' / "
            f"'{broken.next_word}', which would fit on the line before; reword the "
            "sentence or shorten what follows it (a phone number, date or address may "
            "not break, so the words bound to it go first) [TYPESET-EARLY-BREAK]")


# --- a draft's banner ----------------------------------------------------------------

def _mark_lines(document: Document, lines: list[Line]) -> set[int]:
    """The lines of a draft's or an out-of-date translation's banner."""
    from .render_html import language_context

    marks = language_context(document, ())["marks"]
    if not marks:
        return set()
    whole = _norm(" ".join(marks))
    return {index for index, line in enumerate(lines)
            if len(line.text) >= 6 and _norm(line.text) in whole}


MARK_FRAME_PT = (8.0, 2.0)  # the banner's padding and frame around its words (x, y)


def _stamp_clear(findings: LayoutFindings, marks: set[int], drawings, page_sizes) -> None:
    """The banner must not cover anything: no other text and no drawing but its own
    frame (a page's or panel's background behind it is not covered)."""
    lines = findings.lines
    for index in sorted(marks):
        mark = lines[index]
        x0, x1 = mark.x0 - MARK_FRAME_PT[0], mark.x1 + MARK_FRAME_PT[0]
        top, bottom = mark.top - MARK_FRAME_PT[1], mark.bottom + MARK_FRAME_PT[1]
        covered = [f"'{line.text[:30]}'" for i, line in enumerate(lines)
                   if i not in marks and line.page == mark.page and line.x0 < x1
                   and x0 < line.x1 and line.top < bottom and top < line.bottom]
        height = page_sizes[mark.page][1]
        covered += ["a drawing" for page, dx0, dx1, dtop, dbottom in drawings
                    if page == mark.page and dx0 < x1 and x0 < dx1 and dtop < bottom
                    and top < dbottom and dbottom - dtop < 0.5 * height
                    and not (x0 <= dx0 and dx1 <= x1 and top <= dtop and dbottom <= bottom)]
        if covered:
            findings.failures.append(
                f"the banner '{mark.text[:40]}' (page {mark.page + 1}) is printed over "
                f"{covered[0]}; it must overlap nothing [TYPESET-STAMP-CLEAR]")
