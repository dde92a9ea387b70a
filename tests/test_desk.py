"""The discharge desk as a real server process: the HTTP interface, validation, the
record of sheets, privacy, security headers, the access code and robustness.

The desk serves a copy of the generated library (tests/library.py, codes TEST-...),
with one more field that only one variant places; the tests about languages add the
library's reviewed Spanish (and make it a draft where a draft is the case).
Attacks (foreign names, floods, idle sockets, guesses, a hung renderer):
tests/test_desk_safety.py."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import signal
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path

import lxml.html
import pytest
from pypdf import PdfReader

from conftest import LIBRARY, ROOT, with_languages, assert_process_failed, documents_of, \
    run_pipeline
from deskserver import (VARIANT_ONLY, Desk, health_json, library_copy, raw_reply, start_desk,
                        with_a_variant_only_field)
from library import DEFAULT_FIELDS, OWN_FIELDS, SPANISH_CHOICES, discharge, load, write
from pdfread import squash

PAPERS = ("office", "office-a4")
HANDOUT = LIBRARY.discharges[0]
# Dates relative to today: the desk takes a procedure in the last 90 days and a
# follow-up after it, within a year.
TODAY = dt.date.today()
PROCEDURE = TODAY - dt.timedelta(days=3)
FOLLOW_UP = dt.datetime.combine(TODAY + dt.timedelta(days=14), dt.time(10, 30))
RESTART = TODAY + dt.timedelta(days=5)
GOOD = {"patient": "Jane Q. Example", "procedure-date": PROCEDURE.isoformat(),
        "levels": "T12, l1", "physician": "Dr. Placeholder",
        "follow-up": FOLLOW_UP.strftime("%Y-%m-%dT%H:%M"),
        "notes": "Brace fitting on Tuesday.", "side": "Right", "lift-limit": "17",
        "restart-on": RESTART.isoformat(), "team-phone": "(555) 010-0199"}


def printed_date(day: dt.date) -> str:
    """A date as an English sheet prints it: Nov 25, 2026."""
    return f"{day:%b} {day.day}, {day.year}"


def printed_moment(moment: dt.datetime) -> str:
    """A date and time as an English sheet prints it: Wed, Dec 9, 2026, 10:30 AM."""
    return (f"{moment:%a, %b} {moment.day}, {moment.year}, "
            f"{moment.hour % 12 or 12}:{moment:%M %p}")


# variants.yaml is configuration shared by every handout, generated ones included.
VARIANT_LABELS = {name: variant["label"]
                  for name, variant in load(ROOT / "variants.yaml")["variants"].items()}
VARIANTS = list(VARIANT_LABELS)


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
    # One renderer is enough for requests sent one at a time (and is quick to start).
    server = start_desk(tmp_path_factory.mktemp("desk"), "--client-timeout", "2",
                        project=generated, renderers=1)
    yield server
    assert server.stop() == 0, server.log()


def sheets(project: Path) -> list:
    """Every discharge handout x variant x paper the desk offers, from the generated
    content (in English; other languages: test_a_sheet_in_every_language)."""
    return [d for d in documents_of(project) if d.handout.kind == "discharge"
            and d.profile.name in PAPERS and d.language.source]


def pdf_text(body: bytes) -> str:
    reader = PdfReader(io.BytesIO(body))
    return squash(" ".join(page.extract_text() for page in reader.pages))


def records(desk: Desk) -> list[dict[str, str]]:
    return list(csv.DictReader(desk.record.read_text(encoding="utf-8").splitlines()))


def error_beside(reply, name: str) -> str:
    """The message shown beside field `name` (fails if there is none)."""
    error = re.search(rf'id="{re.escape(name)}-error">(.*?)</p>', reply.text, re.S)
    assert error, f"no error beside {name}: {reply.status}"
    return re.sub(r"<[^>]+>", "", error[1])


def summary_of(reply) -> str:
    """The error summary at the top of the form."""
    return re.search(r'id="error-summary".*?</div>', reply.text, re.S)[0]


def errors_on(reply) -> set[str]:
    return set(re.findall(r'id="([a-z-]+)-error"', reply.text))


def assert_refused_beside(desk: Desk, reply, name: str, value: str,
                          before: list[dict[str, str]]) -> str:
    """422, the message beside `name` only, never the value; nothing printed or
    recorded. Returns the message."""
    assert reply.status == 422, (name, reply.status)
    assert reply.headers["content-type"].startswith("text/html")
    assert not reply.body.startswith(b"%PDF")
    message = error_beside(reply, name)
    assert value not in message and value not in summary_of(reply)
    assert errors_on(reply) == {name}, errors_on(reply)
    assert "aria-invalid" in reply.text
    assert records(desk) == before
    return message


# --- the form: each declared field, with its own input ---------------------------------


def declared(name: str) -> dict:
    """A field as the generated library (or VARIANT_ONLY) declares it."""
    return next(f for f in (*DEFAULT_FIELDS, *OWN_FIELDS, VARIANT_ONLY) if f["name"] == name)


def expected_input(field: dict) -> tuple[str, dict[str, str]]:
    """The element and attributes a browser needs to ask for a field of this type."""
    kind = field["type"]
    if kind == "choice":
        return "select", {}
    if kind == "text" and field.get("lines", 1) > 1:
        return "textarea", {"maxlength": str(field["max"])}
    if kind == "text":
        return "input", {"type": "text", "maxlength": str(field["max"])}
    return "input", {"type": {"number": "number", "date": "date", "datetime":
                              "datetime-local", "phone": "tel", "levels": "text"}[kind]}


def test_the_form_asks_for_each_declared_field_with_its_own_input(
        desk: Desk, variant_only: tuple[Path, str]) -> None:
    """Every field fields.yaml and the handout declare is on the form with the input
    its type needs (a choice as a select of its choices, a number with its range,
    dates as date and datetime-local, a phone as tel, the notes as a textarea with
    their length), labelled with its question, and marked with the sheets that place
    it: the variant-only field with its variant alone."""
    page = desk.get("/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    tree = lxml.html.fromstring(page.text)
    every_sheet = {f"{HANDOUT}/{variant}" for variant in VARIANTS}
    names = [f["name"] for f in (*DEFAULT_FIELDS, *OWN_FIELDS, VARIANT_ONLY)]
    for name in names:
        field = declared(name)
        [element] = tree.xpath(f'//*[@name="{name}"]')
        tag, attributes = expected_input(field)
        assert element.tag == tag, (name, element.tag)
        for attribute, value in attributes.items():
            assert element.get(attribute) == value, (name, attribute, element.get(attribute))
        if field["type"] == "choice":
            options = [o.get("value") for o in element.xpath("option")]
            assert options == ["", *field["choices"]], options
        if field["type"] == "number":
            assert float(element.get("min")) == field["min"]
            assert float(element.get("max")) == field["max"]
        hint = tree.get_element_by_id(f"{name}-hint").text_content()
        for form_words in {"date": ["YYYY-MM-DD"], "datetime": ["YYYY-MM-DD HH:MM"],
                           "levels": ["C1-C7", "S1"]}.get(field["type"], []):
            assert form_words in hint, (name, hint)  # as typed: not lower-cased
        [label] = tree.xpath(f'//label[@for="{element.get("id")}"]')
        question = field.get("prompt") or field["label"].rstrip(":")
        assert label.text_content().strip().startswith(question), (name, question)
        box = element.xpath('ancestor::div[contains(@class, "detail")]')[0]
        sheets = set(box.get("data-sheets").split())
        assert sheets == ({f"{HANDOUT}/{variant_only[1]}"} if name == VARIANT_ONLY["name"]
                          else every_sheet), (name, sheets)
    fields = {e.get("name") for e in tree.xpath('//form[@id="sheet-form"]//*[@name]')}
    assert fields == {*names, "csrf", "handout", "variant", "profile", "lang",
                      "with-brochure", "action"}, fields
    for variant, label in VARIANT_LABELS.items():  # each variant, in words, described
        [choice] = tree.xpath(f'//input[@name="variant"][@value="{variant}"]')
        assert tree.xpath(f'//label[@for="{choice.get("id")}"]')[0].text_content() == label
        assert tree.get_element_by_id(choice.get("aria-describedby")).text_content().strip()
    assert health_json(desk)["status"] == "ready"


def test_a_value_for_a_field_the_sheet_lacks_gets_422_beside_it(
        desk: Desk, variant_only: tuple[Path, str]) -> None:
    """Posted directly (the page disables it), a value for a field the chosen
    variant's sheet does not print is refused beside that field; nothing printed."""
    _, variant = variant_only
    other = next(v for v in VARIANTS if v != variant)
    before = records(desk)
    reply = desk.discharge({**GOOD, "variant": other, VARIANT_ONLY["name"]: "Nurse Kim"})
    message = assert_refused_beside(desk, reply, VARIANT_ONLY["name"], "Nurse Kim", before)
    assert "no place for it" in message
    # On its own variant's sheet it prints: test_sheet_for_every_variant_and_paper.


