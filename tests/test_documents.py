"""Every document of the generated library (each language, handout, variant and
profile), rendered for real and read back; and a content editor's new handouts."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from clinicprint.build import plan
from clinicprint.content import load_project
from clinicprint.merge import Document
import factory
from clinicprint.layouts import KINDS, trifold
from conftest import LIBRARY, ROOT, documents_of, run_pipeline
from pdfread import fonts_of, page_sizes_in, squash, text_of, words_with_x

PROJECT = load_project(LIBRARY.root)
EVERYTHING = plan(PROJECT)
# PDFs; the web edition's HTML pages are read back in test_accessibility.py.
DOCUMENTS = [d for d in EVERYTHING if d.profile.extension == "pdf"]
IDS = [f"{d.language.code}-{d.profile.name}-{d.handout.id}-{d.variant.name}"
       for d in DOCUMENTS]


def pdf_path(built: Path, document: Document) -> Path:
    return built / document.relative_path


def assert_manifest_matches(output: Path, documents: list[Document]) -> None:
    """Exactly the planned documents, each in the profiles its handout is made in."""
    manifest = json.loads((output / "manifest.json").read_text())["documents"]
    assert {(d["handout"], d["variant"], d["profile"]) for d in manifest} == {
        (d.handout.id, d.variant.name, d.profile.name) for d in documents}
    for document in documents:
        assert document.profile.name in document.handout.profiles
        assert document.variant.name in document.handout.variants
    for entry in manifest:
        path = output / entry["path"]
        assert path.is_file()
        if path.suffix == ".pdf":
            assert entry["pages"] == len(PdfReader(path).pages)
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def assert_document_invariants(output: Path, document: Document, brand) -> None:
    """What every document must be, whatever its content: the right paper and page
    count, the shipped fonts embedded, its own variant's sections, the footer and brand,
    metadata from the content, and a structurally sound PDF (qpdf)."""
    path = output / document.relative_path
    assert_paper_and_pages(path, document)
    assert_fonts(path, document)
    assert_own_sections(path, document)
    assert_footer_and_brand(path, document, brand)
    assert_metadata(path, document, brand)
    assert_qpdf_clean(path)


def test_every_handout_variant_and_profile_is_built(built: Path) -> None:
    assert_manifest_matches(built, EVERYTHING)


def test_a_content_editors_new_handouts_build_and_meet_every_invariant(project: Path) -> None:
    """A new handout of each kind, with its own code and dates, and no code change
    (one variant on the desk's paper: the library's documents cover the rest)."""
    added = factory.add_one_of_each_kind(project)
    variant = next(iter(load_project(project).variants))
    proc = run_pipeline("build", *[arg for name in added.values() for arg in ("--handout", name)],
                        "--variant", variant, "--profile", "office", project=project)
    assert proc.returncode == 0, proc.stderr.decode()
    documents = [d for d in documents_of(project) if d.handout.id in added.values()
                 and d.variant.name == variant and d.profile.name == "office"]
    assert {d.handout.id for d in documents} == set(added.values())
    assert_manifest_matches(project / "output", documents)
    brand = load_project(project).brand
    for document in documents:
        assert_document_invariants(project / "output", document, brand)


def expected_paper(document: Document) -> tuple[float, float]:
    width, height = (round(document.profile.width_in, 3), round(document.profile.height_in, 3))
    landscape = document.handout.kind == "brochure" and not document.profile.reading_edition
    return (height, width) if landscape else (width, height)


def assert_paper_and_pages(path: Path, document: Document) -> None:
    sizes = page_sizes_in(path)
    kind = KINDS[document.handout.kind]
    if document.profile.reading_edition:
        assert len(sizes) >= 1  # one column, as long as its content
    else:  # the variant's page limit (variants.yaml: max_pages), else the kind's
        assert kind.min_pages <= len(sizes) <= document.variant.max_pages.get(kind.name, kind.max_pages)
    if not document.profile.bleed_in:
        assert set(sizes) == {expected_paper(document)}


@pytest.mark.parametrize("document", DOCUMENTS, ids=IDS)
def test_page_count_and_media_box(built: Path, document: Document) -> None:
    assert_paper_and_pages(pdf_path(built, document), document)


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


def test_the_same_paper_gives_the_same_pages_and_every_paper_the_same_sheets(
        built: Path) -> None:
    """Press and office print the same pages on Letter; on A4 (taller) a sheet may need a
    page less, never a sheet of paper more or less (printed on both sides)."""
    pages: dict[tuple, set[int]] = {}
    sheets: dict[tuple, set[int]] = {}
    for document in [d for d in DOCUMENTS if not d.profile.reading_edition]:
        count = len(PdfReader(pdf_path(built, document)).pages)
        key = (document.language.code, document.handout.id, document.variant.name)
        pages.setdefault((*key, expected_paper(document)), set()).add(count)
        sheets.setdefault(key, set()).add(math.ceil(count / 2))
    assert all(len(counts) == 1 for counts in pages.values()), pages
    assert all(len(counts) == 1 for counts in sheets.values()), sheets


def shipped_font_families() -> tuple[str, ...]:
    """Family names of the fonts in assets/fonts, as PDF base font names spell them."""
    return tuple(folder.name.title().replace(" ", "-") for folder in
                 (ROOT / "assets/fonts").iterdir() if folder.is_dir())


def assert_fonts(path: Path, document: Document) -> None:
    fonts = fonts_of(path)
    assert fonts, "no fonts found"
    shipped = [family.replace("-", "").lower() for family in shipped_font_families()]
    for name, embedded in fonts.items():
        assert embedded, f"{name} is not embedded"
        assert any(family in name.replace("-", "").lower() for family in shipped), \
            f"unexpected font {name}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=IDS)
def test_fonts_are_the_shipped_ones_and_embedded(built: Path, document: Document) -> None:
    assert_fonts(pdf_path(built, document), document)


@functools.lru_cache(maxsize=4)
def _project(root: Path):
    return load_project(root)


def assert_own_sections(path: Path, document: Document) -> None:
    text = text_of(path)
    for section in document.sections:
        assert squash(section.title) in text, f"missing section '{section.title}'"
    project = _project(document.handout.path.parents[1])
    others = [plan(project, [document.handout.id], [name], [document.profile.name],
                   langs=[document.language.code])[0]
              for name in document.handout.variants if name != document.variant.name]
    own = {squash(section.title) for section in document.sections}
    for other in others:
        for section in other.sections:
            title = squash(section.title)
            if title not in own and not any(title in mine for mine in own):
                assert title not in text, f"'{section.title}' belongs to {other.variant.name}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=IDS)
def test_text_has_own_variant_content_only(built: Path, document: Document) -> None:
    assert_own_sections(pdf_path(built, document), document)


def assert_footer_and_brand(path: Path, document: Document, brand) -> None:
    text = text_of(path)
    assert document.handout.document_code in text
    language = document.language  # labels and dates in the document's own language
    assert squash(f"{language.label('Rev.')} {language.format_date(document.handout.revision)}") in text
    assert brand.phone in text
    assert brand.name in text


@pytest.mark.parametrize("document", DOCUMENTS, ids=IDS)
def test_footer_and_brand_on_every_document(built: Path, document: Document) -> None:
    assert_footer_and_brand(pdf_path(built, document), document, PROJECT.brand)


def assert_metadata(path: Path, document: Document, brand) -> None:
    reader = PdfReader(path)
    info = reader.metadata
    assert info.title.startswith(document.title)
    assert info.author == brand.name
    assert document.language.label(document.variant.label) in info.subject
    assert document.handout.id in info["/Keywords"]
    assert document.variant.name in info["/Keywords"]
    assert str(reader.trailer["/Root"]["/Lang"]) == document.language.tag
    # Dates come from the content's revision, never the clock.
    assert info["/CreationDate"].startswith(f"D:{document.handout.revision:%Y%m%d}")


@pytest.mark.parametrize("document", DOCUMENTS, ids=IDS)
def test_metadata(built: Path, document: Document) -> None:
    assert_metadata(pdf_path(built, document), document, PROJECT.brand)


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if d.handout.kind == "brochure"
                                      and not d.profile.bleed_in
                                      and not d.profile.reading_edition], ids=lambda d: d.label)
def test_brochure_sections_sit_in_their_panels(built: Path, document: Document) -> None:
    """Outside: fold-in, back, cover. Inside: three panels. Each section's title is
    printed inside its panel's column on its panel's side of the sheet."""
    geometry = trifold(document.profile)
    columns = {}
    for page, widths, names in ((0, geometry.outside, KINDS["brochure"].panels[:3]),
                                (1, geometry.inside, KINDS["brochure"].panels[3:])):
        left = 0.0
        for width, name in zip(widths, names):
            columns[name] = (page, left, left + width)
            left += width
    path = pdf_path(built, document)
    words = {page: words_with_x(path, page) for page in (0, 1)}
    for section in document.sections:
        page, left, right = columns[section.panel]
        first_word = squash(section.title).split()[0]
        xs = [x for text, x in words[page] if text.startswith(first_word)]
        assert any(left <= x < right for x in xs), (section.id, section.panel, xs)


def assert_qpdf_clean(path: Path) -> None:
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("document", DOCUMENTS, ids=IDS)
def test_qpdf_finds_no_structural_problem(built: Path, document: Document) -> None:
    assert_qpdf_clean(pdf_path(built, document))
