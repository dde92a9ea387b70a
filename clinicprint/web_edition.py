"""The web edition: one self-contained, accessible HTML page per handout x variant.

The page is the reading edition's HTML (templates/reading.html) with every
stylesheet, font and picture put inside it, so it can be uploaded as one file
and never asks another host for anything. Only files inside the project are
read (the same rule as the PDF renderer's url_fetcher). A drawing with words in
it goes in as SVG markup, so its labels are set in the page's fonts
(clinicprint/inline_svg.py); every other picture as a data: URL.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

from .errors import RenderError
from .inline_svg import attribute, has_text, inline_svg
from .render_pdf import _mime_type, resolve_project_url

STYLESHEET_LINK = re.compile(r'<link rel="stylesheet" href="([^"]+)">')
IMAGE_TAG = re.compile(r'<img\b([^>]*?)\bsrc="([^"]+)"([^>]*)>')
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


def web_page(html: str, root: Path, label: str) -> tuple[bytes, tuple[str, ...]]:
    """The page's bytes and the project files put inside it (for the input key)."""
    loaded: set[Path] = set()
    base = root.resolve().as_uri() + "/"

    def read(url: str, relative_to: str) -> Path:
        if url.startswith("data:"):
            raise ValueError
        target = _join(relative_to, url)
        try:
            path = resolve_project_url(target, root.resolve())
        except PermissionError as exc:
            raise RenderError(f"{label}: {exc}") from None
        loaded.add(path)
        return path

    def data_url(url: str, relative_to: str) -> str:
        try:
            path = read(url, relative_to)
        except ValueError:
            return url
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"data:{_mime_type(path)};base64,{encoded}"

    def inline_css(match: re.Match) -> str:
        path = read(match[1], base)
        css = path.read_text(encoding="utf-8")
        css = CSS_URL.sub(lambda url: f"url({data_url(url[1], path.as_uri())})", css)
        return f"<style>/* {match[1]} */\n{css}</style>"

    def picture(match: re.Match) -> str:
        before, url, after = match[1], match[2], match[3]
        alt = attribute(before + after, "alt")
        try:
            path = read(url, base)
        except ValueError:
            return match[0]
        if alt is not None and has_text(path):
            markup = inline_svg(path, alt, f"figure{len(drawings) + 1}-",
                                attribute(before + after, "class"))
            if markup is not None:
                drawings.append(path)
                return markup
        return f'<img{before}src="{data_url(url, base)}"{after}>'

    drawings: list[Path] = []
    page = STYLESHEET_LINK.sub(inline_css, html)
    page = IMAGE_TAG.sub(picture, page)
    relative = tuple(sorted(p.relative_to(root.resolve()).as_posix() for p in loaded))
    return page.lstrip().encode("utf-8"), relative


def _join(base: str, url: str) -> str:
    from urllib.parse import urljoin

    return urljoin(base, url)
