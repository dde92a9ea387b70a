"""Render HTML to PDF with WeasyPrint, loading only files inside the project.

WeasyPrint is imported here and nowhere else, and only when a document is
actually rendered, so listing or validating content stays fast. The ways in
(_weasyprint_warnings, lay_out, _shared_font_faces) import it through
weasyprint_import.py; the helpers they call find it loaded.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import math
import os
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit

from .box_tree import page_boxes
from .colour import brand_cmyk, to_cmyk
from .content import Brand
from .errors import RenderError
from .layouts import INCH, KINDS, Profile, cmyk_profile
from .merge import Document
from .weasyprint_import import import_weasyprint

STYLE_BLOCK = re.compile(r"<style\b.*?</style>", re.DOTALL | re.IGNORECASE)
PANEL_END = "end-{}"      # sentinel after a panel's last line of content
PANEL_LIMIT = "limit-{}"  # sentinel at the lowest point content may reach
OVERFLOW_TOLERANCE_PX = 0.5
CSS_PX_PER_INCH = 96


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    pages: int
    warnings: tuple[str, ...] = ()
    layout: object = None  # WeasyPrint's laid-out Document, for the quality gates
    inputs: tuple[str, ...] = ()  # files loaded while rendering, relative to the project
    layout_problems: tuple[str, ...] = ()  # written anyway without layout checks


@functools.lru_cache(maxsize=1)
def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class ProjectFetcher(URLFetcher):
        """Serves files inside the project folder; refuses the network and everything else."""

        def __init__(self, root: Path, also: tuple[Path, ...] = (), recolour=None):
            super().__init__(fail_on_errors=True)
            self.root = root.resolve()
            self.also = {path.resolve() for path in also}
            self.recolour = recolour
            self.refused: list[str] = []
            self.loaded: set[Path] = set()

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                # Inline data reaches neither the file system nor the network.
                return super().fetch(url, headers)
            try:
                path = resolve_project_url(url, self.root, self.also)
            except PermissionError as exc:
                self.refused.append(str(exc))
                raise
            self.loaded.add(path)
            body = path.read_bytes()
            if self.recolour and path.suffix in (".css", ".svg"):
                body = self.recolour(body.decode("utf-8")).encode("utf-8")
            return URLFetcherResponse(url, body=body, headers={"Content-Type": _mime_type(path)})

    return ProjectFetcher


def resolve_project_url(url: str, root: Path, also: set[Path] | tuple = ()) -> Path:
    """Map a file: URL to a file inside `root` (or one of the named system files
    in `also`, such as the press ICC profile), or raise PermissionError saying why."""
    parts = urlsplit(url)
    if parts.scheme != "file":
        raise PermissionError(f"refused to load '{url}': only files inside the project "
                              "are loaded (no network, no other schemes)")
    if parts.netloc not in ("", "localhost"):
        raise PermissionError(f"refused to load '{url}': remote file hosts are not allowed")
    path = Path(unquote(parts.path)).resolve()
    if path in also:
        return path
    if not path.is_relative_to(root):
        raise PermissionError(f"refused to load '{url}': it is outside the project folder "
                              f"{root}")
    if not path.is_file():
        raise PermissionError(f"refused to load '{url}': no such file in the project")
    return path


def _mime_type(path: Path) -> str:
    return {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png",
            ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".woff": "font/woff",
            ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
            ".icc": "application/vnd.iccprofile"}.get(path.suffix.lower(),
                                                     "application/octet-stream")


class _CollectWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # Only a note about which subsetting library embeds the fonts: the fonts
        # are embedded either way, so it is not a problem with the document.
        if "HarfBuzz-Subset" not in message and message not in self.messages:
            self.messages.append(message)


@contextmanager
def _weasyprint_warnings() -> Iterator[list[str]]:
    """WeasyPrint logs problems (a bad CSS rule, a missing image) instead of raising."""
    import_weasyprint()
    from weasyprint import LOGGER

    handler = _CollectWarnings()
    LOGGER.addHandler(handler)
    propagate, LOGGER.propagate = LOGGER.propagate, False
    try:
        yield handler.messages
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.propagate = propagate


# A language-assistance line printed in a Noto font says so (templates/macros.html).
NAME_FONT_MARK = "data-name-font"


def lay_out(html: str, document: Document, root: Path, brand: Brand,
            font_faces: tuple[str, ...] = ()):
    """Lay out the pages (WeasyPrint's Document) without writing a PDF yet.
    `font_faces`: stylesheets of @font-face rules to add to styles/fonts.css."""
    import_weasyprint()
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    from .name_fonts import NAME_FONTS_CSS

    if NAME_FONT_MARK in html and NAME_FONTS_CSS not in font_faces:
        font_faces = (*font_faces, NAME_FONTS_CSS)  # a notice line in the Noto fonts

    also, recolour = (), None
    if document.profile.cmyk:
        known = brand_cmyk(brand.colours, brand.colours_cmyk)
        also, recolour = (cmyk_profile(),), functools.partial(to_cmyk, known=known)
        # Only the style block: "#101" in a patient's text is a room, not a colour.
        html = STYLE_BLOCK.sub(lambda block: recolour(block[0]), html)
    fetcher = _fetcher_class()(root, also, recolour)
    _limit_pages_laid_out()
    cache = IMAGE_CACHES[document.profile.cmyk]
    cache.used.clear()
    fonts, font_config, font_files = _shared_font_faces(root, font_faces)
    try:
        laid_out = HTML(string=html.replace(FONT_FACES_LINK, "", 1),
                        base_url=root.resolve().as_uri() + "/", url_fetcher=fetcher).render(
            stylesheets=fonts, font_config=font_config, cache=cache,
            **_pdf_options(document.profile))
        images = {Path(unquote(urlsplit(url).path)).resolve() for url in cache.used
                  if url.startswith("file:")}
        laid_out.loaded_files = _relative(fetcher.loaded | images | font_files, root)
        return laid_out
    except FatalURLFetchingError:
        reason = fetcher.refused[-1] if fetcher.refused else "a resource failed to load"
        raise RenderError(f"{document.label}: {reason}") from None
    except _TooManyPages:
        raise RenderError(f"{document.label}: more than {MAX_PAGES_LAID_OUT} pages, far "
                          "longer than a handout may be; shorten the content") from None


# A handout is at most a few pages; a runaway one is stopped here instead of being laid
# out at length (minutes and gigabytes for a few megabytes of text).
MAX_PAGES_LAID_OUT = 12


class _TooManyPages(Exception):
    pass


def _limit_pages_laid_out() -> None:
    """Wrap WeasyPrint's page generator (pinned version: layout.make_all_pages) so that
    layout stops once it passes the limit."""
    import weasyprint.layout as layout

    original = layout.make_all_pages
    if getattr(original, "limited", False):
        return

    def limited(*args, **kwargs):
        for count, page in enumerate(original(*args, **kwargs), 1):
            if count > MAX_PAGES_LAID_OUT:
                raise _TooManyPages()
            yield page

    limited.limited = True
    layout.make_all_pages = limited


FONT_FACES = "styles/fonts.css"
FONT_FACES_LINK = f'<link rel="stylesheet" href="{FONT_FACES}">'
_FONT_FACES: dict[tuple, tuple] = {}


def preload_fonts(root: Path, font_faces: tuple[str, ...] = ()) -> None:
    """Load the fonts before forking workers, so they share one copy of them."""
    _shared_font_faces(root, font_faces)


def _shared_font_faces(root: Path, extra: tuple[str, ...] = ()):
    """The @font-face rules, parsed once per process: unpacking the WOFF fonts is the
    costly part of reading the stylesheets, and every document uses the same ones.
    Keyed by the files' size and time, so `watch` picks up an edit."""
    import_weasyprint()
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    from .name_fonts import NAME_FONTS_CSS, package_font_files

    paths = [(root / name).resolve() for name in (FONT_FACES, *extra)]
    key = tuple((path, path.stat().st_size, path.stat().st_mtime_ns) for path in paths)
    if key not in _FONT_FACES:
        from weasyprint.urls import FatalURLFetchingError

        # The Noto fonts of Debian's packages that styles/name-fonts.css names are the
        # one exception to "only files inside the project" (clinicprint/name_fonts.py).
        also = package_font_files(root) if NAME_FONTS_CSS in extra else ()
        fetcher = _fetcher_class()(root, also)
        config = FontConfiguration()
        try:
            sheets = [CSS(string=path.read_text(encoding="utf-8"), base_url=path.as_uri(),
                          url_fetcher=fetcher, font_config=config) for path in paths]
        except FatalURLFetchingError:
            reason = fetcher.refused[-1] if fetcher.refused else "a font failed to load"
            raise RenderError(f"{FONT_FACES}: {reason}; fonts must be files inside the "
                              "project (assets/fonts)") from None
        if len(_FONT_FACES) > 1:  # at most two sets: brand fonts, and with name fonts
            _FONT_FACES.clear()
        _FONT_FACES[key] = (sheets, config, frozenset(fetcher.loaded | set(paths)))
    return _FONT_FACES[key]


class ImageCache(dict):
    """Decoded images, kept for every document this process renders (the logo and the
    illustrations appear in many). It notes which images each document used, since a
    cached image is not fetched again and would be missed as an input otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.used: set[str] = set()

    def __contains__(self, key) -> bool:
        if isinstance(key, str):
            self.used.add(key)
        return super().__contains__(key)


# Press artwork is recoloured to CMYK, so it must not share decoded images with RGB.
IMAGE_CACHES = {True: ImageCache(), False: ImageCache()}


def _relative(paths: set[Path], root: Path) -> tuple[str, ...]:
    root = root.resolve()
    return tuple(sorted(p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p)
                        for p in paths))


def _pdf_options(profile: Profile) -> dict:
    options = {"pdf_variant": profile.pdf_variant}
    if profile.pdf_variant == "pdf/ua-1":
        options["optimize_images"] = True  # screen PDFs travel by email
    return options


@contextmanager
def _content_clock(document: Document) -> Iterator[None]:
    """Tools that stamp the time (fontTools when it unpacks WOFF fonts) honour
    SOURCE_DATE_EPOCH; default it to the revision date so equal content gives
    equal bytes, whenever and wherever it is built."""
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    if saved is not None and not saved.strip().isdigit():
        raise RenderError(f"SOURCE_DATE_EPOCH is '{saved}'; it must be a number of seconds "
                          "since 1970, or unset")
    if saved is None:
        revision = dt.datetime.combine(document.handout.revision, dt.time(),
                                       tzinfo=dt.timezone.utc)
        os.environ["SOURCE_DATE_EPOCH"] = str(int(revision.timestamp()))
    try:
        yield
    finally:
        if saved is None:
            del os.environ["SOURCE_DATE_EPOCH"]


def render_pdf(html: str, document: Document, root: Path, brand: Brand,
               identify_by: str | None = None, font_faces: tuple[str, ...] = (),
               layout_checks: bool = True) -> Rendered:
    """`identify_by`: the HTML to derive the PDF's /ID and XMP ids from, when the
    document's own HTML must not leave a trace (personalised sheets). `font_faces`:
    more @font-face stylesheets (the fonts for patient names in any script).
    Without `layout_checks` (build --no-gates) a layout that overflows is written
    anyway, its problems in `Rendered.layout_problems`, for the editor to look at."""
    identifier = _identifier(identify_by or html)
    with _weasyprint_warnings() as warnings, _content_clock(document):
        laid_out = lay_out(html, document, root, brand, font_faces)
        problems = layout_problems(laid_out, document, html)
        if problems and layout_checks:
            raise RenderError(problems)
        notes = low_resolution_images(laid_out, document) if document.profile.marks else []
        pdf = laid_out.write_pdf(
            pdf_identifier=identifier, finisher=_finisher(document.profile, identifier),
            **_pdf_options(document.profile))
        if document.profile.pdf_variant == "pdf/ua-1":
            from .tagged_pdf import passages_in_other_languages, repair

            pdf = repair(pdf, passages_in_other_languages(html, document.language.tag))
    if document.profile.cmyk:
        from .press import finish_press_pdf

        pdf = finish_press_pdf(pdf, identifier)
    if warnings:
        more = f" (and {len(warnings) - 3} more)" if len(warnings) > 3 else ""
        raise RenderError(f"{document.label}: WeasyPrint reported: "
                          f"{'; '.join(warnings[:3])}{more}")
    return Rendered(pdf=pdf, pages=len(laid_out.pages), warnings=tuple(notes), layout=laid_out,
                    inputs=laid_out.loaded_files, layout_problems=tuple(problems))


def _finisher(profile: Profile, identifier: bytes):
    """Last touches on the PDF objects before they are written."""

    def finish(laid_out, pdf) -> None:
        for obj in pdf.objects:
            if isinstance(obj, dict) and obj.get("Type") == "/Page" and "TrimBox" in obj:
                _set_bleed_box(obj, profile.bleed_in * INCH)
            _stable_xmp_ids(obj, identifier)

    return finish


def _set_bleed_box(page: dict, bleed: float) -> None:
    """WeasyPrint puts the BleedBox up to 10 pt past the trim; print shops want the
    real bleed, and our CSS bleed is wider to make room for the crop marks."""
    import pydyf

    left, top, right, bottom = page["TrimBox"]
    page["BleedBox"] = pydyf.Array([left - bleed, top - bleed, right + bleed, bottom + bleed])


XMP_RANDOM_ID = re.compile(rb"(xmp\.(?:did|iid):)[0-9a-fA-F-]{36}")


def _stable_xmp_ids(obj, identifier: bytes) -> None:
    """PDF/X XMP carries a random document id; derive it from the content instead."""
    chunks = getattr(obj, "stream", None)
    if not isinstance(chunks, list) or not any(
            isinstance(chunk, bytes) and b"xmp." in chunk for chunk in chunks):
        return
    stable = uuid.UUID(hex=identifier.decode()[:32]).hex.encode()
    stable = b"-".join((stable[:8], stable[8:12], stable[12:16], stable[16:20], stable[20:]))
    obj.stream = [XMP_RANDOM_ID.sub(lambda match: match[1] + stable, chunk)
                  if isinstance(chunk, bytes) else chunk for chunk in chunks]


def low_resolution_images(laid_out, document: Document) -> list[str]:
    """Raster images a press prints soft (below GWG 2022's warning resolution): warn,
    naming each file; below its minimum the press preflight fails the PDF too."""
    from .gwg import STANDARD

    notes = []
    for _, box, _ in page_boxes(laid_out):
        image = getattr(box, "replacement", None)
        if type(image).__name__ != "RasterImage" or not box.width:
            continue  # vector art prints sharp at any size
        ppi = image.width / (box.width / CSS_PX_PER_INCH)
        if ppi < STANDARD.warn_image_ppi:
            src = box.element.get("src", "?") if box.element is not None else "?"
            notes.append(f"{document.label}: image '{src}' prints at {ppi:.0f} ppi; GWG "
                         f"2022 asks for at least {STANDARD.warn_image_ppi:g} ppi "
                         f"({STANDARD.min_image_ppi:g} at the very least): supply a larger "
                         "picture")
    return notes


def _identifier(html: str) -> bytes:
    """A PDF /ID derived from the content, so equal inputs give equal bytes."""
    return hashlib.md5(html.encode("utf-8"), usedforsecurity=False).hexdigest().encode()


def check_layout(laid_out, document: Document, html: str) -> None:
    """Overflow is an error: content never spills silently or onto an extra page."""
    problems = layout_problems(laid_out, document, html)
    if problems:
        raise RenderError(problems)


def layout_problems(laid_out, document: Document, html: str) -> list[str]:
    """Every overflow of the document at once, each with its size, so that an editor
    fixes them in one round: each panel, the page count, each word too wide, the
    language-assistance notice."""
    kind = KINDS[document.handout.kind]
    problems: list[str] = []
    if document.profile.reading_edition:
        # One column of any length: nothing can overflow a panel or a page count.
        return _notice_problems(laid_out, document) + [
            problem for page in laid_out.pages for problem in _too_wide(page, document)]
    anchors = [page.anchors for page in laid_out.pages]
    pages_of, floors = _panel_pages_and_floors(laid_out)
    for panel in kind.panels:
        advice = ("shorten the title, subtitle or summary" if panel in kind.fixed_panels
                  else "shorten its sections or move one to another panel")
        problem = _panel_problem(anchors, panel, document,
                                 f'id="{PANEL_LIMIT.format(panel)}"' in html,
                                 floors.get(panel), advice)
        if problem is None and len(pages_of.get(panel, ())) > 1:
            # WeasyPrint continues an absolutely placed panel that is too tall on the
            # next page, on top of that page's panels; its probes move along with it.
            problem = f"{document.label}: panel '{panel}' overflows onto another page; {advice}"
        if problem:
            problems.append(problem)
    for page in laid_out.pages:
        problems += _too_wide(page, document)
    pages = handout_pages(laid_out)
    # The limit is the variant's (variants.yaml: max_pages), else the kind's.
    max_pages = document.variant.max_pages.get(kind.name, kind.max_pages)
    if pages > max_pages:
        problems.append(
            f"{document.label}: {pages} pages, {OVER_PAGE_LIMIT} {max_pages} allowed; "
            f"section '{_spilled_section(anchors, max_pages, document)}' runs past "
            f"page {max_pages}: shorten the content")
    if pages < kind.min_pages:
        problems.append(f"{document.label}: {pages} page(s), expected {kind.min_pages}")
    # A panel pushed onto another page moves the notice's landmarks too: its own check
    # means something only once the panels fit.
    return problems or _notice_problems(laid_out, document)


OVER_PAGE_LIMIT = "more than the"
NOTICE_SHEET = "notice-sheet"  # the id of the notice's own sheet (render_html.SHEET)


def handout_pages(laid_out) -> int:
    """The pages of the handout itself: those before the notice's own sheet, which
    goes out with it when the document has no room for every line."""
    return next((number for number, page in enumerate(laid_out.pages)
                 if NOTICE_SHEET in page.anchors), len(laid_out.pages))


def _notice_problems(laid_out, document: Document) -> list[str]:
    from .assistance import check_notice_room

    try:
        check_notice_room(laid_out, document)
    except RenderError as exc:
        return exc.problems
    return []


def _panel_problem(anchors: list[dict], panel: str, document: Document, in_html: bool,
                   floor: float | None, advice: str) -> str | None:
    end, limit = _first_anchor(anchors, PANEL_END.format(panel)), \
        _first_anchor(anchors, PANEL_LIMIT.format(panel))
    if (end is None or limit is None) and not in_html:
        return f"{document.label}: panel '{panel}' is missing from the template"
    # WeasyPrint drops an absolutely placed panel that cannot fit on its page at all.
    if end is None or limit is None or end[0] > limit[0]:
        return f"{document.label}: panel '{panel}' overflows onto another page; {advice}"
    # Content placed at a fixed spot in the panel (the cover's tagline) is a floor too:
    # flowing text must stop above it, or the two are printed over each other.
    lowest = min(limit[1], floor) if floor is not None else limit[1]
    over = end[1] - lowest
    if over > OVERFLOW_TOLERANCE_PX:
        return (f"{document.label}: panel '{panel}' overflows by {_points(over)} pt; "
                f"{advice}")
    return None


def _points(pixels: float) -> int:
    """A size in whole points, never 0 for something that is over."""
    return max(1, math.ceil(pixels * 0.75))


def _panel_pages_and_floors(laid_out) -> tuple[dict[str, set[int]], dict[str, float]]:
    """The pages on which each panel's box has a piece, and the top of the highest
    absolutely placed content inside each panel (flowing content must end above it)."""
    pages: dict[str, set[int]] = {}
    floors: dict[str, float] = {}
    for index, box, _ in page_boxes(laid_out):
        panel = _panel_name(box)
        if not panel:
            continue
        pages.setdefault(panel, set()).add(index)
        for inner in _placed_in(box):
            floors[panel] = min(floors.get(panel, math.inf), inner.border_box_y())
    return pages, floors


def _placed_in(panel_box):
    """Absolutely placed content whose position is fixed by the panel itself, not by a
    box in the flow (a tick box or an icon moves with its list item or call box)."""
    for child in getattr(panel_box, "children", ()):
        style = getattr(child, "style", None)
        position = style["position"] if style is not None else "static"
        classes = (child.element.get("class") or "").split() \
            if getattr(child, "element", None) is not None else []
        marker = "::" in (getattr(child, "element_tag", "") or "")  # list markers
        if position == "absolute" and "probe" not in classes and not marker:
            yield child
        elif position == "static":
            yield from _placed_in(child)


def _panel_name(box) -> str | None:
    element = getattr(box, "element", None)
    if element is None or getattr(box, "element_tag", None) != "section":
        return None
    classes = (element.get("class") or "").split()
    return next((name[7:] for name in classes if name.startswith("panel--")), None)


def _first_anchor(anchors: list[dict], name: str) -> tuple[int, float] | None:
    """(page index, top y) of the first page holding the anchor."""
    return next(((index, page[name][1]) for index, page in enumerate(anchors)
                 if name in page), None)


def _too_wide(page, document: Document) -> list[str]:
    """A word wider than its panel or page sticks out sideways; find each in the layout."""
    # WeasyPrint exposes no public box tree; `_page_box` has been stable for years.
    page_box = page._page_box
    limit = page_box.content_box_x() + page_box.width
    problems = []
    for box, right, where in _text_boxes(page_box, limit, "the page"):
        over = box.position_x + box.width - right
        if over > OVERFLOW_TOLERANCE_PX:
            problems.append(
                f"{document.label}: '{box.text.strip()}' is {_points(over)} pt too wide for "
                f"{where} and cannot wrap; shorten it where it is written (the handout, "
                "or brand.yaml for the clinic's details)")
    return problems


def _text_boxes(box, right: float, where: str):
    """Yield (text box, right edge it must stay inside, name of that container)."""
    element = getattr(box, "element", None)
    classes = (element.get("class") or "").split() if element is not None else []
    panel = next((name[7:] for name in classes if name.startswith("panel--")), None)
    if panel and getattr(box, "width", None) is not None:
        right, where = box.content_box_x() + box.width, f"panel '{panel}'"
    if hasattr(box, "text") and box.text.strip():
        yield box, right, where
    for child in getattr(box, "children", ()):
        yield from _text_boxes(child, right, where)


def _spilled_section(anchors: list[dict], last_page: int, document: Document) -> str:
    """The first section that starts past the last page, or the one that runs over it."""
    spilled = document.sections[-1].id if document.sections else "?"
    for section in document.sections:
        name = f"section-{section.id}"
        on_page = next((number for number, page in enumerate(anchors, 1) if name in page), 0)
        if on_page > last_page:
            return section.id
        if on_page:
            spilled = section.id
    return spilled