# --- printing -------------------------------------------------------------------------


# Each variant once, and each paper: the desk passes both through to the renderer.
SHEETS = [(variant, PAPERS[index % len(PAPERS)]) for index, variant in enumerate(VARIANTS)]


@pytest.mark.parametrize("variant, paper", SHEETS)
def test_sheet_for_every_variant_and_paper(desk: Desk, variant_only: tuple[Path, str],
                                           variant: str, paper: str) -> None:
    generated, only_here = variant_only
    document = next(d for d in sheets(generated)
                    if d.variant.name == variant and d.profile.name == paper)
    # The variant-only field prints on its own variant's sheet.
    extra = {VARIANT_ONLY["name"]: "Nurse Kim"} if variant == only_here else {}
    reply = desk.discharge({**GOOD, **extra, "handout": document.handout.id,
                            "variant": document.variant.name,
                            "profile": document.profile.name, "action": "print"})
    assert reply.status == 200, reply.text
    assert reply.headers["content-type"] == "application/pdf"
    sheet_id = reply.headers["x-sheet-id"]
    assert f'filename="discharge-{sheet_id}.pdf"' in reply.headers["content-disposition"]
    text = pdf_text(reply.body)
    for expected in ("Jane Q. Example", printed_date(PROCEDURE), "T12, L1",
                     "Dr. Placeholder", printed_moment(FOLLOW_UP), "Brace fitting on Tuesday.",
                     "right", "17", printed_date(RESTART), "(555) 010-0199",
                     sheet_id, document.handout.document_code,
                     # Stamped details come after the design's text (the label).
                     *([VARIANT_ONLY["label"], *extra.values()] if extra else [])):
        assert expected in text, expected
    reader = PdfReader(io.BytesIO(reply.body))
    width = float(reader.pages[0].mediabox.width)
    assert round(width) == round(document.profile.width_in * 72)
    assert all(sheet_id in page.extract_text() for page in reader.pages)  # every footer
    # The record names the handout, its version and the sheet, and nothing personal.
    line = next(r for r in records(desk) if r["sheet_id"] == sheet_id)
    assert line["handout"] == document.handout.id
    assert line["document_code"] == document.handout.document_code
    assert line["revision"] == document.handout.revision.isoformat()
    assert line["variant"] == document.variant.name and line["lang"] == "en"
    assert line["paper"] == document.profile.name and line["action"] == "print"


