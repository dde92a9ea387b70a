"""Print profiles read back from the PDFs: press (PDF/X, CMYK), office, screen (PDF/UA)."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import assert_clean_failure, edit, run_cli

BROCHURE = "vertebroplasty-brochure"
PRIMARY_RGB = "0.121569 0.305882 0.47451"   # brand primary #1F4E79 as RGB operands
PRIMARY_CMYK = "0.91 0.66 0.21 0.21"        # brand primary as the brand's own CMYK


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
    assert reader.metadata["/CreationDate"].startswith("D:20261101")


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
    text = reader.pages[0].extract_text()
    assert "www.example.org/spine/" in text and "appointments" in text
    assert "scan the code" in text


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


def test_press_warns_about_a_low_resolution_image(project: Path) -> None:
    (project / "assets/images/photo.png").write_bytes(_png(120, 80))
    edit(project / f"handouts/{BROCHURE}.yaml",
         "src: assets/images/vertebroplasty-side-view.svg", "src: assets/images/photo.png")
    result = run_cli("build", "--profile", "press", "--variant", "general", project=project)
    assert result.exit_code == 0, result.output
    assert re.search(r"Warning: .*image 'assets/images/photo.png' prints at \d+ dpi", result.output)
    office = run_cli("build", "--profile", "office", "--variant", "general", project=project)
    assert "dpi" not in office.output  # office printers are not held to press resolution


@pytest.mark.parametrize("handout", [BROCHURE, "vertebroplasty-discharge"])
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
    raw = (built / f"screen/{BROCHURE}/general.pdf").read_bytes()
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
    assert len(alts) >= 2, raw[:0]  # logo, illustration
    assert all(alt.strip() for alt in alts)
    assert any("spine bones" in alt for alt in alts)


def test_screen_reading_order_is_the_readers_not_the_panels(built: Path) -> None:
    """The reading edition opens on the title and what the procedure is; the questions
    and the contact details, first on the folded sheet, come last (test_accessibility.py
    checks the order of every section of every screen PDF)."""
    from pdfread import text_of

    text = text_of(built / f"screen/{BROCHURE}/general.pdf")
    assert text.index("Vertebroplasty") < text.index("What is vertebroplasty") < text.index(
        "Questions to ask") < text.index("Contact us")


@pytest.mark.parametrize("handout", [BROCHURE, "vertebroplasty-discharge"])
def test_screen_links_are_live(built: Path, handout: str) -> None:
    reader = PdfReader(built / f"screen/{handout}/general.pdf")
    uris = {annot.get_object()["/A"]["/URI"] for page in reader.pages
            for annot in page.get("/Annots", [])}
    assert "tel:5550100100" in uris
    assert "https://www.example.org/spine" in uris
    assert "mailto:spine-care@example.org" in uris


def test_a4_brochure_panels_are_recomputed_not_scaled(built: Path) -> None:
    from pdfread import words_with_x

    a4 = PdfReader(built / f"office-a4/{BROCHURE}/general.pdf")
    width = float(a4.pages[0].mediabox.width) / 72
    assert width == pytest.approx(297 / 25.4, abs=0.01)
    cover_x = next(x for text, x in words_with_x(built / f"office-a4/{BROCHURE}/general.pdf", 0)
                   if text.startswith("Vertebroplasty"))
    letter_x = next(x for text, x in words_with_x(built / f"office/{BROCHURE}/general.pdf", 0)
                    if text.startswith("Vertebroplasty"))
    # The cover panel starts two panel widths in: wider paper, wider panels.
    assert cover_x - letter_x == pytest.approx(2 * (width - 11) / 3, abs=0.02)


# Identical bytes from two folders: tests/test_incremental.py (every profile).


def test_press_recolours_styles_but_not_text_that_looks_like_a_colour(project: Path) -> None:
    edit(project / f"handouts/{BROCHURE}.yaml", "Bring a list of all your medicines.",
         "Bring a list of your medicines to room #101 or #ABCDEF.")
    result = run_cli("build", "--profile", "press", "--variant", "general", project=project)
    assert result.exit_code == 0, result.output
    text = PdfReader(project / f"output/press/{BROCHURE}/general.pdf").pages[0].extract_text()
    assert "room #101 or #ABCDEF." in " ".join(text.split())
    assert PRIMARY_CMYK in all_content(project / f"output/press/{BROCHURE}/general.pdf")
