"""Preflight of press PDFs: what a print shop's checker looks at, measured on the file.

Every rule is in the registry of clinicprint/gwg.py (GWG 2022 sheetfed CMYK, PDF/X-4
and the house rules) with its id; each finding names rule, page, position, value and
limit. The vector rules read the drawing operators (pdfcontent.py); ink, bleed and
crop marks are measured on the separated plates Ghostscript's tiffsep device makes;
the folds on the text PDFium reads; the output profile is evaluated with LittleCMS
against the characterization it names. `build` runs the same checks on each press PDF:
an error stops the build like a quality gate.
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
from .gwg import CHARACTERIZATIONS, FOLD_CLEARANCE_IN, MM, RULES, STANDARD, Finding
from .layouts import INCH, Profile
from .pdfcontent import Seen
from .press import BLEND_SPACES, CUSTOM, walk_page

SEPARATION_DPI = 72          # fine enough for coverage; marks are drawn 1 pixel or more
ALLOWED_ANNOTATIONS = {"/TrapNet", "/PrinterMark"}
BOX_TOLERANCE_PT = 0.01
PLATE = re.compile(r"^p(\d+)\((.+)\)\.tif$")
INKED = 250                  # tiffsep: 255 is no ink; below this a plate carries ink
SOLID = 13                   # ... and below this, 95 % or more
MIN_BLEED_GAP_PX = 3         # a gap in the bleed shorter than this is noise


@dataclass
class PreflightReport:
    label: str
    pdfx: str = "-"
    output_intent: str = "-"
    colour_spaces: list[str] = field(default_factory=list)
    max_ink: float = 0.0           # percent, on any pixel inside the bleed box
    max_area_ink: float = 0.0      # percent, averaged over the standard's square
    ink_limit: int | None = None
    marks: str = "-"
    boxes: str = "-"
    fonts: str = "-"
    min_image_dpi: float | None = None
    annotations: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        return [f"{self.label}: preflight: {f.line()}" for f in self.findings
                if f.severity == "error"]

    @property
    def warnings(self) -> list[str]:
        return [f"{self.label}: preflight: {f.line()}" for f in self.findings
                if f.severity != "error"]

    @property
    def passed(self) -> bool:
        return not self.failures

    def add(self, finding: Finding) -> None:
        assert finding.rule in RULES, finding.rule
        self.findings.append(finding)


def preflight(data: bytes, label: str, profile: Profile,
              folds: list[tuple[float, ...]] | None = None) -> PreflightReport:
    """Check one press PDF (its bytes); the report lists every finding. `folds`: each
    page's folds in points from the trim's left edge (layout_gate.fold_lines)."""
    report = PreflightReport(label, ink_limit=profile.ink_limit)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        _identification(pdf, report)
        _pages(pdf, report, profile)
        _groups(pdf, report)
        _fonts(pdf, report)
        boxes = [(_box(page.obj, "/MediaBox"), _box(page.obj, "/BleedBox"),
                  _box(page.obj, "/TrimBox")) for page in pdf.pages]
        intent_profile = _intent_profile(pdf)
    _separations(data, boxes, intent_profile, report)
    if folds:
        _folds(data, folds, report)
    return report


# --- identification and output intent ---------------------------------------

def _identification(pdf: pikepdf.Pdf, report: PreflightReport) -> None:
    version = _xmp_value(pdf, "pdfxid:GTS_PDFXVersion")
    report.pdfx = f"{version or '?'} (PDF {pdf.pdf_version})"
    if not version:
        report.add(Finding("PDFX-VERSION", None, "no pdfxid:GTS_PDFXVersion in the XMP",
                           "PDF/X-4"))
    if version == "PDF/X-4" and pdf.pdf_version > "1.6":
        report.add(Finding("PDFX-VERSION", None, f"PDF {pdf.pdf_version}", "PDF 1.6"))
    trapped = str(pdf.docinfo.get("/Trapped", ""))
    if trapped not in ("/True", "/False"):
        report.add(Finding("PDFX-VERSION", None, f"/Trapped {trapped or 'missing'}",
                           "True or False"))
    intents = [i for i in pdf.Root.get("/OutputIntents", []) if i.get("/S") == Name.GTS_PDFX]
    if len(intents) != 1:
        report.add(Finding("PDFX-OUTPUT-INTENT", None, f"{len(intents)} PDF/X output intents",
                           "exactly one"))
        return
    intent = intents[0]
    identifier = str(intent.get("/OutputConditionIdentifier", ""))
    icc = intent.get("/DestOutputProfile")
    if icc is None or int(icc.get("/N", 0)) != 4:
        report.add(Finding("PDFX-OUTPUT-INTENT", None, "no CMYK destination profile",
                           "a CMYK output profile"))
    registry = str(intent.get("/RegistryName", ""))
    if identifier != CUSTOM and not registry:
        report.add(Finding("PDFX-OUTPUT-INTENT", None, f"'{identifier}' names no RegistryName",
                           "a registered condition with its registry, or Custom"))
    report.output_intent = identifier + (f" ({registry})" if registry else "")
    if icc is not None and identifier in CHARACTERIZATIONS:
        _profile_matches(icc.read_bytes(), CHARACTERIZATIONS[identifier], report)


def _profile_matches(icc: bytes, reference, report: PreflightReport) -> None:
    """The profile's paper and solids, read through it (LittleCMS, absolute
    colorimetric, D50), against the published data of the condition it names."""
    from PIL import Image, ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        lab = ImageCms.createProfile("LAB", colorTemp=5000)
        transform = ImageCms.buildTransform(profile, lab, "CMYK", "LAB",
                                            ImageCms.Intent.ABSOLUTE_COLORIMETRIC)
    except (OSError, ImageCms.PyCMSError, ValueError):
        report.add(Finding("PRESS-PROFILE-MATCH", None, "the output profile cannot be read",
                           f"a profile of {reference.identifier}"))
        return
    patches = {"paper": ((0, 0, 0, 0), reference.paper, reference.paper_tolerance)}
    for index, (ink, solid) in enumerate(reference.solids.items()):
        value = [0, 0, 0, 0]
        value[index] = 255
        patches[f"solid {ink}"] = (tuple(value), solid, reference.solid_tolerance)
    for name, (cmyk, wanted, tolerance) in patches.items():
        L, a, b = ImageCms.applyTransform(Image.new("CMYK", (1, 1), cmyk),
                                          transform).getpixel((0, 0))
        got = (L * 100 / 255, a - 128, b - 128)
        delta = sum((x - y) ** 2 for x, y in zip(got, wanted)) ** 0.5
        if delta > tolerance:
            report.add(Finding(
                "PRESS-PROFILE-MATCH", None,
                f"{name} is L*a*b* {got[0]:.0f}/{got[1]:.0f}/{got[2]:.0f}, "
                f"delta E {delta:.1f} from {reference.identifier}'s "
                f"{wanted[0]:.0f}/{wanted[1]:.0f}/{wanted[2]:.0f}", f"delta E {tolerance:g}",
                what="output profile"))


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


# --- pages: boxes, annotations, what is painted -------------------------------

def _pages(pdf: pikepdf.Pdf, report: PreflightReport, profile: Profile) -> None:
    spaces: set[str] = set()
    dpis: list[float] = []
    sizes = set()
    for number, page in enumerate(pdf.pages, 1):
        media, bleed, trim = (_box(page.obj, key) for key in ("/MediaBox", "/BleedBox",
                                                              "/TrimBox"))
        sizes.add(_check_boxes(number, media, bleed, trim, profile, report))
        _check_annotations(number, page, bleed, report)
        findings = walk_page(page, fix=False)
        spaces |= findings.spaces
        place = _placer(trim or media or (0, 0, 0, 0))
        for rule, seen, value, limit in _judge(findings.seen, bleed or media):
            x, y = place(seen.x, seen.y)
            report.add(Finding(rule, number, value, limit, _what(seen), x, y))
        dpis += [seen.size for seen in findings.seen if seen.what == "image" and seen.size]
        for space in findings.groups:
            if space not in BLEND_SPACES:
                report.add(Finding("GWG-BLEND-SPACE", number, f"a transparency group blends "
                                   f"in {space}", "DeviceCMYK", "form"))
        group = page.obj.get("/Group")
        page_space = str(group.get("/CS")) if group is not None else None
        if (findings.transparency or findings.groups) and page_space != "/DeviceCMYK":
            report.add(Finding("GWG-BLEND-SPACE", number, "the page uses transparency and "
                               f"blends in {page_space or 'no declared space'}", "DeviceCMYK"))
    report.colour_spaces = sorted(spaces)
    report.boxes = "; ".join(sorted(size for size in sizes if size))
    report.min_image_dpi = min(dpis) if dpis else None
    _one_per_object(report)


def _placer(trim):
    """Page space to millimetres from the trim box's top-left corner."""
    return lambda x, y: ((x - trim[0]) / MM, (trim[3] - y) / MM)


