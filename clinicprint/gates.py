"""Quality gates for patient materials, measured on the real document.

Reading level, print size, contrast, required sections, medical review and
plain words. Each gate reads what the patient will get: the prose of the
rendered HTML, font sizes from the PDF itself, colours from the laid-out boxes.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from .content import SECTION_TYPES, Project
from .layouts import KINDS
from .merge import Document

REVIEW_WARNING_DAYS = 30
FOOTER_STRIP_PT = 0.75 * 72  # text this close to the bottom edge is footer text
# Text outside the reading flow: contact details, labels, footers.
NOT_PROSE = {"contact-list", "write-in", "running-footer", "panel-footer", "call-number",
             "contact-web", "masthead__clinic", "cover-brand", "clinic-name", "schedule",
             "cover-tagline", "translation-mark", "language-help",
             # the reading edition (templates/reading.html)
             "contacts", "on-paper", "page-end"}


@dataclass
class GateReport:
    document: Document
    grade: float | None = None
    smallest_body: tuple[float, str] | None = None
    smallest_footer: tuple[float, str] | None = None
    lowest_contrast: tuple[float, str] | None = None
    missing: list[str] = field(default_factory=list)
    review: str = ""
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The layout gate's advice for a designer (a panel under 70 % full, a word alone
    # mid-paragraph): shown on the proof page and kept in the manifest, not printed
    # by build, since a short valid handout is not a problem.
    panels: dict[str, float] = field(default_factory=dict)
    layout_notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> dict:
        """Plain measurements for the manifest and the proof page."""
        return {
            "grade": self.grade,
            "grade_max": reading_target(self.document)[1],
            "reading_formula": reading_target(self.document)[0],
            "lang": self.document.language.code,
            "body_pt": self.smallest_body[0] if self.smallest_body else None,
            "footer_pt": self.smallest_footer[0] if self.smallest_footer else None,
            "contrast": round(self.lowest_contrast[0], 2) if self.lowest_contrast else None,
            "missing": self.missing,
            "review": self.review,
            "passed": self.passed,
            "panels": self.panels,
            "layout_notes": self.layout_notes,
        }

    def reading_text(self) -> str:
        """The reading measure against its target, e.g. '6.1 / 8' or 'FH 72.4 / >=70'."""
        formula, target = reading_target(self.document)
        if self.grade is None:
            return "-"
        if formula == "flesch-kincaid-grade":
            return f"{self.grade:.1f} / {target:g}"
        short = "".join(word[0].upper() for word in formula.split("-"))
        return f"{short} {self.grade:.1f} / >={target:g}"

    def fail(self, message: str) -> None:
        self.failures.append(f"{self.document.label}: {message}")

    def warn(self, message: str) -> None:
        self.warnings.append(f"{self.document.label}: {message}")


def run_gates(document: Document, project: Project, html: str, laid_out, pdf: bytes,
              today: dt.date, allow_expired: bool = False,
              reading: bool = True, layout=None) -> GateReport:
    """Every gate; with reading=False the caller runs reading_level() itself later
    (a parallel build does it in the parent while the workers render). `layout`: the
    layout gate's findings on this very layout, if they were measured already."""
    report = GateReport(document)
    runs = text_sizes(pdf)  # one pass over the PDF serves two gates
    if reading:
        reading_level(report, prose_of(html))
    findings = _layout(report, html, laid_out, pdf, layout)
    _print_size(report, runs, _marks(document), _heading_sizes(findings))
    _contrast(report, laid_out)
    _required_sections(report, project, " ".join(text for _, _, text in runs))
    medical_review(report, today, allow_expired)
    _plain_words(report, project)
    return report


def _layout(report: GateReport, html: str, laid_out, pdf: bytes, findings=None):
    from .layout_gate import check_layout_quality

    if findings is None:
        findings = check_layout_quality(report.document, html, laid_out, pdf)
    for message in findings.failures:
        report.fail(message)
    for message in findings.warnings:
        report.warn(message)
    report.panels = findings.panel_fullness
    report.layout_notes = findings.advice
    return findings


