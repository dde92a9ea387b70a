"""Press PDFs checked as a print shop's preflight would, with tools the project did not
write: Apache PDFBox's preflight, Ghostscript's separations, qpdf, PDFium; and the
pipeline's own `preflight` command through the real entry point.

Two sets of real press PDFs, neither built here: the session's build of the generated
library (`built`: every variant and language, as `make build` makes them while brand.yaml
holds placeholders) for the checks that take milliseconds a file, and the shared press
build of tests/press_library.py (the brochure as a clinic sends it: real details, a
photo, hairline rules) for the slow outside tools and the conversions it exercises.
(Planted defects and the build's press gate: test_press_rules.py.)"""

from __future__ import annotations

import ctypes
import hashlib
import io
import re
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageChops

from clinicprint.layouts import DEFAULT_CMYK_PROFILE, PROFILES
from conftest import assert_process_failed, documents_of, run_pipeline
from press_library import shared_press_build

PRESS = [d for d in documents_of() if d.profile.name == "press"]
IDS = [d.relative_path for d in PRESS]
INK_LIMIT = PROFILES["press"].ink_limit
PDFBOX_JARS = ("preflight", "pdfbox2", "fontbox2", "xmpbox", "commons-logging",
               "javax.activation", "jaxb-api")
SEPARATION_DPI = 72


@pytest.fixture(scope="session")
def press(built: Path) -> Path:
    """Every press PDF of the generated library, from the session's build."""
    return built


@pytest.fixture(scope="session")
def press_build(tmp_path_factory):
    build = shared_press_build(tmp_path_factory)
    assert build.press.returncode == 0, build.press.stderr.decode()
    return build


@pytest.fixture(scope="session")
def shop_file(press_build) -> Path:
    """The English press PDF a clinic would send (with a photo and hairlines)."""
    return press_build.output / press_build.press_pdfs()[0]


def test_the_project_has_press_documents() -> None:
    assert PRESS, "no handout is made in the press profile; these tests would prove nothing"


# --- no RGB, no annotations, blending space, output intent ------------------

def _streams(pdf: pikepdf.Pdf):
    """Every page content stream and every form XObject, however deeply drawn."""
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream) and (obj.get("/Subtype") == pikepdf.Name.Form
                                                or obj.get("/PatternType") == 1):
            yield obj
    for page in pdf.pages:
        yield page.obj


@pytest.mark.parametrize("path", IDS)
def test_no_rgb_anywhere(press: Path, path: str) -> None:
    with pikepdf.open(press / path) as pdf:
        operators = {str(op) for stream in _streams(pdf)
                     for _, op in pikepdf.parse_content_stream(stream)}
        assert not operators & {"rg", "RG"}
        names = {repr(obj) for obj in pdf.objects if isinstance(obj, (pikepdf.Dictionary,
                                                                      pikepdf.Array))}
        assert not any("/DeviceRGB" in name or "/CalRGB" in name for name in names)


@pytest.mark.parametrize("path", IDS)
def test_no_annotations_and_cmyk_blending(press: Path, path: str) -> None:
    with pikepdf.open(press / path) as pdf:
        for page in pdf.pages:
            assert "/Annots" not in page.obj
            transparent = any(
                x.get("/Group", {}).get("/S") == pikepdf.Name.Transparency
                for x in (page.obj.Resources.get("/XObject") or {}).values())
            if transparent:
                assert page.obj.Group.CS == pikepdf.Name.DeviceCMYK


@pytest.mark.parametrize("path", IDS)
def test_output_intent_is_a_registered_characterization(press: Path, path: str) -> None:
    with pikepdf.open(press / path) as pdf:
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == pikepdf.Name.GTS_PDFX
        assert str(intent.OutputConditionIdentifier) == "CGATS TR 006"
        assert str(intent.RegistryName) == "http://www.color.org"
        profile = intent.DestOutputProfile.read_bytes()
        assert profile[16:20] == b"CMYK" and profile[12:16] == b"prtr"  # a CMYK output profile
        # The bundled profile (WeasyPrint embeds it re-serialized by LittleCMS).
        assert _description(profile) == _description(DEFAULT_CMYK_PROFILE.read_bytes())
        assert "CGATS TR 006" in _description(profile)
        assert "PDF/X-4" in pdf.Root.Metadata.read_bytes().decode()
        assert pdf.pdf_version == "1.6"