def _what(seen: Seen) -> str:
    if seen.what == "image":
        return f"image '{seen.name}'" if seen.name else "image"
    return {"fill": "filled area"}.get(seen.what, seen.what)


def _judge(seen: list[Seen], bleed) -> list[tuple[str, Seen, str, str]]:
    """(rule, object, value, limit) for everything painted that breaks a rule."""
    found = []
    s = STANDARD
    for item in seen:
        if item.marks or not _inside(bleed, item.x, item.y):
            continue  # the crop marks and the slug are the shop's, not the artwork
        paint = item.paint
        if item.what in ("image", "mask", "shading") or paint is None:
            found += _judge_picture(item)
            continue
        colour = paint.describe()
        if paint.space not in s.colour_spaces:
            found.append(("GWG-COLOUR-SPACE", item, paint.space, ", ".join(s.colour_spaces)))
            continue
        if paint.space == "Separation(All)":
            found.append(("GWG-COLOUR-SPACE", item, "Registration inside the bleed",
                          "Registration for printer's marks only"))
        inks = paint.inks or 0
        is_text, is_line = item.what == "text", item.what == "line"
        if paint.white and item.overprint:
            found.append(("GWG-WHITE-OVERPRINT", item, "white set to overprint",
                           "white knocks out"))
        if is_text and inks >= 2 and item.size < s.min_multi_ink_text_pt:
            found.append(("GWG-TEXT-INKS", item, f"{item.size:.1f} pt in {inks} inks "
                          f"({colour})", f"{s.min_multi_ink_text_pt:g} pt"))
        if is_line and inks >= 2 and item.size < s.min_multi_ink_line_pt:
            found.append(("GWG-LINE-INKS", item, f"{item.size:.2f} pt in {inks} inks "
                          f"({colour})", f"{s.min_multi_ink_line_pt:g} pt"))
        if is_line and inks and item.size < s.min_line_pt:
            found.append(("GWG-LINE-WIDTH", item, f"{item.size:.3f} pt ({colour})",
                          f"{s.min_line_pt:g} pt"))
        small = (is_text and item.size < s.black_overprint_text_below_pt) or \
            (is_line and item.size < s.black_overprint_line_below_pt)
        size = f"{item.size:.1f} pt" if is_text else f"{item.size:.2f} pt"
        if small and paint.near_black:
            limit = s.black_overprint_text_below_pt if is_text else \
                s.black_overprint_line_below_pt
            found.append(("PRESS-RICH-BLACK", item, f"{size} in {colour}",
                          f"100 % K alone under {limit:g} pt"))
        if small and paint.solid_black and not (item.overprint and (
                item.overprint_mode == 1 or paint.space == "DeviceGray")):
            how = "knocks out" if not item.overprint else "overprints in OPM 0"
            found.append(("GWG-BLACK-OVERPRINT", item, f"{size} black {how}",
                          "overprint, OPM 1"))
    return found


