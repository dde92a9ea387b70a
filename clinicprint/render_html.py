"""Render a merged document to HTML with Jinja2 (autoescaped, strict)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

import jinja2

from .content import Brand
from .errors import RenderError
from .layouts import KINDS, trifold
from .markup import markdown_block, markdown_inline
from .merge import Document


@lru_cache(maxsize=4)
def _environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = markdown_block
    env.filters["md_inline"] = markdown_inline
    env.filters["tel"] = lambda phone: "".join(c for c in phone if c.isdigit() or c == "+")
    env.filters["longdate"] = lambda day: f"{day:%B} {day.day}, {day.year}"
    return env


def render_html(document: Document, brand: Brand, root: Path) -> str:
    kind = KINDS[document.handout.kind]
    env = _environment(root / "templates")
    context = {
        "doc": document,
        "handout": document.handout,
        "variant": document.variant,
        "profile": document.profile,
        "brand": brand,
        "kind": kind,
        "trifold": trifold(document.profile) if kind.name == "brochure" else None,
        "created": dt.datetime.combine(document.handout.revision, dt.time()),
    }
    try:
        return env.get_template(kind.template).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"templates/{exc.name or kind.template}:{exc.lineno}: template "
                          f"syntax error: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        where = _template_line(exc, root)
        raise RenderError(f"{where}: {exc.message} while rendering {document.label}; "
                          "define the value or fix the name in the template") from None
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"templates/{exc.name}: template not found") from None


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