def test_blank_sheet_and_brochure(desk: Desk, generated: Path) -> None:
    blank = desk.discharge({})
    assert blank.status == 200
    assert "Patient:" in pdf_text(blank.body)
    alone = len(PdfReader(io.BytesIO(blank.body)).pages)
    both = desk.discharge({"with-brochure": "on", "patient": "Ann Alpha"})
    assert both.status == 200, both.text
    pages = PdfReader(io.BytesIO(both.body)).pages
    assert len(pages) > alone and len(pages) % 2 == 0  # duplex: the brochure on a new sheet
    # The page tells the nurse which pages are the sheet (long-edge flip) and which the
    # brochure (short-edge flip): the counts come with the file.
    sheet_pages = int(both.headers["x-sheet-pages"])
    assert sheet_pages == alone + alone % 2
    assert sheet_pages + int(both.headers["x-brochure-pages"]) == len(pages)
    assert records(desk)[-1]["printer"] == "download"
    brochure_text = squash(" ".join(p.extract_text() for p in pages[alone:]))
    brochures = [d.handout for d in documents_of(generated) if d.handout.kind == "brochure"]
    assert any(b.document_code in brochure_text for b in brochures)


INVALID = {"procedure-date": "2027-02-30", "follow-up": "tomorrow at ten",
           "levels": "T13, L9", "variant": "nobody", "profile": "legal",
           "lang": "xx", "handout": "no-such-sheet", "with-brochure": "perhaps",
           "notes": "x" * 2000, "side": "middle", "lift-limit": "500",
           "restart-on": "soon", "team-phone": "call me"}


