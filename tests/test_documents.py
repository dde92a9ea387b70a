"""Every shipped handout x variant, rendered for real and read back."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from clinicprint.build import plan
from clinicprint.content import load_project
from clinicprint.merge import Document
from conftest import ROOT
from pdfread import fonts_of, page_sizes_in, squash, text_of, words_with_x

PROJECT = load_project(ROOT)
EVERYTHING = plan(PROJECT)
# PDFs; the web edition's HTML pages are read back in test_accessibility.py.
DOCUMENTS = [d for d in EVERYTHING if d.profile.extension == "pdf"]
IDS = [f"{d.profile.name}-{d.handout.id}-{d.variant.name}" for d in DOCUMENTS]
SHIPPED_FONTS = ("Source-Sans-3", "Atkinson-Hyperlegible")


def pdf_path(built: Path, document: Document) -> Path:
    return built / document.relative_path


def test_every_handout_variant_and_profile_is_built(built: Path) -> None:
    manifest = json.loads((built / "manifest.json").read_text())["documents"]
    assert {(d["handout"], d["variant"], d["profile"]) for d in manifest} == {
        (d.handout.id, d.variant.name, d.profile.name) for d in EVERYTHING}
    assert not any(d["profile"] == "press" and d["handout"] == "vertebroplasty-discharge"
                   for d in manifest)
    for entry in manifest:
        path = built / entry["path"]
        assert path.is_file()
        if path.suffix == ".pdf":
            assert entry["pages"] == len(PdfReader(path).pages)
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


PAPER = {"letter": (8.5, 11.0), "a4": (8.268, 11.693)}


def expected_paper(document: Document) -> tuple[float, float]:
    width, height = PAPER["a4" if document.profile.name == "office-a4" else "letter"]
    landscape = document.handout.kind == "brochure" and not document.profile.reading_edition
    return (height, width) if landscape else (width, height)


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if not d.profile.bleed_in],
                         ids=[i for d, i in zip(DOCUMENTS, IDS) if not d.profile.bleed_in])
def test_page_count_and_media_box(built: Path, document: Document) -> None:
    sizes = page_sizes_in(pdf_path(built, document))
    if document.profile.reading_edition:
        assert len(sizes) >= 1  # one column, as long as the content
    elif document.handout.kind == "brochure":
        assert len(sizes) == 2  # exactly two sides, landscape
    else:
        assert 1 <= len(sizes) <= 2
    assert set(sizes) == {expected_paper(document)}


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if d.profile.name == "press"],
                         ids=lambda d: d.variant.name)
def test_press_boxes_bleed_and_marks(built: Path, document: Document) -> None:
    for page in PdfReader(pdf_path(built, document)).pages:
        trim = [float(v) for v in page.trimbox]
        bleed = [float(v) for v in page.bleedbox]
        media = [float(v) for v in page.mediabox]
        assert trim[2] - trim[0] == pytest.approx(11 * 72)  # finished size 11 x 8.5 in
        assert trim[3] - trim[1] == pytest.approx(8.5 * 72)
        assert bleed == pytest.approx([trim[0] - 9, trim[1] - 9, trim[2] + 9, trim[3] + 9])
        # Room outside the bleed for the crop marks.
        assert media[0] <= bleed[0] - 9 and media[1] <= bleed[1] - 9
        assert media[2] >= bleed[2] + 9 and media[3] >= bleed[3] + 9


def test_page_count_is_the_same_in_every_profile(built: Path) -> None:
    counts: dict[tuple[str, str], set[int]] = {}
    for document in [d for d in DOCUMENTS if not d.profile.reading_edition]:
        pages = len(PdfReader(pdf_path(built, document)).pages)
        counts.setdefault((document.handout.id, document.variant.name), set()).add(pages)
    assert all(len(pages) == 1 for pages in counts.values()), counts


@pytest.mark.parametrize("document", DOCUMENTS, ids=IDS)
def test_fonts_are_the_shipped_ones_and_embedded(built: Path, document: Document) -> None:
    fonts = fonts_of(pdf_path(built, document))
    assert fonts, "no fonts found"
    for name, embedded in fonts.items():
        assert embedded, f"{name} is not embedded"
        assert any(family in name for family in SHIPPED_FONTS), f"unexpected font {name}"
    if document.variant.name == "seniors-osteoporosis":
        body = [name for name in fonts if "Atkinson-Hyperlegible" in name]
        assert body, "seniors variant must be set in Atkinson Hyperlegible"


@pytest.mark.parametrize("document", DOCUMENTS, ids=IDS)
def test_text_has_own_variant_content_only(built: Path, document: Document) -> None:
    text = text_of(pdf_path(built, document))
    for section in document.sections:
        assert squash(section.title) in text, f"missing section '{section.title}'"
    others = [plan(PROJECT, [document.handout.id], [name], [document.profile.name])[0]
              for name in document.handout.variants if name != document.variant.name]
    own = {section.title for section in document.sections}
    for other in others:
        for section in other.sections:
            if section.title not in own:
                assert squash(section.title) not in text, (
                    f"'{section.title}' belongs to {other.variant.name}")


@pytest.mark.parametrize("document", DOCUMENTS, ids=IDS)
def test_footer_and_brand_on_every_document(built: Path, document: Document) -> None:
    text = text_of(pdf_path(built, document))
    assert document.handout.document_code in text
    assert "Rev. 2026-11-01" in text
    assert PROJECT.brand.phone in text
    assert PROJECT.brand.name in text


@pytest.mark.parametrize("document", DOCUMENTS, ids=IDS)
def test_metadata(built: Path, document: Document) -> None:
    reader = PdfReader(pdf_path(built, document))
    info = reader.metadata
    assert info.title.startswith(document.title)
    assert info.author == PROJECT.brand.name
    assert document.variant.label in info.subject
    assert document.handout.id in info["/Keywords"]
    assert document.variant.name in info["/Keywords"]
    assert reader.trailer["/Root"]["/Lang"] == "en-US"
    # Dates come from the content's revision, never the clock.
    assert info["/CreationDate"].startswith("D:20261101")


def test_variant_words_differ_where_the_audience_does(built: Path) -> None:
    seniors = text_of(built / "office/vertebroplasty-discharge/seniors-osteoporosis.pdf")
    oncology = text_of(built / "office/vertebroplasty-discharge/oncology.pdf")
    general = text_of(built / "office/vertebroplasty-discharge/general.pdf")
    assert "falls" in seniors and "bones strong" in seniors and "family" in seniors
    assert "cancer team" in oncology and "blood counts" in oncology
    assert "chemotherapy or radiation" in oncology
    assert "Cancer team phone" in oncology  # who to call: both teams
    assert "cancer" not in general.lower() and "falls" not in general


def test_discharge_has_every_required_section(built: Path) -> None:
    for variant in PROJECT.variants:
        text = text_of(built / f"office/vertebroplasty-discharge/{variant}.pdf")
        for phrase in ("What was done today", "as prescribed", "needle", "Call 911",
                       "follow-up", "Contact numbers", "When:"):
            assert phrase.lower() in text.lower(), f"{variant}: '{phrase}' missing"
    general = text_of(built / "office/vertebroplasty-discharge/general.pdf")
    for phrase in ("24 to 48 hours", "heavy", "fever", "drainage", "worse",
                   "weakness or numbness in your legs", "bladder or bowels",
                   "Chest pain or trouble breathing", "ride home"):
        assert phrase in general, phrase


def test_brochure_panels_sit_left_to_right(built: Path) -> None:
    """Outside: fold-in, back, cover. Inside: three panels in reading order."""
    pdf = built / "office/vertebroplasty-brochure/general.pdf"

    def x_of(page: int, word: str) -> float:
        return next(x for text, x in words_with_x(pdf, page) if text.startswith(word))

    assert x_of(0, "Questions to ask") < 11 / 3            # fold-in panel
    assert 11 / 3 < x_of(0, "Contact us") < 2 * 11 / 3     # back panel
    assert x_of(0, "Vertebroplasty") > 2 * 11 / 3           # front cover
    assert x_of(1, "What is vertebroplasty") < 11 / 3
    assert 11 / 3 < x_of(1, "Why choose it") < 2 * 11 / 3
    assert x_of(1, "Who is it for") > 2 * 11 / 3


@pytest.mark.parametrize("document", DOCUMENTS, ids=IDS)
def test_qpdf_finds_no_structural_problem(built: Path, document: Document) -> None:
    result = subprocess.run(["qpdf", "--check", str(pdf_path(built, document))],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
