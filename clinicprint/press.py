"""Press PDFs as a print shop's preflight wants them, fixed in the PDF objects.

WeasyPrint cannot be told to paint its crop marks in Registration, to keep links
out of a print file or to declare a blending colour space, so after it writes a
press PDF this module rewrites those objects with pikepdf (qpdf underneath), which
parses and writes content streams and object graphs correctly, where editing bytes
by pattern would not.

- No DeviceRGB: RGB operators and colour spaces become CMYK (greys on black alone);
  RGB pictures are separated through the output intent's profile (LittleCMS).
- Crop marks in Registration (Separation /All), so they print on every plate.
- No annotations: links mean nothing on paper and PDF/X forbids them in the bleed.
- Black text under 12 pt and black lines under 2 pt in 100 % K, overprinting (OPM 1)
  (numbers: gwg.STANDARD).
- Every transparency group, the pages' and the forms', blends in DeviceCMYK (/Group
  /CS); WeasyPrint names the output profile there, which GWG 2022 forbids.
- No Lab or ICC-based colour spaces left in the resources.
- Font subset tags, the /ID and the XMP ids derived from the file's content, unique
  per file and the same from any folder.
- The output intent names its registered characterization.
"""

from __future__ import annotations

import hashlib
import io
import re
import zlib
from dataclasses import dataclass

import pikepdf
from pikepdf import Array, Dictionary, Name

from .layouts import cmyk_profile, default_cmyk_profile
from .gwg import STANDARD
from .pdfcontent import IDENTITY, KNOCKOUT_GS, OVERPRINT_GS, REGISTRATION, RGB_SPACES, \
    Findings, Paint, Seen, Walker, apply, multiply, space_name

BLEND_SPACES = (*STANDARD.blend_spaces, "DeviceGray")


@dataclass(frozen=True)
class OutputCondition:
    """A printing condition registered with the ICC, as PDF/X names it."""

    identifier: str
    condition: str
    registry: str = "http://www.color.org"


# What the bundled profile (clinicprint/icc/README.md) characterizes.
GRACOL_TR006 = OutputCondition(
    "CGATS TR 006", "Offset lithographic printing (GRACoL 2006), grade 1 coated paper, "
    "ISO 12647-2 paper type 1; ANSI CGATS/GRACoL TR 006-2007")
CUSTOM = "Custom"  # PDF/X's identifier for a condition that is not registered

SUBSET_TAG = re.compile(r"^/?[A-Z]{6}\+")


def output_condition() -> OutputCondition | None:
    """The registered condition of the profile in use; None for a print shop's own."""
    return GRACOL_TR006 if cmyk_profile() == default_cmyk_profile() else None