@pytest.mark.parametrize("name", INVALID)
def test_invalid_field_gets_422_with_its_error_beside_it(desk: Desk, name: str) -> None:
    value = INVALID[name]
    reply = desk.discharge({**GOOD, name: value})
    assert reply.status == 422, reply.text
    assert reply.headers["content-type"].startswith("text/html")
    assert value not in error_beside(reply, name)
    assert errors_on(reply) == {name}, errors_on(reply)
    assert "aria-invalid" in reply.text


# --- patient safety: dates that make sense, names that cannot spoof (issue 23) ---------


def days_from_today(days: int) -> str:
    """Computed when the test runs, as the desk computes its range."""
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


# (field, value, what the message must say): each refused beside its field. A callable
# value is worked out when the test runs, so a run that spans midnight stays right.
NONSENSE_DATES = {
    "future": ("procedure-date", lambda: days_from_today(1), "in the last 90 days"),
    "91-days-ago": ("procedure-date", lambda: days_from_today(-91), "in the last 90 days"),
    "9999": ("procedure-date", "9999-12-31", "in the last 90 days"),
    "1900": ("procedure-date", "1900-01-01", "in the last 90 days"),
    # With a follow-up range from today, one before the procedure is out of it.
    "before-procedure": ("follow-up", f"{PROCEDURE - dt.timedelta(days=1)}T10:30",
                         "next 365 days"),
    "in-2020": ("follow-up", "2020-06-01T10:30", "next 365 days"),
}


@pytest.mark.parametrize("case", NONSENSE_DATES)
def test_a_date_that_makes_no_sense_gets_422_beside_it(desk: Desk, case: str) -> None:
    name, value, words = NONSENSE_DATES[case]
    value = value() if callable(value) else value
    before = records(desk)
    reply = desk.discharge({**GOOD, name: value})
    message = assert_refused_beside(desk, reply, name, value, before)
    assert words in message and "check the year" in message, message


# Characters that hide, reorder or stack text, so one name can read as another's
# (written as escapes: this file must not hide them either).
SPOOFING = {
    "right-to-left-override": "Smith \u202eeoJ nhoJ",
    "zero-width-space": "John\u200bSmith",
    "byte-order-mark": "\ufeffJohn Smith",
    "soft-hyphen": "Jo\u00adhn Smith",
    "isolates": "John \u2067Smith\u2069 \u2066Jr\u2069",
    "60-combining-accents": "Z" + "\u0301\u0300\u0302" * 20 + "oe",
}


@pytest.mark.parametrize("name", ["patient", "notes"])
@pytest.mark.parametrize("kind", SPOOFING)
def test_hidden_direction_and_stacked_characters_are_refused(desk: Desk, name: str,
                                                            kind: str) -> None:
    before = records(desk)
    value = SPOOFING[kind]
    reply = desk.discharge({**GOOD, name: value})
    message = assert_refused_beside(desk, reply, name, value, before)
    assert "retype it" in message, message


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BOUNDARY = "desk-test-boundary"


def form_body(token: str, name: str, value: bytes, multipart: bool) -> tuple[bytes, dict]:
    """A body with `value` sent as it is (a script's; a browser sends UTF-8)."""
    if not multipart:
        return f"csrf={token}&{name}=".encode() + value, FORM
    part = 'Content-Disposition: form-data; name="{}"\r\n\r\n'
    body = (f"--{BOUNDARY}\r\n{part.format('csrf')}{token}\r\n"
            f"--{BOUNDARY}\r\n{part.format(name)}").encode() + value + \
        f"\r\n--{BOUNDARY}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


@pytest.mark.parametrize("name", ["patient", "notes"])
@pytest.mark.parametrize("value, multipart", [
    (b"%ED%A0%80%FF", False), (b"Ann%ED%A0%80%FFLee", False), (b"Ann\xffLee", False),
    (b"Ann\xed\xa0\x80\xffLee", True)],
    ids=["escapes", "escapes-in-a-name", "raw-byte", "multipart"])