def _heading_sizes(findings) -> list[tuple[float, str]]:
    """(size, text) of every section heading the layout gate found in the PDF."""
    return [(min(findings.lines[i].size for i in heading.lines), heading.title)
            for heading in findings.headings if heading.level > 1]


# --- 1. reading level ------------------------------------------------------

class _Prose(HTMLParser):
    """Collects the sentences of paragraphs and list items, skipping labels."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.blocks: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("img", "br", "meta", "link"):
            return
        classes = set((dict(attrs).get("class") or "").split())
        skip = bool(classes & NOT_PROSE) or tag in ("head", "h1", "h2", "h3", "figcaption")
        self.stack.append((tag, skip or (self.stack[-1][1] if self.stack else False)))
        if tag in ("p", "li") and not self.stack[-1][1]:
            self.blocks.append([])

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if self.stack and not self.stack[-1][1] and self.blocks:
            self.blocks[-1].append(data)


def prose_of(html: str) -> str:
    parser = _Prose()
    parser.feed(html)
    sentences = []
    for block in parser.blocks:
        text = re.sub(r"\s+", " ", "".join(block)).strip()
        if text:
            # A list item is read as a sentence even without a full stop.
            sentences.append(text if text[-1] in ".?!:" else text + ".")
    return " ".join(sentences)


def reading_target(document: Document) -> tuple[str, float]:
    """The document's reading formula and its target for the variant: English grade
    maxima live in variants.yaml, other languages' targets in languages.yaml."""
    reading = document.language.reading
    target = reading.targets.get(document.variant.name, document.variant.reading_grade_max)
    return reading.formula, target


def reading_level(report: GateReport, prose: str) -> None:
    formula, target = reading_target(report.document)
    if formula != "flesch-kincaid-grade":
        return _reading_ease(report, prose, formula, target)
    import textstat

    from .syllables import use_syllable_counts

    use_syllable_counts()
    report.grade = round(textstat.flesch_kincaid_grade(prose), 1) if prose else 0.0
    if report.grade > target:
        report.fail(f"reading grade {report.grade} is above the target {target:g} for "
                    f"{report.document.variant.name}; use shorter sentences and words")


def _reading_ease(report: GateReport, prose: str, formula: str, target: float) -> None:
    """Spanish (and other) ease scores: 0-100, higher is easier, with syllables counted
    by the language's own pyphen dictionary (textstat's backend takes the language
    per call, so English and Spanish documents can be measured in one process)."""
    from textstat.backend import metrics

    language = report.document.language
    measure = getattr(metrics, formula.replace("-", "_"))
    report.grade = round(measure(prose, language.hyphenation), 1) if prose else 100.0
    if report.grade < target:
        report.fail(f"reading ease ({formula}) {report.grade} is below the target "
                    f"{target:g} for {report.document.variant.name} in {language.name}; use "
                    "shorter sentences and words")


# --- 2. print size ---------------------------------------------------------

def text_sizes(pdf: bytes) -> list[tuple[float, float, str]]:
    """(size in pt, height above the trim bottom in pt, text) of every run of text.

    PDFium (Chrome's PDF engine) reads the PDF back; each character's size is its
    font size times the scale of its full matrix, so text inside SVG artwork (form
    XObjects) is measured at its printed size too."""
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    runs: list[tuple[float, float, str]] = []
    matrix, x, y = raw.FS_MATRIX(), ctypes.c_double(), ctypes.c_double()
    document = pdfium.PdfDocument(pdf)
    try:
        for page in document:
            bottom = page.get_trimbox()[1]  # press pages: measure from the trim edge
            text_page = page.get_textpage()
            last = None
            for index in range(text_page.count_chars()):
                # A subset font may map spaces and no-break spaces to one glyph.
                char = chr(raw.FPDFText_GetUnicode(text_page.raw, index)).replace(
                    "\u00a0", " ")
                if raw.FPDFText_IsGenerated(text_page.raw, index) or char in "\r\n":
                    last = None
                    continue
                raw.FPDFText_GetMatrix(text_page.raw, index, ctypes.byref(matrix))
                raw.FPDFText_GetCharOrigin(text_page.raw, index, ctypes.byref(x),
                                           ctypes.byref(y))
                scale = math.sqrt(abs(matrix.a * matrix.d - matrix.b * matrix.c))
                key = (round(raw.FPDFText_GetFontSize(text_page.raw, index) * scale, 2),
                       round(y.value - bottom, 1))
                if key == last:
                    runs[-1] = (*key, runs[-1][2] + char)
                else:
                    runs.append((*key, char))
                last = key
    finally:
        document.close()
    return [(size, height, text.strip()) for size, height, text in runs if text.strip()]


