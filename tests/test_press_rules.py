"""The press rules (clinicprint/gwg.py) proved as a preflight vendor would: a real press
PDF of the generated library's brochure (tests/press_library.py: realistic brand
details, a photo, hairline rules), built once for this file and test_preflight.py; each
defect planted with pikepdf on its own copy; `pipeline.py preflight`, run as a process,
must name the rule of every defect and pass the untouched file. Also: the build's press
gate names a rule, realistic brand details fit every variant, language and profile,
and no press PDF is ever made of a draft or out-of-date translation. (Two folders giving
the same press bytes: test_incremental.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name

from conftest import ROOT, assert_process_failed, documents_of, run_pipeline
from library import translate
from library_extra import BROCHURE, change, copy_library, copy_output, handout_file
from pdfread import sample_mark_by_third
from press_library import CITY, PRESS_VARIANT, STREET, WEB, shared_press_build


@pytest.fixture(scope="session")
def press_build(tmp_path_factory):
    return shared_press_build(tmp_path_factory)


def test_realistic_brand_details_fit_every_variant_language_and_profile(press_build) -> None:
    """Built without an overflow; the details are printed in full."""
    import pypdfium2 as pdfium

    assert press_build.press.returncode == 0, press_build.press.stderr.decode()
    assert press_build.desk.returncode == 0, press_build.desk.stderr.decode()
    manifest = json.loads((press_build.desk_output / "manifest.json").read_text())
    made = {(e["variant"], e["profile"], e["lang"]) for e in manifest["documents"]}
    assert made == {(d.variant.name, d.profile.name, d.language.code)
                    for d in documents_of(press_build.project)
                    if d.handout.id == BROCHURE and d.profile.name in ("office", "office-a4")}
    assert {lang for _, _, lang in made} == {"en", "es"}
    assert len(press_build.press_pdfs()) == 2  # press: one variant, both languages
    for path in press_build.press_pdfs():
        text = "".join(page.get_textpage().get_text_range()
                       for page in pdfium.PdfDocument(press_build.output / path))
        for detail in (STREET, CITY, WEB):
            assert bare(detail) in bare(text), (path, detail)
    # Real details: no placeholder notice, so no SAMPLE mark.
    assert b"placeholder" not in press_build.press.stderr, press_build.press.stderr.decode()


def bare(value: str) -> str:
    """A long address wraps (a break may add a hyphen)."""
    return "".join(c for c in value if c.isalnum())


# --- the defects -------------------------------------------------------------------
# Page 2 of the brochure is the inside sheet; PDF coordinates are from the trim box's
# bottom-left (WeasyPrint's MediaBox starts at minus the marks' area). Folds of the
# inside sheet: 265.5 pt and 531 pt. Defects sit in the left panel, away from them.

def _font(pdf: pikepdf.Pdf):
    return next(obj for obj in pdf.objects if isinstance(obj, Dictionary)
                and obj.get("/Type") == Name.Font and obj.get("/Subtype") == Name.Type0)


def _draw(content: bytes, **resources):
    def plant(pdf: pikepdf.Pdf) -> None:
        page = pdf.pages[1]
        res = page.obj.Resources
        for kind, entries in resources.items():
            holder = res.get(f"/{kind}")
            if holder is None:
                res[f"/{kind}"] = holder = Dictionary()
            for name, value in entries(pdf).items():
                holder[name] = value
        page.contents_add(pdf.make_stream(b"q " + content + b" Q"))
    return plant


def _text(colour: bytes, size: int, x: int = 60, y: int = 300) -> bytes:
    glyphs = b"".join(b"%04X" % gid for gid in range(3, 23))
    return (b"BT /FTest %d Tf " % size + colour + b" 1 0 0 1 %d %d Tm <" % (x, y) + glyphs
            + b"> Tj ET")


FONT = {"Font": lambda pdf: {"/FTest": _font(pdf)}}


def _image(pdf: pikepdf.Pdf):
    data = bytes([40, 10, 0, 0] * 400)  # 20 x 20 CMYK pixels
    return {"/ImTest": pdf.make_stream(zlib.compress(data), Type=Name.XObject,
                                       Subtype=Name.Image, Width=20, Height=20,
                                       ColorSpace=Name.DeviceCMYK, BitsPerComponent=8,
                                       Filter=Name.FlateDecode)}


def _lab(pdf: pikepdf.Pdf):
    return {"/LabTest": Array([Name.Lab, Dictionary(WhitePoint=[0.9642, 1, 0.8249])])}


def _other_profile(pdf: pikepdf.Pdf) -> None:
    profile = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc").read_bytes()
    pdf.Root.OutputIntents[0].DestOutputProfile = pdf.make_stream(profile, N=4)


def _icc_blending(pdf: pikepdf.Pdf) -> None:
    icc = pdf.Root.OutputIntents[0].DestOutputProfile
    form = next(x for x in pdf.pages[1].Resources.XObject.values() if "/Group" in x)
    form.Group.CS = Array([Name.ICCBased, icc])


def _unembedded_font(pdf: pikepdf.Pdf) -> None:
    descriptor = next(obj for obj in pdf.objects if isinstance(obj, Dictionary)
                      and "/FontFile2" in obj)
    del descriptor["/FontFile2"]


def _black_knocks_out(pdf: pikepdf.Pdf) -> None:
    """The overprint graphics state press.py adds, made to knock out."""
    for obj in pdf.objects:
        if isinstance(obj, Dictionary) and "/GWGop" in (obj.get("/ExtGState") or {}):
            obj.ExtGState["/GWGop"] = Dictionary(Type=Name.ExtGState, OP=False, op=False)


def _marks_at_half_strength(pdf: pikepdf.Pdf) -> None:
    """The crop marks in a 50 % tint of Registration (Separation All always prints on
    every plate, whatever its tint function says)."""
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == Name.Form:
            data = obj.read_bytes()
            if b"/Registration" in data:
                obj.write(data.replace(b"1 scn", b"0.5 scn").replace(b"1 SCN", b"0.5 SCN"))


def _annotation(pdf: pikepdf.Pdf) -> None:
    pdf.pages[1].obj.Annots = pdf.make_indirect(Array([Dictionary(
        Type=Name.Annot, Subtype=Name.Link, Rect=[60, 300, 160, 320])]))


DEFECTS = {
    # name: (plant, the rule the preflight must name)
    "hairline-black": (_draw(b"0 0 0 1 K 0.1 w 60 300 m 200 300 l S"), "GWG-LINE-WIDTH"),
    "hairline-two-inks": (_draw(b"0.5 0 0 0.5 K 0.1 w 60 300 m 200 300 l S"),
                          "GWG-LINE-INKS"),
    "lab-fill": (_draw(b"/LabTest cs 50 20 20 sc 60 300 50 50 re f", ColorSpace=_lab),
                 "GWG-COLOUR-SPACE"),
    "white-overprint": (_draw(b"/OPTest gs 0 0 0 0 k 60 300 50 50 re f", ExtGState=lambda pdf: {
        "/OPTest": Dictionary(Type=Name.ExtGState, OP=True, op=True, OPM=1)}),
        "GWG-WHITE-OVERPRINT"),
    "6pt-two-inks": (_draw(_text(b"0.6 0 0 0.6 k", 6), **FONT), "GWG-TEXT-INKS"),
    "6pt-rich-black": (_draw(_text(b"0.6 0.4 0.4 1 k", 6), **FONT), "PRESS-RICH-BLACK"),
    "rule-rich-black": (_draw(b"0.6 0.4 0.4 1 K 0.3 w 60 300 m 200 300 l S"),
                        "PRESS-RICH-BLACK"),
    # A rule as WeasyPrint draws a one-sided border: the 0.5 pt between two boxes
    # filled even-odd, in a four-colour dark grey.
    "ring-rich-black": (_draw(b"0.3 0.15 0 0.7 k 60 300 140 20 re 60 300.5 140 19.5 re f*"),
                        "PRESS-RICH-BLACK"),
    "image-40ppi": (_draw(b"36 0 0 36 60 300 cm /ImTest Do", XObject=_image), "GWG-IMAGE-RES"),
    "stops-at-trim": (_draw(b"0 1 0 0 k 0 250 50 100 re f"), "PRESS-BLEED"),
    "text-on-fold": (_draw(_text(b"0 0 0 1 k", 10, x=230, y=250), **FONT), "PRESS-FOLD"),
    "other-profile": (_other_profile, "PRESS-PROFILE-MATCH"),
    "icc-blending": (_icc_blending, "GWG-BLEND-SPACE"),
    "rgb-fill": (_draw(b"1 0 0 rg 60 300 50 50 re f"), "GWG-COLOUR-SPACE"),
    "unembedded-font": (_unembedded_font, "PDFX-FONTS"),
    "ink-area": (_draw(b"0.85 0.85 0.85 0.85 k 60 250 60 60 re f"), "GWG-INK-AREA"),
    "ink-pixel": (_draw(b"0.85 0.85 0.85 0.85 k 60 300 4 4 re f"), "PRESS-INK-PIXEL"),
    "black-knocks-out": (_black_knocks_out, "GWG-BLACK-OVERPRINT"),
    "marks-half-strength": (_marks_at_half_strength, "PRESS-MARKS"),
    "annotation": (_annotation, "PDFX-ANNOTATIONS"),
}


DEFECT_FILE = f"press/{BROCHURE}/{PRESS_VARIANT}.pdf"


def _plant_all(source: Path, entry: dict, folders: list[Path]) -> None:
    """The untouched file in the first folder; the defects dealt out to all of them,
    each folder with its manifest (preflight reads the manifest)."""
    entries: dict[Path, list[dict]] = {folder: [] for folder in folders}
    (folders[0] / DEFECT_FILE).parent.mkdir(parents=True)
    shutil.copy2(source, folders[0] / DEFECT_FILE)
    entries[folders[0]].append(entry)
    for index, (name, (plant, _)) in enumerate(DEFECTS.items()):
        folder = folders[index % len(folders)]
        path = f"defects/{name}.pdf"
        (folder / "defects").mkdir(parents=True, exist_ok=True)
        with pikepdf.open(source) as pdf:
            plant(pdf)
            pdf.save(folder / path)
        entries[folder].append({**entry, "path": path})
    for folder, listed in entries.items():
        (folder / "manifest.json").write_text(json.dumps({"documents": listed}))


@pytest.fixture(scope="session")
def preflighted(press_build, tmp_path_factory) -> subprocess.CompletedProcess:
    """Every defect on its own copy of the real press PDF, beside the untouched file;
    `pipeline.py preflight` over them, in two processes side by side (two cores)."""
    entry = next(e for e in json.loads((press_build.output / "manifest.json").read_text())
                 ["documents"] if e["path"] == DEFECT_FILE)
    home = tmp_path_factory.mktemp("defects")
    folders = [home / "a", home / "b"]
    _plant_all(press_build.output / DEFECT_FILE, entry, folders)
    runs = [subprocess.Popen([sys.executable, str(ROOT / "pipeline.py"), "--project",
                              str(press_build.project), "preflight", "--output", str(folder)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for folder in folders]
    outputs = [run.communicate(timeout=300) for run in runs]
    # One report, as if from one run: each file's lines name the file.
    return subprocess.CompletedProcess(
        "preflight", max(run.returncode for run in runs),
        b"".join(out for out, _ in outputs), b"".join(err for _, err in outputs))


def test_the_untouched_press_pdf_passes(preflighted) -> None:
    out, err = preflighted.stdout.decode(), preflighted.stderr.decode()
    assert f"{DEFECT_FILE}: pass" in out, out
    assert f"{DEFECT_FILE}: preflight" not in err, err


@pytest.mark.parametrize("name", list(DEFECTS))
def test_preflight_names_the_planted_defect(preflighted, name: str) -> None:
    err = preflighted.stderr.decode()
    assert preflighted.returncode == 1 and "Traceback" not in err
    rule = DEFECTS[name][1]
    lines = [line for line in err.splitlines() if f"defects/{name}.pdf: preflight: " in line]
    assert any(f": {rule} (" in line for line in lines), f"{rule} not named:\n" + \
        "\n".join(lines)
    if name == "ink-pixel":  # a dot: over the limit on its pixels, not over 15 mm
        assert not any("GWG-INK-AREA" in line for line in lines)


def test_a_finding_names_page_position_value_and_limit(preflighted) -> None:
    line = next(line for line in preflighted.stderr.decode().splitlines()
                if "defects/6pt-two-inks.pdf" in line and "GWG-TEXT-INKS" in line)
    assert "page 2 at " in line and " mm" in line and "6.0 pt in 2 inks" in line \
        and "limit 8 pt" in line, line


def test_the_build_gate_fails_naming_the_rule(project: Path) -> None:
    text = (project / "brand.yaml").read_text()
    (project / "brand.yaml").write_text(text.replace("cmyk: [91, 66, 21, 21]",
                                                     "cmyk: [100, 100, 100, 100]"))
    output = project / "output"
    proc = run_pipeline("build", "--profile", "press", "--variant", PRESS_VARIANT,
                        "--output", output, project=project)
    assert_process_failed(proc, "preflight: GWG-INK-AREA", "limit 300 %")
    assert not list(output.rglob("*.pdf"))


# --- a print shop never receives a draft ----------------------------------------------

def _press_of_spanish(project: Path, built: Path, *flags: str) -> tuple[str, Path, object]:
    """Build the Spanish press PDF of the brochure over a copy of the session's build,
    which holds one: (stderr, its path, the manifest's paths)."""
    output = copy_output(built, project)
    path = next(d.relative_path for d in documents_of()  # the library's, reviewed
                if d.profile.name == "press" and d.language.code == "es"
                and d.variant.name == PRESS_VARIANT)
    assert (output / path).exists()
    proc = run_pipeline("build", "--profile", "press", "--lang", "es", "--handout", BROCHURE,
                        "--variant", PRESS_VARIANT, *flags, project=project)
    assert proc.returncode == 0, proc.stderr.decode()
    listed = {e["path"] for e in json.loads((output / "manifest.json").read_text())["documents"]}
    return proc.stderr.decode(), output / path, listed


def _one_line_saying_why(err: str, why: str) -> None:
    lines = [line for line in err.splitlines() if "no press PDF" in line]
    assert len(lines) == 1, err
    assert why in lines[0] and "print shop must never receive" in lines[0], lines[0]


def test_no_press_pdf_of_a_draft_translation_even_with_allow_draft(tmp_path: Path,
                                                                  built: Path) -> None:
    project = copy_library(tmp_path / "project", languages=True)
    translate(project, BROCHURE, "es", reviewed=False)
    err, pdf, listed = _press_of_spanish(project, built, "--allow-draft")
    _one_line_saying_why(err, "the Spanish translation is a draft")
    assert not pdf.exists()  # the one made while it was reviewed is taken away
    assert pdf.relative_to(project / "output").as_posix() not in listed


def test_no_press_pdf_of_a_stale_translation_even_with_allow_stale(tmp_path: Path,
                                                                  built: Path) -> None:
    project = copy_library(tmp_path / "project", languages=True)
    change(handout_file(project, BROCHURE),
           lambda data: data["sections"][0]["items"].append("Sleep well tonight."))
    err, pdf, listed = _press_of_spanish(project, built, "--allow-stale")
    _one_line_saying_why(err, "out of date with the English")
    assert not pdf.exists()
    assert pdf.relative_to(project / "output").as_posix() not in listed


def test_press_pdfs_are_marked_sample_while_brand_yaml_holds_placeholders(
        built: Path, press_build) -> None:
    """The generated library keeps brand.yaml's placeholders: every panel of its press
    PDFs shows the SAMPLE mark (a light red drawn behind the panel); with the clinic's
    real details (the shared press build) there is none, nor on an office PDF."""
    placeholders = sorted((built / "press").rglob("*.pdf"))
    assert placeholders
    for pdf in placeholders:
        assert all(count > 10 for count in sample_mark_by_third(pdf)), pdf
    real = press_build.output / "press" / BROCHURE / f"{PRESS_VARIANT}.pdf"
    assert sample_mark_by_third(real) == [0, 0, 0]
    assert sample_mark_by_third(built / "office" / BROCHURE / f"{PRESS_VARIANT}.pdf") == [0, 0, 0]