def test_bytes_that_are_not_utf8_are_refused_beside_the_field(
        desk: Desk, name: str, value: bytes, multipart: bool) -> None:
    """A UTF-16 surrogate and a byte no UTF-8 has, percent-encoded or raw: refused
    beside the field, never printed literally (werkzeug keeps undecodable escapes as
    they were sent) nor as replacement characters."""
    before = records(desk)
    body, headers = form_body(desk.token(), name, value, multipart)
    reply = desk.request("POST", "/discharge", body=body, headers=headers)
    message = assert_refused_beside(desk, reply, name, "%ED%A0%80%FF", before)
    assert "unreadable" in message, message
    assert "Ann" not in summary_of(reply)


def test_a_field_name_that_is_not_utf8_is_a_bad_request(desk: Desk) -> None:
    before = records(desk)
    reply = desk.request("POST", "/discharge", body=f"csrf={desk.token()}&%ED%A0%FF=1".encode(),
                         headers=FORM)
    assert reply.status == 400 and "the fields are" in reply.text
    assert records(desk) == before


def assert_security_headers(headers: dict[str, str], what: str) -> None:
    assert headers.get("cache-control") == "no-store", what
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("x-frame-options") == "SAMEORIGIN", what
    assert headers.get("referrer-policy") == "no-referrer", what
    policy = headers.get("content-security-policy", "")
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy, what


def test_security_headers_on_every_kind_of_response(desk: Desk) -> None:
    token = desk.token()
    replies = {"page": desk.get("/"), "pdf": desk.discharge({}, token),
               "422": desk.discharge({"levels": "Z1"}, token), "health": desk.health(),
               "404": desk.get("/nothing-here"), "static": desk.get("/static/desk.css"),
               "403": desk.post("/discharge", {"csrf": "0" * 64})}
    assert replies["pdf"].status == 200 and replies["422"].status == 422
    for what, reply in replies.items():
        assert_security_headers(reply.headers, what)
    page_policy = replies["page"].headers["content-security-policy"]
    assert "script-src 'self'" in page_policy and "unsafe-inline" not in page_policy
    cookie = replies["page"].headers.get("set-cookie") or ""
    assert not cookie or ("HttpOnly" in cookie and "SameSite=Strict" in cookie)


def test_csrf_token_is_required(desk: Desk) -> None:
    token = desk.token()
    # The token is checked before the details: a 422 means it was taken (no render).
    assert desk.discharge({**GOOD, "levels": "Z1"}, token).status == 422
    assert desk.post("/discharge", GOOD).status == 403                  # no token
    assert desk.post("/discharge", {**GOOD, "csrf": token[::-1]}).status == 403
    stranger = desk.post("/discharge", {**GOOD, "csrf": token}, cookies=False)
    assert stranger.status == 403                                       # not this session
    assert "Jane" not in stranger.text  # a forged request's values are not shown


def test_access_log_names_routes_only(desk: Desk) -> None:
    marker = f"QRY{uuid.uuid4().hex[:10]}"
    desk.get(f"/?patient={marker}")
    desk.get(f"/{marker}")
    time.sleep(0.3)
    log = desk.log()
    assert marker not in log
    assert re.search(r'"GET /" 200', log) and re.search(r'"GET \(other\)" 404', log)