def _judge_picture(item: Seen) -> list[tuple[str, Seen, str, str]]:
    found = []
    space = item.paint.space if item.paint else "unknown"
    base = space[8:-1] if space.startswith("Indexed(") else space
    if item.what != "mask" and base not in STANDARD.colour_spaces:
        found.append(("GWG-COLOUR-SPACE", item, space, ", ".join(STANDARD.colour_spaces)))
    if item.what == "image" and item.size:
        if item.size < STANDARD.min_image_ppi:
            found.append(("GWG-IMAGE-RES", item, f"{item.size:.0f} ppi",
                          f"{STANDARD.min_image_ppi:g} ppi"))
        elif item.size < STANDARD.warn_image_ppi:
            found.append(("GWG-IMAGE-RES-LOW", item, f"{item.size:.0f} ppi",
                          f"{STANDARD.warn_image_ppi:g} ppi"))
    return found


def _inside(box, x: float, y: float) -> bool:
    return box is None or (box[0] - 1 <= x <= box[2] + 1 and box[1] - 1 <= y <= box[3] + 1)


MAX_PER_RULE_AND_PAGE = 3


def _one_per_object(report: PreflightReport) -> None:
    """A word is drawn in several runs, a rule in several strokes: keep the first few
    findings of each rule on each page, and say how many more there are."""
    kept, counts = [], {}
    for finding in report.findings:
        key = (finding.rule, finding.page)
        counts[key] = counts.get(key, 0) + 1
        if counts[key] <= MAX_PER_RULE_AND_PAGE:
            kept.append(finding)
    for (rule, page), count in counts.items():
        if count > MAX_PER_RULE_AND_PAGE and page is not None:
            kept.append(Finding(rule, page, f"{count - MAX_PER_RULE_AND_PAGE} more like the "
                                "above", RULES[rule].wants))
    report.findings = kept


