"""Render a merged document to HTML with Jinja2 (autoescaped, strict)."""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from .colour import brand_cmyk, to_cmyk
from .press_ready import placeholder_details
from .content import Brand
from .errors import RenderError
from .layouts import (CMYK_PROFILE_ENV, KINDS, Profile, cmyk_profile, css_bleed_in,
                      trifold)
from .markup import keep_last_words, markdown_block, markdown_inline
from .merge import Document
from .typesetting import keep_whole_html



@lru_cache(maxsize=4)
def _environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_ProjectLoader(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = markdown_block
    env.filters["md_inline"] = markdown_inline
    env.filters["keep_last_words"] = keep_last_words
    env.filters["tel"] = lambda phone: "".join(c for c in phone if c.isdigit() or c == "+")
    env.filters["longdate"] = lambda day: f"{day:%B} {day.day}, {day.year}"
    env.filters["css_counters"] = css_counters
    return env


class _ProjectLoader(jinja2.FileSystemLoader):
    """Templates come from templates/ only: a link that leads elsewhere is refused."""

    def get_source(self, environment, template):
        source, filename, uptodate = super().get_source(environment, template)
        folder = Path(self.searchpath[0]).resolve()
        if not Path(filename).resolve().is_relative_to(folder):
            raise RenderError(f"templates/{template}: is a link to a file outside the "
                              "project; keep templates inside templates/")
        return source, filename, uptodate


def render_html(document: Document, brand: Brand, root: Path,
                patient: dict[str, str] | None = None, notices: tuple = (),
                notice_in: str | None = None) -> str:
    """`patient` fills a discharge sheet's write-in lines; without it they stay blank.
    `notices`: the language-assistance lines (Project.notices); `notice_in`: where
    they print: a brochure panel's name, or {where: lines} (notice_plans; default:
    a brochure's notice_panel, a sheet's first page)."""
    kind = KINDS[document.handout.kind]
    profile = document.profile
    env = _environment(root / "templates")
    context = {
        "doc": document,
        "handout": document.handout,
        "variant": document.variant,
        "profile": profile,
        "brand": brand,
        "kind": kind,
        "colours": css_colours(brand, profile),
        "cmyk_profile_url": press_profile().as_uri() if profile.cmyk else None,
        # Press files made from placeholder brand details say SAMPLE (press.py).
        "sample": profile.cmyk and bool(placeholder_details(brand)),
        "trifold": trifold(profile) if kind.name == "brochure" else None,
        "css_bleed": css_bleed_in(profile),
        "patient": patient or {},
        "qr_code": qr_data_url(brand.scheduling_url, profile.cmyk)
        if kind.name == "brochure" else None,
        **language_context(document, notices, sheet_id=bool((patient or {}).get("sheet-id"))),
    }
    context["notice_lines"] = _notice_lines(document, notices, notice_in)
    # Where the notice starts (its first lines carry id="language-help").
    context["notice_first"] = next((where for where, lines in context["notice_lines"].items()
                                    if lines), None)
    # Where the lines kept on the handout end, when the rest are on their own sheet:
    # a line there points to it.
    lines = context["notice_lines"]
    kept_in = notice_place(lines)
    context["notice_more"] = kept_in[-1] if kept_in and SHEET in lines \
        and UNPOINTED not in lines else None
    template = profile.template or kind.template
    if profile.reading_edition:
        from .reading_order import reading_order

        context["reading_sections"] = reading_order(document.sections)
    try:
        html = env.get_template(template).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"templates/{exc.name or template}:{exc.lineno}: template "
                          f"syntax error: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        where = _template_line(exc, root)
        raise RenderError(f"{where}: {exc.message} while rendering {document.label}; "
                          "define the value or fix the name in the template") from None
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"templates/{exc.name}: template not found") from None
    except RecursionError:
        raise RenderError(f"templates/{kind.template}: a macro or include calls itself "
                          "without end; check the templates") from None
    # Phone numbers, addresses, dates, times and numbers with their units never break
    # over two lines, wherever they come from (content, brand.yaml, the notice).
    return keep_whole_html(html, document.language)