def test_privacy_marker_only_in_the_returned_pdf(tmp_path_factory, generated: Path) -> None:
    """A marker in every field, good and bad requests; then stop the desk and search
    the project, the temporary folders and everything the server wrote."""
    started = time.time()
    folder = tmp_path_factory.mktemp("privacy")
    temporary = folder / "tmp"
    temporary.mkdir()
    desk = start_desk(folder / "desk", env={"TMPDIR": str(temporary)}, project=generated,
                      renderers=1)
    renderers = desk.renderer_pids()
    assert len(renderers) == 1 and list(temporary.iterdir())  # fonts unpacked there
    marker = f"MRK{uuid.uuid4().hex[:12]}"
    try:
        token = desk.token()
        good = desk.discharge({"patient": f"Ann {marker}", "physician": f"Dr {marker}",
                               "notes": f"Note {marker}", "with-brochure": "on"}, token)
        assert good.status == 200, good.text
        pdfs = [good.body]
        preview = desk.discharge({"patient": marker, "action": "preview"}, token)
        assert preview.status == 200
        assert preview.headers["content-disposition"].startswith("inline")
        pdfs.append(preview.body)
        for name in ("handout", "variant", "lang", "profile", *GOOD, VARIANT_ONLY["name"],
                     "with-brochure", "action"):
            too_long = "x" * 700 if declared_type(name) == "text" else ""
            reply = desk.discharge({name: marker + too_long}, token)
            assert reply.status in (400, 422), (name, reply.status)
        desk.post("/discharge", {"patient": marker, "csrf": marker})
        desk.post("/discharge", {"patient": marker, "csrf": token, marker: marker})
        desk.post("/discharge", {"patient": marker, "csrf": token, "levels": "L1, L2" * 4})
        desk.post("/access", {"code": marker, "csrf": token})
        desk.get(f"/discharge?patient={marker}")
    finally:
        assert desk.stop() == 0
    # Stopping leaves nothing behind: no renderer, nothing in the temporary folder.
    assert all(not Path(f"/proc/{pid}").exists() for pid in renderers)
    assert list(temporary.iterdir()) == []
    assert "stopped" in desk.log()
    for pdf in pdfs:
        assert marker in pdf_text(pdf)
        metadata = PdfReader(io.BytesIO(pdf)).metadata or {}
        assert marker not in repr(dict(metadata))
        assert marker.encode() not in pdf  # text is in the content streams only
    found = _files_containing(marker.encode(), [ROOT, folder, generated],
                              exclude=(".venv", "node_modules", ".git"))
    found += _files_containing(marker.encode(), [Path(tempfile.gettempdir())],
                               newer_than=started, exclude=(folder.name,))
    assert not found, found


def declared_type(name: str) -> str:
    return next((f["type"] for f in (*DEFAULT_FIELDS, *OWN_FIELDS, VARIANT_ONLY)
                 if f["name"] == name), "")


def _files_containing(needle: bytes, roots: list[Path], exclude=(), newer_than=0.0):
    hits = []
    for root in roots:
        for path in root.rglob("*"):
            if any(part in exclude for part in path.parts) or not path.is_file():
                continue
            try:
                if path.stat().st_mtime < newer_than or path.stat().st_size > 50_000_000:
                    continue
                if needle in path.read_bytes():
                    hits.append(path)
            except OSError:
                continue
    return hits


def test_renderer_that_dies_is_replaced_and_its_request_gets_500(desk: Desk) -> None:
    token = desk.token()
    before = desk.renderer_pids()
    assert before
    for pid in before:  # hold every renderer, so the request waits inside one
        os.kill(pid, signal.SIGSTOP)
    result: dict = {}
    waiting = threading.Thread(target=lambda: result.update(
        reply=desk.discharge({**GOOD, "patient": "Dying Renderer"}, token)))
    waiting.start()
    time.sleep(1.0)
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    waiting.join(timeout=60)
    reply = result["reply"]
    assert reply.status == 500
    assert "Dying" not in reply.text and "fault in the desk" in reply.text
    desk.wait_ready(timeout=90)
    after = desk.renderer_pids()
    assert len(after) == len(before) and not set(after) & set(before)
    again = desk.discharge(GOOD, token)
    assert again.status == 200 and "Jane Q. Example" in pdf_text(again.body)
    assert "Dying" not in desk.log()


def test_oversized_body_is_refused_and_the_desk_keeps_serving(desk: Desk) -> None:
    token = desk.token()
    big = desk.discharge({"notes": "n" * 100_000}, token)
    assert big.status == 413 and "larger than the desk accepts" in big.text
    # Past the socket's own limit: refused from the headers, before any body arrives,
    # by waitress itself, still with the desk's headers.
    answer = raw_reply(desk, b"POST /discharge HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                             b"application/x-www-form-urlencoded\r\nContent-Length: "
                             b"50000000\r\n\r\na=xxxx")
    assert answer.status == 413 and "larger than the desk accepts" in answer.text
    assert_security_headers(answer.headers, "waitress's 413")
    assert desk.discharge({**GOOD, "levels": "Z1"}, token).status == 422  # still serving


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n",
    b"POST /discharge HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
    b"POST /discharge HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
])
def test_malformed_request_gets_400(desk: Desk, raw: bytes) -> None:
    answer = raw_reply(desk, raw)
    assert answer.status == 400, answer.text
    assert_security_headers(answer.headers, "waitress's 400")
    assert "Traceback" not in answer.text and "waitress" not in answer.text
    assert desk.health().status == 200


