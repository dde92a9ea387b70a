"""Handout kinds and the page geometry of each print profile.

Geometry lives here, in numbers, so that a profile with another paper size
recomputes panel widths instead of scaling a finished layout.
"""

from __future__ import annotations

from dataclasses import dataclass

INCH = 72.0  # PDF points


@dataclass(frozen=True)
class Kind:
    name: str
    template: str
    stylesheet: str
    panels: tuple[str, ...]
    min_pages: int
    max_pages: int


KINDS: dict[str, Kind] = {
    "brochure": Kind(
        name="brochure", template="brochure.html", stylesheet="styles/brochure.css",
        # Outside sheet left to right, then inside sheet left to right.
        panels=("fold-in", "back", "cover", "inside-left", "inside-middle", "inside-right"),
        min_pages=2, max_pages=2),
    "discharge": Kind(
        name="discharge", template="discharge.html", stylesheet="styles/discharge.css",
        panels=(), min_pages=1, max_pages=2),
}


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    paper: str
    width_in: float   # portrait width of the paper
    height_in: float


PROFILES: dict[str, Profile] = {
    "office": Profile("office", "US Letter for the office printer, no bleed, RGB",
                      "Letter", 8.5, 11.0),
}

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