def _description(profile: bytes) -> str:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(io.BytesIO(profile)).profile.profile_description


def test_a_shops_own_profile_is_labelled_custom(tmp_path: Path) -> None:
    shop = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")  # with ghostscript
    output = tmp_path / "output"
    proc = run_pipeline("build", "--profile", "press", "--lang", "en",
                        "--variant", PRESS[0].variant.name,
                        "--handout", PRESS[0].handout.id, "--output", output,
                        env={"HANDOUTS_CMYK_PROFILE": str(shop)})
    assert proc.returncode == 0, proc.stderr.decode()
    with pikepdf.open(output / PRESS[0].relative_path) as pdf:
        (intent,) = pdf.Root.OutputIntents
        assert str(intent.OutputConditionIdentifier) == "Custom"
        assert "/RegistryName" not in intent
        assert _description(intent.DestOutputProfile.read_bytes()) == \
            _description(shop.read_bytes())


def test_font_subset_tags_are_unique_across_files(press: Path) -> None:
    glyph_sets: dict[str, set[str]] = {}
    for path in IDS:
        with pikepdf.open(press / path) as pdf:
            for obj in pdf.objects:
                if isinstance(obj, pikepdf.Dictionary) and "/FontName" in obj:
                    program = next(obj[k] for k in ("/FontFile", "/FontFile2", "/FontFile3")
                                   if k in obj)
                    tag = str(obj.FontName)[1:7]
                    glyph_sets.setdefault(tag, set()).add(
                        hashlib.sha256(program.read_bytes()).hexdigest())
    assert glyph_sets
    shared = {tag: sets for tag, sets in glyph_sets.items() if len(sets) > 1}
    assert not shared, f"one subset tag names different glyph sets: {sorted(shared)}"


# --- Apache PDFBox preflight ---------------------------------------------------

def _pdfbox_classpath() -> str:
    jars = [Path("/usr/share/java") / f"{name}.jar" for name in PDFBOX_JARS]
    missing = [jar.name for jar in jars if not jar.is_file()]
    assert not missing, f"install the test packages (scripts/system-deps.sh --test): {missing}"
    return ":".join(map(str, jars))


def test_pdfbox_preflight_finds_no_colour_or_annotation_errors(shop_file: Path,
                                                                 tmp_path: Path) -> None:
    """PDFBox's preflight validates PDF/A-1b, whose output intent is GTS_PDFA1; a copy
    relabelled so lets it check every colour operator against our CMYK output intent.
    Its PDF/A-only rules (no transparency, no xref streams, CIDSet) do not apply to
    PDF/X-4 and are ignored; 2.4.x are colour-space errors, 5.x annotation errors."""
    copy = tmp_path / "as-pdfa.pdf"
    with pikepdf.open(shop_file) as pdf:
        pdf.Root.OutputIntents[0].S = pikepdf.Name.GTS_PDFA1
        pdf.save(copy)
    proc = subprocess.run(["java", "-cp", _pdfbox_classpath(),
                           "org.apache.pdfbox.preflight.Validator_A1b", str(copy)],
                          capture_output=True, text=True, timeout=120)
    report = proc.stdout + proc.stderr
    assert "PDF/A-1b file" in report, report  # it ran and judged the file
    errors = [line for line in report.splitlines() if re.match(r"(2\.4\.|5\.)\d", line)]
    assert not errors, "\n".join(errors[:10])


# --- qpdf ----------------------------------------------------------------------

