"""Overflow anywhere is an error: each panel of a generated brochure is overfilled in
turn, in every profile the brochure is made in, and the discharge sheet past its last
page. Real layouts, read back from WeasyPrint."""

from __future__ import annotations

from pathlib import Path

import pytest

import factory
from clinicprint.build import plan
from clinicprint.content import load_project
from clinicprint.errors import RenderError
from clinicprint.layouts import KINDS, PROFILES
from clinicprint.render_html import render_html
from clinicprint.render_pdf import render_pdf
from conftest import ROOT, assert_process_failed, pdfs_in, run_pipeline

BROCHURE = KINDS["brochure"]
LONG_ITEM = "Walk a little more each day, and rest when your back feels tired. " * 3


def brochure_profiles() -> list[str]:
    """The profiles with panels: the reading edition (screen, web) is one column."""
    return [name for name in BROCHURE.profiles if not PROFILES[name].reading_edition]


def render(project: Path, handout: str, variant: str, profile: str) -> None:
    loaded = load_project(project)
    document = plan(loaded, [handout], [variant], [profile])[0]
    html = render_html(document, loaded.brand, project)
    render_pdf(html, document, project, loaded.brand)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil

    from conftest import PROJECT_FILES

    copy = tmp_path_factory.mktemp("overflow") / "project"
    copy.mkdir()
    for name in PROJECT_FILES:
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, copy / name)
    factory.only_generated(copy)
    return copy


def overfill(project: Path, panel: str) -> None:
    path = project / "handouts/test-brochure.yaml"
    data = factory.load(path)
    if panel in BROCHURE.fixed_panels:
        data["summary"] = LONG_ITEM * 6  # the cover holds the title and summary
    else:
        target = next(s for s in data["sections"] if s["panel"] == panel)
        target["items"] = [LONG_ITEM] * 12
    factory.save(path, data)


@pytest.mark.parametrize("profile", brochure_profiles())
@pytest.mark.parametrize("panel", BROCHURE.panels)
def test_every_panel_overfilled_fails_naming_it(generated: Path, panel: str, profile: str,
                                                tmp_path: Path) -> None:
    path = generated / "handouts/test-brochure.yaml"
    original = path.read_bytes()
    try:
        variant = next(iter(load_project(generated).variants))
        render(generated, "test-brochure", variant, profile)  # fits as generated
        overfill(generated, panel)
        with pytest.raises(RenderError) as failure:
            render(generated, "test-brochure", variant, profile)
    finally:
        path.write_bytes(original)
    message = failure.value.message
    assert f"test-brochure [{variant}, {profile}]" in message
    assert f"panel '{panel}' overflows" in message, message


def test_overflow_fails_the_real_command_and_writes_nothing(project: Path) -> None:
    factory.only_generated(project)
    overfill(project, "back")
    proc = run_pipeline("build", "--handout", "test-brochure", project=project)
    assert_process_failed(proc, "panel 'back' overflows")
    # Only the reading edition, which has no panels, is written.
    assert all(PROFILES[p.relative_to(project / "output").parts[0]].reading_edition
               for p in pdfs_in(project / "output"))


def test_a_panel_a_little_too_full_reports_by_how_much(generated: Path) -> None:
    path = generated / "handouts/test-brochure.yaml"
    original = path.read_bytes()
    data = factory.load(path)
    target = next(s for s in data["sections"] if s["panel"] == BROCHURE.section_panels[-1])
    variant = next(iter(load_project(generated).variants))
    try:
        for count in range(1, 40):  # add short items until the panel just overflows
            target["items"] = ["Rest today."] * count
            factory.save(path, data)
            try:
                render(generated, "test-brochure", variant, "office")
            except RenderError as exc:
                message = exc.message
                break
        else:
            pytest.fail("the panel never overflowed")
    finally:
        path.write_bytes(original)
    assert f"panel '{BROCHURE.section_panels[-1]}' overflows by " in message
    points = int(message.split("overflows by ")[1].split(" pt")[0])
    assert 0 <= points <= 30, message  # one short line too many, not a page


def test_discharge_past_its_last_page_fails_naming_the_section(generated: Path) -> None:
    path = generated / "handouts/test-discharge.yaml"
    original = path.read_bytes()
    data = factory.load(path)
    data["sections"] += [{"id": f"more-{n}", "title": f"More {n}", "body": LONG_ITEM * 4}
                         for n in range(12)]
    factory.save(path, data)
    variant = next(iter(load_project(generated).variants))
    try:
        with pytest.raises(RenderError) as failure:
            render(generated, "test-discharge", variant, "office")
    finally:
        path.write_bytes(original)
    assert "pages, more than the" in failure.value.message
    assert "section 'more-" in failure.value.message


def _text_bottom_and_fixed_top(laid_out, panel: str) -> tuple[float, float]:
    """The lowest flowing text in the panel, and the top of its fixed-position content."""
    from clinicprint.box_tree import descendants, page_boxes
    from clinicprint.render_pdf import _panel_name, _placed_in

    for _, box, _ in page_boxes(laid_out):
        if _panel_name(box) == panel:
            fixed = [inner for inner in _placed_in(box)]
            inside_fixed = {id(b) for inner in fixed for b in descendants(inner)}
            texts = [b for b in descendants(box) if getattr(b, "text", "").strip()
                     and id(b) not in inside_fixed]
            return (max(b.position_y + b.height for b in texts),
                    min(inner.border_box_y() for inner in fixed))
    raise AssertionError(f"no panel {panel}")


@pytest.mark.parametrize("profile", brochure_profiles())
def test_cover_text_never_runs_into_the_tagline(generated: Path, profile: str) -> None:
    """Grow the summary a sentence at a time: while it builds, its text stays above the
    tagline; the first sentence too many is an error naming the cover."""
    if "cover" not in BROCHURE.fixed_panels:
        pytest.skip("this layout has no fixed cover")
    path = generated / "handouts/test-brochure.yaml"
    original = path.read_bytes()
    data = factory.load(path)
    loaded = load_project(generated)
    variant = next(iter(loaded.variants))
    try:
        for count in range(2, 60, 2):
            data["summary"] = "Walk a bit each day and rest when you need to. " * count
            factory.save(path, data)
            loaded = load_project(generated)
            document = plan(loaded, ["test-brochure"], [variant], [profile])[0]
            html = render_html(document, loaded.brand, generated)
            try:
                rendered = render_pdf(html, document, generated, loaded.brand)
            except RenderError as exc:
                assert "panel 'cover' overflows" in exc.message, exc.message
                break
            bottom, fixed_top = _text_bottom_and_fixed_top(rendered.layout, "cover")
            assert bottom <= fixed_top + 0.5, (count, bottom, fixed_top)
        else:
            pytest.fail("the cover never overflowed")
    finally:
        path.write_bytes(original)