def _groups(pdf: pikepdf.Pdf, report: PreflightReport) -> None:
    """Groups no page draws directly (soft masks): their blending space too."""
    for obj in pdf.objects:
        if not isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)) or "/Group" not in obj:
            continue
        group = obj.Group
        if isinstance(group, pikepdf.Dictionary) and group.get("/S") == Name.Transparency \
                and "/CS" in group:
            from .pdfcontent import space_name

            space = space_name(group.CS, pikepdf.Dictionary())
            if space not in BLEND_SPACES and not any(
                    f.rule == "GWG-BLEND-SPACE" for f in report.findings):
                report.add(Finding("GWG-BLEND-SPACE", None, f"a transparency group blends "
                                   f"in {space}", "DeviceCMYK"))


def _box(page, key: str) -> tuple[float, float, float, float] | None:
    box = page.get(key)
    if box is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in box)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _check_boxes(number: int, media, bleed, trim, profile: Profile,
                 report: PreflightReport) -> str:
    if media is None or bleed is None or trim is None:
        report.add(Finding("PDFX-BOXES", number, "a MediaBox, BleedBox or TrimBox is missing",
                           "all three"))
        return ""
    if not (_contains(bleed, trim) and _contains(media, bleed)):
        report.add(Finding("PDFX-BOXES", number, "the boxes are not nested",
                           "TrimBox in BleedBox in MediaBox"))
    margins = [trim[0] - bleed[0], trim[1] - bleed[1], bleed[2] - trim[2], bleed[3] - trim[3]]
    wanted = profile.bleed_in * INCH
    if any(abs(margin - wanted) > BOX_TOLERANCE_PT for margin in margins):
        report.add(Finding("PDFX-BOXES", number, f"bleed {min(margins) / INCH:.3f} in",
                           f"{profile.bleed_in} in on every side"))
    width, height = (trim[2] - trim[0]) / INCH, (trim[3] - trim[1]) / INCH
    return f"trim {width:g} x {height:g} in, bleed {min(margins) / INCH:g} in"


def _contains(outer, inner) -> bool:
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
        report.add(Finding("PDFX-ANNOTATIONS", number, f"{inside} annotations inside the "
                           "BleedBox", "TrapNet and PrinterMark only"))


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
    for name in sorted(missing):
        report.add(Finding("PDFX-FONTS", None, f"font {name} is not embedded", "embedded"))


# --- separations: ink coverage, bleed and marks -------------------------------

def _separations(data: bytes, boxes: list, profile: bytes | None,
                 report: PreflightReport) -> None:
    """Render every page to separated plates with Ghostscript and measure them.

    DeviceCMYK in a PDF/X file means the output intent's CMYK, so Ghostscript is given
    that profile as both source and output: CMYK values reach the plates unchanged.
    tiffsep simulates overprint, so what overprints adds up as it will on press."""
    plates = _plates(data, profile)
    marks = []
    for number, (media, bleed, trim) in enumerate(boxes, 1):
        page = plates.get(number, {})
        if not page or media is None or bleed is None or trim is None:
            report.add(Finding("PRESS-MARKS", number, "Ghostscript made no separations",
                               "four plates"))
            continue
        inside, cut = _pixel_box(media, bleed), _pixel_box(media, trim)
        _ink(number, page, inside, cut, report)
        _bleed(number, page, cut, inside, report)
        marks.append(_marks_on_every_plate(page, inside))
    if marks and all(marks):
        report.marks = "Registration (every plate)"
    else:
        report.marks = "not on every plate"
        report.add(Finding("PRESS-MARKS", None, "crop marks missing from a plate or not "
                           "solid", "100 % on all four plates"))


