"""The language-assistance notice printed on every brochure, discharge sheet and
reading edition.

`language-assistance.yaml` lists one line per language, each copied from a
published source (never a translation made up here), with `{phone}` and `{tty}`
where the clinic's numbers go (brand.yaml). A line may name a font for its script:
one bundled under assets/fonts/ (`font:` and `family:`), or one of the Noto fonts
of styles/name-fonts.css (`family:` alone); every character of every line must be
in the font it prints in, so a clinic adding a language sees at once when its font
is missing. `dir: rtl` sets a right-to-left line's direction. The notice is printed
at body size, one line per language, in the flow of the page (a brochure panel, the
first page of a discharge sheet, under the masthead of a reading edition), so it
holds any number of languages; where the document has no room for every line they go
on a sheet of their own after it (render_html.notice_plans, build.py).
"""

from __future__ import annotations

import re
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
    dir: str = ""      # "rtl" for a right-to-left script
    name_font: bool = False  # the family is one of styles/name-fonts.css's (Noto)

    def line(self, phone: str, tty: str) -> str:
        return self.text.replace("{phone}", phone).replace("{tty}", tty)


def needs_name_fonts(notices) -> bool:
    """Whether a notice line prints in the Noto fonts of styles/name-fonts.css."""
    return any(notice.name_font for notice in notices)


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
    check.keys(entry, path, {"lang", "text", "source"}, {"font", "family", "dir"})
    values = {key: check.text(entry, key, path) for key in ("lang", "text", "source")}
    font = check.text(entry, "font", path, required=False)
    family = check.text(entry, "family", path, required=False)
    where = entry.line_of("text")
    if values["lang"] and not BCP47.match(values["lang"]):
        check.problem(f"{path}.lang", f"'{values['lang']}' is not a BCP 47 tag such as es-US",
                      entry.line_of("lang"))
    for key, what in (("{phone}", "number"), ("{tty}", "TTY number (or 711)")):
        if values["text"] and key not in values["text"]:
            check.problem(f"{path}.text", f"must say where the clinic's {what} goes: {key}",
                          where)
    direction = check.text(entry, "dir", path, required=False)
    if direction not in ("", "ltr", "rtl"):
        check.problem(f"{path}.dir", "use ltr or rtl", entry.line_of("dir"))
    if font and not family:
        check.problem(path, "a font needs its family name too (font and family)", entry.line)
    name_font = bool(family and not font)
    fonts = (font,) if font else _name_font_files(check, root, family, path, entry) \
        if family else DEFAULT_FONTS
    if fonts is None:
        return None
    for file in fonts:
        target = (root / file).resolve()
        allowed = target.is_relative_to(root.resolve()) or (name_font and _packaged(target))
        if not allowed or not target.is_file():
            check.problem(f"{path}.font", f"font '{file}' not found in the project; bundle "
                          "it under assets/fonts/ with its licence", entry.line_of("font"))
            return None
        # Digits and the Latin "TTY" may come from the body font the line falls back to.
        also = _body_coverage(root) if name_font else frozenset()
        lacking = sorted({char for char in re.sub(r"\{(?:phone|tty)\}", "", values["text"])
                          if not char.isspace() and ord(char) not in _cmap(str(target))
                          and ord(char) not in also})
        if lacking:
            check.problem(f"{path}.text", f"the font {file} has no glyph for "
                          f"{''.join(lacking)[:10]}; name a Noto family that has them "
                          "(styles/name-fonts.css) with family:, or bundle a font for "
                          "this language and name it with font: and family:", where)
    return Notice(font=font, family=family, dir=direction if direction == "rtl" else "",
                  name_font=name_font, **values)


def _name_font_files(check: Checker, root: Path, family: str, path: str, entry):
    """The files of a Noto family that styles/name-fonts.css names (Debian's packages)."""
    from .name_fonts import NAME_FONTS_CSS, font_faces

    files = [str(face.path) for face in font_faces(root, NAME_FONTS_CSS)
             if face.family == family][:1]
    if not files:
        check.problem(f"{path}.family", f"'{family}' is not a family of {NAME_FONTS_CSS}; "
                      "name one of its families, or bundle a font and name it with font:",
                      entry.line_of("family"))
        return None
    return files


def _packaged(target: Path) -> bool:
    from .name_fonts import PACKAGE_FONT_DIRS

    return target.parent in PACKAGE_FONT_DIRS


@lru_cache(maxsize=64)
def _cmap(font_file: str) -> frozenset[int]:
    from .name_fonts import _cmap as cmap  # reads font collections (.ttc) too

    return cmap(Path(font_file))


def _body_coverage(root: Path) -> frozenset[int]:
    return frozenset.intersection(*(_cmap(str((root / file).resolve()))
                                    for file in DEFAULT_FONTS))


def check_notice_room(laid_out, document) -> None:
    """The notice is text in the flow of the page (a brochure's panel, a discharge
    sheet's first page, the reading edition under its masthead, or a sheet of its
    own): the layout's overflow checks measure it with the content around it. Here:
    that the template printed it."""
    from .errors import RenderError

    if not any("language-help" in page.anchors for page in laid_out.pages):
        raise RenderError(f"{document.label}: the language-assistance notice is missing "
                          "from the template")