def finish_press_pdf(data: bytes, identifier: bytes | None = None) -> bytes:
    """Rewrite a press PDF from WeasyPrint so it passes a print shop's preflight.

    Subset tags and ids come from the file's own content (pages and font programs), not
    from `identifier` (which the HTML gives, and the HTML names the folder the profile
    is in), so the same content gives the same bytes in any folder on any machine."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        registration = _registration_space(pdf)
        for page in pdf.pages:
            if "/Annots" in page.obj:
                del page.obj["/Annots"]
            findings = walk_page(page, fix=True, registration=registration)
            if findings.transparency or findings.groups:
                page.obj.Group = Dictionary(Type=Name.Group, S=Name.Transparency,
                                            CS=Name.DeviceCMYK)
        _cmyk_images(pdf)
        _unused_colour_spaces(pdf)
        content_id = _content_identifier(pdf)
        _unique_subset_tags(pdf, content_id)
        _name_output_intent(pdf, output_condition())
        _stable_xmp_ids(pdf, content_id)
        out = io.BytesIO()
        # deterministic_id: the /ID comes from the content, so builds stay reproducible.
        pdf.save(out, deterministic_id=True, compress_streams=True)
        return out.getvalue()


def walk_page(page: pikepdf.Page, fix: bool, registration=None) -> Findings:
    """Walk a page and the forms it draws; with `fix`, rewrite what preflight rejects."""
    findings = Findings()
    seen: set[tuple[int, int]] = set()
    if fix:
        page.contents_coalesce()
    _walk(page.obj, page.obj.get("/Resources") or Dictionary(), IDENTITY, findings, fix,
          registration, seen, is_page=True)
    return findings


def _walk(holder, resources, ctm, findings: Findings, fix: bool, registration, seen,
          is_page: bool = False, marks: bool = False) -> None:
    if is_page and "/Contents" not in holder:
        return
    stream = holder.Contents if is_page else holder
    instructions = pikepdf.parse_content_stream(holder if is_page else stream)

    def on_xobject(xobject, at: tuple, name: str) -> None:
        _visit_xobject(xobject, at, name, resources, findings, fix, registration, seen)

    before = findings.changed
    findings.changed = False
    walker = Walker(resources, ctm, findings, fix, marks=marks, on_xobject=on_xobject)
    rewritten = walker.run(instructions)
    if fix and findings.changed:
        if marks:
            resources.ColorSpace = resources.get("/ColorSpace") or Dictionary()
            resources.ColorSpace[REGISTRATION] = registration
        if walker.uses_overprint_gs:
            _add_overprint_states(resources)
        stream.write(pikepdf.unparse_content_stream(rewritten))
    findings.changed = findings.changed or before
    _visit_patterns(resources, findings, fix, registration, seen)


def _add_overprint_states(resources) -> None:
    """The two graphics states the walker switches between: overprint in OPM 1 (a
    100 % K object leaves the other plates as they are) and back to knockout."""
    resources.ExtGState = resources.get("/ExtGState") or Dictionary()
    resources.ExtGState[OVERPRINT_GS] = Dictionary(Type=Name.ExtGState, OP=True, op=True,
                                                   OPM=1)
    resources.ExtGState[KNOCKOUT_GS] = Dictionary(Type=Name.ExtGState, OP=False, op=False)


def _visit_patterns(resources, findings: Findings, fix: bool, registration, seen) -> None:
    """Tiling patterns have content streams of their own; shading patterns a colour space.
    A pattern's matrix maps to the page's default space, whatever the CTM."""
    for pattern in (resources.get("/Pattern") or Dictionary()).values():
        if pattern.objgen in seen and pattern.objgen != (0, 0):
            continue
        seen.add(pattern.objgen)
        if int(pattern.get("/PatternType", 0)) == 1:
            matrix = tuple(float(x) for x in pattern.get("/Matrix", [1, 0, 0, 1, 0, 0]))
            _walk(pattern, pattern.get("/Resources") or Dictionary(), matrix, findings, fix,
                  registration, seen)
        elif "/Shading" in pattern:
            findings.spaces.add(space_name(pattern.Shading.get("/ColorSpace"), resources))


def _visit_xobject(xobject, ctm, name: str, resources, findings: Findings, fix: bool,
                   registration, seen) -> None:
    subtype = xobject.get("/Subtype")
    if subtype == Name.Image:
        _see_image(xobject, ctm, name, resources, findings)
        return
    if subtype != Name.Form:
        return
    group = xobject.get("/Group")
    if group is not None and group.get("/S") == Name.Transparency:
        findings.transparency = True
        if fix and "/CS" in group and space_name(group.CS, resources) not in BLEND_SPACES:
            group.CS = Name.DeviceCMYK  # WeasyPrint names the output profile (ICC-based)
        space = space_name(group.CS, resources) if "/CS" in group else "inherited"
        findings.groups.append(space)
        if space != "inherited":
            findings.spaces.add(space)
    if xobject.objgen in seen and xobject.objgen != (0, 0):
        return
    seen.add(xobject.objgen)
    matrix = tuple(float(x) for x in xobject.get("/Matrix", [1, 0, 0, 1, 0, 0]))
    own = xobject.get("/Resources") or resources
    _walk(xobject, own, multiply(matrix, ctm), findings, fix, registration, seen,
          marks=_is_crop_marks(xobject))


def _see_image(image, ctm, name: str, resources, findings: Findings) -> None:
    """An image's colour space and its effective resolution: pixels over the size it is
    drawn at (the unit square through the CTM)."""
    space = _image_space(image, resources)
    findings.spaces.add(space)
    if image.get("/SMask") is not None:
        findings.transparency = True
    width_pt = (ctm[0] ** 2 + ctm[1] ** 2) ** 0.5
    height_pt = (ctm[2] ** 2 + ctm[3] ** 2) ** 0.5
    ppi = 0.0
    if width_pt and height_pt:
        ppi = min(int(image.Width) / (width_pt / 72), int(image.Height) / (height_pt / 72))
    one_bit = image.get("/ImageMask") or int(image.get("/BitsPerComponent", 8)) == 1
    x, y = apply(ctm, 0, 1)  # the image's top-left corner
    findings.seen.append(Seen("mask" if one_bit else "image", x, y, ppi,
                              Paint(space, ()), name=name[1:]))


def _image_space(image, resources) -> str:
    if image.get("/ImageMask"):
        return "ImageMask"
    return space_name(image.get("/ColorSpace"), resources)


def _is_crop_marks(form) -> bool:
    """WeasyPrint's crop marks: a form of stroked lines in RGB black, with no text,
    pictures or other colour (what else it draws is recoloured to CMYK upstream)."""
    colours, other = set(), False
    for instruction in pikepdf.parse_content_stream(form):
        if isinstance(instruction, pikepdf.ContentStreamInlineImage):
            return False
        operands, operator = instruction
        name = str(operator)
        if name in ("BT", "Do", "sh"):
            return False
        if name in ("rg", "RG"):
            colours.add(tuple(float(x) for x in operands))
        elif name in ("k", "K", "g", "G", "cs", "CS", "sc", "scn", "SC", "SCN"):
            other = True
    return colours == {(0.0, 0.0, 0.0)} and not other


def _registration_space(pdf: pikepdf.Pdf):
    """Separation /All: the colour that prints on every plate, for marks only."""
    tint = pdf.make_indirect(Dictionary(FunctionType=2, Domain=[0, 1], C0=[0, 0, 0, 0],
                                        C1=[1, 1, 1, 1], N=1))
    return pdf.make_indirect(Array([Name.Separation, Name.All, Name.DeviceCMYK, tint]))


def _cmyk_images(pdf: pikepdf.Pdf) -> None:
    """Separate RGB raster images into CMYK as the press will print them: from sRGB (or
    the image's own profile) to the output intent's profile, perceptually, which also
    keeps the profile's ink limit. Lossless (Flate), so nothing is recompressed twice."""
    from PIL import ImageCms

    target = _intent_profile(pdf)
    if target is None:
        return
    for obj in list(pdf.objects):
        if not isinstance(obj, pikepdf.Stream) or obj.get("/Subtype") != Name.Image \
                or obj.get("/ImageMask"):
            continue
        space = obj.get("/ColorSpace")
        base = space[1] if isinstance(space, Array) and str(space[0]) == "/Indexed" else space
        if space_name(base, Dictionary()) not in RGB_SPACES:
            continue
        source = ImageCms.createProfile("sRGB")
        if isinstance(base, Array) and str(base[0]) == "/ICCBased":
            source = ImageCms.ImageCmsProfile(io.BytesIO(base[1].read_bytes()))
        picture = pikepdf.PdfImage(obj).as_pil_image().convert("RGB")
        cmyk = ImageCms.profileToProfile(picture, source, target, outputMode="CMYK",
                                         renderingIntent=ImageCms.Intent.PERCEPTUAL)
        obj.write(zlib.compress(cmyk.tobytes()), filter=Name.FlateDecode)
        obj.ColorSpace, obj.BitsPerComponent = Name.DeviceCMYK, 8
        for key in ("/DecodeParms", "/Decode"):
            if key in obj:
                del obj[key]


def _intent_profile(pdf: pikepdf.Pdf):
    from PIL import ImageCms

    for intent in pdf.Root.get("/OutputIntents", []):
        if "/DestOutputProfile" in intent:
            return ImageCms.ImageCmsProfile(io.BytesIO(intent.DestOutputProfile.read_bytes()))
    return None


def _cmyk_blending(pdf: pikepdf.Pdf) -> None:
    """Every transparency group (soft masks' too, which no page draws with Do) blends
    in DeviceCMYK, not in the output profile WeasyPrint names."""
    for obj in pdf.objects:
        if not isinstance(obj, (Dictionary, pikepdf.Stream)) or "/Group" not in obj:
            continue
        group = obj.Group
        if isinstance(group, Dictionary) and group.get("/S") == Name.Transparency \
                and "/CS" in group and space_name(group.CS, Dictionary()) not in BLEND_SPACES:
            group.CS = Name.DeviceCMYK


def _unused_colour_spaces(pdf: pikepdf.Pdf) -> None:
    """WeasyPrint lists Lab and ICC-based colour spaces in every resource dictionary,
    used or not; a shop's preflight flags a Lab resource whether it paints or not."""
    _cmyk_blending(pdf)
    used: set[str] = set()
    for stream in _content_streams(pdf):
        for operands, operator in pikepdf.parse_content_stream(stream):
            if str(operator) in ("cs", "CS") and operands:
                used.add(str(operands[0]))
    for obj in pdf.objects:
        if isinstance(obj, (Dictionary, pikepdf.Stream)) and "/Resources" in obj:
            resources = obj.Resources
            if isinstance(resources, Dictionary) and isinstance(resources.get("/ColorSpace"),
                                                                Dictionary):
                for name in list(resources.ColorSpace.keys()):
                    if name not in used:
                        del resources.ColorSpace[name]
    for page in pdf.pages:
        spaces = (page.obj.get("/Resources") or {}).get("/ColorSpace")
        if isinstance(spaces, Dictionary):
            for name in list(spaces.keys()):
                if name not in used:
                    del spaces[name]


def _content_streams(pdf: pikepdf.Pdf):
    for page in pdf.pages:
        yield page.obj
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream) and (obj.get("/Subtype") == Name.Form
                                                or obj.get("/PatternType") == 1):
            yield obj


