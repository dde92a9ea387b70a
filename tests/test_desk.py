"""The discharge desk as a real server process: the HTTP interface, validation, the
record of sheets, privacy, security headers, the access code and robustness.

The desk serves a generated project (tests/factory.py, codes TEST-...); the tests
about languages use a copy of the shipped one, whose translations are the case.
Attacks (foreign names, floods, idle sockets, guesses, a hung renderer):
tests/test_desk_safety.py."""

from __future__ import annotations

import csv
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

import pytest
from pypdf import PdfReader

import factory
from conftest import ROOT, with_languages, assert_process_failed, documents_of, run_pipeline
from deskserver import Desk, generated_project, health_json, raw_reply, start_desk
from pdfread import squash

PAPERS = ("office", "office-a4")
GOOD = {"patient": "Jane Q. Example", "procedure-date": "2026-11-25", "levels": "T12, l1",
        "physician": "Dr. Placeholder", "follow-up": "2026-12-09T10:30",
        "notes": "Brace fitting on Tuesday."}


# variants.yaml is configuration shared by every handout, generated ones included.
VARIANTS = list(factory.load(ROOT / "variants.yaml")["variants"])


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_project(tmp_path_factory.mktemp("generated"))


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, generated: Path) -> Desk:
    server = start_desk(tmp_path_factory.mktemp("desk"), project=generated)
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


def test_page_offers_the_command_s_fields(desk: Desk, generated: Path) -> None:
    page = desk.get("/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    for name in ("variant", "profile", "patient", "procedure-date", "levels", "physician",
                 "follow-up", "notes", "with-brochure", "handout", "lang", "csrf"):
        assert f'name="{name}"' in page.text, name
    for document in sheets(generated):  # each variant with its one-line description
        assert document.variant.label in page.text
    assert health_json(desk)["status"] == "ready"


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_sheet_for_every_variant_and_paper(desk: Desk, generated: Path, variant: str,
                                           paper: str) -> None:
    document = next(d for d in sheets(generated)
                    if d.variant.name == variant and d.profile.name == paper)
    reply = desk.discharge({**GOOD, "handout": document.handout.id,
                            "variant": document.variant.name,
                            "profile": document.profile.name, "action": "print"})
    assert reply.status == 200, reply.text
    assert reply.headers["content-type"] == "application/pdf"
    sheet_id = reply.headers["x-sheet-id"]
    assert f'filename="discharge-{sheet_id}.pdf"' in reply.headers["content-disposition"]
    text = pdf_text(reply.body)
    for expected in ("Jane Q. Example", "Nov 25, 2026", "T12, L1", "Dr. Placeholder",
                     "Wed, Dec 9, 2026, 10:30 AM", "Brace fitting on Tuesday.",
                     f"Sheet {sheet_id}", document.handout.document_code):
        assert expected in text, expected
    reader = PdfReader(io.BytesIO(reply.body))
    width = float(reader.pages[0].mediabox.width)
    assert round(width) == round(document.profile.width_in * 72)
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
    brochure_text = squash(" ".join(p.extract_text() for p in pages[alone:]))
    brochures = [d.handout for d in documents_of(generated) if d.handout.kind == "brochure"]
    assert any(b.document_code in brochure_text for b in brochures)


INVALID = {"procedure-date": "2027-02-30", "follow-up": "tomorrow at ten",
           "levels": "T13, L9", "variant": "nobody", "profile": "legal",
           "lang": "xx", "handout": "no-such-sheet", "with-brochure": "perhaps",
           "notes": "x" * 2000}


@pytest.mark.parametrize("name", INVALID)
def test_invalid_field_gets_422_with_its_error_beside_it(desk: Desk, name: str) -> None:
    value = INVALID[name]
    reply = desk.discharge({**GOOD, name: value})
    assert reply.status == 422, reply.text
    assert reply.headers["content-type"].startswith("text/html")
    error = re.search(rf'id="{re.escape(name)}-error">(.*?)</p>', reply.text, re.S)
    assert error, f"no error beside {name}"
    assert value not in error[1]
    others = set(re.findall(r'id="([a-z-]+)-error"', reply.text)) - {name}
    assert not others, others
    assert "aria-invalid" in reply.text


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
    assert desk.discharge(GOOD, token).status == 200
    assert desk.post("/discharge", GOOD).status == 403                  # no token
    assert desk.post("/discharge", {**GOOD, "csrf": token[::-1]}).status == 403
    stranger = desk.post("/discharge", {**GOOD, "csrf": token}, cookies=False)
    assert stranger.status == 403                                       # not this session
    assert "Jane" not in stranger.headers.get("content-type", "")


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
    desk = start_desk(folder / "desk", env={"TMPDIR": str(temporary)}, project=generated)
    renderers = desk.renderer_pids()
    assert len(renderers) == 2 and list(temporary.iterdir())  # fonts unpacked there
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
        for name in ("handout", "variant", "lang", "profile", "patient", "procedure-date",
                     "levels", "physician", "follow-up", "notes", "with-brochure", "action"):
            too_long = "x" * 500 if name in ("patient", "physician", "notes") else ""
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
    assert len(before) == 2
    for pid in before:  # hold both renderers, so the request waits inside one
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
    assert len(after) == 2 and not set(after) & set(before)
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
    assert desk.discharge(GOOD, token).status == 200


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


