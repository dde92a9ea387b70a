"""Print profiles read back from the PDFs: press (PDF/X, CMYK), office, screen (PDF/UA).

On the generated library (tests/library.py): the expected words, colours and links come
from its brand.yaml and its handouts, never from the shipped content."""

from __future__ import annotations

import re
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from pypdf import PdfReader

from clinicprint.content import load_project
from conftest import LIBRARY, PROJECT_FILES, assert_clean_failure, run_cli
from library import load, write

PROJECT = load_project(LIBRARY.root)
BRAND = PROJECT.brand
BROCHURE = LIBRARY.brochures[0]
SHEET = LIBRARY.discharges[0]
HANDOUT = PROJECT.handouts[BROCHURE]


def operands(values) -> str:
    """Colour operands as WeasyPrint and the press step write them: '0.91 0.66 0.21 0.21'."""
    return " ".join(f"{value:.6f}".rstrip("0").rstrip(".") for value in values)


def rgb_of(hex_colour: str) -> tuple[float, ...]:
    return tuple(int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))


PRIMARY_RGB = operands(rgb_of(BRAND.colours["primary"]))                  # "0.121569 ..."
PRIMARY_CMYK = operands(v / 100 for v in BRAND.colours_cmyk["primary"])   # the brand's own


def all_content(path: Path) -> str:
    """Page content streams and every form XObject they draw (SVG art lands there)."""
    chunks = []
    for page in PdfReader(path).pages:
        chunks.append(page.get_contents().get_data().decode("latin-1"))
        chunks += _xobjects(page["/Resources"])
    return "\n".join(chunks)


def _xobjects(resources) -> list[str]:
    found = []
    for xobject in (resources.get("/XObject") or {}).values():
        xobject = xobject.get_object()
        if xobject.get("/Subtype") == "/Form":
            found.append(xobject.get_data().decode("latin-1"))
            found += _xobjects(xobject.get("/Resources") or {})
    return found


def brochure_yaml(project: Path) -> Path:
    return project / "handouts" / f"{BROCHURE}.yaml"


def test_press_is_pdfx4_with_a_cmyk_output_intent(built: Path) -> None:
    reader = PdfReader(built / f"press/{BROCHURE}/general.pdf")
    intents = reader.trailer["/Root"]["/OutputIntents"]
    intent = intents[0].get_object()
    assert intent["/S"] == "/GTS_PDFX"
    assert intent["/DestOutputProfile"].get_object()["/N"] == 4  # a CMYK profile
    assert intent["/OutputConditionIdentifier"]
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"<pdfxid:GTS_PDFXVersion>PDF/X-4</pdfxid:GTS_PDFXVersion>" in xmp
    assert reader.pdf_header == "%PDF-1.6"
    # Dates come from the revision, not the clock.
    assert reader.metadata["/CreationDate"].startswith(f"D:{HANDOUT.revision:%Y%m%d}")


def test_press_writes_brand_colours_as_the_brands_cmyk(built: Path) -> None:
    press = all_content(built / f"press/{BROCHURE}/general.pdf")
    office = all_content(built / f"office/{BROCHURE}/general.pdf")
    assert PRIMARY_CMYK in press and PRIMARY_RGB not in press
    assert PRIMARY_RGB in office and PRIMARY_CMYK not in office
    # The illustration and logo SVGs are converted too: no RGB fill with colour left.
    painted_rgb = [m for m in re.findall(r"([\d.]+ [\d.]+ [\d.]+) (?:rg|RG)\n", press)
                   if m != "0 0 0"]  # WeasyPrint's unused initial SVG fill
    assert painted_rgb == []


def test_press_has_the_booking_qr_code_and_its_address_in_words(built: Path) -> None:
    reader = PdfReader(built / f"press/{BROCHURE}/general.pdf")
    text = "".join(reader.pages[0].extract_text().split())
    assert BRAND.scheduling_url.split("://", 1)[1] in text
    assert "scanthecode" in text


def test_press_pdfx1a_is_refused_not_mislabelled(project: Path) -> None:
    result = run_cli("build", "--profile", "press", "--variant", "general", "--pdfx", "x-1a",
                     project=project)
    assert_clean_failure(result, "PDF/X-1a is not made", "PDF/X-4")
    assert not list(project.rglob("*.pdf"))


