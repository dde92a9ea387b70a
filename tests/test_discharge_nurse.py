"""Discharge sheets a nurse can rely on (issue 12): the handout chosen and its own
brochure, every field at its maximum, names in any script with the machine's fonts
hidden, safe output files, batches, and no patient value in any message. Everything
runs through `python pipeline.py` as a process, on the generated library."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import LIBRARY, assert_process_failed, run_pipeline
from library import brochure as brochure_data, discharge as discharge_data, load, write
from pdfread import font_dicts, squash, text_of

from clinicprint.content import load_project
from clinicprint.field_room import longest_values
from clinicprint.layouts import KINDS
from clinicprint.personal import sheet_fields

PROJECT = load_project(LIBRARY.root)
FIELDS = {field.name: field for field in PROJECT.default_fields}
[SHEET] = LIBRARY.discharges
TODAY = dt.date.today()


def discharge(*args: str, project: Path | None = None, cwd: Path, env=None):
    return run_pipeline("discharge", *args, project=project, cwd=cwd, env=env)


def second_pair(project: Path) -> None:
    """A clinic with a second procedure: its own brochure (named to sort first, so a
    brochure picked by name would be the wrong one) and discharge sheet."""
    write(project / "handouts/aaa-second-brochure.yaml",
          brochure_data("TEST-B-902", title="Second"))
    write(project / "handouts/second-discharge.yaml",
          discharge_data("TEST-D-902", "aaa-second-brochure", title="After your second test"))


def pages_text(pdf: Path, first: int, last: int) -> str:
    reader = PdfReader(pdf)
    return squash(" ".join(page.extract_text() for page in reader.pages[first:last]))


# --- pairing and choosing the handout ------------------------------------------------


def test_each_discharge_handout_brings_its_own_brochure(project: Path, tmp_path: Path) -> None:
    second_pair(project)
    expected = PROJECT.handouts[PROJECT.handouts[SHEET].brochure].document_code
    for handout, expect, refuse in ((SHEET, expected, "TEST-B-902"),
                                    ("second-discharge", "TEST-B-902", expected)):
        out = tmp_path / f"{handout}.pdf"
        proc = discharge("--handout", handout, "--with-brochure", "-o", out,
                         project=project, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        sheet_pages = len(PdfReader(out).pages)
        brochure = pages_text(out, sheet_pages - 2, sheet_pages)
        assert expect in brochure and refuse not in brochure


def test_several_discharge_handouts_need_a_choice(project: Path, tmp_path: Path) -> None:
    second_pair(project)
    names = [h.id for h in load_project(project).handouts.values() if h.kind == "discharge"]
    err = assert_process_failed(discharge("--patient", "Ann", "-o", "x.pdf", project=project,
                                          cwd=tmp_path), "--handout")
    for name in names:
        assert name in err
    assert not (tmp_path / "x.pdf").exists()


def test_csv_chooses_the_handout_per_row(project: Path, tmp_path: Path) -> None:
    second_pair(project)
    (tmp_path / "day.csv").write_text(f"handout,patient\nsecond-discharge,Ann Alpha\n"
                                      f"{SHEET},Ben Beta\n")
    proc = discharge("--csv", "day.csv", "--merge", "-o", "day.pdf", project=project,
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    reader = PdfReader(tmp_path / "day.pdf")
    texts = [squash(page.extract_text()) for page in reader.pages]
    ann = next(i for i, t in enumerate(texts) if "Ann Alpha" in t)
    ben = next(i for i, t in enumerate(texts) if "Ben Beta" in t)
    assert "TEST-D-902" in texts[ann] and "TEST-D-902" not in texts[ben]
    (tmp_path / "bad.csv").write_text("handout,patient\nno-such-handout,Ann Alpha\n")
    assert_process_failed(discharge("--csv", "bad.csv", "--merge", "-o", "bad.pdf",
                                    project=project, cwd=tmp_path),
                          "bad.csv row 2, column handout:", "second-discharge")


@pytest.mark.parametrize("pairing,message", [
    ("no-such-brochure", "no handout 'no-such-brochure'"),
    ("SELF", "not a brochure"),
])
def test_pairing_is_checked_when_content_loads(project: Path, tmp_path: Path, pairing: str,
                                               message: str) -> None:
    sheet = next(p for p in (project / "handouts").glob("*.yaml")
                 if "kind: discharge" in p.read_text())
    name = sheet.stem if pairing == "SELF" else pairing
    sheet.write_text(re.sub(r"(?m)^brochure: .*$", f"brochure: {name}", sheet.read_text()))
    assert_process_failed(run_pipeline("list", project=project), f"handouts/{sheet.name}",
                          "brochure:", message)


def test_brochure_must_be_made_in_the_same_variants(project: Path) -> None:
    brochure = next(p for p in (project / "handouts").glob("*.yaml")
                    if "kind: brochure" in p.read_text())
    variants = list(PROJECT.variants)
    text = re.sub(r"(?m)^kind: brochure$", f"kind: brochure\nvariants: [{variants[0]}]",
                  brochure.read_text())
    brochure.write_text(text)
    assert_process_failed(run_pipeline("list", project=project), "brochure:",
                          "is not made in the variants", variants[-1])


# --- every field at its maximum ------------------------------------------------------
# The build's field-room gate lays every discharge sheet out with each field at its
# longest (tests/test_fields.py plants a field too long for its sheet); here, the
# command prints such a sheet and every detail is on it.


def csv_of(rows: list[dict[str, str]]) -> str:
    import csv

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_every_field_at_its_maximum_prints_within_the_page_limit(tmp_path: Path) -> None:
    variant = "seniors-osteoporosis"  # large print: the tightest
    fields = sheet_fields(PROJECT, SHEET, variant, "en")
    longest = longest_values(fields, PROJECT.languages["en"])
    typed = {"procedure-date": f"{TODAY}", "follow-up": f"{TODAY + dt.timedelta(days=300)} 12:59",
             "restart-on": f"{TODAY + dt.timedelta(days=30)}"}
    row = {"handout": SHEET, "variant": variant, **longest, **typed}
    (tmp_path / "max.csv").write_text(csv_of([row]), encoding="utf-8")
    proc = discharge("--csv", "max.csv", "--merge", "--profile", "office-a4", "-o", "max.pdf",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    limit = PROJECT.variants[variant].max_pages.get("discharge", KINDS["discharge"].max_pages)
    assert len(PdfReader(tmp_path / "max.pdf").pages) <= limit + 1  # + a blank back
    text = squash(text_of(tmp_path / "max.pdf"))
    for name in ("patient", "physician", "team-phone", "levels"):
        assert squash(longest[name])[:30] in text, name


@pytest.mark.parametrize("field", ["patient", "physician", "notes"])
def test_a_field_over_its_limit_fails_before_rendering(tmp_path: Path, field: str) -> None:
    limit = int(FIELDS[field].max)
    over = "x" * (limit + 1)
    proc = discharge(f"--{field}", over, "-o", "x.pdf", cwd=tmp_path)
    err = assert_process_failed(proc, f"--{field}: longer than {limit}")
    assert over not in err and not (tmp_path / "x.pdf").exists()


# --- no patient value in any message -------------------------------------------------

MARK = f"Qz{uuid.uuid4().hex[:10]}"

FAILURES = [
    # (extra option values, CSV text or None, fragments the message must contain)
    ({"procedure-date": f"{MARK}"}, None, ["--procedure-date: not a date"]),
    ({"follow-up": f"{MARK}"}, None, ["--follow-up: not a date and time"]),
    ({"levels": f"{MARK}"}, None, ["--levels: use vertebra names"]),
    ({"patient": MARK * 10}, None, ["--patient: longer than"]),
    ({"physician": MARK * 10}, None, ["--physician: longer than"]),
    ({"notes": MARK * 50}, None, ["--notes: longer than"]),
    ({"notes": "\n".join([MARK] * 9)}, None, ["--notes: more than"]),
    ({"patient": f"{MARK} \u202eeoJ"}, None, ["--patient: contains an invisible"]),
    ({"physician": f"Z{chr(0x301) * 4}{MARK}"}, None, ["--physician: more than 2 accents"]),
    ({"procedure-date": f"{TODAY + dt.timedelta(days=1)}"}, None,
     ["--procedure-date: must be today or in the last 90 days"]),
    ({"patient": f"{MARK}\x07"}, None, ["--patient: contains a control"]),
    ({"patient": f"{MARK} \U0001D11E\U00013000"}, None, ["--patient: has a character"]),
    ({"physician": f"{MARK} \U00010000"}, None, ["--physician: has a character"]),
    ({}, f"patient,levels\n{MARK},L1\n{MARK},{MARK}\n", ["day.csv row 3, column levels"]),
    ({}, f"patient,variant\n{MARK},{MARK}\n", ["day.csv row 2, column variant"]),
    ({}, f"patient,handout\n{MARK},{MARK}\n", ["day.csv row 2, column handout"]),
    ({}, f"{MARK},{MARK}\nAnn,Ben\n", ["day.csv row 1, column 1: not a known column"]),
    ({}, f"patient,notes\n{MARK},{MARK * 50}\n", ["day.csv row 2, column notes: longer"]),
    ({}, f"patient\n{MARK},{MARK}\n", ["day.csv row 2: more cells"]),
    ({}, f"patient,physician\n{MARK},\U0001D11E\n", ["day.csv row 2, column physician"]),
    ({}, f"patient,side\n{MARK},{MARK}\n", ["day.csv row 2, column side: choose one of"]),
    ({}, f"patient,team-phone\n{MARK},{MARK}\n", ["day.csv row 2, column team-phone"]),
]


@pytest.mark.parametrize("values,csv_text,fragments", FAILURES,
                         ids=[f"case{i}" for i in range(len(FAILURES))])
def test_no_patient_value_in_any_message(tmp_path: Path, values: dict, csv_text: str | None,
                                         fragments: list[str]) -> None:
    if csv_text is None:
        details = {"patient": f"{MARK} Example", "physician": f"Dr {MARK}",
                   "notes": f"see {MARK}", "levels": "L1", **values}
        args = [a for name, value in details.items() for a in (f"--{name}", value)]
        args += ["-o", "x.pdf"]
    else:
        (tmp_path / "day.csv").write_text(csv_text, encoding="utf-8")
        args = ["--csv", "day.csv", "--merge", "-o", "x.pdf"]
    proc = discharge(*args, cwd=tmp_path)
    err = assert_process_failed(proc, *fragments)
    assert MARK not in err and MARK.encode() not in proc.stdout
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x.pdf").exists()


def test_output_mistakes_name_the_path_and_no_patient(tmp_path: Path) -> None:
    (tmp_path / "day.csv").write_text(f"patient,notes\n{MARK},{MARK}\n")
    before = (tmp_path / "day.csv").read_bytes()
    for extra, fragment in ((["-o", "day.csv"], "day.csv: is the CSV file being read"),
                            (["-o", "day.csv", "--force"], "day.csv: is the CSV file"),
                            (["-o", "missing/day.pdf"], "missing/day.pdf: the folder")):
        err = assert_process_failed(discharge("--csv", "day.csv", "--merge", *extra,
                                              cwd=tmp_path), fragment)
        assert MARK not in err and ".tmp" not in err
    assert (tmp_path / "day.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day.csv"]


def test_existing_file_needs_force(tmp_path: Path) -> None:
    (tmp_path / "sheet.pdf").write_bytes(b"%PDF-1.7 yesterday's sheet")
    err = assert_process_failed(discharge("--patient", "Ann Alpha", "-o", "sheet.pdf",
                                          cwd=tmp_path), "sheet.pdf: already exists", "--force")
    assert (tmp_path / "sheet.pdf").read_bytes() == b"%PDF-1.7 yesterday's sheet"
    (tmp_path / "notes.txt").write_text("keep")
    assert_process_failed(discharge("--patient", "Ann", "-o", "notes.txt", "--force",
                                    cwd=tmp_path), "notes.txt: exists and is not a PDF")
    proc = discharge("--patient", "Ann Alpha", "-o", "sheet.pdf", "--force", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Ann Alpha" in text_of(tmp_path / "sheet.pdf")
    assert "Ann" not in err


# --- batches -------------------------------------------------------------------------


def test_empty_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    (tmp_path / "day.csv").write_text("patient,levels\nAnn Alpha,L1\n,\n\n , \nBen Beta,T12\n")
    proc = discharge("--csv", "day.csv", "--merge", "-o", "day.pdf", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "skipped 3 empty rows" in proc.stderr.decode()
    reader = PdfReader(tmp_path / "day.pdf")
    texts = [squash(page.extract_text()) for page in reader.pages]
    starts = [i for i, t in enumerate(texts) if "Patient:" in t]
    assert len(starts) == 2  # no blank sheet for the empty rows


def test_worker_processes_keep_the_order_of_the_list(tmp_path: Path) -> None:
    names = [f"Patient {chr(65 + i)}{MARK[:4]}" for i in range(5)]
    (tmp_path / "day.csv").write_text("patient\n" + "\n".join(names) + "\n")
    proc = discharge("--csv", "day.csv", "--merge", "--jobs", "2", "-o", "day.pdf",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    reader = PdfReader(tmp_path / "day.pdf")
    texts = [squash(page.extract_text()) for page in reader.pages]
    starts = [next(i for i, t in enumerate(texts) if name in t) for name in names]
    assert starts == sorted(starts) and all(start % 2 == 0 for start in starts)
    assert len(reader.pages) % 2 == 0


def test_merged_pdf_passes_qpdf_check(tmp_path: Path) -> None:
    import shutil
    import subprocess

    qpdf = shutil.which("qpdf")
    if qpdf is None:
        pytest.skip("qpdf is installed by scripts/system-deps.sh")
    (tmp_path / "day.csv").write_text("patient,variant\nAnn Alpha,general\nBen Beta,oncology\n")
    proc = discharge("--csv", "day.csv", "--merge", "--with-brochure", "-o", "day.pdf",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    check = subprocess.run([qpdf, "--check", str(tmp_path / "day.pdf")], capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr


# --- names in any script, with the machine's fonts hidden ------------------------------

NAMES = {
    "vietnamese": "Nguyễn Thị Ngọc Ánh",
    "cyrillic": "Иван Петрович Сидоров",
    "greek": "Γιώργος Παπαδόπουλος",
    "arabic": "محمد عبد الله",
    "hebrew": "דוד כהן",
    "chinese": "王小明",
    "japanese": "山田 はなこ",
    "korean": "김민준",
    "devanagari": "राम शर्मा",
    "bengali": "রবীন্দ্রনাথ ঠাকুর",
    "tamil": "அருண் குமார்",
    "thai": "สมชาย ใจดี",
    "amharic": "አበበ ቢቂላ",
    "armenian": "Արամ Խաչատրյան",
}


def allowed_font_names() -> set[str]:
    """PostScript names of every font the project may use: its own and the Noto fonts
    that styles/name-fonts.css names."""
    from fontTools.ttLib import TTCollection, TTFont

    from clinicprint.name_fonts import BRAND_FONTS_CSS, NAME_FONTS_CSS, font_faces

    names = set()
    for sheet in (BRAND_FONTS_CSS, NAME_FONTS_CSS):
        for face in font_faces(LIBRARY.root, sheet):
            fonts = (TTCollection(face.path).fonts if face.path.suffix == ".ttc"
                     else [TTFont(face.path)])
            names.update(str(font["name"].getDebugName(6)) for font in fonts)
    return names


def glyph_problems(pdf: Path) -> list[str]:
    """Characters drawn with no glyph: each embedded font's ToUnicode map says which
    glyph draws which character; fontTools checks the glyph is in the embedded font
    program and is not .notdef."""
    from fontTools.ttLib import TTFont

    problems = []
    for font in font_dicts(pdf):
        descendant = font["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        program = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
        embedded = TTFont(io.BytesIO(program.get_object().get_data()))
        glyphs = embedded.getGlyphOrder()
        cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
        pairs = " ".join(re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.DOTALL))
        assert "beginbfrange" not in cmap  # WeasyPrint maps glyph by glyph
        for cid, _ in re.findall(r"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]+)>", pairs):
            gid = int(cid, 16)
            if gid == 0 or gid >= len(glyphs) or glyphs[gid] == ".notdef":
                problems.append(f"{font['/BaseFont']}: glyph {gid}")
    return problems


def test_names_in_every_script_print_with_project_fonts_only(tmp_path: Path) -> None:
    (tmp_path / "empty-fonts.conf").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig/>\n')
    env = {"FONTCONFIG_FILE": str(tmp_path / "empty-fonts.conf")}
    rows = "".join(f"{name},Dr. {name}\n" for name in NAMES.values())
    (tmp_path / "names.csv").write_text("patient,physician\n" + rows, encoding="utf-8")
    (tmp_path / "sheets").mkdir()
    proc = discharge("--csv", "names.csv", "-o", "sheets", "--jobs", "1", cwd=tmp_path,
                     env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    files = sorted((tmp_path / "sheets").glob("*.pdf"))
    assert len(files) == len(NAMES)
    allowed = allowed_font_names()
    for script, path in zip(NAMES, files):
        used = set(embedded_fonts(path))
        assert used <= allowed, (script, used - allowed)
        assert any(name.startswith("NotoSans") for name in used), (script, used)
        assert not glyph_problems(path), (script, glyph_problems(path))
        name = NAMES[script]
        if script not in ("arabic", "hebrew", "thai", "bengali", "tamil", "devanagari"):
            assert name in text_of(path), script  # complex scripts extract reordered


def embedded_fonts(pdf: Path) -> list[str]:
    """The PostScript name inside each embedded font program (not the PDF's label)."""
    from fontTools.ttLib import TTFont

    names = []
    for font in font_dicts(pdf):
        descendant = font["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        program = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
        name = str(TTFont(io.BytesIO(program.get_object().get_data()))["name"].getDebugName(6))
        # A stamped detail's subset carries a tag of its own after its name
        # (clinicprint/stamp.py: no two subsets in one file share a name).
        names.append(re.sub(r"\.[A-Z]{6}$", "", name))
    return names


def test_a_vietnamese_name_is_printed_in_one_font(tmp_path: Path) -> None:
    """The brand fonts lack some Vietnamese letters: the whole name must use the name
    fonts, not switch font midway (PDFium says which font draws each character)."""
    import ctypes

    import pypdfium2
    import pypdfium2.raw as raw

    name = NAMES["vietnamese"]
    proc = discharge("--patient", name, "-o", "vi.pdf", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    page = pypdfium2.PdfDocument(tmp_path / "vi.pdf")[0]
    text = page.get_textpage()
    full = text.get_text_range()
    start = full.find(name)
    assert start >= 0 and len(full) == text.count_chars()
    fonts = set()
    for index in range(start, start + len(name)):
        if full[index] == " ":
            continue
        buffer = ctypes.create_string_buffer(256)
        flags = ctypes.c_int()
        raw.FPDFText_GetFontInfo(text.raw, index, buffer, 256, ctypes.byref(flags))
        fonts.add(buffer.value.decode())
    assert len(fonts) == 1 and "Noto" in next(iter(fonts)), fonts


def test_right_to_left_names_are_set_right_to_left(tmp_path: Path) -> None:
    import pypdfium2

    proc = discharge("--patient", NAMES["hebrew"], "-o", "rtl.pdf", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert NAMES["hebrew"] in text_of(tmp_path / "rtl.pdf")
    page = pypdfium2.PdfDocument(tmp_path / "rtl.pdf")[0]
    text = page.get_textpage()
    full = text.get_text_range()
    assert len(full) == text.count_chars()
    hebrew = [text.get_charbox(i) for i, char in enumerate(full) if "\u0590" <= char <= "\u05ff"]
    assert len(hebrew) == len(NAMES["hebrew"].replace(" ", ""))
    # A right-to-left line starts at the right: the name ends at the right margin.
    assert max(box[2] for box in hebrew) > page.get_width() * 0.8


def test_the_glyph_check_finds_a_missing_glyph(tmp_path: Path) -> None:
    """The check above can fail: a character no font has, forced past the pipeline's
    refusal, shows up as a glyph the embedded font does not have."""
    import subprocess
    import sys

    (tmp_path / "empty-fonts.conf").write_text('<?xml version="1.0"?>\n<fontconfig/>\n')
    script = (
        f"import sys; from pathlib import Path; sys.path.insert(0, {str(Path(__file__).parents[1])!r})\n"
        "from clinicprint.content import load_project\n"
        "from clinicprint.build import plan\n"
        "from clinicprint.render_html import render_html\n"
        "from clinicprint.render_pdf import lay_out\n"
        "from clinicprint.name_fonts import PatientText, NAME_FONTS_CSS\n"
        "p = load_project(Path(sys.argv[1]))\n"
        "d = [d for d in plan(p) if d.handout.kind == 'discharge'][0]\n"
        "html = render_html(d, p.brand, p.root, {'patient': PatientText("
        "'Ann \\U00013000', 'ltr', True)})\n"
        "Path(sys.argv[2]).write_bytes(lay_out(html, d, p.root, p.brand, "
        "(NAME_FONTS_CSS,)).write_pdf())\n")
    proc = subprocess.run([sys.executable, "-c", script, str(LIBRARY.root), str(tmp_path / "x.pdf")],
                          env={**__import__("os").environ,
                               "FONTCONFIG_FILE": str(tmp_path / "empty-fonts.conf")},
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert glyph_problems(tmp_path / "x.pdf")


def test_brand_fonts_cover_printable_ascii() -> None:
    """name_fonts.check_printable trusts printable ASCII without reading the fonts."""
    from clinicprint.name_fonts import brand_coverage

    assert set(range(0x20, 0x7F)) <= brand_coverage(LIBRARY.root)
