"""The press rules (clinicprint/gwg.py) proved as a preflight vendor would: one real press
PDF of a GENERATED brochure (tests/factory.py, code TEST-...), built once; each defect
planted with pikepdf on its own copy; `pipeline.py preflight`, run as a process, must
name the rule of every defect and pass the untouched file. Also: the build's press
gate names a rule, realistic brand details fit every variant and print profile, and
two folders give the same bytes."""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name

from conftest import PROJECT_FILES, ROOT, assert_process_failed, run_pipeline
from factory import only_generated

# Realistic clinic details: a 40-character street, a 40-character city line and a
# 60-character web address (issue 26).
STREET = "1200 Lakeshore Drive, Suite 300, Bldg 4B"
CITY = "North Saint Petersburgh, Florida 33701-0"
WEB = "www.lakeshore-spine-and-orthopedic-care-associates.org/spine"
assert (len(STREET), len(CITY), len(WEB)) == (40, 40, 60)


def _realistic_brand(project: Path) -> None:
    text = (project / "brand.yaml").read_text(encoding="utf-8")
    for old, new in (('"[Clinic street address]"', f'"{STREET}"'),
                     ('"[City, State ZIP]"', f'"{CITY}"'),
                     ("https://www.example.org/spine/appointments",
                      "https://lakeshorespine.org/book"),
                     ("www.example.org/spine", WEB),
                     ("spine-care@example.org", "spine-care@lakeshorespine.org"),
                     ('"(555) 010-0100"', '"(727) 555-2400"'),
                     ('"(555) 010-0199"', '"(727) 555-2499"')):
        assert old in text, f"test setup: {old} not in brand.yaml"
        text = text.replace(old, new)
    (project / "brand.yaml").write_text(text, encoding="utf-8")


def _generated_project(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, folder / name)
    only_generated(folder)
    for path in (folder / "handouts").glob("*.yaml"):
        if "discharge" in path.read_text(encoding="utf-8").split("\n", 1)[0]:
            path.unlink()  # the brochure is what goes to press
    _realistic_brand(folder)
    return folder


@pytest.fixture(scope="session")
def press_project(tmp_path_factory) -> tuple[Path, Path]:
    """One generated brochure, every variant, in press and both desk profiles, with
    realistic brand details (which must fit): (project, output)."""
    project = _generated_project(tmp_path_factory.mktemp("press") / "project")
    output = project / "output"
    proc = run_pipeline("build", "--profile", "press", "--profile", "office",
                        "--profile", "office-a4", "--jobs", "2", "--output", output,
                        project=project)
    assert proc.returncode == 0, proc.stderr.decode()
    return project, output


def _press_entry(output: Path, variant: str = "general") -> dict:
    manifest = json.loads((output / "manifest.json").read_text())
    return next(e for e in manifest["documents"]
                if e["profile"] == "press" and e["variant"] == variant)


def test_realistic_brand_details_fit_every_variant_and_profile(press_project) -> None:
    """Built above without an overflow; the details are printed in full."""
    import pypdfium2 as pdfium

    _, output = press_project
    manifest = json.loads((output / "manifest.json").read_text())
    assert {(e["variant"], e["profile"]) for e in manifest["documents"]} >= {
        (v, p) for v in ("general", "oncology", "seniors-osteoporosis")
        for p in ("press", "office", "office-a4")}
    text = "".join(page.get_textpage().get_text_range()
                   for page in pdfium.PdfDocument(output / _press_entry(output)["path"]))
    def bare(value: str) -> str:  # a long address wraps (a break may add a hyphen)
        return "".join(c for c in value if c.isalnum())

    for detail in (STREET, CITY, WEB):
        assert bare(detail) in bare(text), detail


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


@pytest.fixture(scope="session")
def preflighted(press_project, tmp_path_factory):
    """Every defect on its own copy of the real press PDF, beside the untouched file,
    in one output folder; one `pipeline.py preflight` over all of them."""
    _, output = press_project
    folder = tmp_path_factory.mktemp("defects") / "output"
    entry = _press_entry(output)
    entries = [entry]
    (folder / Path(entry["path"]).parent).mkdir(parents=True)
    shutil.copy2(output / entry["path"], folder / entry["path"])
    for name, (plant, _) in DEFECTS.items():
        path = f"defects/{name}.pdf"
        (folder / "defects").mkdir(exist_ok=True)
        with pikepdf.open(output / entry["path"]) as pdf:
            plant(pdf)
            pdf.save(folder / path)
        entries.append({**entry, "path": path})
    (folder / "manifest.json").write_text(json.dumps({"documents": entries}))
    proc = run_pipeline("preflight", "--output", folder)
    return entry["path"], proc


def test_the_untouched_press_pdf_passes(preflighted) -> None:
    original, proc = preflighted
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert f"{original}: pass" in out, out
    assert f"{original}: preflight" not in err, err


@pytest.mark.parametrize("name", list(DEFECTS))
def test_preflight_names_the_planted_defect(preflighted, name: str) -> None:
    _, proc = preflighted
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "Traceback" not in err
    rule = DEFECTS[name][1]
    lines = [line for line in err.splitlines() if f"defects/{name}.pdf: preflight: " in line]
    assert any(f": {rule} (" in line for line in lines), f"{rule} not named:\n" + \
        "\n".join(lines)
    if name == "ink-pixel":  # a dot: over the limit on its pixels, not over 15 mm
        assert not any("GWG-INK-AREA" in line for line in lines)


def test_a_finding_names_page_position_value_and_limit(preflighted) -> None:
    _, proc = preflighted
    line = next(line for line in proc.stderr.decode().splitlines()
                if "defects/6pt-two-inks.pdf" in line and "GWG-TEXT-INKS" in line)
    assert "page 2 at " in line and " mm" in line and "6.0 pt in 2 inks" in line \
        and "limit 8 pt" in line, line


def test_the_build_gate_fails_naming_the_rule(press_project, tmp_path: Path) -> None:
    project = _generated_project(tmp_path / "project")
    text = (project / "brand.yaml").read_text()
    (project / "brand.yaml").write_text(text.replace("cmyk: [91, 66, 21, 21]",
                                                     "cmyk: [100, 100, 100, 100]"))
    output = project / "output"
    proc = run_pipeline("build", "--profile", "press", "--variant", "general",
                        "--output", output, project=project)
    assert_process_failed(proc, "preflight: GWG-INK-AREA", "limit 300 %")
    assert not list(output.rglob("*.pdf"))


def test_two_folders_give_the_same_bytes(tmp_path: Path) -> None:
    """The same content in two differently named folders: byte-identical press and
    office PDFs (subset tags and ids from the content, never the folder)."""
    built = []
    for name in ("first-clinic", "another place"):
        project = _generated_project(tmp_path / name / "project")
        output = project / "output"
        proc = run_pipeline("build", "--profile", "press", "--profile", "office",
                            "--variant", "general", "--output", output, project=project)
        assert proc.returncode == 0, proc.stderr.decode()
        built.append({path.relative_to(output): path.read_bytes()
                      for path in output.rglob("*.pdf")})
    assert len(built[0]) == 2 and built[0].keys() == built[1].keys()
    for path, data in built[0].items():
        assert data == built[1][path], f"{path} differs between the two folders"
