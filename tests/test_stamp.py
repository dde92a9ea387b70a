"""A day's list is stamped (clinicprint/stamp.py): each sheet design is laid out once and
each patient's details are printed onto it. These tests check that a stamped sheet
looks exactly like the same sheet laid out in full, as pictures (PDFium), for every
variant and language of the generated library's discharge sheet, with a detail of
every field type and names in several scripts and directions; that a detail too long
for its place is laid out in full; and, through the real command, that a CSV batch
prints what single sheets print."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from pathlib import Path

import pytest

from conftest import LIBRARY, run_pipeline
from library import OWN_FIELDS
from pdfread import page_texts

from clinicprint.build import GateOptions
from clinicprint.content import DESK_PROFILES, load_project
from clinicprint.field_room import longest_values
from clinicprint.name_fonts import NAME_FONTS_CSS, needs_name_fonts, prepare
from clinicprint.personal import Sheet, parse_patient, plan, render_sheet, sheet_fields
from clinicprint import stamp

PROJECT = load_project(LIBRARY.root)
# Each variant once, the languages taking turns: a place is read from each design's own
# layout, so every variant's layout and every language's words are covered.
LANGS = list(PROJECT.languages)
SHEETS = [(handout.id, variant, LANGS[number % len(LANGS)])
          for handout in PROJECT.handouts.values() if handout.kind == "discharge"
          for number, variant in enumerate(handout.variants)]
# Left to right with accents, right to left, and ideographs (which the name fonts set
# taller than the brand font: the line must still sit where the full layout puts it).
NAMES = {"latin": "María José García-López", "arabic": "محمد عبد الله", "chinese": "王小明"}
DRAFTS = GateOptions(allow_draft=True, allow_stale=True)
TODAY = dt.date.today()
ROOT = LIBRARY.root


def details(name: str) -> dict[str, str]:
    """A detail of every field type the library's sheet has (tests/library.py)."""
    return {"patient": name, "procedure-date": f"{TODAY - dt.timedelta(days=2)}",
            "levels": "T12, L1", "physician": f"Dr. {name}",
            "follow-up": f"{TODAY + dt.timedelta(days=14)} 10:30",
            "notes": "Brace on when up.\nNo tub baths for a week.", "side": "left",
            "lift-limit": "10", "restart-on": f"{TODAY + dt.timedelta(days=3)}",
            "team-phone": "(555) 010-0142"}


def pictures(pdf: bytes) -> list:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    return [page.render(scale=100 / 72).to_pil().convert("L") for page in document]


def differing_pixels(a: bytes, b: bytes) -> list[int]:
    """Per page, how many pixels differ noticeably (a page count mismatch is a list of
    different length)."""
    from PIL import ImageChops

    first, second = pictures(a), pictures(b)
    if len(first) != len(second):
        return [-1] * max(len(first), len(second))
    return [sum(ImageChops.difference(x, y).histogram()[24:]) for x, y in zip(first, second)]


def sheet_of(handout: str, variant: str, lang: str, values: dict[str, str]) -> Sheet:
    fields = sheet_fields(PROJECT, handout, variant, lang)
    values = {name: value for name, value in values.items()
              if name in {field.name for field in fields}}
    checked = parse_patient(values, fields, lambda name: f"--{name}", ROOT,
                            PROJECT.languages[lang])
    return Sheet(variant, checked, handout, lang=lang)


def stamped_directly(sheet: Sheet, designs: dict) -> bytes | None:
    document = plan(PROJECT, [sheet.handout], [sheet.variant], ["office"],
                    langs=[sheet.lang])[0]
    fields = prepare(sheet.fields, ROOT)
    faces = (NAME_FONTS_CSS,) if needs_name_fonts(fields) else ()
    return stamp.stamped_sheet(PROJECT, document, fields, faces, designs)


