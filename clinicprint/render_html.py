"""Render a merged document to HTML with Jinja2 (autoescaped, strict)."""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path

import jinja2

from .colour import brand_cmyk, to_cmyk
from .content import Brand
from .errors import RenderError
from .layouts import (CMYK_PROFILE_ENV, KINDS, Profile, cmyk_profile, css_bleed_in,
                      trifold)
from .markup import keep_last_words, markdown_block, markdown_inline
from .merge import Document

DEFAULT_LANG = "en-US"


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
                patient: dict[str, str] | None = None) -> str:
    """`patient` fills a discharge sheet's write-in lines; without it they stay blank."""
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
        "trifold": trifold(profile) if kind.name == "brochure" else None,
        "css_bleed": css_bleed_in(profile),
        "patient": patient or {},
        "qr_code": qr_data_url(brand.scheduling_url, profile.cmyk)
        if kind.name == "brochure" else None,
        # The document's language; a language axis can set it per document.
        "lang": getattr(document, "lang", None) or DEFAULT_LANG,
    }
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