def language_context(document: Document, notices: tuple, sheet_id: bool = False) -> dict:
    """The document's language: its fixed labels (`_`), dates, the language-assistance
    notice, and the marks a draft or out-of-date translation carries."""
    language = document.language
    marks = []
    status = document.translation
    if status is not None and status.draft:
        marks.append(_both(language, "Draft translation, not reviewed"))
    if status is not None and status.stale:
        marks.append(_both(language, "Out-of-date translation: the English has changed"))
    return {"language": language, "_": language.label, "notices": notices, "marks": marks}


# The inside panels the notice may sit in (the third has the footer), and what a
# picture counts for when their content is weighed.
NOTICE_PANELS = ("inside-middle", "inside-left")
FLOW, SHEET = "flow", "sheet"  # a sheet's notice in its flow; on a sheet of its own
# A plan whose kept lines do not point to the sheet (where even that line has no room).
UNPOINTED = "unpointed"
FIGURE_CHARS = 500


def _weight(document: Document, panel: str) -> int:
    """About how much a panel holds, in characters (a picture counts as many)."""
    return sum(len(s.title) + len(s.body) + sum(len(str(i)) for i in s.items)
               + (FIGURE_CHARS if s.figure else 0) for s in document.in_panel(panel))


def notice_panel(document: Document) -> str:
    """The inside panel with the least content: the notice goes in it, after its
    sections, clear of the folds (templates/brochure.html)."""
    return min(NOTICE_PANELS, key=lambda panel: (_weight(document, panel),
                                                 NOTICE_PANELS.index(panel)))


def notice_plans(document: Document, notices: tuple) -> list[dict[str, tuple]]:
    """Where the notice's lines may go, in the order to try them (notice_places): a
    brochure's all in the emptier inside panel, all in the other, then shared between
    the two; a sheet's in the flow of its first page. Then, for a notice longer than
    the room the document has, the same places each with a sheet of its own after
    the handout (notice_sheet_plan)."""
    places = notice_places(document, len(notices))
    plans = [share(notices, place) for place in places]
    sheets = [notice_sheet_plan(document, notices, place, pointed=pointed)
              for pointed in (True, False) for place in places]
    if kept_lines(sheets[0]) < len(notices):  # only if it takes lines off the page
        plans += sheets
    return plans


def notice_place(plan: dict[str, tuple]) -> tuple[str, ...]:
    """Where a plan keeps lines on the handout's own pages."""
    return tuple(where for where in plan if where not in (SHEET, UNPOINTED))


def kept_lines(plan: dict[str, tuple]) -> int:
    """How many lines a plan keeps on the handout's own pages."""
    return sum(len(plan[where]) for where in notice_place(plan))


def notice_places(document: Document, lines: int) -> list[tuple[str, ...]]:
    """The places a notice of `lines` lines may take, best first: FLOW on a sheet; on a
    brochure the emptier inside panel, the other, and both (more than one line)."""
    if not KINDS[document.handout.kind].panels:
        return [(FLOW,)]
    where = notice_panel(document)
    places: list[tuple[str, ...]] = [(where,), *[(panel,) for panel in NOTICE_PANELS
                                                 if panel != where]]
    return places + ([("inside-left", "inside-middle")] if lines > 1 else [])


def share(lines: tuple, place: tuple[str, ...]) -> dict[str, tuple]:
    """{panel: its lines}: one panel all of them; two, in reading order, split where
    the characters are about even."""
    if len(place) == 1:
        return {place[0]: lines}
    sizes = [len(notice.text) for notice in lines]
    half = min(range(1, len(lines)), key=lambda k: abs(sum(sizes[:k]) - sum(sizes[k:])))
    return {place[0]: lines[:half], place[1]: lines[half:]}