# Print size: each variant's targets are in variants.yaml, beside the guidance they
# come from. Each finding names its rule.
PRINT_RULES = {
    "PRINT-BODY": "body text, the language-assistance notice included, at least the "
                  "variant's min_body_pt",
    "PRINT-FOOTER": "footer text and a translation's draft banner at least min_footer_pt",
    "PRINT-HEADING": "section headings at least min_heading_ratio times the size most "
                     "body text is set in",
}


def _print_size(report: GateReport, runs: list[tuple[float, float, str]],
                marks: list[str] = (), headings: list[tuple[float, str]] = ()) -> None:
    """Footer text may be smaller than body text; so may a translation's draft banner,
    held to the footer minimum wherever it is printed. The language-assistance notice
    is body text: a reader who needs it must be able to read it."""
    variant = report.document.variant
    body, footer = [], []
    marks = [_unspaced(line) for line in marks]
    for size, height, text in runs:
        mark = len(text) >= 3 and any(_unspaced(text) in line for line in marks)
        (footer if height < FOOTER_STRIP_PT or mark else body).append((size, text))
    report.smallest_body = min(body, default=None)
    report.smallest_footer = min(footer, default=None)
    for found, minimum, what, rule in (
            (report.smallest_body, variant.min_body_pt, "body text", "PRINT-BODY"),
            (report.smallest_footer, variant.min_footer_pt, "footer", "PRINT-FOOTER")):
        if found and found[0] < minimum - 0.05:
            report.fail(f"{what} '{found[1][:40]}' is {found[0]:g} pt, below the "
                        f"{minimum:g} pt minimum for {variant.name}; make it larger [{rule}]")
    _heading_size(report, body, headings)


def body_size(body: list[tuple[float, str]]) -> float | None:
    """The size most of the body text is set in (counted in characters)."""
    weight: dict[float, int] = {}
    for size, text in body:
        weight[size] = weight.get(size, 0) + len(text)
    return max(weight, key=lambda size: (weight[size], -size), default=None)


def _heading_size(report: GateReport, body: list[tuple[float, str]],
                  headings: list[tuple[float, str]]) -> None:
    """Headings clearly larger than the text they head: min_heading_ratio times the
    size most body text is set in (the layout gate holds them to min_heading_pt)."""
    variant = report.document.variant
    text_size = body_size(body)
    if not variant.min_heading_ratio or not text_size:
        return
    wanted = text_size * variant.min_heading_ratio
    for size, title in headings:
        if size < wanted - 0.05:
            report.fail(f"heading '{title[:40]}' is {size:.1f} pt, below {wanted:.1f} pt "
                        f"({variant.min_heading_ratio:g} x the {text_size:g} pt body text) "
                        f"for {variant.name}; make it larger [PRINT-HEADING]")
            return


def _marks(document: Document) -> list[str]:
    """The draft and out-of-date banners: held to the footer minimum."""
    from .render_html import language_context

    return language_context(document, ())["marks"]


def _unspaced(text: str) -> str:
    """Without spaces or the notice's separators, so its printed lines can be found."""
    return re.sub(r"[\s\u00b7]+", "", text)


# --- 3. contrast -----------------------------------------------------------

def _srgb(colour) -> tuple[float, float, float] | None:
    if colour is None or colour.alpha == 0:
        return None
    if colour.space == "device-cmyk":
        c, m, y, k = colour.coordinates
        return ((1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k))
    return tuple(colour.to("srgb").coordinates)