@pytest.mark.parametrize("path", IDS)
def test_qpdf_check_passes(press: Path, path: str) -> None:
    proc = subprocess.run(["qpdf", "--check", str(press / path)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No syntax or stream encoding errors" in proc.stdout


# --- Ghostscript separations ---------------------------------------------------

def _plates(pdf_path: Path, folder: Path) -> list[dict[str, Image.Image]]:
    """Each page's separated plates (ink 0-255), with DeviceCMYK taken as the output
    intent's CMYK, as PDF/X defines it."""
    with pikepdf.open(pdf_path) as pdf:
        (folder / "intent.icc").write_bytes(pdf.Root.OutputIntents[0].DestOutputProfile
                                            .read_bytes())
        pages = len(pdf.pages)
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=tiffsep",
                    f"-r{SEPARATION_DPI}", f"-sDefaultCMYKProfile={folder}/intent.icc",
                    f"-sOutputICCProfile={folder}/intent.icc",
                    f"-sOutputFile={folder}/p%d.tif", str(pdf_path)], check=True)
    plates = []
    for number in range(1, pages + 1):
        page = {}
        for name in ("Cyan", "Magenta", "Yellow", "Black"):
            with Image.open(folder / f"p{number}({name}).tif") as image:
                page[name] = image.convert("L").point(lambda v: 255 - v)  # ink amount
        plates.append(page)
    return plates


def _bleed_pixels(page: pikepdf.Page) -> tuple[int, int, int, int]:
    media = [float(v) for v in page.obj.MediaBox]
    bleed = [float(v) for v in page.obj.BleedBox]
    s = SEPARATION_DPI / 72
    return (round((bleed[0] - media[0]) * s), round((media[3] - bleed[3]) * s),
            round((bleed[2] - media[0]) * s), round((media[3] - bleed[1]) * s))


def test_separations_keep_the_ink_limit_and_marks_print_on_every_plate(
        shop_file: Path, tmp_path: Path) -> None:
    plates = _plates(shop_file, tmp_path)
    with pikepdf.open(shop_file) as pdf:
        boxes = [_bleed_pixels(page) for page in pdf.pages]
    for page, box in zip(plates, boxes):
        width, height = page["Cyan"].size
        inks = [list(plate.crop(box).get_flattened_data()) for plate in page.values()]
        most = max(map(sum, zip(*inks))) / 255 * 100
        assert 0 < most <= INK_LIMIT, f"{most:.0f} % ink inside the bleed"
        # Outside the bleed box there are only the crop marks: each plate carries them,
        # at full strength, on exactly the same pixels.
        outside = []
        for plate in page.values():
            mask = plate.point(lambda v: 255 if v > 5 else 0)
            mask.paste(0, box)
            solid = plate.point(lambda v: 255 if v >= 242 else 0)
            solid.paste(0, box)
            assert mask.getbbox() is not None, "no crop marks on a plate"
            assert ImageChops.difference(mask, solid).getbbox() is None, "marks not solid"
            outside.append(mask)
        for mask in outside[1:]:
            assert ImageChops.difference(outside[0], mask).getbbox() is None
    shutil.rmtree(tmp_path, ignore_errors=True)


# --- small black text on the black plate alone (PDFium reads it) ----------------

def _pdfium_fill(objects) -> list[tuple[float, tuple[int, int, int]]]:
    import pypdfium2.raw as raw

    found = []
    for obj, scale in objects:
        r, g, b, a = (ctypes.c_uint() for _ in range(4))
        raw.FPDFPageObj_GetFillColor(obj, r, g, b, a)
        size = ctypes.c_float()
        raw.FPDFTextObj_GetFontSize(obj, size)
        found.append((size.value * scale, (r.value, g.value, b.value)))
    return found