def test_header_flood_gets_431_with_the_security_headers(desk: Desk) -> None:
    answer = raw_reply(desk, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                             + b"a" * 40_000 + b"\r\n\r\n")
    assert answer.status == 431
    assert_security_headers(answer.headers, "waitress's 431")


@pytest.mark.parametrize("content_type, body", [
    ("application/json", b'{"patient": "Jane", "csrf": "x"}'),
    ("text/plain", b"patient=Jane"),
    (None, b"patient=Jane"),
])
def test_a_body_that_is_not_a_form_gets_415(desk: Desk, content_type, body) -> None:
    """Said as it is, not as "This form had expired"; nothing printed or recorded."""
    token = desk.token()
    before = len(records(desk))
    headers = {"Content-Type": content_type} if content_type else {}
    reply = desk.request("POST", "/discharge", body=body.replace(b"x", token.encode()),
                         headers=headers)
    assert reply.status == 415, reply.status
    assert "web form" in reply.text and "expired" not in reply.text
    assert_security_headers(reply.headers, "415")
    assert len(records(desk)) == before


def test_unknown_or_repeated_field_gets_400(desk: Desk) -> None:
    token = desk.token()
    unknown = desk.post("/discharge", {"csrf": token, "colour": "blue"})
    repeated = desk.post("/discharge", [("csrf", token), ("patient", "A"), ("patient", "B")])
    assert unknown.status == 400 and repeated.status == 400
    assert "the fields are: handout, variant" in unknown.text


def test_slow_client_gets_408_while_others_are_served(desk: Desk) -> None:
    """The module's desk takes 2 s at most for a request to arrive in full."""
    slow = socket.create_connection(("127.0.0.1", desk.port), timeout=15)
    slow.sendall(b"POST /discharge HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\na=")
    assert desk.discharge(GOOD).status == 200
    for _ in range(3):  # keeps trickling, so it is never idle
        try:
            slow.sendall(b"b")
        except (BrokenPipeError, ConnectionResetError):
            break  # on a loaded machine the 2 s may be up already: the answer waits
        assert desk.health().status == 200
        time.sleep(1)
    answer = slow.recv(4096)
    slow.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    assert_security_headers({k.lower(): v.strip() for k, _, v in
                             (line.partition(":") for line in head)}, "waitress's 408")
    assert desk.health().status == 200


def test_refuses_to_listen_beyond_loopback_without_a_code() -> None:
    proc = run_pipeline("serve", "--host", "0.0.0.0", "--port", "0", timeout=60,
                        env={"DESK_ACCESS_CODE": ""})
    assert_process_failed(proc, "--host 0.0.0.0", "access code", "--access-code-file",
                          "DESK_ACCESS_CODE")


def test_refuses_a_port_in_use_with_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run_pipeline("serve", "--port", str(port), timeout=60)
    assert_process_failed(proc, f"--port {port}", "cannot listen there")


def test_refuses_a_short_access_code() -> None:
    proc = run_pipeline("serve", "--port", "0", timeout=60, env={"DESK_ACCESS_CODE": "1234"})
    assert_process_failed(proc, "$DESK_ACCESS_CODE", "shorter than")
    assert b"1234" not in proc.stderr


def test_renderers_end_when_the_desk_is_killed(tmp_path: Path, generated: Path) -> None:
    desk = start_desk(tmp_path, renderers=1, project=generated)
    renderers = desk.renderer_pids()
    assert renderers
    desk.process.kill()
    desk.process.wait(timeout=10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in renderers):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in renderers)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def two_sheets(tmp_path_factory: pytest.TempPathFactory):
    """A desk for the library in every language, with a second discharge handout whose
    medical review has expired (and which has no translation):
    (the desk, the project, the printable handout)."""
    folder = tmp_path_factory.mktemp("two-sheets")
    project = with_languages(library_copy(folder))
    expired = discharge("TEST-DESK-001", title="After your desk test")
    expired["review"]["next_review"] = TODAY - dt.timedelta(days=1)
    write(project / "handouts" / "zz-desk-discharge.yaml", expired)
    current = next(d.handout for d in sheets(project) if d.handout.id != "zz-desk-discharge")
    server = start_desk(folder / "desk", project=project, renderers=1)
    yield server, project, current
    assert server.stop() == 0, server.log()


