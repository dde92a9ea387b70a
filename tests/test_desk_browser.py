"""The discharge desk in a real browser: Debian's Chromium driven by Playwright.

Fills the form, previews, downloads and reads the PDF back; works with the keyboard
alone, Next patient included; a half-typed date stops the print; loads nothing from
any other host; axe-core finds no WCAG 2.1 A/AA problem; shows only the fields of the
chosen sheet. The desk serves a copy of the generated library (tests/library.py) with
one more field that only one variant places."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import uuid
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import ROOT, documents_of
from deskserver import (VARIANT_ONLY, Desk, library_copy, start_desk,
                        with_a_variant_only_field)
from library import DEFAULT_FIELDS, OWN_FIELDS
from pdfread import squash

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Each field's question on the form, as the generated library's fields.yaml asks it.
QUESTION = {f["name"]: f.get("prompt") or f["label"].rstrip(":") for f in DEFAULT_FIELDS}
# Dates relative to today: the desk takes a follow-up within the next year.
FOLLOW_UP = dt.datetime.combine(dt.date.today() + dt.timedelta(days=14), dt.time(10, 30))
PROCEDURE = dt.date.today() - dt.timedelta(days=3)


def printed_moment(moment: dt.datetime) -> str:
    """A date and time as an English sheet prints it: Wed, Dec 9, 2026, 10:30 AM."""
    return (f"{moment:%a, %b} {moment.day}, {moment.year}, "
            f"{moment.hour % 12 or 12}:{moment:%M %p}")


def field(page, name: str):
    """A detail's box, found by its label as a nurse (or a screen reader) finds it."""
    return page.get_by_label(re.compile("^" + re.escape(QUESTION[name])))


