"""The clinical content a reviewer asked for, read back from the rendered PDFs.

Documents come from the project (every handout of a kind, in every variant it is
made in), and text is what pypdf extracts from the office PDF a patient is
handed, so a point that is lost in layout, or dropped by a variant's overrides,
fails here. The checks are clinical rules for any handout of that kind (a second
discharge sheet needs a fever threshold too), not today's wording.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT, documents_of
from pdfread import text_of

OFFICE = [d for d in documents_of(ROOT) if d.profile.name == "office"]
DISCHARGES = [d for d in OFFICE if d.handout.kind == "discharge"]
BROCHURES = [d for d in OFFICE if d.handout.kind == "brochure"]
SENIORS = [d for d in OFFICE if d.variant.name.startswith("seniors")]
ONCOLOGY = [d for d in OFFICE if d.variant.name.startswith("oncology")]
FEVER = r"100\.4\s*°\s*F\s*\(\s*38\s*°\s*C\s*\)"


def ids(document) -> str:
    return f"{document.handout.id}-{document.variant.name}"


def pdf_text(built: Path, document) -> str:
    text = text_of(built / document.relative_path)
    return text.replace("’", "'").replace("\u00a0", " ")


def plain(markdown: str) -> str:
    return re.sub(r"[*_]", "", markdown)


def assert_says(text: str, document, *patterns: str) -> None:
    for pattern in patterns:
        assert re.search(pattern, text, re.IGNORECASE | re.DOTALL), \
            f"{document.label}: nothing matches {pattern!r}"


def section_text(text: str, document, section_id: str) -> str | None:
    """The PDF text from a section's heading to the next section's heading."""
    titles = [s.title for s in document.sections]
    wanted = next((s for s in document.sections if s.id == section_id), None)
    if wanted is None or wanted.title not in text:
        return None
    start = text.index(wanted.title) + len(wanted.title)
    ends = [text.find(title, start) for title in titles if title != wanted.title]
    return text[start:min([end for end in ends if end > 0] or [len(text)])]


@pytest.mark.parametrize("document", OFFICE, ids=ids)
def test_every_document_opens_with_its_key_points(built: Path, document) -> None:
    boxes = [s for s in document.sections if s.type == "key-points"]
    assert boxes, f"{document.label}: no key-points section"
    text = pdf_text(built, document)
    for item in boxes[0].items:
        assert plain(item) in text, f"{document.label}: key point {item!r} not printed"


@pytest.mark.parametrize("document", DISCHARGES, ids=ids)
def test_discharge_sheets_cover_fever_sedation_blood_thinners_and_limits(
        built: Path, document) -> None:
    text = pdf_text(built, document)
    assert_says(text, document,
                FEVER,                                              # a fever threshold
                r"24 hours", r"\bdrive\b", r"alcohol", r"\badult\b",  # after sedation
                r"(decision|sign)",
                r"blood thinner", r"(start|restart)[^.]{0,40}again|restart",
                r"\blift", r"\bbend", r"twist",                     # explicit limits
                r"redness", r"swelling", r"warmth",                 # what to look for
                r"new[^.]{0,40}(weak|numb)",                        # 911: *new* weakness
                r"(new|worse)[^.]{0,30}back pain|back pain[^.]{0,30}worse")
    limits = [s for s in document.sections if s.type == "write-in"
              and any(re.search(r"lift|bend", item, re.I) for item in s.items)]
    assert limits, f"{document.label}: no write-in blanks for lifting or bending limits"
    assert any(s.icons for s in document.sections), f"{document.label}: no pictograms"


@pytest.mark.parametrize("document", BROCHURES, ids=ids)
def test_brochures_name_the_risks_of_a_consent_discussion(built: Path, document) -> None:
    text = pdf_text(built, document)
    assert_says(text, document,
                r"(sore|bruis)", r"cement[^.]{0,40}(leak|outside)", r"nerve",
                r"spinal cord", r"lungs", r"infection", r"bleeding",
                r"(new|another)[^.]{0,20}(fracture|break)",
                r"pain that (is not|does not)")
    assert [s for s in document.sections if s.type == "questions"], \
        f"{document.label}: questions have no room to write"


@pytest.mark.parametrize("document", SENIORS, ids=ids)
def test_seniors_versions_say_new_or_sudden_and_do_not_overclaim(built: Path, document) -> None:
    text = pdf_text(built, document)
    assert not re.search(r"strong again", text, re.I), f"{document.label}: overclaims"
    if document.handout.kind == "discharge":
        assert_says(text, document, r"new or sudden[^.]{0,40}(weak|numb)",
                    r"new trouble holding urine or stool", r"chills", r"swelling",
                    r"warmth", r"new back pain|back pain that gets worse",
                    r"medicine does not (help|control)")


@pytest.mark.parametrize("document", ONCOLOGY, ids=ids)
def test_oncology_wording_is_accurate(built: Path, document) -> None:
    text = pdf_text(built, document)
    assert_says(text, document, FEVER + r"[^.]{0,40}urgent|urgent[^.]{0,80}" + FEVER,
                r"after-hours|emergency room", r"platelets", r"bleed", r"bruis")
    assert not re.search(r"myeloma[^.]{0,20}cancer that has spread", text, re.I)
    if document.handout.kind == "brochure":
        assert_says(text, document, r"does not treat the cancer",
                    r"myeloma, a blood cancer that grows in the bone marrow", r"biopsy")
        who = section_text(text, document, "who-it-is-for")
        if who is not None and "osteoporosis" in who.lower():
            assert who.lower().index("cancer") < who.lower().index("osteoporosis"), \
                f"{document.label}: 'Who is it for?' leads with osteoporosis"