def test_slow_client_gets_408_while_others_are_served(tmp_path: Path, generated: Path) -> None:
    desk = start_desk(tmp_path, "--client-timeout", "2", renderers=1, project=generated)
    try:
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
    finally:
        assert desk.stop() == 0


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


def test_several_discharge_handouts_and_an_expired_medical_review(tmp_path: Path) -> None:
    """Each discharge handout is offered; one whose medical review has expired is
    refused with a message (no patient detail in it) and nothing recorded; the other
    prints, and the record names it."""
    import datetime as dt

    project = generated_project(tmp_path)
    expired = factory.handout_data("discharge", factory.unused_code(project, "TEST-DESK"),
                                   title="After your desk test")
    expired["review"]["next_review"] = dt.date.today() - dt.timedelta(days=1)
    factory.write_handout(project, "zz-desk-discharge", expired)
    current = next(d.handout for d in sheets(project) if d.handout.id != "zz-desk-discharge")
    desk = start_desk(tmp_path / "desk", project=project, renderers=1)
    try:
        page = desk.get("/").text
        assert 'value="zz-desk-discharge"' in page and "After your desk test" in page
        assert f'value="{current.id}"' in page
        unchosen = desk.discharge(GOOD)
        assert unchosen.status == 422 and 'id="handout-error"' in unchosen.text
        refused = desk.discharge({**GOOD, "handout": "zz-desk-discharge",
                                  "patient": "Expired Review Patient"})
        assert refused.status == 422
        summary = re.search(r'id="error-summary".*?</div>', refused.text, re.S)[0]
        assert "review" in summary and "Expired Review" not in summary
        assert "patient-education lead" in summary  # whom to tell, not a file or an option
        assert ".yaml" not in summary and "--allow" not in summary
        assert desk.health().status == 200 and not records(desk)
        chosen = desk.discharge({**GOOD, "handout": current.id})
        assert chosen.status == 200, chosen.text
        assert current.document_code in pdf_text(chosen.body)
        assert [r["document_code"] for r in records(desk)] == [current.document_code]
    finally:
        assert desk.stop() == 0


def _reviewed(project: Path) -> None:
    """Sign off every translation in a copy of the project, as a reviewer would."""
    import datetime as dt

    for path in (project / "translations").glob("*/*.yaml"):
        data = factory.load(path)
        data["review"] = {"reviewed_by": "Test Reviewer", "reviewed_on": dt.date.today()}
        factory.save(path, data)


def test_a_sheet_in_every_language(project: Path, tmp_path: Path) -> None:
    """Each language the project declares: the sheet is in it (html lang, labels,
    dates by Babel) and the record says which language was handed out."""
    import datetime as dt

    from clinicprint.content import load_project

    with_languages(project)  # the project fixture is English only
    _reviewed(project)
    loaded = load_project(project)
    others = [language for language in loaded.languages.values() if not language.source]
    if not others:
        pytest.skip("the project declares one language")
    desk = start_desk(tmp_path / "desk", project=project, renderers=1)
    try:
        for language in others:
            reply = desk.discharge({**GOOD, "lang": language.code})
            assert reply.status == 200, reply.text
            reader = PdfReader(io.BytesIO(reply.body))
            assert str(reader.trailer["/Root"]["/Lang"]) == language.tag
            text = pdf_text(reply.body)
            sheet_id = reply.headers["x-sheet-id"]
            assert f"{language.label('Sheet')} {sheet_id}" in text
            assert language.format_skeleton("yMMMd", dt.date(2026, 11, 25)) in text
            assert records(desk)[-1]["lang"] == language.code
    finally:
        assert desk.stop() == 0


def test_a_language_the_desk_cannot_print_is_explained_in_a_nurse_s_words(
        project: Path, tmp_path: Path) -> None:
    """Unreviewed translations are not for patients: the desk does not offer them; it
    says why and what to do instead, never a file or an option; asked anyway (a
    script), it answers 422 beside the language and records nothing."""
    from clinicprint.content import load_project

    with_languages(project)
    for path in (project / "translations").glob("*/*.yaml"):  # every one a draft
        data = factory.load(path)
        data["review"] = {"reviewed_by": None, "reviewed_on": None}
        factory.save(path, data)
    loaded = load_project(project)
    source = next(language for language in loaded.languages.values() if language.source)
    drafts = [language for language in loaded.languages.values() if not language.source]
    if not drafts:
        pytest.skip("the project declares one language")
    desk = start_desk(tmp_path / "desk", project=project, renderers=1)
    try:
        page = desk.get("/").text
        for language in drafts:
            assert f'value="{language.code}"' not in page  # not offered
            words = (f"{language.name} sheets are waiting for review; print {source.name} "
                     "and call the interpreter service.")
            assert words in page
            reply = desk.discharge({**GOOD, "lang": language.code})
            assert reply.status == 422
            error = re.search(r'id="lang-error">(.*?)</p>', reply.text, re.S)
            assert error and words in error[1]
            for developer_words in (".yaml", "--allow-draft", "translations/", "DRAFT"):
                assert developer_words not in reply.text
        assert not records(desk)
    finally:
        assert desk.stop() == 0
