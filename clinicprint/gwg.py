"""The press rules: what a print shop's preflight holds a press PDF to, as a registry.

Each rule has a stable id, a severity, the standard it comes from and one line saying
what it wants; preflight.py measures the file and reports every finding the way a
shop's preflight does: rule, page, position, value, limit. The numbers of the
standards live here, in one block each, next to the standard's name; the checks read
them from there.
"""

from __future__ import annotations

from dataclasses import dataclass

MM = 72 / 25.4  # PDF points in a millimetre


@dataclass(frozen=True)
class PressStandard:
    """The numbers a standard sets for one printing condition."""

    name: str
    # Colour: what may paint, and what transparency groups blend in.
    colour_spaces: tuple[str, ...]
    blend_spaces: tuple[str, ...]
    # Text and lines in two or more inks blur at the slightest misregistration.
    min_multi_ink_text_pt: float
    min_multi_ink_line_pt: float
    min_line_pt: float                  # any line, one ink or several
    # Black text and lines smaller than these overprint (no white gap when
    # the plates shift), in OPM 1 so a 0 in C, M or Y leaves those plates alone.
    black_overprint_text_below_pt: float
    black_overprint_line_below_pt: float
    # Continuous-tone images: effective resolution at the size printed.
    min_image_ppi: float
    warn_image_ppi: float
    # Total ink, averaged over a square of this side (the ink limit itself is the
    # output profile's, layouts.Profile.ink_limit).
    ink_area_side_mm: float


# Ghent Workgroup GWG 2022, sheetfed offset, CMYK variant (based on PDF/X-4). The
# numbers as the project's issue 26 summarises the specification; the GWG's own
# spreadsheet was not reachable from here to check them against (README).
GWG_2022_SHEETFED_CMYK = PressStandard(
    name="GWG 2022 sheetfed offset CMYK",
    colour_spaces=("DeviceCMYK", "DeviceGray", "Separation(All)"),
    blend_spaces=("DeviceCMYK",),
    min_multi_ink_text_pt=8.0,
    min_multi_ink_line_pt=0.25,
    min_line_pt=0.125,
    black_overprint_text_below_pt=12.0,
    black_overprint_line_below_pt=2.0,
    min_image_ppi=149,
    warn_image_ppi=224,
    ink_area_side_mm=15.0,
)
STANDARD = GWG_2022_SHEETFED_CMYK


@dataclass(frozen=True)
class Characterization:
    """A registered printing condition's published colours (CIELAB, D50, 2 degrees,
    measured over white backing) and how close an output profile must come to them."""

    identifier: str
    source: str
    paper: tuple[float, float, float]
    solids: dict[str, tuple[float, float, float]]  # "C", "M", "Y", "K" at 100 %
    paper_tolerance: float   # CIE 1976 delta E
    solid_tolerance: float


# ANSI CGATS/GRACoL TR 006-2007 characterization data (the mean of each patch's
# measurements in TR006.ti3 of Debian's icc-profiles-free; tests/test_press_profile.py
# reads that file and checks these numbers). Tolerances: ISO 12647-7's for a contract
# proof's paper white (3) and primary solids (5).
CGATS_TR006 = Characterization(
    identifier="CGATS TR 006",
    source="ANSI CGATS/GRACoL TR 006-2007 (TR006.ti3); tolerances of ISO 12647-7",
    paper=(95.0, -0.02, -1.96),
    solids={"C": (54.96, -37.12, -50.0), "M": (47.93, 74.11, -3.01),
            "Y": (88.94, -5.02, 93.17), "K": (14.95, 0.19, -0.14)},
    paper_tolerance=3.0,
    solid_tolerance=5.0,
)
CHARACTERIZATIONS = {CGATS_TR006.identifier: CGATS_TR006}

# The folds of a brochure: no text on them or closer than this (a print shop's rule
# of thumb, the same as its margin inside the trim).
FOLD_CLEARANCE_IN = 0.125


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str   # "error" fails the build; "warning" is printed
    standard: str
    wants: str


