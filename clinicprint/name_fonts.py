"""Fonts for patient details in any script a US clinic meets.

The brand fonts (styles/fonts.css) cover Latin only. A detail with letters they lack
(a Vietnamese, Greek, Cyrillic, Arabic, Hebrew, Chinese, Hindi... name) is printed
wholly in the Noto fonts of styles/name-fonts.css, right to left where the script
is. Those fonts come from Debian's fonts-noto-core and fonts-noto-cjk: the only files
outside the project the renderer may load (`package_font_files`). A detail with a
character none of the fonts has is refused before rendering, naming the field.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from .errors import PipelineError

BRAND_FONTS_CSS = "styles/fonts.css"
NAME_FONTS_CSS = "styles/name-fonts.css"
# Debian packages (installed by scripts/system-deps.sh) whose fonts may be loaded.
PACKAGE_FONT_DIRS = {
    Path("/usr/share/fonts/truetype/noto"): "fonts-noto-core",
    Path("/usr/share/fonts/opentype/noto"): "fonts-noto-cjk",
}
# Marks that steer shaping or direction (joiners, bidi marks) are not drawn.
INVISIBLE = ("Cf", "Zs")
RTL_CLASSES = ("R", "AL")


@dataclass(frozen=True)
class FontFace:
    family: str
    path: Path


class PatientText(str):
    """A detail as printed, with what the template needs to print it right."""

    direction: str = "ltr"
    any_script: bool = False  # printed in the Noto fonts rather than the brand's

    def __new__(cls, text: str, direction: str = "ltr", any_script: bool = False):
        value = super().__new__(cls, text)
        value.direction, value.any_script = direction, any_script
        return value


def prepare(fields: dict[str, str], root: Path) -> dict[str, str]:
    """Each detail with its direction and font choice, for templates/macros.html."""
    brand = brand_coverage(root)
    return {name: PatientText(value, direction(value),
                              any(_drawn(c) and ord(c) not in brand for c in value))
            for name, value in fields.items()}


def needs_name_fonts(fields: dict[str, str]) -> bool:
    return any(getattr(value, "any_script", False) for value in fields.values())


def check_printable(name: str, value: str, where: str, root: Path) -> None:
    """Refuse a detail with a character no font of ours has (never echoing it)."""
    if value.isascii() and value.isprintable():
        return  # the brand fonts cover printable ASCII (a test checks it)
    brand = brand_coverage(root)
    others = [c for c in value if _drawn(c) and ord(c) not in brand]
    if not others:
        return
    names = name_coverage(root)
    if any(ord(c) not in names for c in others):
        raise PipelineError(f"{where}{name}: has a character that none of the clinic's "
                            "fonts can print; check the spelling, or leave the field "
                            "empty and write it by hand")


def direction(value: str) -> str:
    """The direction of the first letter with a strong direction (as HTML dir=auto)."""
    for char in value:
        kind = unicodedata.bidirectional(char)
        if kind in RTL_CLASSES:
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def _drawn(char: str) -> bool:
    return char != "\n" and unicodedata.category(char) not in INVISIBLE


@functools.lru_cache(maxsize=4)
def brand_coverage(root: Path) -> frozenset[int]:
    """Characters every brand font has (the sheet's text may use any of them)."""
    sets = [_cmap(face.path) for face in font_faces(root, BRAND_FONTS_CSS)]
    return frozenset.intersection(*sets) if sets else frozenset()


@functools.lru_cache(maxsize=4)
def name_coverage(root: Path) -> frozenset[int]:
    faces = font_faces(root, NAME_FONTS_CSS)
    missing = sorted({PACKAGE_FONT_DIRS.get(face.path.parent, str(face.path.parent))
                      for face in faces if not face.path.is_file()})
    if missing:
        raise PipelineError(f"fonts for names in other scripts are not installed: install "
                            f"the Debian packages {', '.join(missing)} (`make build` does, "
                            "as root)")
    return frozenset().union(*(_cmap(face.path) for face in faces))


def package_font_files(root: Path) -> tuple[Path, ...]:
    """The font files outside the project that the renderer may load: those that
    styles/name-fonts.css names inside the Debian packages' font folders."""
    return tuple(face.path for face in font_faces(root, NAME_FONTS_CSS)
                 if face.path.parent in PACKAGE_FONT_DIRS)


@functools.lru_cache(maxsize=8)
def font_faces(root: Path, stylesheet: str) -> tuple[FontFace, ...]:
    """The @font-face rules of a stylesheet: family and file of each."""
    import tinycss2

    path = (root / stylesheet).resolve()
    rules = tinycss2.parse_stylesheet(path.read_text(encoding="utf-8"), skip_comments=True,
                                      skip_whitespace=True)
    faces = []
    for rule in rules:
        if rule.type != "at-rule" or rule.lower_at_keyword != "font-face":
            continue
        declarations = {d.lower_name: d.value for d in tinycss2.parse_declaration_list(
            rule.content, skip_comments=True, skip_whitespace=True) if d.type == "declaration"}
        family = next((t.value for t in declarations.get("font-family", ())
                       if t.type == "string"), "")
        url = next((t.value for t in declarations.get("src", ()) if t.type == "url"), "")
        if url:
            faces.append(FontFace(family, Path(unquote(urlsplit(
                urljoin(path.as_uri(), url)).path))))
    return tuple(faces)


@functools.lru_cache(maxsize=64)
def _cmap(path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    try:
        # Collections (.ttc) hold one face per region; every CJK face covers the same.
        font = TTFont(path, fontNumber=0 if path.suffix == ".ttc" else -1, lazy=True)
        return frozenset(font.getBestCmap() or ())
    except OSError:
        return frozenset()
