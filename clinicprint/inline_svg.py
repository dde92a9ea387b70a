"""A drawing with words in it, put into the web page as markup instead of a picture.

A browser draws an SVG loaded as a picture (`<img>`, a data: URL) in isolation: it
cannot use the page's fonts, so a label naming the page's web font falls back to
the browser's default serif. Inside the page, the same SVG's text is set in the
fonts the page carries (styles/fonts.css, inlined by web_edition.py).

The picture keeps what the `<img>` said to assistive technology: role="img" with the
alt text as its name (its own <title> and <desc> go, so nothing is read twice), and
its labels are not read out one by one. Ids get a prefix, so two drawings in one
page cannot take each other's gradients or symbols.

Only a plain drawing is put into the page. One that could act on the page (a script,
an event handler, a style sheet, foreign HTML, a link or a file it loads) stays a
picture, where a browser never runs or applies any of that.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
NOT_INLINED = {"script", "style", "foreignObject", "a", "image", "iframe"}
LOCAL_REFERENCE = re.compile(r"url\(#([^)]+)\)")

ET.register_namespace("", SVG)
ET.register_namespace("xlink", XLINK)


def has_text(path: Path) -> bool:
    """Whether an SVG file draws words (a cheap look before parsing it)."""
    return path.suffix.lower() == ".svg" and b"<text" in path.read_bytes()


def inline_svg(path: Path, alt: str, prefix: str, css_class: str | None = None) -> str | None:
    """The SVG as markup for the page, named by `alt` (plain text) and with the
    picture's class, or None when it is not a plain drawing (it stays a picture)."""
    try:
        root = ET.fromstring(path.read_bytes())
    except ET.ParseError:
        return None  # the PDF renderer reports a broken picture with its file
    if root.tag != f"{{{SVG}}}svg" or not _plain(root):
        return None
    for element in list(root):
        if _local(element.tag) in ("title", "desc"):
            root.remove(element)
    _prefix_ids(root, prefix)
    root.set("role", "img")
    root.set("aria-label", alt)
    if css_class:
        root.set("class", css_class)
    return ET.tostring(root, encoding="unicode")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _plain(root: ET.Element) -> bool:
    for element in root.iter():
        if _local(element.tag) in NOT_INLINED:
            return False
        for name, value in element.attrib.items():
            if _local(name).lower().startswith("on"):
                return False
            if _local(name) == "href" and not value.startswith("#"):
                return False
    return True


def _prefix_ids(root: ET.Element, prefix: str) -> None:
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    if not ids:
        return

    def renamed(match: re.Match) -> str:
        name = match[1]
        return f"url(#{prefix}{name})" if name in ids else match[0]

    for element in root.iter():
        for name, value in list(element.attrib.items()):
            if name == "id":
                element.set(name, prefix + value)
            elif _local(name) == "href" and value[1:] in ids:
                element.set(name, f"#{prefix}{value[1:]}")
            elif "url(#" in value:
                element.set(name, LOCAL_REFERENCE.sub(renamed, value))


def attribute(attributes: str, name: str) -> str | None:
    """One attribute of an `<img>` tag's attributes as written in the page, unescaped."""
    found = re.search(rf'\b{name}="([^"]*)"', attributes)
    return html.unescape(found[1]) if found else None