@pytest.mark.parametrize("handout,variant,lang", SHEETS)
def test_a_stamped_sheet_looks_exactly_like_one_laid_out_in_full(
        handout: str, variant: str, lang: str) -> None:
    designs: dict = {}
    for script, name in NAMES.items():
        sheet = sheet_of(handout, variant, lang, details(name))
        full, _ = render_sheet(PROJECT, sheet, "office", TODAY, gates=DRAFTS)
        stamped, _ = render_sheet(PROJECT, sheet, "office", TODAY, gates=DRAFTS,
                                  designs=designs)
        assert stamped != full, f"{script}: the sheet was not stamped"
        assert set(differing_pixels(full, stamped)) == {0}, script
    # The next patient with details like these is stamped onto the designs already made.
    made = len(designs)
    assert stamped_directly(sheet_of(handout, variant, lang, details("Ann Lee")), designs)
    assert len(designs) == made


# One paper, for time: places are read from each design's own layout whatever the
# paper; test_discharge_nurse.py fills every field at its longest on both papers.
@pytest.mark.parametrize("profile", DESK_PROFILES[:1])
def test_details_at_their_longest_print_the_same_stamped_or_not(profile: str) -> None:
    """Every field at its maximum: whatever does not fit its place is laid out in full,
    so the sheet is the same picture either way."""
    for handout, variant, lang in SHEETS:
        fields = sheet_fields(PROJECT, handout, variant, lang)
        longest = longest_values(fields, PROJECT.languages[lang])
        checked = {name: value for name, value in longest.items()}  # already printed text
        sheet = Sheet(variant, checked, handout, lang=lang)
        full, _ = render_sheet(PROJECT, sheet, profile, TODAY, gates=DRAFTS)
        batch, _ = render_sheet(PROJECT, sheet, profile, TODAY, gates=DRAFTS, designs={})
        assert set(differing_pixels(full, batch)) == {0}, (handout, variant, lang)