def _plates(data: bytes, profile: bytes | None) -> dict[int, dict]:
    from PIL import Image

    ghostscript = shutil.which("gs")
    if ghostscript is None:
        raise PipelineError("Ghostscript (gs) is needed to preflight press PDFs; install "
                            "Debian's ghostscript (make build does)")
    plates: dict[int, dict] = {}
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
        for path in Path(folder).glob("p*(*).tif"):
            match = PLATE.match(path.name)
            if match:
                with Image.open(path) as image:
                    plates.setdefault(int(match[1]), {})[match[2]] = image.convert("L")
    return plates


def _pixel_box(media, box) -> tuple[int, int, int, int]:
    scale = SEPARATION_DPI / INCH
    return (round((box[0] - media[0]) * scale), round((media[3] - box[3]) * scale),
            round((box[2] - media[0]) * scale), round((media[3] - box[1]) * scale))


def _ink(number: int, plates: dict, box: tuple[int, int, int, int],
         trim: tuple[int, int, int, int], report: PreflightReport) -> None:
    """Total ink inside the bleed: on the worst pixel, and averaged over the standard's
    square (the mean of a sum is the sum of the plates' means, so each plate is
    averaged on its own, in 8 bits)."""
    from PIL import ImageChops, ImageFilter

    side = STANDARD.ink_area_side_mm * MM * SEPARATION_DPI / INCH
    radius = max(1, round((side - 1) / 2))
    inks = [ImageChops.invert(plate.crop(box)) for plate in plates.values()]
    worst, where = _peak(inks)
    averaged = [ink.filter(ImageFilter.BoxBlur(radius)) for ink in inks]
    area, area_where = _peak(averaged)
    report.max_ink = max(report.max_ink, worst)
    report.max_area_ink = max(report.max_area_ink, area)
    limit = report.ink_limit
    if limit is None:
        return
    to_mm = 25.4 / SEPARATION_DPI
    offset = (box[0] - trim[0], box[1] - trim[1])
    if area > limit:
        report.add(Finding("GWG-INK-AREA", number, f"{area:.0f} % total ink averaged over a "
                           f"{STANDARD.ink_area_side_mm:g} mm square", f"{limit} %",
                           "area", (area_where[0] + offset[0]) * to_mm,
                           (area_where[1] + offset[1]) * to_mm))
    if worst > limit:
        report.add(Finding("PRESS-INK-PIXEL", number, f"{worst:.0f} % total ink",
                           f"{limit} %", "pixel", (where[0] + offset[0]) * to_mm,
                           (where[1] + offset[1]) * to_mm))


