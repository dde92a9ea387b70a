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
    `notices`: the language-assistance lines (Project.notices); `notice_in`: a
    brochure's panel for them (default: notice_panel)."""
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
    if notice_in:
        context["notice_panel"] = notice_in
    template = profile.template or kind.template
    if profile.reading_edition:
        from .reading_order import reading_order

        context["reading_sections"] = reading_order(document.sections)
    try:
        return env.get_template(template).render(context)
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
    return {"language": language, "_": language.label, "notices": notices, "marks": marks,
            "footer_room_in": footer_room_in(document, notices, sheet_id),
            "strip_room_in": strip_room_in(document, notices),
            "notice_panel": notice_panel(document) if document.handout.kind == "brochure"
            else None}


# The notice's room, estimated from its length at the footer size (styles/languages.css
# sets the line height); the layout checks still catch anything that does not fit.
NOTICE_LINE, CHAR_EM = 1.05, 0.45
EDGE_IN = 0.26  # from the paper's edge (styles/languages.css)


def _notice_lines(document: Document, notices: tuple, width_in: float) -> int:
    import math

    size = document.variant.min_footer_pt
    chars = sum(len(notice.text) + 12 for notice in notices)  # 12: the phone number
    return math.ceil(chars * CHAR_EM * size / (width_in * 72)) if notices else 0


FOOTER_CHARS = 100  # code, revision, medical review and variant, in any language


def footer_room_in(document: Document, notices: tuple, sheet_id: bool = False) -> float:
    """Discharge sheet: bottom margin for the notice and the footer line(s) under it,
    in the footer box left of the page number (styles/languages.css: 1.4 in); the
    desk's sheet id is a line of its own (templates/discharge.html)."""
    import math

    size = document.variant.min_footer_pt
    width = document.profile.width_in - 1.1 - 1.4
    lines = _notice_lines(document, notices, width)
    lines += math.ceil(FOOTER_CHARS * CHAR_EM * size / (width * 72)) + sheet_id
    return max(0.7, 0.28 + 0.1 + lines * 1.2 * size / 72)


# The inside panels the notice may sit under (the third has the footer), and what a
# picture counts for when their content is weighed.
NOTICE_PANELS = ("inside-middle", "inside-left")
FIGURE_CHARS = 500


def _weight(document: Document, panel: str) -> int:
    """About how much a panel holds, in characters (a picture counts as many)."""
    return sum(len(s.title) + len(s.body) + sum(len(str(i)) for i in s.items)
               + (FIGURE_CHARS if s.figure else 0) for s in document.in_panel(panel))


def notice_panel(document: Document) -> str:
    """The inside panel with the least content: the notice goes under it, inside it
    and clear of the folds (templates/brochure.html)."""
    return min(NOTICE_PANELS, key=lambda panel: (_weight(document, panel),
                                                 NOTICE_PANELS.index(panel)))


def strip_room_in(document: Document, notices: tuple) -> float:
    """Brochure: how far above the trim edge the notice's panel's content must end."""
    if document.handout.kind != "brochure":
        return 0.0
    size = document.variant.min_footer_pt
    geometry = trifold(document.profile)
    width = geometry.inside[1 if notice_panel(document) == "inside-middle" else 0]
    lines = _notice_lines(document, notices, width - 0.68)  # one panel
    return max(0.62, EDGE_IN + 0.03 + lines * NOTICE_LINE * size / 72)


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
