"""The press build the press tests share (tests/test_press_rules.py, test_preflight.py):
the generated library's brochure as a clinic would send it to a print shop.

Brand details of realistic length instead of the placeholders (so no SAMPLE mark), a
photo (an RGB PNG the press post-processing must separate to CMYK) in place of the
drawing, and hairline rules in the brand's four-colour grey under the headings (which
must reach the press on the black plate alone). Built once per test run, in press (one
variant, every language) and both desk profiles (every variant and language: the long
details must fit everywhere), by the real command line.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from conftest import ROOT
from library import translate
from library_extra import BROCHURE, change, copy_library, handout_file, section

# Realistic clinic details: a 40-character street, a 40-character city line and a
# 60-character web address (issue 26).
STREET = "1200 Lakeshore Drive, Suite 300, Bldg 4B"
CITY = "North Saint Petersburgh, Florida 33701-0"
WEB = "www.lakeshore-spine-and-orthopedic-care-associates.org/spine"
assert (len(STREET), len(CITY), len(WEB)) == (40, 40, 60)
PHOTO = "assets/images/photo.png"
HAIRLINE = "\nh2 { border-bottom: 0.5pt solid var(--muted); }\n"
PRESS_VARIANT = "general"


@dataclass(frozen=True)
class PressBuild:
    project: Path
    output: Path                         # the press PDFs
    desk_output: Path                    # office and office-a4
    press: subprocess.CompletedProcess
    desk: subprocess.CompletedProcess

    def press_pdfs(self) -> list[str]:
        """Paths (in the output) of the press PDFs, English first."""
        return sorted((p.relative_to(self.output).as_posix()
                       for p in self.output.rglob("*.pdf")), key=lambda p: (len(p), p))


def realistic_brand(project: Path) -> None:
    text = (project / "brand.yaml").read_text(encoding="utf-8")
    for old, new in (('"[Clinic street address]"', f'"{STREET}"'),
                     ('"[City, State ZIP]"', f'"{CITY}"'),
                     ("https://www.example.org/spine/appointments",
                      "https://lakeshorespine.org/book"),
                     ("www.example.org/spine", WEB),
                     ("spine-care@example.org", "spine-care@lakeshorespine.org"),
                     ('"(555) 010-0100"', '"(727) 555-2400"'),
                     ('"(555) 010-0199"', '"(727) 555-2499"'),
                     ('tty: "(555) 010-0111"', 'tty: "711"')):
        assert old in text, f"test setup: {old} not in brand.yaml"
        text = text.replace(old, new)
    (project / "brand.yaml").write_text(text, encoding="utf-8")


def add_photo(project: Path) -> None:
    """A clinic's photo in the drawing's place and of its shape (so its panel stays as
    full), 900 px wide: at least GWG 2022's 149 ppi at the figure's printed width. The
    translation keeps its words (a picture's file is not translated)."""
    width, height = 900, 980
    photo = Image.new("RGB", (width, height))
    photo.putdata([(x * 255 // width, y * 255 // height, 128)
                   for y in range(height) for x in range(width)])
    photo.save(project / PHOTO)
    change(handout_file(project, BROCHURE),
           lambda data: section(data, "picture")["figure"].update(src=PHOTO))


def make_room_for_long_details(project: Path) -> None:
    """What a clinic with long details does: the large print's back panel, which
    holds them, gives up its list (a sentence is left) and its extra section."""
    def shorten(data) -> None:
        override = data["overrides"]["seniors-osteoporosis"]
        override["replace"]["before"]["body"] = \
            override["replace"]["before"]["body"].split("\n\n")[0]
        override["add"] = [s for s in override["add"] if s.get("panel") != "back"]
    change(handout_file(project, BROCHURE), shorten)
    translate(project, BROCHURE)  # and its translation with it


def press_project(folder: Path) -> Path:
    project = copy_library(folder, languages=True)
    realistic_brand(project)
    make_room_for_long_details(project)
    add_photo(project)
    with (project / "styles/brochure.css").open("a", encoding="utf-8") as css:
        css.write(HAIRLINE)
    return project


def build_press(folder: Path) -> PressBuild:
    project = press_project(folder / "project")
    output, desk_output = folder / "output", folder / "desk-output"
    command = [sys.executable, str(ROOT / "pipeline.py"), "--project", str(project), "build",
               "--handout", BROCHURE, "--jobs", "2"]
    # Two selections (a build is a cross product of its options), side by side.
    runs = [subprocess.Popen([*command, "--output", str(out), *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
            for out, args in ((output, ("--profile", "press", "--variant", PRESS_VARIANT)),
                              (desk_output, ("--profile", "office", "--profile", "office-a4")))]
    finished = []
    for run in runs:
        out, err = run.communicate(timeout=600)
        finished.append(subprocess.CompletedProcess(run.args, run.returncode, out, err))
    press, desk = finished
    return PressBuild(project, output, desk_output, press, desk)


_BUILT: dict[str, PressBuild] = {}


def shared_press_build(tmp_path_factory) -> PressBuild:
    """One press build per test run, whichever press test file asks first."""
    if "build" not in _BUILT:
        _BUILT["build"] = build_press(tmp_path_factory.mktemp("press-library"))
    return _BUILT["build"]
