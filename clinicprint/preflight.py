"""Preflight of press PDFs: what a print shop's checker looks at, measured on the file.

Colour spaces, ink coverage on the separated plates (Ghostscript's tiffsep device),
crop-mark colour, page boxes, embedded fonts, effective image resolution,
annotations and PDF/X identification. A failure stops the build like a quality gate.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
from pikepdf import Name

from .errors import PipelineError
from .layouts import INCH, Profile
from .pdfcontent import RGB_SPACES
from .press import CUSTOM, walk_page

SEPARATION_DPI = 72          # fine enough for coverage; marks are drawn 1 pixel or more
MIN_IMAGE_DPI = 300          # the build's own warning threshold for press
ALLOWED_ANNOTATIONS = {"/TrapNet", "/PrinterMark"}
BOX_TOLERANCE_PT = 0.01
PLATE = re.compile(r"^p(\d+)\((.+)\)\.tif$")


@dataclass
class PreflightReport:
    label: str
    pdfx: str = "-"
    output_intent: str = "-"
    colour_spaces: list[str] = field(default_factory=list)
    max_ink: float = 0.0           # percent, inside the bleed box
    ink_limit: int | None = None
    marks: str = "-"
    boxes: str = "-"
    fonts: str = "-"
    min_image_dpi: float | None = None
    annotations: int = 0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def fail(self, what: str) -> None:
        self.failures.append(f"{self.label}: preflight: {what}")


def preflight(data: bytes, label: str, profile: Profile) -> PreflightReport:
    """Check one press PDF (its bytes); the report lists every failure."""
    report = PreflightReport(label, ink_limit=profile.ink_limit)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        _identification(pdf, report)
        _pages(pdf, report, profile)
        _fonts(pdf, report)
        bleed_boxes = [(_box(page.obj, "/MediaBox"), _box(page.obj, "/BleedBox"))
                       for page in pdf.pages]
        intent_profile = _intent_profile(pdf)
    _separations(data, bleed_boxes, intent_profile, report)
    return report


# --- identification and output intent ---------------------------------------

def _identification(pdf: pikepdf.Pdf, report: PreflightReport) -> None:
    version = _xmp_value(pdf, "pdfxid:GTS_PDFXVersion")
    if not version:
        report.fail("no PDF/X version in the XMP metadata (pdfxid:GTS_PDFXVersion)")
    report.pdfx = f"{version or '?'} (PDF {pdf.pdf_version})"
    if version == "PDF/X-4" and pdf.pdf_version > "1.6":
        report.fail(f"PDF/X-4 allows PDF 1.6 at most, not {pdf.pdf_version}")
    if str(pdf.docinfo.get("/Trapped", "")) not in ("/True", "/False"):
        report.fail("/Trapped must be True or False in the document information")
    intents = [i for i in pdf.Root.get("/OutputIntents", []) if i.get("/S") == Name.GTS_PDFX]
    if len(intents) != 1:
        report.fail(f"{len(intents)} PDF/X output intents; exactly one is required")
        return
    intent = intents[0]
    identifier = str(intent.get("/OutputConditionIdentifier", ""))
    profile = intent.get("/DestOutputProfile")
    if profile is None or int(profile.get("/N", 0)) != 4:
        report.fail("the output intent has no CMYK destination profile")
    registry = str(intent.get("/RegistryName", ""))
    if identifier != CUSTOM and not registry:
        report.fail(f"output intent '{identifier}' names no RegistryName")
    report.output_intent = identifier + (f" ({registry})" if registry else "")


def _intent_profile(pdf: pikepdf.Pdf) -> bytes | None:
    for intent in pdf.Root.get("/OutputIntents", []):
        if intent.get("/S") == Name.GTS_PDFX and "/DestOutputProfile" in intent:
            return intent.DestOutputProfile.read_bytes()
    return None


def _xmp_value(pdf: pikepdf.Pdf, key: str) -> str | None:
    if "/Metadata" not in pdf.Root:
        return None
    xml = pdf.Root.Metadata.read_bytes().decode("utf-8", "replace")
    match = re.search(rf"<{key}>([^<]*)</{key}>|{key}=\"([^\"]*)\"", xml)
    return (match[1] or match[2]) if match else None


# --- pages: boxes, annotations, colour, images -------------------------------

def _pages(pdf: pikepdf.Pdf, report: PreflightReport, profile: Profile) -> None:
    spaces: set[str] = set()
    dpis: list[tuple[str, float]] = []
    rich_black, sizes = 0, set()
    for number, page in enumerate(pdf.pages, 1):
        media, bleed, trim = (_box(page.obj, key) for key in ("/MediaBox", "/BleedBox",
                                                              "/TrimBox"))
        sizes.add(_check_boxes(number, media, bleed, trim, profile, report))
        _check_annotations(number, page, bleed, report)
        findings = walk_page(page, fix=False)
        spaces |= findings.spaces
        rich_black += findings.rich_black
        dpis += [(f"page {number} image {name}", dpi) for name, dpi in findings.image_dpi]
        group = page.obj.get("/Group")
        if findings.transparency and (group is None or group.get("/CS") is None):
            report.fail(f"page {number} uses transparency but declares no blending colour "
                        "space (/Group /CS)")
    report.colour_spaces = sorted(spaces)
    rgb = sorted(space for space in spaces if any(name in space for name in RGB_SPACES))
    if rgb:
        report.fail(f"RGB colour in a press file ({', '.join(rgb)}); use CMYK")
    if rich_black:
        report.fail(f"{rich_black} small texts or thin rules in a black of several inks; "
                    "set them in 100 % K")
    report.boxes = "; ".join(sorted(size for size in sizes if size))
    if dpis:
        report.min_image_dpi = min(dpi for _, dpi in dpis)
        for name, dpi in dpis:
            if dpi < MIN_IMAGE_DPI:
                report.warnings.append(f"{report.label}: {name} prints at {dpi:.0f} dpi; "
                                       f"supply one of at least {MIN_IMAGE_DPI} dpi")


def _box(page, key: str) -> tuple[float, float, float, float] | None:
    box = page.get(key)
    if box is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in box)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _check_boxes(number: int, media, bleed, trim, profile: Profile,
                 report: PreflightReport) -> str:
    if media is None or bleed is None or trim is None:
        report.fail(f"page {number} lacks a MediaBox, BleedBox or TrimBox")
        return ""
    if not (_inside(trim, bleed) and _inside(bleed, media)):
        report.fail(f"page {number}: the TrimBox must lie in the BleedBox, and that in the "
                    "MediaBox")
    margins = [trim[0] - bleed[0], trim[1] - bleed[1], bleed[2] - trim[2], bleed[3] - trim[3]]
    wanted = profile.bleed_in * INCH
    if any(abs(margin - wanted) > BOX_TOLERANCE_PT for margin in margins):
        report.fail(f"page {number}: bleed is {min(margins) / INCH:.3f} in, "
                    f"not {profile.bleed_in} in on every side")
    width, height = (trim[2] - trim[0]) / INCH, (trim[3] - trim[1]) / INCH
    return f"trim {width:g} x {height:g} in, bleed {min(margins) / INCH:g} in"


def _inside(inner, outer) -> bool:
    return all(inner[i] >= outer[i] - BOX_TOLERANCE_PT for i in (0, 1)) and \
        all(inner[i] <= outer[i] + BOX_TOLERANCE_PT for i in (2, 3))


def _check_annotations(number: int, page, bleed, report: PreflightReport) -> None:
    inside = 0
    for annotation in page.obj.get("/Annots", []):
        if str(annotation.get("/Subtype", "")) in ALLOWED_ANNOTATIONS:
            continue
        rect = _box(annotation, "/Rect")
        if rect is None or bleed is None or _overlaps(rect, bleed):
            inside += 1
    if inside:
        report.annotations += inside
        report.fail(f"page {number} has {inside} annotations inside the BleedBox; PDF/X "
                    "allows only TrapNet and PrinterMark there")


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _fonts(pdf: pikepdf.Pdf, report: PreflightReport) -> None:
    names, missing = [], []
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Type") != Name.Font:
            continue
        if obj.get("/Subtype") in (Name.Type0, Name.Type3):
            continue  # a Type0 font's program is in its descendant; Type3 draws glyphs
        descriptor = obj.get("/FontDescriptor")
        name = str(obj.get("/BaseFont", "?"))[1:]
        names.append(name)
        if descriptor is None or not any(key in descriptor for key in
                                         ("/FontFile", "/FontFile2", "/FontFile3")):
            missing.append(name)
    report.fonts = f"{len(names) - len(missing)} of {len(names)} embedded"
    if missing:
        report.fail(f"fonts not embedded: {', '.join(sorted(missing))}")


# --- separations: ink coverage and marks -------------------------------------

def _separations(data: bytes, boxes: list, profile: bytes | None,
                 report: PreflightReport) -> None:
    """Render every page to separated plates with Ghostscript and measure them.

    DeviceCMYK in a PDF/X file means the output intent's CMYK, so Ghostscript is given
    that profile as both source and output: CMYK values reach the plates unchanged."""
    from PIL import Image

    ghostscript = shutil.which("gs")
    if ghostscript is None:
        raise PipelineError("Ghostscript (gs) is needed to preflight press PDFs; install "
                            "Debian's ghostscript (make build does)")
    with tempfile.TemporaryDirectory(prefix="handouts-preflight-") as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(data)
        colour = []
        if profile:
            (Path(folder) / "intent.icc").write_bytes(profile)
            colour = [f"-sDefaultCMYKProfile={folder}/intent.icc",
                      f"-sOutputICCProfile={folder}/intent.icc"]
        subprocess.run([ghostscript, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE",
                        "-sDEVICE=tiffsep", f"-r{SEPARATION_DPI}", *colour,
                        f"-sOutputFile={folder}/p%d.tif", str(source)],
                       check=True, capture_output=True, timeout=120)
        plates: dict[int, dict[str, Image.Image]] = {}
        for path in Path(folder).glob("p*(*).tif"):
            match = PLATE.match(path.name)
            if match:
                with Image.open(path) as image:
                    plates.setdefault(int(match[1]), {})[match[2]] = image.convert("L")
    marks = []
    for number, (media, bleed) in enumerate(boxes, 1):
        page = plates.get(number, {})
        if not page:
            report.fail(f"page {number}: Ghostscript made no separations")
            continue
        inside = _pixel_box(media, bleed)
        report.max_ink = max(report.max_ink, _max_coverage(page, inside))
        marks.append(_marks_on_every_plate(page, inside))
    if report.ink_limit is not None and report.max_ink > report.ink_limit:
        report.fail(f"total ink reaches {report.max_ink:.0f} %, over the {report.ink_limit} % "
                    "limit; use lighter colours or less black under colour")
    if all(marks):
        report.marks = "Registration (every plate)"
    else:
        report.marks = "not on every plate"
        report.fail("crop marks must print on every plate (Registration colour)")


def _pixel_box(media, bleed) -> tuple[int, int, int, int]:
    scale = SEPARATION_DPI / INCH
    return (round((bleed[0] - media[0]) * scale), round((media[3] - bleed[3]) * scale),
            round((bleed[2] - media[0]) * scale), round((media[3] - bleed[1]) * scale))


def _max_coverage(plates: dict, box: tuple[int, int, int, int]) -> float:
    """The most ink (sum of all plates, percent) on any pixel inside the bleed box."""
    from PIL import ImageMath

    # tiffsep plates are 255 where there is no ink and 0 at 100 %.
    cropped = {f"p{i}": image.crop(box) for i, image in enumerate(plates.values())}

    def total_ink(args):
        inks = [255 - args["convert"](args[name], "I") for name in cropped]
        total = inks[0]
        for ink in inks[1:]:
            total = total + ink
        return total

    return ImageMath.lambda_eval(total_ink, **cropped).getextrema()[1] / 255 * 100


def _marks_on_every_plate(plates: dict, inside: tuple[int, int, int, int]) -> bool:
    """Outside the bleed box there are only marks: every pixel with any ink there must
    carry (nearly) full ink on every plate, as Registration colour does."""
    from PIL import ImageChops

    inked, solid = [], []
    for image in plates.values():
        for masks, threshold in ((inked, 250), (solid, 13)):  # any ink; at least 95 %
            mask = image.point(lambda value, limit=threshold: 255 if value < limit else 0)
            mask.paste(0, inside)  # the artwork is not marks
            masks.append(mask)
    on_any, on_all = inked[0], solid[0]
    for mask in inked[1:]:
        on_any = ImageChops.lighter(on_any, mask)
    for mask in solid[1:]:
        on_all = ImageChops.darker(on_all, mask)
    return on_any.getbbox() is not None and ImageChops.difference(on_any, on_all).getbbox() \
        is None


def problems(data: bytes, label: str, profile: Profile) -> tuple[list[str], list[str]]:
    """(failures, warnings) for the build."""
    report = preflight(data, label, profile)
    return report.failures, report.warnings


def preflight_built(output: Path) -> list[PreflightReport]:
    """Preflight every press PDF the manifest in `output` lists."""
    from .layouts import PROFILES
    from .output import read_manifest

    entries = [entry for entry in read_manifest(output)
               if entry.profile in PROFILES and PROFILES[entry.profile].cmyk]
    if not entries:
        raise PipelineError(f"{output}: no press PDFs built yet; run "
                            "`pipeline.py build --profile press` first")
    return [preflight((output / entry.path).read_bytes(), entry.path, PROFILES[entry.profile])
            for entry in entries]