def _peak(inks: list) -> tuple[float, tuple[int, int]]:
    """The most ink (percent, all plates summed) on any pixel, and where."""
    from PIL import ImageMath

    names = {f"p{i}": ink for i, ink in enumerate(inks)}

    def add_up(args):
        total = args["convert"](args["p0"], "I")
        for name in list(names)[1:]:
            total = total + args["convert"](args[name], "I")
        return total

    total = ImageMath.lambda_eval(add_up, **names)
    low, high = total.getextrema()
    if not high:
        return 0.0, (0, 0)
    width = total.size[0]
    data = total.get_flattened_data() if hasattr(total, "get_flattened_data") \
        else total.getdata()
    index = next(i for i, value in enumerate(data) if value == high)
    return high / 255 * 100, (index % width, index // width)


def _bleed(number: int, plates: dict, trim: tuple[int, int, int, int],
           bleed: tuple[int, int, int, int], report: PreflightReport) -> None:
    """Ink on the trim's edge must go on to the bleed box's edge: a background cut at
    the trim leaves a white sliver where the cutter lands a little outside it."""
    from PIL import ImageChops

    any_ink = plates[next(iter(plates))]
    for plate in plates.values():
        any_ink = ImageChops.darker(any_ink, plate)
    pixels = any_ink.load()
    x0, y0, x1, y1 = trim
    bx0, by0, bx1, by1 = bleed
    edges = {  # edge: (positions along it, the pixel inside the trim, the one at the bleed)
        "left": ((y for y in range(y0, y1)), lambda y: (x0, y), lambda y: (bx0, y)),
        "right": ((y for y in range(y0, y1)), lambda y: (x1 - 1, y), lambda y: (bx1 - 1, y)),
        "top": ((x for x in range(x0, x1)), lambda x: (x, y0), lambda x: (x, by0)),
        "bottom": ((x for x in range(x0, x1)), lambda x: (x, y1 - 1), lambda x: (x, by1 - 1)),
    }
    to_mm = 25.4 / SEPARATION_DPI
    for edge, (positions, at_trim, at_bleed) in edges.items():
        run, first = 0, None
        for position in positions:
            if pixels[at_trim(position)] < INKED and pixels[at_bleed(position)] >= INKED:
                run += 1
                first = position if first is None else first
            elif run < MIN_BLEED_GAP_PX:
                run, first = 0, None
        if run >= MIN_BLEED_GAP_PX:
            x, y = at_trim(first)
            report.add(Finding("PRESS-BLEED", number, f"artwork at the {edge} trim edge "
                               f"stops short of the bleed for {run * to_mm:.0f} mm",
                               "0.125 in past the trim", "", (x - x0) * to_mm,
                               (y - y0) * to_mm))


def _marks_on_every_plate(plates: dict, inside: tuple[int, int, int, int]) -> bool:
    """Outside the bleed box there are only marks: every pixel with any ink there must
    carry (nearly) full ink on every plate, as Registration colour does."""
    from PIL import ImageChops

    inked, solid = [], []
    for image in plates.values():
        for masks, threshold in ((inked, INKED), (solid, SOLID)):
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


# --- folds --------------------------------------------------------------------

def _folds(data: bytes, folds: list[tuple[float, ...]], report: PreflightReport) -> None:
    from .layout_gate import pdf_lines, text_on_folds

    lines, _ = pdf_lines(data)
    for line, fold in text_on_folds(lines, folds, FOLD_CLEARANCE_IN * INCH):
        report.add(Finding("PRESS-FOLD", line.page + 1,
                           f"'{line.text[:30]}' runs from {line.x0 / MM:.0f} to "
                           f"{line.x1 / MM:.0f} mm, over the fold at {fold / MM:.0f} mm",
                           f"{FOLD_CLEARANCE_IN:g} in clear of every fold", "text",
                           line.x0 / MM, line.top / MM))


# --- for the build and the preflight command -----------------------------------

def problems(data: bytes, label: str, profile: Profile,
             folds: list[tuple[float, ...]] | None = None) -> tuple[list[str], list[str]]:
    """(failures, warnings) for the build."""
    report = preflight(data, label, profile, folds)
    return report.failures, report.warnings


def folds_for(kind_name: str, profile: Profile) -> list[tuple[float, ...]] | None:
    """The folds of a handout kind's press sheet (None: it is not folded)."""
    from .layout_gate import fold_lines
    from .layouts import KINDS

    kind = KINDS.get(kind_name)
    if kind is None or not kind.panels:
        return None
    return fold_lines(profile)


def preflight_built(output: Path) -> list[PreflightReport]:
    """Preflight every press PDF the manifest in `output` lists. The kind (and so the
    folds) is known from the kind's stylesheet among the file's inputs."""
    from .layouts import KINDS, PROFILES
    from .output import read_manifest

    entries = [entry for entry in read_manifest(output)
               if entry.profile in PROFILES and PROFILES[entry.profile].cmyk]
    if not entries:
        raise PipelineError(f"{output}: no press PDFs built yet; run "
                            "`pipeline.py build --profile press` first")
    reports = []
    for entry in entries:
        profile = PROFILES[entry.profile]
        kind = next((k.name for k in KINDS.values() if k.stylesheet in entry.inputs), "")
        reports.append(preflight((output / entry.path).read_bytes(), entry.path, profile,
                                 folds_for(kind, profile)))
    return reports
