"""Reading rendered PDFs back: text, fonts, positions and metadata (and a web
edition's page as text, for tests that read every document)."""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser
from pathlib import Path

from pypdf import PdfReader
from pypdf.generic import DictionaryObject, IndirectObject

POINTS_PER_INCH = 72


def _version(path: Path) -> tuple[str, int, int]:
    """A file as it is now: a rewritten file is read again, never served from memory."""
    stat = Path(path).stat()
    return str(path), stat.st_mtime_ns, stat.st_size


def text_of(path: Path) -> str:
    """All page text with whitespace folded, so line breaks do not matter."""
    return _text_of(_version(path))


# Many tests read the same built PDFs; pypdf's text extraction is the slow part.
@functools.lru_cache(maxsize=256)
def _text_of(version: tuple[str, int, int]) -> str:
    reader = PdfReader(version[0])
    return squash(" ".join(page.extract_text() for page in reader.pages))


class _VisibleText(HTMLParser):
    """The text a browser shows: not styles, scripts or the window title."""

    HIDDEN = ("style", "script", "title")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in self.HIDDEN

    def handle_endtag(self, tag):
        self.hidden -= tag in self.HIDDEN

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def text_of_file(path: Path) -> str:
    """A PDF's text, or a web page's visible text, whitespace folded."""
    if path.suffix == ".pdf":
        return text_of(path)
    parser = _VisibleText()
    parser.feed(path.read_text(encoding="utf-8"))
    return squash(" ".join(parser.parts))


def lang_of_file(path: Path) -> str:
    """The PDF's /Lang, or the web page's <html lang>."""
    if path.suffix == ".pdf":
        return str(PdfReader(path).trailer["/Root"]["/Lang"])
    return re.search(r'<html lang="([^"]+)"', path.read_text(encoding="utf-8"))[1]


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00ad", "")).strip()


def unhyphenate(text: str) -> str:
    """Text with words hyphenated across lines (hyphens: auto) joined again."""
    return re.sub(r"(\w)[\u2010\u00ad\ufffe-] (?=[a-záéíóúñü])", r"\1", text)


def _resolve(obj):
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def fonts_of(path: Path) -> dict[str, bool]:
    """Every font used on any page or inside a form XObject, and whether it is embedded."""
    return dict(_fonts_of(_version(path)))


@functools.lru_cache(maxsize=256)
def _fonts_of(version: tuple[str, int, int]) -> tuple[tuple[str, bool], ...]:
    found: dict[str, bool] = {}
    for page in PdfReader(version[0]).pages:
        _collect_fonts(_resolve(page.get("/Resources")), found, set())
    return tuple(found.items())


def _collect_fonts(resources, found: dict[str, bool], seen: set[int]) -> None:
    if not isinstance(resources, DictionaryObject) or id(resources) in seen:
        return
    seen.add(id(resources))
    for font in (_resolve(resources.get("/Font")) or {}).values():
        font = _resolve(font)
        descriptor_owner = font
        if font.get("/Subtype") == "/Type0":
            descriptor_owner = _resolve(font["/DescendantFonts"][0])
        descriptor = _resolve(descriptor_owner.get("/FontDescriptor")) or {}
        embedded = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
        found[str(font.get("/BaseFont"))] = embedded
    for xobject in (_resolve(resources.get("/XObject")) or {}).values():
        _collect_fonts(_resolve(_resolve(xobject).get("/Resources")), found, seen)


def font_dicts(path: Path) -> list[DictionaryObject]:
    """Every font dictionary of the file: on its pages and inside their form XObjects
    (where a discharge batch stamps the patient's details, clinicprint/stamp.py)."""
    fonts: dict[int, DictionaryObject] = {}

    def visit(resources, seen: set[int]) -> None:
        if not isinstance(resources, DictionaryObject) or id(resources) in seen:
            return
        seen.add(id(resources))
        for font in (_resolve(resources.get("/Font")) or {}).values():
            fonts.setdefault(id(_resolve(font)), _resolve(font))
        for xobject in (_resolve(resources.get("/XObject")) or {}).values():
            visit(_resolve(_resolve(xobject).get("/Resources")), seen)

    seen: set[int] = set()
    for page in PdfReader(path).pages:
        visit(_resolve(page.get("/Resources")), seen)
    return list(fonts.values())


def page_sizes_in(path: Path) -> list[tuple[float, float]]:
    return [(round(float(page.mediabox.width) / POINTS_PER_INCH, 3),
             round(float(page.mediabox.height) / POINTS_PER_INCH, 3))
            for page in PdfReader(path).pages]


def words_with_x(path: Path, page_number: int) -> list[tuple[str, float]]:
    """Text fragments on one page with their x position in inches."""
    fragments: list[tuple[str, float]] = []

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip():
            x = tm[4] * cm[0] + cm[4]
            fragments.append((text.strip(), x / POINTS_PER_INCH))

    PdfReader(path).pages[page_number].extract_text(visitor_text=visit)
    return fragments


def page_texts(pdf: Path | bytes) -> list[str]:
    """Each page's text as PDFium (Chrome's PDF engine) reads it: a file or its bytes."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf) if isinstance(pdf, Path) else pdf)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def sample_mark_by_third(pdf: Path, page: int = 0) -> list[int]:
    """Pixels of the SAMPLE mark's light red in each third of a page (its panels)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        picture = document[page].render(scale=20 / 72).to_pil().convert("RGB")
    finally:
        document.close()
    width, height = picture.size
    counts = [0, 0, 0]
    data = picture.tobytes()  # RGB, row by row (getdata is deprecated in Pillow 12)
    for index, (red, green, blue) in enumerate(zip(data[0::3], data[1::3], data[2::3])):
        if red > 220 and red - green > 25 and abs(green - blue) < 15:
            counts[min(2, (index % width) * 3 // width)] += 1
    return counts
