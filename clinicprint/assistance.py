"""The language-assistance notice printed on every brochure and discharge sheet.

`language-assistance.yaml` lists one short line per language, each copied from
a published source (never a translation made up here), with `{phone}` where the
clinic's number goes. A line may name a bundled font for its script; every
character of every line must be in the font it prints in, so a clinic adding a
language sees at once when its font is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .languages import BCP47
from .schema import Checker
from .yamlio import load_yaml

ASSISTANCE_FILE = "language-assistance.yaml"
# The body fonts every notice line is printed in unless it names its own.
DEFAULT_FONTS = ("assets/fonts/source-sans-3/source-sans-3-latin-400-normal.woff",
                 "assets/fonts/atkinson-hyperlegible/atkinson-hyperlegible-latin-400-normal.woff")


@dataclass(frozen=True)
class Notice:
    lang: str          # BCP 47 tag, set on the line so screen readers switch voice
    text: str          # with {phone}
    source: str        # where the wording was published
    font: str = ""     # a bundled font file for a script the body fonts lack
    family: str = ""   # its CSS family name

    def line(self, phone: str) -> str:
        return self.text.replace("{phone}", phone)


def load_notices(root: Path, problems: list[str]) -> tuple[Notice, ...]:
    path = root / ASSISTANCE_FILE
    if not path.exists():
        problems.append(f"{ASSISTANCE_FILE}: file not found; every brochure and discharge "
                        "sheet prints its language-assistance notice (see the README)")
        return ()
    check = Checker(ASSISTANCE_FILE)
    data = check.mapping(load_yaml(path, ASSISTANCE_FILE, root), "", 1)
    notices = []
    if data is not None:
        check.keys(data, "", {"notices"}, set())
        entries = data.get("notices")
        if not isinstance(entries, list) or not entries:
            check.problem("notices", "must be a list of notices, one per language",
                          data.line_of("notices"))
            entries = []
        for index, entry in enumerate(entries):
            notice = _notice(check, root, entry, f"notices[{index}]",
                             data.line_of("notices"))
            if notice is not None:
                notices.append(notice)
    problems += check.problems
    return tuple(notices)


def _notice(check: Checker, root: Path, entry, path: str, line: int) -> Notice | None:
    entry = check.mapping(entry, path, line)
    if entry is None:
        return None
    check.keys(entry, path, {"lang", "text", "source"}, {"font", "family"})
    values = {key: check.text(entry, key, path) for key in ("lang", "text", "source")}
    font = check.text(entry, "font", path, required=False)
    family = check.text(entry, "family", path, required=False)
    where = entry.line_of("text")
    if values["lang"] and not BCP47.match(values["lang"]):
        check.problem(f"{path}.lang", f"'{values['lang']}' is not a BCP 47 tag such as es-US",
                      entry.line_of("lang"))
    if values["text"] and "{phone}" not in values["text"]:
        check.problem(f"{path}.text", "must say where the clinic's number goes: {phone}",
                      where)
    if bool(font) != bool(family):
        check.problem(path, "a font needs its family name too (font and family)", entry.line)
    fonts = (font,) if font else DEFAULT_FONTS
    for file in fonts:
        target = (root / file).resolve()
        if not target.is_relative_to(root.resolve()) or not target.is_file():
            check.problem(f"{path}.font", f"font '{file}' not found in the project; bundle "
                          "it under assets/fonts/ with its licence", entry.line_of("font"))
            return None
        lacking = sorted({char for char in values["text"].replace("{phone}", "")
                          if not char.isspace() and ord(char) not in _cmap(str(target))})
        if lacking:
            check.problem(f"{path}.text", f"the font {file} has no glyph for "
                          f"{''.join(lacking)[:10]}; bundle a font for this language and "
                          "name it with font: and family:", where)
    return Notice(font=font, family=family, **values)


@lru_cache(maxsize=8)
def _cmap(font_file: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(font_file, lazy=True) as font:
        return frozenset(font.getBestCmap())


MIN_EDGE_PX = 0.08 * 96  # the notice stays this far inside the paper's edge


def check_notice_room(laid_out, document) -> None:
    """The notice's room is estimated from its length, so the layout confirms it: it
    must end inside the page, and on a brochure start below the inside panels."""
    from .errors import RenderError

    if document.profile.reading_edition:
        # In the reading edition it is text in the flow, under the masthead.
        if not any("language-help" in page.anchors for page in laid_out.pages):
            raise RenderError(f"{document.label}: the language-assistance notice is missing "
                              "from the template")
        return
    for page in laid_out.pages:
        page_box = page._page_box
        content_bottom = page_box.content_box_y() + page_box.height
        for box in _notice_boxes(page_box):
            if document.handout.kind != "brochure" and box.position_y < content_bottom - 0.5:
                raise RenderError(f"{document.label}: the footer and language-assistance "
                                  f"notice are {(content_bottom - box.position_y) * 0.75:.0f}"
                                  " pt taller than the page's bottom margin; shorten a line "
                                  "in language-assistance.yaml")
            bottom = box.position_y + box.margin_height()
            if bottom > page.height - MIN_EDGE_PX:
                raise RenderError(f"{document.label}: the language-assistance notice runs "
                                  "off the bottom of the page; shorten a line in "
                                  "language-assistance.yaml")
    if document.handout.kind != "brochure":
        return
    # A brochure's notice is in the flow of one inside panel (templates/brochure.html),
    # so the panel's overflow check measures it with the panel's content.
    if not any("language-help" in page.anchors for page in laid_out.pages):
        raise RenderError(f"{document.label}: the language-assistance notice is missing from "
                          "the template")


def _notice_boxes(box):
    element = getattr(box, "element", None)
    if element is not None and element.get("id") == "language-help" and \
            getattr(box, "height", None) is not None:
        yield box
        return
    for child in getattr(box, "children", ()):
        yield from _notice_boxes(child)