def notice_sheet_plan(document: Document, notices: tuple, place: tuple[str, ...],
                      keep: int = 0, pointed: bool = True) -> dict[str, tuple]:
    """Every line on a sheet of its own after the handout (`#notice-sheet`, which the
    page limit does not count: render_pdf.handout_pages), and in `place` the line in
    the reader's language (else English), then English, then the next ones up to
    `keep` lines (at least one a panel), in the file's order, the last pointing to
    the sheet (unless not `pointed`: tried last, where the pointer leaves a panel no
    room for a line, or too little of it filled). The 2024 rule asks for 15 or more languages, more than a
    tri-fold's panels or a large-print sheet's pages hold; the sheet goes out with
    the handout."""
    reader = document.language.code.split("-")[0].lower()

    def rank(notice) -> int:  # the reader's language, then English, then the others
        tag = notice.lang.split("-")[0].lower()
        return 0 if tag == reader else 1 if tag == "en" else 2

    ordered = sorted(notices, key=rank)
    best = min(rank(ordered[0]), 1)  # none in either: the first line in the file
    first = [notice for notice in ordered if rank(notice) == best]
    chosen = ordered[:max(keep, len(first), len(place))]
    # Printed in the file's order (English first, as the sheet and the usual notice).
    kept = tuple(notice for notice in notices if notice in chosen)
    return {**share(kept, place), SHEET: notices, **({} if pointed else {UNPOINTED: ()})}


def _notice_lines(document: Document, notices: tuple, notice_in) -> dict[str, tuple]:
    """{where: its notice lines}: `notice_in` a panel's name or such a plan; where is a
    brochure panel, FLOW (a sheet's first page) or SHEET (notice_sheet_plan)."""
    if isinstance(notice_in, dict):
        return notice_in
    if not KINDS[document.handout.kind].panels:
        return {FLOW: notices}
    return {notice_in or notice_panel(document): notices}


def _both(language, english: str) -> str:
    """A mark for the clinic's staff (English) and the reader (their language)."""
    own = language.label(english)
    return english if own == english else f"{english} · {own}"


def css_counters(label: str) -> Markup:
    """'Page {page} of {pages}' as CSS content: "Page " counter(page) " of " counter(pages)."""
    import string

    parts = []
    for literal, name, _, _ in string.Formatter().parse(label):
        if literal:
            escaped = literal.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
            parts.append(f'"{escaped}"')
        if name:
            parts.append(f"counter({name})")
    return Markup(" ".join(parts))


def css_colours(brand: Brand, profile: Profile) -> dict[str, str]:
    """CSS values for the brand colours: all CMYK on press (the brand's own values
    where it gives them)."""
    if not profile.cmyk:
        return dict(brand.colours)
    known = brand_cmyk(brand.colours, brand.colours_cmyk)
    return {name: to_cmyk(value, known) for name, value in brand.colours.items()}


def press_profile() -> Path:
    path = cmyk_profile()
    if not path.is_file():
        raise RenderError(f"{path}: CMYK ICC profile for press PDFs not found; set "
                          f"{CMYK_PROFILE_ENV} to the print shop's profile, or unset it "
                          f"to use the bundled GRACoL (CGATS TR 006) profile")
    return path


@lru_cache(maxsize=8)
def qr_data_url(url: str, cmyk: bool) -> str:
    """A vector QR code, inline as a data: URL so nothing is written to disk."""
    import segno

    svg = segno.make(url, error="m").svg_inline(scale=4, border=0, dark="#000000",
                                                 light=None)
    if cmyk:
        svg = to_cmyk(svg, {})  # black plate only
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _template_line(exc: Exception, root: Path) -> str:
    """Name the template file and line from the traceback Jinja2 rewrites for us."""
    templates = (root / "templates").resolve()
    tb, where = exc.__traceback__, "templates"
    while tb is not None:
        filename = Path(tb.tb_frame.f_code.co_filename)
        if filename.suffix == ".html" and filename.resolve().is_relative_to(templates):
            where = f"templates/{filename.resolve().relative_to(templates)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where