def test_several_discharge_handouts_and_an_expired_medical_review(two_sheets) -> None:
    """Each discharge handout is offered; one whose medical review has expired is
    refused with a message (no patient detail in it) and nothing recorded; the other
    prints, and the record names it."""
    desk, _, current = two_sheets
    page = desk.get("/").text
    assert 'value="zz-desk-discharge"' in page and "After your desk test" in page
    assert f'value="{current.id}"' in page
    unchosen = desk.discharge(GOOD)
    assert unchosen.status == 422 and 'id="handout-error"' in unchosen.text
    refused = desk.discharge({**GOOD, "handout": "zz-desk-discharge",
                              "patient": "Expired Review Patient"})
    assert refused.status == 422
    summary = summary_of(refused)
    assert "review" in summary and "Expired Review" not in summary
    assert "patient-education lead" in summary  # whom to tell, not a file or an option
    assert ".yaml" not in summary and "--allow" not in summary
    assert desk.health().status == 200 and not records(desk)
    chosen = desk.discharge({**GOOD, "handout": current.id})
    assert chosen.status == 200, chosen.text
    assert current.document_code in pdf_text(chosen.body)
    assert [r["document_code"] for r in records(desk)] == [current.document_code]


def test_a_sheet_in_every_language(two_sheets) -> None:
    """Each language the library declares (its translations are reviewed): the sheet
    is in it (PDF /Lang, labels, dates by Babel, a choice in its words) and the record
    says which language was handed out; a handout not translated into it is refused
    beside the language, in a nurse's words."""
    from clinicprint.content import load_project

    desk, project, current = two_sheets
    loaded = load_project(project)
    others = [language for language in loaded.languages.values() if not language.source]
    assert others, "the generated library has a translation"
    for language in others:
        assert f'value="{language.code}"' in desk.get("/").text
        reply = desk.discharge({**GOOD, "handout": current.id, "lang": language.code})
        assert reply.status == 200, reply.text
        reader = PdfReader(io.BytesIO(reply.body))
        assert str(reader.trailer["/Root"]["/Lang"]) == language.tag
        text = pdf_text(reply.body)
        sheet_id = reply.headers["x-sheet-id"]
        # The id is stamped after the design's text; its label is the language's.
        assert f"{language.label('Sheet')} " in text and sheet_id in text
        assert language.format_skeleton("yMMMd", PROCEDURE) in text
        if language.code == "es":  # the choice as the translation words it
            assert SPANISH_CHOICES["side"][declared("side")["choices"].index("right")] \
                in text
        assert records(desk)[-1]["lang"] == language.code
        before = records(desk)
        untranslated = desk.discharge({**GOOD, "handout": "zz-desk-discharge",
                                       "lang": language.code})
        assert untranslated.status == 422 and records(desk) == before
        assert "interpreter service" in error_beside(untranslated, "lang")


def test_a_language_the_desk_cannot_print_is_explained_in_a_nurse_s_words(
        project: Path, tmp_path: Path) -> None:
    """Unreviewed translations are not for patients: the desk does not offer them; it
    says why and what to do instead, never a file or an option; asked anyway (a
    script), it answers 422 beside the language and records nothing."""
    from clinicprint.content import load_project

    with_languages(project)
    for path in (project / "translations").glob("*/*.yaml"):  # each one a draft again
        data = load(path)
        data["review"] = {"reviewed_by": None, "reviewed_on": None}
        write(path, data)
    loaded = load_project(project)
    source = next(language for language in loaded.languages.values() if language.source)
    drafts = [language for language in loaded.languages.values() if not language.source]
    assert drafts, "the generated library has a translation"
    # Nothing is printed here, so the test need not wait for the renderer to be ready.
    desk = start_desk(tmp_path / "desk", project=project, renderers=1, wait=False)
    try:
        page = desk.get("/").text
        for language in drafts:
            assert f'value="{language.code}"' not in page  # not offered
            words = (f"{language.name} sheets are waiting for review; print {source.name} "
                     "and call the interpreter service.")
            assert words in page
            reply = desk.discharge({**GOOD, "lang": language.code})
            assert reply.status == 422
            assert words in error_beside(reply, "lang")
            for developer_words in (".yaml", "--allow-draft", "translations/", "DRAFT"):
                assert developer_words not in reply.text
        assert not records(desk)
    finally:
        assert desk.stop() == 0
