"""The press output intent's reference data (clinicprint/gwg.py, CGATS_TR006) is the
published characterization: the paper and C, M, Y, K solids of ANSI CGATS/GRACoL
TR 006-2007, as Debian's icc-profiles-free ships them (TR006.ti3, the data the bundled
profile was made from; scripts/system-deps.sh --test installs it). And the bundled
profile reproduces them, read through LittleCMS as a RIP would."""

from __future__ import annotations

import io
import statistics
from pathlib import Path

import pytest

from clinicprint.gwg import CGATS_TR006
from clinicprint.layouts import DEFAULT_CMYK_PROFILE

TR006 = Path("/usr/share/color/icc/TR006.ti3")
PATCHES = {"paper": (0, 0, 0, 0), "C": (100, 0, 0, 0), "M": (0, 100, 0, 0),
           "Y": (0, 0, 100, 0), "K": (0, 0, 0, 100)}


def measurements() -> dict[tuple[float, ...], list[tuple[float, float, float]]]:
    """L*a*b* of every patch in TR006.ti3 (CGATS text: a field list, then rows)."""
    assert TR006.is_file(), "install icc-profiles-free (scripts/system-deps.sh --test)"
    lines = [line.strip() for line in TR006.read_text(encoding="latin-1").splitlines()]
    fields = lines[lines.index("BEGIN_DATA_FORMAT") + 1].split()
    rows = lines[lines.index("BEGIN_DATA") + 1:lines.index("END_DATA")]
    found: dict[tuple[float, ...], list[tuple[float, float, float]]] = {}
    for row in rows:
        value = dict(zip(fields, map(float, row.split())))
        cmyk = tuple(value[f"CMYK_{ink}"] for ink in "CMYK")
        found.setdefault(cmyk, []).append((value["LAB_L"], value["LAB_A"], value["LAB_B"]))
    return found


@pytest.fixture(scope="module")
def published() -> dict[str, tuple[float, float, float]]:
    data = measurements()
    return {name: tuple(statistics.fmean(lab[i] for lab in data[cmyk]) for i in range(3))
            for name, cmyk in PATCHES.items()}


def test_the_stored_values_are_the_published_ones(published) -> None:
    stored = {"paper": CGATS_TR006.paper, **CGATS_TR006.solids}
    for name, lab in published.items():
        assert stored[name] == pytest.approx(lab, abs=0.01), name


def test_the_bundled_profile_reproduces_the_paper_and_solids(published) -> None:
    from PIL import Image, ImageCms

    profile = ImageCms.ImageCmsProfile(io.BytesIO(DEFAULT_CMYK_PROFILE.read_bytes()))
    transform = ImageCms.buildTransform(profile, ImageCms.createProfile("LAB", colorTemp=5000),
                                        "CMYK", "LAB", ImageCms.Intent.ABSOLUTE_COLORIMETRIC)
    for name, cmyk in PATCHES.items():
        pixel = Image.new("CMYK", (1, 1), tuple(round(v * 2.55) for v in cmyk))
        L, a, b = ImageCms.applyTransform(pixel, transform).getpixel((0, 0))
        got = (L * 100 / 255, a - 128, b - 128)
        delta = sum((x - y) ** 2 for x, y in zip(got, published[name])) ** 0.5
        tolerance = CGATS_TR006.paper_tolerance if name == "paper" \
            else CGATS_TR006.solid_tolerance
        assert delta <= tolerance, (name, got, published[name], delta)