def _content_identifier(pdf: pikepdf.Pdf) -> bytes:
    """A digest of what the file prints (content streams, pictures, font programs,
    the output profile) in object order: the same content gives the same id, in any
    folder (the HTML WeasyPrint's id comes from names the profile's path)."""
    digest = hashlib.sha256()
    for page in pdf.pages:
        digest.update(page.obj.Contents.read_bytes() if "/Contents" in page.obj else b"")
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream) and obj.get("/Type") != Name.Metadata:
            digest.update(obj.read_bytes())
    return digest.hexdigest()[:32].encode()


XMP_ID = re.compile(rb"(xmp\.(?:did|iid):)[0-9a-fA-F-]{36}")


def _stable_xmp_ids(pdf: pikepdf.Pdf, identifier: bytes) -> None:
    """The XMP document ids and the trailer /ID from the content, never the folder."""
    text = identifier.decode()
    stable = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:32]}".encode()
    if "/Metadata" in pdf.Root:
        xmp = pdf.Root.Metadata.read_bytes()
        pdf.Root.Metadata.write(XMP_ID.sub(lambda match: match[1] + stable, xmp))
    pdf.trailer.ID = Array([pikepdf.String(bytes.fromhex(text)),
                            pikepdf.String(bytes.fromhex(text))])