_GWG = STANDARD.name
_PDFX = "PDF/X-4 (ISO 15930-7)"
_HOUSE = "house rule for press files"
RULES = {rule.id: rule for rule in (
    Rule("GWG-COLOUR-SPACE", "error", _GWG,
         "only DeviceCMYK, DeviceGray and Registration (Separation All) in content, "
         "images, shadings and groups; no RGB, Lab or ICC-based colour"),
    Rule("GWG-BLEND-SPACE", "error", _GWG,
         "every transparency group blends in DeviceCMYK"),
    Rule("GWG-TEXT-INKS", "error", _GWG,
         f"text in two or more inks at least {STANDARD.min_multi_ink_text_pt:g} pt"),
    Rule("GWG-LINE-INKS", "error", _GWG,
         f"lines in two or more inks at least {STANDARD.min_multi_ink_line_pt:g} pt"),
    Rule("GWG-LINE-WIDTH", "error", _GWG,
         f"every line at least {STANDARD.min_line_pt:g} pt"),
    Rule("GWG-BLACK-OVERPRINT", "error", _GWG,
         f"100 % black text under {STANDARD.black_overprint_text_below_pt:g} pt and "
         f"black lines under {STANDARD.black_overprint_line_below_pt:g} pt overprint "
         "(OPM 1)"),
    Rule("GWG-WHITE-OVERPRINT", "error", _GWG, "no white object set to overprint"),
    Rule("PRESS-RICH-BLACK", "error", _HOUSE,
         f"black text under {STANDARD.black_overprint_text_below_pt:g} pt and black lines "
         f"under {STANDARD.black_overprint_line_below_pt:g} pt in 100 % K only, not a "
         "tint or a black of several inks"),
    Rule("GWG-INK-AREA", "error", _GWG,
         f"total ink averaged over any {STANDARD.ink_area_side_mm:g} mm square at most "
         "the output profile's limit"),
    Rule("PRESS-INK-PIXEL", "error", _HOUSE,
         "total ink on every pixel of the separations at most the output profile's limit"),
    Rule("GWG-IMAGE-RES", "error", _GWG,
         f"images at least {STANDARD.min_image_ppi:g} ppi at the size printed"),
    Rule("GWG-IMAGE-RES-LOW", "warning", _GWG,
         f"images at least {STANDARD.warn_image_ppi:g} ppi at the size printed"),
    Rule("PRESS-BLEED", "error", _HOUSE,
         "artwork that reaches the trim continues to the edge of the bleed"),
    Rule("PRESS-MARKS", "error", _HOUSE,
         "crop marks at full strength on all four plates (Registration)"),
    Rule("PRESS-FOLD", "error", _HOUSE,
         f"no text on a fold or within {FOLD_CLEARANCE_IN:g} in of one"),
    Rule("PDFX-VERSION", "error", _PDFX,
         "PDF/X-4 in the XMP metadata, PDF 1.6 at most, /Trapped True or False"),
    Rule("PDFX-OUTPUT-INTENT", "error", _PDFX,
         "one PDF/X output intent with a CMYK output profile, registered or Custom"),
    Rule("PRESS-PROFILE-MATCH", "error", CGATS_TR006.source,
         "the output profile reproduces the paper and solid colours of the "
         "characterization it names"),
    Rule("PDFX-BOXES", "error", _PDFX,
         "TrimBox in BleedBox in MediaBox, and the profile's bleed on every side"),
    Rule("PDFX-FONTS", "error", _PDFX, "every font embedded"),
    Rule("PDFX-ANNOTATIONS", "error", _PDFX,
         "no annotations inside the BleedBox but TrapNet and PrinterMark"),
)}


@dataclass(frozen=True)
class Finding:
    """One problem, in a print shop's words: rule, page, position, value, limit."""

    rule: str
    page: int | None        # 1-based; None for the whole file
    value: str
    limit: str
    what: str = ""          # the object: "text", "line", "image 'i12'"...
    x_mm: float | None = None  # from the trim box's top-left corner
    y_mm: float | None = None

    @property
    def severity(self) -> str:
        return RULES[self.rule].severity

    def line(self) -> str:
        where = f"page {self.page}" if self.page else "file"
        if self.x_mm is not None and self.y_mm is not None:
            where += f" at {self.x_mm:.0f} mm, {self.y_mm:.0f} mm"
        what = f"{self.what} " if self.what else ""
        return f"{self.rule} ({where}): {what}{self.value}; limit {self.limit}"