def _page_objects(count, get, wanted: int, scale: float = 1.0):
    """PDFium page objects of type `wanted`, inside form XObjects too, each with the
    scale of its full matrix."""
    import pypdfium2.raw as raw

    for index in range(count):
        obj = get(index)
        matrix = raw.FS_MATRIX()
        raw.FPDFPageObj_GetMatrix(obj, matrix)
        here = scale * abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5
        kind = raw.FPDFPageObj_GetType(obj)
        if kind == raw.FPDF_PAGEOBJ_FORM:
            yield from _page_objects(raw.FPDFFormObj_CountObjects(obj),
                                     lambda i, o=obj: raw.FPDFFormObj_GetObject(o, i),
                                     wanted, here)
        elif kind == wanted:
            yield obj, here


def _text_objects(count, get, scale: float = 1.0):
    import pypdfium2.raw as raw

    return _page_objects(count, get, raw.FPDF_PAGEOBJ_TEXT, scale)


def _solid_black_as_pdfium_reports_it(tmp_path: Path) -> tuple[int, int, int]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    reference = pikepdf.new()
    reference.add_blank_page()
    reference.pages[0].obj.Contents = reference.make_stream(b"0 0 0 1 k 0 0 9 9 re f")
    reference.save(tmp_path / "k100.pdf")
    page = pdfium.PdfDocument(tmp_path / "k100.pdf")[0]
    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    raw.FPDFPageObj_GetFillColor(raw.FPDFPage_GetObject(page.raw, 0), r, g, b, a)
    return (r.value, g.value, b.value)


@pytest.mark.parametrize("path", IDS)
def test_small_black_text_is_solid_black(press: Path, path: str, tmp_path: Path) -> None:
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    solid = _solid_black_as_pdfium_reports_it(tmp_path)
    small_dark = set()
    for page in pdfium.PdfDocument(press / path):
        objects = _text_objects(raw.FPDFPage_CountObjects(page.raw),
                                lambda i, p=page: raw.FPDFPage_GetObject(p.raw, i))
        small_dark |= {colour for size, colour in _pdfium_fill(objects)
                       if size < 12 and max(colour) < 110 and max(colour) - min(colour) < 40}
    # (A large-print variant may have no text under 12 pt at all.)
    assert small_dark <= {solid}, f"small dark text in {small_dark}, not only 100 % K {solid}"


# --- the pipeline's own preflight: command and build gate ---------------------

def test_preflight_command_reports_every_press_pdf(press_build) -> None:
    proc = run_pipeline("preflight", "--output", press_build.output,
                        project=press_build.project)
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(press_build.press_pdfs()) == 2
    for path in press_build.press_pdfs():
        assert f"{path}: pass" in out
    for fragment in ("CGATS TR 006", "Separation(All)", "Registration (every plate)",
                     f"(limit {INK_LIMIT} %)", "bleed 0.125 in", "0 inside the bleed"):
        assert fragment in out
    assert "DeviceRGB" not in out


def test_pdfx_1a_is_refused_rather_than_mislabelled(tmp_path: Path) -> None:
    proc = run_pipeline("build", "--profile", "press", "--pdfx", "x-1a",
                        "--output", tmp_path / "output")
    assert_process_failed(proc, "PDF/X-1a is not made", "PDF/X-4")
    assert not list(tmp_path.rglob("*.pdf"))


def test_an_rgb_picture_is_separated_to_cmyk(shop_file: Path) -> None:
    """A clinic's photo (an RGB PNG, tests/press_library.py) goes to press as CMYK,
    through the output intent, and still a picture. (The press build's own gate and
    test_preflight_command_reports_every_press_pdf preflight the file.)"""
    with pikepdf.open(shop_file) as pdf:
        images = [obj for obj in pdf.objects if isinstance(obj, pikepdf.Stream)
                  and obj.get("/Subtype") == pikepdf.Name.Image and not obj.get("/ImageMask")
                  and obj.get("/ColorSpace") is not None]
        assert images, "the photo is not in the press PDF"
        assert {str(image.ColorSpace) for image in images} == {"/DeviceCMYK"}
        picture = pikepdf.PdfImage(max(images, key=lambda i: int(i.Width))).as_pil_image()
        assert picture.mode == "CMYK" and picture.width >= 900
        assert len(set(picture.get_flattened_data())) > 100  # still a picture


