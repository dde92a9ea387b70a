"""Handout kinds and the page geometry of each print profile.

Geometry lives here, in numbers, so that a profile with another paper size
recomputes panel widths instead of scaling a finished layout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

INCH = 72.0  # PDF points


@dataclass(frozen=True)
class Kind:
    name: str
    template: str
    stylesheet: str
    panels: tuple[str, ...]
    min_pages: int
    max_pages: int
    profiles: tuple[str, ...]  # the print profiles a handout of this kind is made in
    required_sections: tuple[str, ...] = ()  # section ids or types every variant keeps
    fixed_panels: tuple[str, ...] = ()  # panels the template fills; sections go elsewhere

    @property
    def section_panels(self) -> tuple[str, ...]:
        return tuple(panel for panel in self.panels if panel not in self.fixed_panels)


KINDS: dict[str, Kind] = {
    "brochure": Kind(
        name="brochure", template="brochure.html", stylesheet="styles/brochure.css",
        # Outside sheet left to right, then inside sheet left to right.
        panels=("fold-in", "back", "cover", "inside-left", "inside-middle", "inside-right"),
        min_pages=2, max_pages=2, profiles=("press", "office", "office-a4", "screen", "web"),
        fixed_panels=("cover",)),
    "discharge": Kind(
        name="discharge", template="discharge.html", stylesheet="styles/discharge.css",
        panels=(), min_pages=1, max_pages=2, profiles=("office", "office-a4", "screen", "web"),
        required_sections=("call-clinic", "call-911", "follow-up", "contacts")),
}


@dataclass(frozen=True)
class Profile:
    """Where a document goes, and what its PDF must be like to get there."""

    name: str
    description: str
    paper: str          # CSS page size keyword
    width_in: float     # portrait width of the paper
    height_in: float
    bleed_in: float = 0.0   # artwork past the trim edge, for the print shop's cutter
    marks: bool = False     # crop marks outside the trim and the bleed
    cmyk: bool = False      # brand colours written as CMYK, CMYK output intent
    pdf_variant: str | None = None
    stylesheet: str | None = None
    ink_limit: int | None = None  # most ink, in percent, anywhere on a press page
    # Desk printers cannot print to the paper's edge: nothing is placed closer
    # than this (the layout gate checks it on the PDF).
    safe_margin_in: float = 0.0
    # The reading edition (screen, web) replaces the kind's print layout with one
    # column in reading order: its own template and stylesheet, any length.
    template: str | None = None
    layout_stylesheet: str | None = None
    writer: str = "pdf"  # what build writes: "pdf", or "web" (clinicprint/web_edition.py)

    @property
    def extension(self) -> str:
        return "html" if self.writer == "web" else "pdf"

    @property
    def reading_edition(self) -> bool:
        return self.template is not None


PROFILES: dict[str, Profile] = {
    "press": Profile(
        "press", "print shop: PDF/X-4, CMYK, 0.125 in bleed and crop marks",
        "letter", 8.5, 11.0, bleed_in=0.125, marks=True, cmyk=True, pdf_variant="pdf/x-4",
        ink_limit=300),
    "office": Profile(
        "office", "office printer: US Letter, no bleed, RGB", "letter", 8.5, 11.0,
        safe_margin_in=0.25),
    "office-a4": Profile(
        "office-a4", "office printer outside North America: A4, no bleed, RGB",
        "A4", 210 / 25.4, 297 / 25.4, safe_margin_in=0.25),
    "screen": Profile(
        "screen", "email: a one-column reading edition, tagged PDF/UA-1 with live links",
        "letter", 8.5, 11.0, pdf_variant="pdf/ua-1", stylesheet="styles/profile-screen.css",
        template="reading.html", layout_stylesheet="styles/reading.css"),
    # The web page is laid out once by WeasyPrint as well (its print stylesheet), so
    # it is held to the same print-size, contrast and required-section gates.
    "web": Profile(
        "web", "website: a self-contained, accessible HTML page (fonts and pictures inside)",
        "letter", 8.5, 11.0, stylesheet="styles/profile-web.css", template="reading.html",
        layout_stylesheet="styles/reading.css", writer="web"),
}
# PDF/X-1a is not offered: it forbids transparency, and flattening it would turn
# these pages into pictures (see README, "Sending to the print shop").
PDFX_VARIANTS = {"x-4": "pdf/x-4"}

# The press output intent: a profile of the registered characterization CGATS TR 006
# (GRACoL), made from openly licensed data and shipped with the code
# (clinicprint/icc/README.md). A print shop's own profile can be named instead.
CMYK_PROFILE_ENV = "HANDOUTS_CMYK_PROFILE"
DEFAULT_CMYK_PROFILE = Path(__file__).resolve().parent / "icc" / "GRACoL2006-TR006-300.icc"


def default_cmyk_profile() -> Path:
    return DEFAULT_CMYK_PROFILE


def cmyk_profile() -> Path:
    override = os.environ.get(CMYK_PROFILE_ENV)
    return Path(override).resolve() if override else DEFAULT_CMYK_PROFILE

# WeasyPrint draws crop marks in the CSS bleed area, from its outer edge halfway in.
# A CSS bleed three times the real bleed puts the marks wholly outside the real bleed.
MARKS_AREA_FACTOR = 3


def css_bleed_in(profile: Profile) -> float:
    return profile.bleed_in * MARKS_AREA_FACTOR if profile.marks else profile.bleed_in


# Print shops want the panel that folds in narrower so the sheet closes flat.
FOLD_IN_NARROWER_IN = 1 / 16


@dataclass(frozen=True)
class TriFold:
    """Panel widths (inches) of a letter-fold brochure on a landscape sheet."""

    sheet_width: float
    sheet_height: float
    fold_in: float
    full: float

    @property
    def outside(self) -> tuple[float, float, float]:
        return (self.fold_in, self.full, self.full)

    @property
    def inside(self) -> tuple[float, float, float]:
        # The inside right panel is the back of the fold-in panel.
        return (self.full, self.full, self.fold_in)


def trifold(profile: Profile) -> TriFold:
    width, height = profile.height_in, profile.width_in  # landscape
    full = (width + FOLD_IN_NARROWER_IN) / 3
    return TriFold(sheet_width=width, sheet_height=height,
                   fold_in=full - FOLD_IN_NARROWER_IN, full=full)