def _luminance(rgb: tuple[float, float, float]) -> float:
    linear = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first, second) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_contrasts(laid_out) -> list[tuple[float, str]]:
    """WCAG 2 contrast of every text box against the nearest background behind it."""
    found: list[tuple[float, str]] = []

    def walk(box, background):
        own = _srgb(box.style["background_color"]) if hasattr(box, "style") else None
        background = own or background
        text = getattr(box, "text", "")
        if text.strip():
            found.append((contrast_ratio(_srgb(box.style["color"]), background),
                          text.strip()))
        for child in getattr(box, "children", ()):
            walk(child, background)

    for page in laid_out.pages:
        # WeasyPrint exposes no public box tree; `_page_box` has been stable for years.
        walk(page._page_box, (1.0, 1.0, 1.0))
    return found


def _contrast(report: GateReport, laid_out) -> None:
    contrasts = text_contrasts(laid_out)
    report.lowest_contrast = min(contrasts, default=None)
    minimum = report.document.variant.min_contrast
    if report.lowest_contrast and report.lowest_contrast[0] < minimum:
        ratio, text = report.lowest_contrast
        report.fail(f"text '{text[:40]}' has contrast {ratio:.1f}:1, below {minimum:g}:1; "
                    "use a darker text colour or a lighter background")


# --- 4. required sections --------------------------------------------------

def _required_sections(report: GateReport, project: Project, text: str) -> None:
    document = report.document
    # A required section type (the call-911 box) must be there as that type; a
    # section that keeps the id but changes its type does not count.
    types, ids = {s.type for s in document.sections}, {s.id for s in document.sections}
    report.missing = [name for name in KINDS[document.handout.kind].required_sections
                      if name not in (types if name in SECTION_TYPES else ids)]
    if project.brand.phone not in text:
        report.missing.append("clinic contact")
    if document.handout.document_code not in text:
        report.missing.append("document code")
    # Detected in the document's own words: each required section's heading, as
    # translated, must be in the PDF's text.
    printed = _folded(text)
    for section in document.sections:
        required = KINDS[document.handout.kind].required_sections
        if (section.id in required or section.type in required) and \
                _folded(section.title) not in printed:
            report.missing.append(f"{section.id} (heading '{section.title}' not found in "
                                  "the PDF)")
    for name in report.missing:
        report.fail(f"required section '{name}' is missing; restore it in "
                    f"{document.handout.path.name}")


# --- 5. medical review -----------------------------------------------------

def medical_review(report: GateReport, today: dt.date, allow_expired: bool) -> None:
    review = report.document.handout.review
    days = (review.next_review - today).days
    report.review = f"due {review.next_review.isoformat()}"
    if days < 0:
        report.review = f"EXPIRED {review.next_review.isoformat()}"
        message = (f"medical review expired on {review.next_review.isoformat()} (approved "
                   f"by {review.approved_by}); have it reviewed and update review: in "
                   f"{report.document.handout.path.name}")
        if allow_expired:
            report.warn(f"{message} [allowed by --allow-expired]")
        else:
            report.fail(message)
    elif days <= REVIEW_WARNING_DAYS:
        report.review = f"due in {days} days"
        report.warn(f"medical review is due on {review.next_review.isoformat()}, in "
                    f"{days} days")


# --- 6. plain words --------------------------------------------------------

def _section_texts(document: Document):
    yield "title", " ".join((document.title, document.subtitle, document.summary))
    for section in document.sections:
        parts = [section.title, section.body, *section.items]
        if section.figure:
            parts += [section.figure.alt, section.figure.caption]
        parts += [icon.alt for icon in section.icons]
        yield f"section '{section.id}'", " ".join(parts)


def _folded(text: str) -> str:
    """Text to compare headings by: no soft hyphens or hyphenated line ends, one space."""
    return re.sub(r"\s+", "", text.replace("\u00ad", "").replace("-", "")).lower()


def _plain_words(report: GateReport, project: Project) -> None:
    document = report.document
    allowed = set(document.handout.allowed_terms)
    words = project.plain_words_by_lang.get(document.language.code, project.plain_words)
    for where, text in _section_texts(document):
        for term, plain in words.items():
            if term in allowed:
                continue
            if re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", text, re.IGNORECASE):
                source = (document.translation.file if document.translation is not None
                          else document.handout.path.name)
                report.fail(f"'{term}' in {where}: say \"{plain}\" instead, or explain it "
                            f"and add it to allowed_terms in {source}")