def _path_objects(count, get, scale: float = 1.0):
    import pypdfium2.raw as raw

    return _page_objects(count, get, raw.FPDF_PAGEOBJ_PATH, scale)


def _subpath_boxes(obj) -> list[tuple[float, float, float, float]]:
    """The bounding box of each subpath of a PDFium path object, in its own space."""
    import pypdfium2.raw as raw

    boxes: list[list[float]] = []
    for index in range(raw.FPDFPath_CountSegments(obj)):
        segment = raw.FPDFPath_GetPathSegment(obj, index)
        x, y = ctypes.c_float(), ctypes.c_float()
        raw.FPDFPathSegment_GetPoint(segment, x, y)
        if raw.FPDFPathSegment_GetType(segment) == raw.FPDF_SEGMENT_MOVETO or not boxes:
            boxes.append([x.value, y.value, x.value, y.value])
        box = boxes[-1]
        box[:] = [min(box[0], x.value), min(box[1], y.value),
                  max(box[2], x.value), max(box[3], y.value)]
    return [tuple(box) for box in boxes]


def _thin_ring(obj, scale: float) -> bool:
    """A box drawn as the space between two rectangles filled even-odd, thinner than 1 pt:
    how WeasyPrint draws a one-sided border (a rule under a heading)."""
    boxes = _subpath_boxes(obj)
    if len(boxes) != 2:
        return False
    outer, inner = sorted(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)
    gaps = [inner[0] - outer[0], inner[1] - outer[1], outer[2] - inner[2], outer[3] - inner[3]]
    return min(gaps) > -0.01 and 0 < max(gaps) * scale < 1


def _thin_dark_rules(pdf_path: Path) -> set[tuple[int, int, int]]:
    """Colours of rules thinner than 1 pt (stroked, filled as thin boxes, or a thin ring
    between two boxes) that are dark and grey, as PDFium reads them."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    found = set()
    for page in pdfium.PdfDocument(pdf_path):
        objects = _path_objects(raw.FPDFPage_CountObjects(page.raw),
                                lambda i, p=page: raw.FPDFPage_GetObject(p.raw, i))
        for obj, scale in objects:
            mode, stroke = ctypes.c_int(), ctypes.c_int()
            raw.FPDFPath_GetDrawMode(obj, mode, stroke)
            colours = []
            width = ctypes.c_float()
            raw.FPDFPageObj_GetStrokeWidth(obj, width)
            if stroke.value and width.value * scale < 1:
                colours.append(raw.FPDFPageObj_GetStrokeColor)
            box = [ctypes.c_float() for _ in range(4)]
            raw.FPDFPageObj_GetBounds(obj, *box)
            left, bottom, right, top = (v.value for v in box)
            if mode.value and (min(right - left, top - bottom) < 1 or _thin_ring(obj, scale)):
                colours.append(raw.FPDFPageObj_GetFillColor)
            for read in colours:
                r, g, b, a = (ctypes.c_uint() for _ in range(4))
                read(obj, r, g, b, a)
                colour = (r.value, g.value, b.value)
                if max(colour) < 110 and max(colour) - min(colour) < 40:
                    found.add(colour)
    return found


def test_thin_black_rules_are_solid_black(shop_file: Path, tmp_path: Path) -> None:
    """A hairline in a four-colour dark grey (the brand's muted colour, under every
    heading: tests/press_library.py) goes to press on the black plate alone; so do the
    project's own rules."""
    solid = _solid_black_as_pdfium_reports_it(tmp_path)
    # (0, 0, 0) is Registration (all four plates), the crop marks outside the bleed,
    # which the separations test holds to every plate.
    assert _thin_dark_rules(shop_file) - {(0, 0, 0)} == {solid}