def test_a_write_in_taking_more_lines_than_designs_allow_is_laid_out_in_full(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A physician's name that wraps is stamped onto a design whose line takes as many
    lines; past stamp.MAX_LINES (here 1) the sheet is laid out in full, the same picture."""
    handout, variant, lang = SHEETS[0]
    limit = int(next(f for f in PROJECT.default_fields if f.name == "physician").max)
    long_name = {"physician": ("Dr. Bartholomew Featherstonehaugh-Worthington")[:limit]}
    sheet = sheet_of(handout, variant, lang, long_name)
    lines = {}
    assert stamped_directly(sheet, lines)
    monkeypatch.setattr(stamp, "MAX_LINES", 1)
    if any(key[-1] for key in lines):  # it did wrap on this sheet
        assert stamped_directly(sheet, {}) is None
    full, _ = render_sheet(PROJECT, sheet, "office", TODAY, gates=DRAFTS)
    batch, _ = render_sheet(PROJECT, sheet, "office", TODAY, gates=DRAFTS, designs={})
    assert set(differing_pixels(full, batch)) == {0}


def test_a_csv_batch_prints_what_single_sheets_print(tmp_path: Path) -> None:
    """Through the command: a list (stamped) and the same patients one at a time (laid
    out in full) give the same pages."""
    handout, variant, lang = SHEETS[-1]
    rows = [{"handout": handout, "variant": variant, "lang": lang, **details(name)}
            for name in (NAMES["latin"], NAMES["arabic"])]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    (tmp_path / "day.csv").write_text(out.getvalue(), encoding="utf-8")
    (tmp_path / "sheets").mkdir()
    proc = run_pipeline("discharge", "--csv", "day.csv", "-o", "sheets", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    batch = sorted((tmp_path / "sheets").glob("*.pdf"))
    assert len(batch) == len(rows)
    for number, (row, stamped) in enumerate(zip(rows, batch)):
        own = {field["name"] for field in OWN_FIELDS}
        options = [f"--field={key}={value}" if key in own else f"--{key}={value}"
                   for key, value in row.items() if key != "lang"]
        single = tmp_path / f"single-{number}.pdf"
        proc = run_pipeline("discharge", *options, "--lang", lang, "-o", single.name,
                            cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr.decode()
        assert set(differing_pixels(single.read_bytes(), stamped.read_bytes())) == {0}


def test_the_desk_s_sheet_id_is_stamped_into_every_page_s_footer() -> None:
    """The desk stamps its sheet id like a detail: a place in the running footer of
    every page, the same picture as the sheet laid out in full with that id."""
    from clinicprint.desk_workers import SHEET_ID_FIELD

    handout = SHEETS[0][0]
    lang = next(iter(PROJECT.languages))
    for variant in PROJECT.handouts[handout].variants:
        designs: dict = {}
        for sheet_id in ("K7QM-2XDF", "WWWW-MMMM"):  # narrow and wide letters
            sheet = sheet_of(handout, variant, lang, details("Ann Lee"))
            sheet = Sheet(variant, {**sheet.fields, SHEET_ID_FIELD: sheet_id}, handout,
                          lang=lang)
            full, _ = render_sheet(PROJECT, sheet, "office", TODAY, gates=DRAFTS)
            stamped, _ = render_sheet(PROJECT, sheet, "office", TODAY, gates=DRAFTS,
                                      designs=designs)
            assert stamped != full, f"{variant}: the sheet was not stamped"
            assert set(differing_pixels(full, stamped)) == {0}, variant
            texts = page_texts(stamped)
            assert all(sheet_id in text for text in texts), (variant, len(texts))
        assert len(designs) == 1, "the second id was stamped onto the first id's design"


def test_a_stamped_sheet_printed_through_postscript_reads_back_its_details(
        tmp_path: Path) -> None:
    """A printer path that goes through PostScript (CUPS: pdftocairo, then Ghostscript,
    as on the ward) keeps the stamped details' text: the details' font subsets never
    share a tag or a PostScript name with the design's, so nothing merges them."""
    import subprocess

    import pikepdf
    from pypdf import PdfReader

    from clinicprint.desk_workers import SHEET_ID_FIELD

    for tool in ("pdftocairo", "gs"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is missing (poppler-utils, ghostscript)")
    handout, variant, _ = SHEETS[0]
    lang = next(iter(PROJECT.languages))
    sheet = sheet_of(handout, variant, lang, {
        "patient": "Zelda Quorum-Whitfield", "physician": "Dr. Ames",
        "procedure-date": f"{TODAY - dt.timedelta(days=1)}"})
    sheet = Sheet(variant, {**sheet.fields, SHEET_ID_FIELD: "TAAW-K7QM"}, handout, lang=lang)
    stamped = stamped_directly(sheet, {})
    assert stamped, "the sheet was not stamped"
    with pikepdf.open(io.BytesIO(stamped)) as pdf:
        programs: dict[str, set] = {}
        for font in pdf.objects:  # each font descriptor: its subset tag, its program
            program = isinstance(font, pikepdf.Dictionary) and \
                (font.get("/FontFile2") or font.get("/FontFile3"))
            if program:
                programs.setdefault(str(font.FontName)[:7], set()).add(program.objgen)
    assert all(len(found) == 1 for found in programs.values()), programs
    (tmp_path / "sheet.pdf").write_bytes(stamped)
    subprocess.run(["pdftocairo", "-ps", "sheet.pdf", "sheet.ps"], cwd=tmp_path, check=True)
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite",
                    "-sOutputFile=printed.pdf", "sheet.ps"], cwd=tmp_path, check=True)
    printed = [" ".join(page.extract_text().split())
               for page in PdfReader(tmp_path / "printed.pdf").pages]
    assert "Zelda Quorum-Whitfield" in printed[0] and "Dr. Ames" in printed[0]
    assert all("TAAW-K7QM" in text for text in printed), printed