@pytest.fixture(scope="module")
def variant_only(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The generated library with one more field that only one variant's sheet
    places: (the project, that variant)."""
    project = library_copy(tmp_path_factory.mktemp("generated"))
    _, variant, _ = with_a_variant_only_field(project)
    return project, variant


@pytest.fixture(scope="module")
def generated(variant_only: tuple[Path, str]) -> Path:
    return variant_only[0]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, generated: Path) -> Desk:
    server = start_desk(tmp_path_factory.mktemp("browser-desk"), project=generated,
                        renderers=1)
    yield server
    assert server.stop() == 0, server.log()


@pytest.fixture(scope="module")
def playwright():
    with playwright_api.sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def chromium(playwright):
    """One Chromium for the module; each context in it starts with nothing stored."""
    launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=FLAGS)
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def browser(chromium):
    """A fresh context; CSP is bypassed only so axe-core can be injected."""
    context = chromium.new_context(viewport={"width": 1024, "height": 1366},
                                   accept_downloads=True, bypass_csp=True)
    yield context
    context.close()


@pytest.fixture
def page(browser, desk: Desk):
    tab = browser.new_page()
    tab.goto(f"http://127.0.0.1:{desk.port}/")
    yield tab
    tab.close()


def pdf_text(data: bytes) -> str:
    return squash(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


def a_variant(project: Path):
    """A variant the generated discharge handout is made in, other than the default."""
    documents = [d for d in documents_of(project) if d.handout.kind == "discharge"]
    return next((d.variant for d in documents if d.variant.name != "general"),
                documents[0].variant)


def records(desk: Desk) -> int:
    return len(desk.record.read_text(encoding="utf-8").splitlines()) - 1


def test_fill_preview_and_download(page, generated: Path, tmp_path: Path) -> None:
    variant = a_variant(generated)
    name = f"Rosa {uuid.uuid4().hex[:6].upper()} Example"
    field(page, "patient").fill(name)
    field(page, "levels").fill("t12, L1")
    field(page, "follow-up").fill(f"{FOLLOW_UP:%Y-%m-%dT%H:%M}")
    page.get_by_label(variant.label).check()
    page.get_by_label("A4").check()
    page.get_by_role("button", name="Preview").click()
    frame = page.locator("#preview-frame")
    playwright_api.expect(frame).to_be_visible(timeout=60_000)
    shown = base64.b64decode(page.evaluate(
        """async () => {
            const blob = await (await fetch(document.getElementById('preview-frame').src)).blob();
            const bytes = new Uint8Array(await blob.arrayBuffer());
            let text = ''; bytes.forEach((b) => { text += String.fromCharCode(b); });
            return btoa(text);
        }"""))
    assert name in pdf_text(shown) and "T12, L1" in pdf_text(shown)
    playwright_api.expect(page.locator("#status")).to_contain_text("Preview ready")

    # With the brochure: one file of portrait and landscape pages, so the page must
    # say which pages flip on which edge.
    page.get_by_label(re.compile("^Include the brochure")).check()
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Print / Download").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert name not in saved.name and saved.name.startswith("discharge-")
    # The nurse is told the file holds the patient's details, where it went, and to
    # delete it once printed.
    status = page.locator("#status")
    playwright_api.expect(status).to_contain_text("holds the patient's details")
    playwright_api.expect(status).to_contain_text("downloads folder")
    playwright_api.expect(status).to_contain_text("delete the file")
    portrait = sum(p.mediabox.width < p.mediabox.height for p in PdfReader(saved).pages)
    playwright_api.expect(status).to_contain_text(  # the sheet (and a blank back), portrait
        re.compile(rf"pages 1-{portrait} \(the sheet\).*long edge.*\(the brochure\).*short"))
    reader = PdfReader(saved)
    text = pdf_text(saved.read_bytes())
    assert name in text and printed_moment(FOLLOW_UP) in text
    sheet_id = re.search(r"discharge-(\w{4}-\w{4})\.pdf", saved.name)[1]
    assert sheet_id in text
    assert round(float(reader.pages[0].mediabox.width)) == round(210 / 25.4 * 72)  # A4
    saved.unlink()


def test_switching_the_variant_shows_only_its_sheet_s_fields(
        page, variant_only: tuple[Path, str], desk: Desk) -> None:
    """A field only one variant's sheet prints is hidden, and not sent, while another
    variant is chosen; choosing its variant shows it; a value typed there and then
    left behind by switching back is not sent (so it cannot be refused or printed)."""
    project, variant = variant_only
    label = next(v.label for v in (d.variant for d in documents_of(project))
                 if v.name == variant)
    box = page.get_by_label(re.compile("^" + re.escape(VARIANT_ONLY["label"].rstrip(":"))))
    playwright_api.expect(box).to_be_hidden()
    playwright_api.expect(box).to_be_disabled()
    playwright_api.expect(field(page, "patient")).to_be_visible()
    page.get_by_label(label).check()
    playwright_api.expect(box).to_be_visible()
    playwright_api.expect(box).to_be_enabled()
    box.fill("Nurse Kim")
    page.get_by_label(next(v.label for v in (d.variant for d in documents_of(project))
                           if v.name != variant)).check()
    playwright_api.expect(box).to_be_hidden()
    playwright_api.expect(field(page, "patient")).to_be_visible()  # the others stay
    posted: list[str] = []
    page.on("request", lambda request: posted.append(request.post_data or "")
            if request.method == "POST" else None)
    page.get_by_role("button", name="Preview").click()
    playwright_api.expect(page.locator("#preview-frame")).to_be_visible(timeout=60_000)
    assert posted and VARIANT_ONLY["name"] not in posted[0] and "Kim" not in posted[0]


def test_mistakes_show_beside_their_fields(page) -> None:
    field(page, "levels").fill("Q7")
    field(page, "procedure-date").fill(PROCEDURE.isoformat())
    page.get_by_role("button", name="Preview").click()
    summary = page.locator("#error-summary")
    playwright_api.expect(summary).to_be_focused(timeout=30_000)
    levels = field(page, "levels")
    playwright_api.expect(levels).to_have_attribute("aria-invalid", "true")
    playwright_api.expect(page.locator("#levels-error")).to_contain_text("vertebra names")
    playwright_api.expect(levels).to_have_value("Q7")  # what was typed is kept
    playwright_api.expect(field(page, "procedure-date")).to_have_value(
        PROCEDURE.isoformat())
    assert page.locator(".field__error").count() == 1


def test_keyboard_alone_then_next_patient(page) -> None:
    """Tab to the name, type it, a note, a choice, a number and a phone, Tab on to
    Print / Download and press
    Enter; Next patient is then offered at once (it has the focus): Enter clears
    every detail and the preview (the page comes back fresh)."""
    name = f"Kay {uuid.uuid4().hex[:6].upper()}"
    assert _tab_to(page, lambda el: el["id"] == "patient")
    page.keyboard.type(name)
    assert _tab_to(page, lambda el: el["id"] == "notes")
    page.keyboard.type("Allergic to penicillin.")
    assert _tab_to(page, lambda el: el["id"] == "side")  # a choice: its first letter
    page.keyboard.type("r")
    assert _tab_to(page, lambda el: el["id"] == "lift-limit")
    page.keyboard.type("12")
    assert _tab_to(page, lambda el: el["id"] == "team-phone")
    page.keyboard.type("555 010 0123")
    assert _tab_to(page, lambda el: el["text"] == "Preview")
    page.keyboard.press("Enter")
    playwright_api.expect(page.locator("#preview-frame")).to_be_visible(timeout=60_000)
    assert _tab_to(page, lambda el: el["text"] == "Print / Download")
    with page.expect_download(timeout=60_000) as download:
        page.keyboard.press("Enter")
    printed = pdf_text(Path(download.value.path()).read_bytes())
    assert name in printed and "right" in printed and "555 010 0123" in printed
    playwright_api.expect(page.locator("#next-patient")).to_be_focused()
    playwright_api.expect(page.locator("#status")).to_contain_text("Next patient")
    history = page.evaluate("history.length")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    for declared in (*DEFAULT_FIELDS, *OWN_FIELDS):  # every detail, of every type
        playwright_api.expect(page.locator(f"#{declared['name']}")).to_have_value("")
    playwright_api.expect(page.locator("#preview-frame")).to_be_hidden()
    assert page.evaluate("document.getElementById('preview-frame').src") == ""
    assert name not in page.content() and "penicillin" not in page.content()
    # The last patient's page is replaced, not one step Back.
    assert page.evaluate("history.length") == history


def test_a_half_typed_date_stops_the_print_with_a_message_beside_it(page, desk) -> None:
    """Typed as nurses do in Chromium, the date (e.g. 12172026) then the time (1030)
    without AM or PM leaves the follow-up box incomplete (validity.badInput): the
    browser would send it empty and the sheet would print a blank line. Nothing is
    sent; the message sits beside the box."""
    before = records(desk)
    field(page, "patient").fill("Half Date")
    follow_up = field(page, "follow-up")
    follow_up.click()
    page.keyboard.type(f"{FOLLOW_UP:%m%d%Y}")
    page.keyboard.type(f"{FOLLOW_UP:%I%M}")
    assert page.evaluate("document.getElementById('follow-up').validity.badInput")
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url)
            if request.method == "POST" else None)
    page.get_by_role("button", name="Print / Download").click()
    error = page.locator("#follow-up-error")
    playwright_api.expect(error).to_contain_text("not complete")
    playwright_api.expect(follow_up).to_be_focused()
    playwright_api.expect(follow_up).to_have_attribute("aria-invalid", "true")
    assert "follow-up-error" in follow_up.get_attribute("aria-describedby")
    playwright_api.expect(page.locator("#status")).to_contain_text("Nothing was printed")
    assert _axe(page) == []
    page.get_by_role("button", name="Preview").click()  # nor a preview
    page.wait_for_timeout(500)
    assert sent == [] and records(desk) == before
    follow_up.fill(f"{FOLLOW_UP:%Y-%m-%dT%H:%M}")  # finished: the message goes; it prints
    playwright_api.expect(error).to_have_count(0)
    # With the brochure: one file of portrait and landscape pages, so the page must
    # say which pages flip on which edge.
    page.get_by_label(re.compile("^Include the brochure")).check()
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Print / Download").click()
    assert printed_moment(FOLLOW_UP) in pdf_text(Path(download.value.path()).read_bytes())
    assert records(desk) == before + 1


def test_a_number_out_of_range_is_stopped_beside_it(page, desk) -> None:
    """The browser holds a number outside its declared range (it would show only a
    bubble): the message beside it gives the range, and nothing is sent."""
    number = next(f for f in OWN_FIELDS if f["type"] == "number")
    before = records(desk)
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url)
            if request.method == "POST" else None)
    box = page.locator(f"#{number['name']}")
    box.fill(str(number["max"] * 10))
    page.get_by_role("button", name="Print / Download").click()
    error = page.locator(f"#{number['name']}-error")
    playwright_api.expect(error).to_contain_text(
        f"from {number['min']} to {number['max']}")
    playwright_api.expect(box).to_be_focused()
    playwright_api.expect(page.locator("#status")).to_contain_text("Nothing was printed")
    box.fill(str(number["max"]))  # corrected: the message goes
    playwright_api.expect(error).to_have_count(0)
    assert sent == [] and records(desk) == before


def test_a_half_typed_date_is_not_sent_without_the_script_either(chromium, desk) -> None:
    """The browser's own check (the form is not marked novalidate) stops it."""
    context = chromium.new_context(java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.goto(f"http://127.0.0.1:{desk.port}/")
        field(tab, "procedure-date").click()
        tab.keyboard.type("1125")  # no year
        assert tab.evaluate("document.getElementById('procedure-date').validity.badInput")
        sent: list[str] = []
        tab.on("request", lambda request: sent.append(request.url))
        tab.get_by_role("button", name="Print / Download").click()
        tab.wait_for_timeout(500)
        assert sent == []
    finally:
        context.close()


def _tab_to(page, wanted, limit: int = 40) -> bool:
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => ({id: document.activeElement.id || '',"
                                " text: (document.activeElement.textContent || '').trim()})")
        if wanted(focused):
            return True
    return False


def test_nothing_loaded_from_another_host(browser, desk: Desk) -> None:
    origin = f"http://127.0.0.1:{desk.port}"
    urls: list[str] = []
    tab = browser.new_page()
    tab.on("request", lambda request: urls.append(request.url))
    tab.goto(origin + "/")
    tab.get_by_role("button", name="Preview").click()
    playwright_api.expect(tab.locator("#preview-frame")).to_be_visible(timeout=60_000)
    tab.wait_for_load_state("networkidle")
    tab.close()
    # chrome: and chrome-extension: are the browser's own PDF viewer, not a network.
    local = (origin + "/", "blob:", "data:", "chrome:", "chrome-extension:")
    foreign = [u for u in urls if not u.startswith(local)]
    assert urls and not foreign, foreign
    assert any("/assets/fonts/" in u for u in urls)  # the page's font is the desk's own


def test_large_targets_and_no_sideways_scrolling_on_a_tablet(page) -> None:
    for width, height in ((768, 1024), (1024, 768)):
        page.set_viewport_size({"width": width, "height": height})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # Every button, text box and choice label is at least 44 px tall (WCAG 2.5.5).
        small = page.evaluate(
            """() => [...document.querySelectorAll('button, input[type=text], input[type=date],'
                      + ' input[type=datetime-local], input[type=number], input[type=tel],'
                      + ' select, textarea, .choice label')]
                 .filter((el) => el.getClientRects().length  // shown: not another sheet's
                                 && el.getBoundingClientRect().height < 44)
                 .map((el) => el.id || el.textContent.trim())""")
        assert not small, small


def _axe(page) -> list:
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           WCAG_21_AA)
    assert result["passes"], "axe-core checked nothing"
    return [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
            for v in result["violations"]]


def test_axe_finds_no_wcag21_aa_problem(page, desk: Desk) -> None:
    assert AXE.is_file(), "axe-core missing: run `make test` (npm ci)"
    assert _axe(page) == []
    field(page, "levels").fill("Q7")
    field(page, "notes").fill("n" * 10)
    page.get_by_role("button", name="Preview").click()
    playwright_api.expect(page.locator("#error-summary")).to_be_visible(timeout=30_000)
    assert _axe(page) == []  # the form with its errors
    page.goto(f"http://127.0.0.1:{desk.port}/no-such-page")
    assert _axe(page) == []  # a message page


def test_access_code_page_lockout_and_asking_again(browser, generated: Path,
                                                    tmp_path: Path) -> None:
    """axe-core on the code page, its error and its lockout; once signed in, a desk
    that asks for the code again (here: the browser's session is gone, as after the
    desk restarts) asks beside the buttons, and what was typed stays."""
    (tmp_path / "code").write_text("correct-horse-battery")
    (tmp_path / "code").chmod(0o600)
    desk = start_desk(tmp_path / "desk", "--access-code-file", str(tmp_path / "code"),
                      renderers=1, project=generated)
    try:
        tab = browser.new_page()
        tab.goto(f"http://127.0.0.1:{desk.port}/")
        assert _axe(tab) == []
        for attempt in range(3):  # the third locks this browser out for a moment
            tab.get_by_label("Access code").fill(f"wrong-code-{attempt}")
            tab.get_by_role("button", name="Open the desk").click()
            playwright_api.expect(tab.locator("#code-error")).to_be_visible()
        assert _axe(tab) == []
        tab.get_by_label("Access code").fill("correct-horse-battery")
        tab.get_by_role("button", name="Open the desk").click()
        playwright_api.expect(tab.locator("#wait-notice")).to_contain_text("Wait")
        assert _axe(tab) == []  # the lockout page
        tab.wait_for_timeout(2200)
        tab.get_by_label("Access code").fill("correct-horse-battery")
        tab.get_by_role("button", name="Open the desk").click()
        playwright_api.expect(field(tab, "patient")).to_be_visible()
        name = f"Ona {uuid.uuid4().hex[:6].upper()}"
        field(tab, "patient").fill(name)
        browser.clear_cookies()
        tab.get_by_role("button", name="Print / Download").click()
        code = tab.get_by_label("The desk's access code")
        playwright_api.expect(code).to_be_focused()
        playwright_api.expect(tab.locator("#status")).to_contain_text("still here")
        assert _axe(tab) == []
        code.fill("correct-horse-battery")
        code.press("Enter")
        playwright_api.expect(tab.locator("#status")).to_contain_text("open again")
        playwright_api.expect(field(tab, "patient")).to_have_value(name)
        with tab.expect_download(timeout=60_000) as download:
            tab.get_by_role("button", name="Print / Download").click()
        assert name in pdf_text(Path(download.value.path()).read_bytes())
        tab.close()
    finally:
        assert desk.stop() == 0


def test_the_browser_keeps_no_patient_detail(playwright, desk: Desk, tmp_path: Path) -> None:
    """After a mistake, a preview and a download, nothing typed is in the browser's
    profile (no cache, form history, session restore or storage)."""
    marker = "PRF" + uuid.uuid4().hex[:10]
    profile = tmp_path / "profile"
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS,
        accept_downloads=True)
    try:
        tab = context.new_page()
        tab.goto(f"http://127.0.0.1:{desk.port}/")
        field(tab, "patient").fill(f"Ann {marker}")
        field(tab, "notes").fill(f"Note {marker}")
        field(tab, "levels").fill(f"Q{marker}")
        tab.get_by_role("button", name="Preview").click()
        playwright_api.expect(tab.locator("#error-summary")).to_be_visible(timeout=30_000)
        field(tab, "levels").fill("L1")
        tab.get_by_role("button", name="Preview").click()
        playwright_api.expect(tab.locator("#preview-frame")).to_be_visible(timeout=60_000)
        with tab.expect_download(timeout=60_000) as download:
            tab.get_by_role("button", name="Print / Download").click()
        assert marker in pdf_text(Path(download.value.path()).read_bytes())
        tab.goto(f"http://127.0.0.1:{desk.port}/healthz")  # leave the page, as a nurse would
    finally:
        context.close()
    kept = [path for path in profile.rglob("*") if path.is_file()
            and marker.encode() in path.read_bytes()]
    assert not kept, kept


def test_an_expired_session_keeps_what_was_typed(page, browser) -> None:
    name = f"Lee {uuid.uuid4().hex[:6].upper()}"
    field(page, "patient").fill(name)
    browser.clear_cookies()  # as after the desk restarted: the session is unknown
    page.get_by_role("button", name="Print / Download").click()
    playwright_api.expect(page.locator("#status")).to_contain_text("expired")
    playwright_api.expect(field(page, "patient")).to_have_value(name)
    # With the brochure: one file of portrait and landscape pages, so the page must
    # say which pages flip on which edge.
    page.get_by_label(re.compile("^Include the brochure")).check()
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Print / Download").click()
    assert name in pdf_text(Path(download.value.path()).read_bytes())