def _unique_subset_tags(pdf: pikepdf.Pdf, identifier: bytes) -> None:
    """Subset tags from the document and the glyphs: two files never share a tag for
    different glyph sets (a risk when a shop gangs jobs on one sheet), and equal
    content still gives equal bytes."""
    for obj in pdf.objects:
        if not isinstance(obj, Dictionary) or obj.get("/Type") != Name.Font:
            continue
        descriptor = _descriptor(obj)
        program = _font_program(descriptor)
        if program is None or not SUBSET_TAG.match(str(obj.get("/BaseFont", ""))):
            continue
        digest = hashlib.sha256(identifier + program.read_raw_bytes()).digest()
        tag = "".join(chr(ord("A") + byte % 26) for byte in digest[:6])
        obj.BaseFont = Name("/" + tag + str(obj.BaseFont)[7:])
        for descendant in obj.get("/DescendantFonts", []):
            descendant.BaseFont = Name("/" + tag + str(descendant.BaseFont)[7:])
        descriptor.FontName = Name("/" + tag + str(descriptor.FontName)[7:])


def _descriptor(font):
    if "/DescendantFonts" in font:
        return font.DescendantFonts[0].get("/FontDescriptor")
    return font.get("/FontDescriptor")


def _font_program(descriptor):
    if descriptor is None:
        return None
    return next((descriptor[key] for key in ("/FontFile", "/FontFile2", "/FontFile3")
                 if key in descriptor), None)


def _name_output_intent(pdf: pikepdf.Pdf, condition: OutputCondition | None) -> None:
    """A registered characterization lets the shop's preflight match the press condition;
    a shop's own profile is labelled Custom, described by the profile itself."""
    for intent in pdf.Root.get("/OutputIntents", []):
        if intent.get("/S") != Name.GTS_PDFX:
            continue
        if condition is None:
            intent.Info = intent.get("/OutputConditionIdentifier", CUSTOM)
            intent.OutputConditionIdentifier = CUSTOM
            if "/RegistryName" in intent:
                del intent["/RegistryName"]
        else:
            intent.OutputConditionIdentifier = condition.identifier
            intent.OutputCondition = condition.condition
            intent.RegistryName = condition.registry
            intent.Info = condition.condition