def test_press_without_a_cmyk_profile_says_how_to_fix_it(project: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOUTS_CMYK_PROFILE", str(project / "missing.icc"))
    result = run_cli("build", "--profile", "press", "--variant", "general", project=project)
    assert_clean_failure(result, "missing.icc: CMYK ICC profile for press PDFs not found",
                         "GRACoL", "HANDOUTS_CMYK_PROFILE")
    assert not (project / "output/press").exists() or not list(
        (project / "output/press").rglob("*.pdf"))


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("handout", [BROCHURE, SHEET])
def test_screen_is_tagged_and_accessible(built: Path, handout: str) -> None:
    reader = PdfReader(built / f"screen/{handout}/general.pdf")
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert root["/Lang"] == "en-US"
    assert root["/MarkInfo"]["/Marked"] == True  # noqa: E712
    assert root["/ViewerPreferences"]["/DisplayDocTitle"] == True  # noqa: E712
    xmp = root["/Metadata"].get_object().get_data()
    assert b'pdfuaid:part="1"' in xmp
    assert reader.metadata.title


def test_screen_figures_carry_alt_text_in_the_structure(built: Path) -> None:
    reader = PdfReader(built / f"screen/{BROCHURE}/general.pdf")
    alts = []

    def walk(node) -> None:
        node = node.get_object()
        if isinstance(node, dict):
            if node.get("/S") == "/Figure":
                alts.append(str(node.get("/Alt", "")))
            kids = node.get("/K")
            for kid in (kids if isinstance(kids, list) else [kids] if kids is not None else []):
                if hasattr(kid, "get_object") and isinstance(kid.get_object(), dict):
                    walk(kid)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    assert len(alts) >= 2  # logo, illustration
    assert all(alt.strip() for alt in alts)
    pictures = [section.figure.alt for section in HANDOUT.sections if section.figure]
    assert pictures
    for alt in (BRAND.logo_alt, *pictures):
        assert alt in alts, (alt, alts)


def test_screen_reading_order_is_the_readers_not_the_panels(built: Path) -> None:
    """The reading edition opens on the title and what the procedure is; the questions
    and the contact details, first on the folded sheet, come last (test_accessibility.py
    checks the order of every section of every screen PDF)."""
    from pdfread import text_of

    by_topic = {section.topic: section.title for section in HANDOUT.sections}
    text = text_of(built / f"screen/{BROCHURE}/general.pdf")
    order = [HANDOUT.title, by_topic["about"], by_topic["questions"], by_topic["contact"]]
    positions = [text.index(title) for title in order]
    assert positions == sorted(positions), order
    # On the folded sheet the questions and the contact panel come before "about".
    office = text_of(built / f"office/{BROCHURE}/general.pdf")
    assert office.index(by_topic["questions"]) < office.index(by_topic["about"])


@pytest.mark.parametrize("handout", [BROCHURE, SHEET])
def test_screen_links_are_live(built: Path, handout: str) -> None:
    reader = PdfReader(built / f"screen/{handout}/general.pdf")
    uris = {annot.get_object()["/A"]["/URI"] for page in reader.pages
            for annot in page.get("/Annots", [])}
    assert "tel:" + re.sub(r"\D", "", BRAND.phone) in uris
    assert f"https://{BRAND.website}" in uris
    assert f"mailto:{BRAND.email}" in uris


def test_a4_brochure_panels_are_recomputed_not_scaled(built: Path) -> None:
    from pdfread import words_with_x

    a4 = PdfReader(built / f"office-a4/{BROCHURE}/general.pdf")
    width = float(a4.pages[0].mediabox.width) / 72
    assert width == pytest.approx(297 / 25.4, abs=0.01)
    first_word = HANDOUT.title.split()[0]
    cover_x = next(x for text, x in words_with_x(built / f"office-a4/{BROCHURE}/general.pdf", 0)
                   if text.startswith(first_word))
    letter_x = next(x for text, x in words_with_x(built / f"office/{BROCHURE}/general.pdf", 0)
                    if text.startswith(first_word))
    # The cover panel starts two panel widths in: wider paper, wider panels.
    assert cover_x - letter_x == pytest.approx(2 * (width - 11) / 3, abs=0.02)


# Identical bytes from two folders: tests/test_incremental.py (every profile).


@pytest.fixture(scope="module")
def edited_press(tmp_path_factory: pytest.TempPathFactory):
    """One press and office build of a copy of the brochure with a raster photo and
    text that looks like a colour: (the build's output lines, the press PDF)."""
    project = tmp_path_factory.mktemp("edited") / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        source = LIBRARY.root / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, project / name)
    # About 170-200 ppi where the figure prints (2.5-3 in wide): soft on press, so a warning,
    # but above GWG 2022's 149 ppi floor, which is a preflight error (test_press_rules.py).
    (project / "assets/images/photo.png").write_bytes(_png(500, 334))
    data = load(brochure_yaml(project))
    next(s for s in data["sections"] if "figure" in s)["figure"]["src"] = \
        "assets/images/photo.png"
    # Its first sentence only: the panel stays as full as a finished one.
    section = next(s for s in data["sections"] if s.get("body"))
    first = re.match(r"[^.]*\.", section["body"])[0]
    section["body"] = section["body"].replace(first, "Go to room #101 or #ABCDEF.", 1)
    write(brochure_yaml(project), data)
    # --jobs 1: rendered in this process, where the renderer is already warm.
    result = run_cli("build", "--profile", "press", "--profile", "office", "--variant",
                     "general", "--handout", BROCHURE, "--jobs", "1", project=project)
    assert result.exit_code == 0, result.output
    return result.output.splitlines(), project / f"output/press/{BROCHURE}/general.pdf"


def test_press_warns_about_a_low_resolution_image(edited_press) -> None:
    output, _ = edited_press
    warnings = [line for line in output if " ppi" in line]
    assert warnings and all(
        re.search(r"Warning: .*\[general, press\]: image 'assets/images/photo.png' prints at "
                  r"\d+ ppi", line) for line in warnings), warnings
    # Office printers are not held to press resolution.
    assert not [line for line in warnings if "office]" in line]


def test_press_recolours_styles_but_not_text_that_looks_like_a_colour(edited_press) -> None:
    _, pdf = edited_press
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "room #101 or #ABCDEF." in " ".join(text.split())
    assert PRIMARY_CMYK in all_content(pdf)
