"""The desk on a ward: it prints through a real CUPS (a private cupsd with a cups-pdf
queue, tests/wardservices.py) and records education given in the patient's chart at a
FHIR endpoint that validates what it receives with fhir.resources.

What is proved, on the real desk process and the generated library:
- a printed sheet is a CUPS job named by its sheet id (never the patient's name),
  two-sided long-edge on the sheet's paper, the brochure a job of its own flipped on
  the short edge; what cups-pdf printed reads back with the patient's name and the id;
  the page says where it went and comes back blank; nothing is downloaded;
- the record says print only when CUPS took the job, failed when it refused (the
  details then stay on the page and nothing goes to the chart), preview apart;
- a sheet with an MRN is posted once as a FHIR R4 Procedure (education given) with the
  bearer token; none without an MRN; a chart that fails is told and never blocks the
  print; the MRN is in no log, record, job or page;
- the desk refuses to start with an unknown queue, or a token file others can read;
- the desk's sheet is stamped onto a design laid out once, and is the same picture
  (PDFium) as the sheet laid out in full with the same sheet id.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from conftest import LIBRARY, assert_process_failed, run_pipeline
from deskserver import Desk, library_copy, start_desk
from wardservices import ChartEndpoint, PrivateCups, cups_missing, start_cups

from clinicprint.desk_chart import MEDICAL_RECORD_NUMBER, PATIENT_EDUCATION

TODAY = dt.date.today()
PATIENT = "Zelda Quorum-Whitfield"
MRN = "MRN8802731"
TOKEN = "ward-3.token_0123456789abcdef"
HANDOUT = LIBRARY.discharges[0]
MRN_FIELD = {"name": "mrn", "label": "MRN:", "prompt": "Medical record number (MRN), for "
             "the chart; not printed", "type": "text", "max": 20}


@pytest.fixture(scope="module")
def cups() -> PrivateCups:
    why = cups_missing()
    if why:
        pytest.skip(why)
    server = start_cups()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chart() -> ChartEndpoint:
    endpoint = ChartEndpoint(TOKEN).start()
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated library, its fields.yaml declaring the MRN as the shipped one does."""
    project = library_copy(tmp_path_factory.mktemp("ward"))
    fields = project / "fields.yaml"
    data = yaml.safe_load(fields.read_text(encoding="utf-8"))
    data["fields"].insert(1, MRN_FIELD)  # after the patient's name, as shipped
    fields.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return project


@pytest.fixture(scope="module")
def token_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secrets") / "fhir-token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def desk(tmp_path_factory, cups: PrivateCups, chart: ChartEndpoint, project: Path,
         token_file: Path) -> Desk:
    server = start_desk(tmp_path_factory.mktemp("ward-desk"), "--printer", cups.queue,
                        "--fhir-endpoint", chart.url, "--fhir-token-file", str(token_file),
                        project=project, renderers=1, env=cups.env)
    yield server
    assert server.stop() == 0, server.log()


def filled(**more: str) -> dict[str, str]:
    return {"patient": PATIENT, "procedure-date": str(TODAY - dt.timedelta(days=1)),
            "physician": "Dr. Ames", **more}


def records(desk: Desk) -> list[dict[str, str]]:
    return list(csv.DictReader(desk.record.read_text(encoding="utf-8").splitlines()))


def text_of(path: Path) -> str:
    reader = PdfReader(path)
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def no_private_detail_in(desk: Desk, cups: PrivateCups, *values: str) -> None:
    """Neither the patient's name nor the MRN in the desk's log, its record, or CUPS's
    own logs and job names."""
    places = {"desk log": desk.log(), "record": desk.record.read_text(),
              "cups log": cups.log(), "page log": str(cups.page_log())}
    for where, text in places.items():
        for value in values:
            assert value not in text, f"{value!r} in the {where}"


def test_a_printed_sheet_and_its_brochure_are_cups_jobs_named_by_the_sheet_id(
        desk: Desk, cups: PrivateCups, chart: ChartEndpoint) -> None:
    page = desk.get("/")
    assert f"Print on {cups.queue}" in page.text and 'id="mrn"' in page.text
    before = len(chart.received)
    reply = desk.discharge(filled(**{"with-brochure": "on", "mrn": MRN}))
    assert reply.status == 200, reply.text
    assert reply.headers["content-type"].startswith("text/html")  # nothing to download
    sheet_id = reply.headers["x-sheet-id"]
    jobs = reply.headers["x-print-jobs"].split()
    assert len(jobs) == 2
    # The page says where it went and is blank for the next patient.
    done = re.search(r'id="done".*?</div>', reply.text, re.S)[0]
    assert sheet_id in done and cups.queue in done and jobs[0] in done
    assert PATIENT not in reply.text and MRN not in reply.text
    assert 'name="patient" type="text" value=""' in reply.text

    finished = cups.finished(jobs)
    sheet, brochure = finished[jobs[0]], finished[jobs[1]]
    assert sheet["name"] == sheet_id and brochure["name"] == f"{sheet_id} brochure"
    assert sheet["sides"] == "two-sided-long-edge"
    assert brochure["sides"] == "two-sided-short-edge"
    assert sheet["media"] == brochure["media"] == "Letter"
    printed = text_of(cups.printed(jobs[0]))
    assert PATIENT in printed and sheet_id in printed
    assert "TEST-B-" in text_of(cups.printed(jobs[1]))  # the brochure's document code
    assert PdfReader(cups.printed(jobs[0])).pages[0].mediabox.width == 612  # Letter

    line = records(desk)[-1]
    assert (line["sheet_id"], line["action"], line["printer"]) == (sheet_id, "print",
                                                                   cups.queue)
    assert line["print_jobs"].split() == jobs and line["chart"] == "sent"
    assert len(chart.received) == before + 1
    no_private_detail_in(desk, cups, PATIENT, MRN)


def test_education_given_reaches_the_chart_as_a_valid_fhir_procedure(
        desk: Desk, chart: ChartEndpoint) -> None:
    before = len(chart.received)
    reply = desk.discharge(filled(mrn=MRN))
    assert reply.status == 200, reply.text
    assert len(chart.received) == before + 1
    post = chart.received[-1]
    assert post.problem == "", post.problem  # fhir.resources validated it
    assert post.path == "/fhir/Procedure"
    assert post.headers["Authorization"] == f"Bearer {TOKEN}"
    assert post.headers["Content-Type"].startswith("application/fhir+json")
    procedure = post.resource
    assert procedure["resourceType"] == "Procedure" and procedure["status"] == "completed"
    assert PATIENT_EDUCATION in procedure["category"]["coding"]
    assert procedure["category"]["coding"][0]["code"] == "311401005"
    subject = procedure["subject"]["identifier"]
    assert subject["value"] == MRN and subject["type"]["coding"] == [MEDICAL_RECORD_NUMBER]
    assert "TEST-D-" in procedure["code"]["text"] and "revision" in procedure["code"]["text"]
    assert reply.headers["x-sheet-id"] in procedure["note"][0]["text"]
    performed = dt.datetime.strptime(procedure["performedDateTime"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(performed - dt.datetime.utcnow()) < dt.timedelta(minutes=5)
    assert PATIENT not in str(procedure)  # the chart knows the patient by the MRN
    assert "recorded in the patient" in reply.text


def test_nothing_goes_to_the_chart_without_an_mrn_or_for_a_preview(
        desk: Desk, chart: ChartEndpoint) -> None:
    before = len(chart.received)
    reply = desk.discharge(filled())
    assert reply.status == 200 and "x-chart" not in reply.headers
    preview = desk.discharge(filled(mrn=MRN, action="preview"))
    assert preview.status == 200 and preview.body.startswith(b"%PDF")
    assert len(chart.received) == before
    assert [line["action"] for line in records(desk)[-2:]] == ["print", "preview"]
    assert records(desk)[-1]["printer"] == "" and records(desk)[-1]["chart"] == ""


def test_a_printer_that_refuses_is_recorded_as_failed_and_the_details_stay(
        desk: Desk, cups: PrivateCups, chart: ChartEndpoint) -> None:
    assert cups.run("/usr/sbin/cupsreject", cups.queue).returncode == 0
    try:
        before = len(chart.received)
        reply = desk.discharge(filled(mrn=MRN))
    finally:
        cups.run("/usr/sbin/cupsaccept", cups.queue)
    assert reply.status == 502, reply.status
    assert "Nothing was printed" in reply.text and cups.queue in reply.text
    assert f'value="{PATIENT}"' in reply.text  # still there, to press Print again
    line = records(desk)[-1]
    assert (line["action"], line["print_jobs"], line["chart"]) == ("failed", "", "")
    assert len(chart.received) == before  # nothing given, nothing charted
    no_private_detail_in(desk, cups, PATIENT, MRN)


def test_a_chart_that_fails_is_told_and_never_blocks_the_print(
        desk: Desk, cups: PrivateCups, chart: ChartEndpoint) -> None:
    chart.answer = 503
    try:
        reply = desk.discharge(filled(mrn=MRN))
    finally:
        chart.answer = 201
    assert reply.status == 200, reply.text
    assert reply.headers["x-chart"] == "failed"
    assert "could not be recorded in the patient" in reply.text and "503" in reply.text
    line = records(desk)[-1]
    assert (line["action"], line["chart"]) == ("print", "failed")
    cups.finished(reply.headers["x-print-jobs"].split())
    assert "not recorded in the chart" in desk.log()
    no_private_detail_in(desk, cups, PATIENT, MRN)


def test_the_desk_will_not_start_with_an_unknown_queue_or_an_open_token_file(
        tmp_path: Path, cups: PrivateCups, chart: ChartEndpoint, project: Path) -> None:
    proc = run_pipeline("serve", "--port", "0", "--printer", "No-Such-Queue",
                        project=project, env=cups.env, timeout=60)
    assert_process_failed(proc, "--printer No-Such-Queue", "lpstat -p")
    open_token = tmp_path / "token"
    open_token.write_text(TOKEN)
    open_token.chmod(0o644)
    proc = run_pipeline("serve", "--port", "0", "--fhir-endpoint", chart.url,
                        "--fhir-token-file", str(open_token), project=project, timeout=60)
    assert_process_failed(proc, "FHIR token file", "chmod 600")
    assert TOKEN not in proc.stderr.decode()
    proc = run_pipeline("serve", "--port", "0", "--fhir-endpoint", chart.url,
                        project=project, timeout=60)
    assert_process_failed(proc, "--fhir-endpoint and --fhir-token-file go together")


def test_a_nurse_prints_in_the_browser_and_the_page_clears_for_the_next_patient(
        desk: Desk, cups: PrivateCups) -> None:
    """In Chromium: the button names the printer; after printing, the page says where
    the sheet went (with the focus, for a screen reader), the form is blank, nothing
    was downloaded, and axe-core finds no WCAG 2.1 A/AA problem."""
    browser_api = pytest.importorskip("playwright.sync_api")
    from test_desk_browser import CHROMIUM, FLAGS, _axe

    with browser_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=FLAGS)
        try:
            # CSP is bypassed only so axe-core can be injected.
            context = chromium.new_context(viewport={"width": 1024, "height": 1366},
                                           accept_downloads=True, bypass_csp=True)
            page = context.new_page()
            downloads = []
            page.on("download", lambda download: downloads.append(download))
            page.goto(f"http://127.0.0.1:{desk.port}/")
            page.get_by_label(re.compile(r"^Patient \(")).fill(PATIENT)
            page.get_by_label(re.compile("^Medical record number")).fill(MRN)
            page.get_by_role("button", name=f"Print on {cups.queue}").click()
            done = page.locator("#done")
            browser_api.expect(done).to_be_visible(timeout=60_000)
            browser_api.expect(done).to_contain_text(f"Sent to the printer {cups.queue}")
            browser_api.expect(done).to_be_focused()
            assert page.get_by_label(re.compile(r"^Patient \(")).input_value() == ""
            assert page.get_by_label(re.compile("^Medical record number")).input_value() == ""
            assert downloads == []
            assert _axe(page) == []  # WCAG 2.1 AA, the printed message included
            context.close()
        finally:
            chromium.close()
    line = records(desk)[-1]
    assert line["action"] == "print" and line["chart"] == "sent"
    cups.finished(line["print_jobs"].split())


def test_an_mrn_too_long_is_refused_beside_it_and_nothing_is_printed_or_sent(
        desk: Desk, cups: PrivateCups, chart: ChartEndpoint) -> None:
    before, posted = records(desk), len(chart.received)
    too_long = "MRN" + "7" * 30
    reply = desk.discharge(filled(mrn=too_long))
    assert reply.status == 422
    error = re.search(r'id="mrn-error">(.*?)</p>', reply.text, re.S)
    assert error and "20 characters" in error[1] and too_long not in error[1]
    assert records(desk) == before and len(chart.received) == posted


def test_a_record_with_other_columns_is_refused_at_start(tmp_path: Path,
                                                          project: Path) -> None:
    """An older desk's record (fewer columns) is not appended to with these lines."""
    old = tmp_path / "old-record.csv"
    old.write_text("time,sheet_id,action,handout,document_code,revision,variant,lang,"
                   "paper,with_brochure\n")
    proc = run_pipeline("serve", "--port", "0", "--record", str(old), project=project,
                        timeout=60)
    assert_process_failed(proc, str(old), "other columns", "--record")
    assert old.read_text().count("\n") == 1


def test_the_desk_stamps_its_sheet_and_it_looks_exactly_like_one_laid_out_in_full(
        desk: Desk, project: Path) -> None:
    """The desk's sheet is stamped onto a design laid out once (not laid out for the
    patient), yet is the same picture as the sheet laid out in full with the same id."""
    from test_stamp import differing_pixels

    from clinicprint.content import load_project
    from clinicprint.desk_workers import SHEET_ID_FIELD
    from clinicprint.personal import Sheet, parse_patient, render_sheet, sheet_fields

    loaded = load_project(project)
    variant, lang = loaded.handouts[HANDOUT].variants[-1], next(iter(loaded.languages))
    values = filled(levels="T12, L1", notes="Brace on when up.")
    reply = desk.discharge({**values, "variant": variant, "action": "preview"})
    assert reply.status == 200 and reply.body.startswith(b"%PDF")
    checked = parse_patient(values, sheet_fields(loaded, HANDOUT, variant, lang), str,
                            project, loaded.languages[lang])
    sheet = Sheet(variant, {**checked, SHEET_ID_FIELD: reply.headers["x-sheet-id"]},
                  HANDOUT, lang=lang)
    full, _ = render_sheet(loaded, sheet, "office", TODAY)
    assert reply.body != full  # stamped, not laid out in full
    assert set(differing_pixels(full, reply.body)) == {0}


def test_the_mrn_is_asked_for_only_when_the_desk_records_in_a_chart(project: Path) -> None:
    """Without --fhir-endpoint nothing would be done with it, so the form does not ask;
    with it, every sheet of a handout that declares it asks, though none prints it."""
    from clinicprint.content import load_project
    from clinicprint.desk import choices_of
    from clinicprint.personal import field_names, sheet_fields

    loaded = load_project(project)
    without = {item.field.name for item in choices_of(loaded).fields}
    asked = {item.field.name: item.sheets for item in choices_of(loaded, chart=True).fields}
    assert "mrn" not in without and set(asked) == without | {"mrn"}
    variants = loaded.handouts[HANDOUT].variants
    assert asked["mrn"] == [f"{HANDOUT}/{variant}" for variant in variants]
    assert all("mrn" not in {field.name for field in sheet_fields(loaded, HANDOUT, v, "en")}
               for v in variants)
    assert "mrn" not in field_names(loaded)  # nor a CSV column


def test_a_stopped_printer_holds_the_sheet_and_the_nurse_is_told(
        desk: Desk, cups: PrivateCups) -> None:
    assert cups.run("/usr/sbin/cupsdisable", cups.queue).returncode == 0
    try:
        reply = desk.discharge(filled())
    finally:
        cups.run("/usr/sbin/cupsenable", cups.queue)
    assert reply.status == 200, reply.text
    assert f"The printer {cups.queue} is stopped" in reply.text
    assert records(desk)[-1]["action"] == "print"  # CUPS took it: it prints once started
    cups.finished(reply.headers["x-print-jobs"].split())


def test_the_chart_s_failures_are_said_without_the_mrn_and_the_token_is_kept_home(
        chart: ChartEndpoint) -> None:
    """In-process: a server that cannot be reached, or that redirects (the token must
    not follow), is a reason in words; a resource fhir.resources refuses names its
    elements, never the values."""
    from clinicprint.desk_chart import Chart, Education, InvalidResource, validate

    given = Education(MRN, "After your test", "TEST-D-001", "2026-11-26", "K7QM-2XDF",
                      dt.datetime.now(dt.timezone.utc))
    closed = Chart("http://127.0.0.1:9/fhir", TOKEN).send(given)
    assert closed.startswith("the chart's server could not be reached")
    chart.answer = 307
    try:
        redirected = Chart(chart.url, TOKEN).send(given)
    finally:
        chart.answer = 201
    assert redirected.startswith("the chart's server answered 307")
    assert TOKEN not in repr(Chart(chart.url, TOKEN))
    with pytest.raises(InvalidResource) as refused:
        validate({"resourceType": "Procedure", "status": "completed",
                  "subject": {"identifier": {"value": MRN}}, "performedDateTime": MRN})
    assert "performedDateTime" in str(refused.value) and MRN not in str(refused.value)


def test_the_hospital_s_mrn_namespace_goes_into_the_identifier(token_file: Path) -> None:
    from clinicprint.desk_chart import Education, open_chart, procedure
    from clinicprint.errors import PipelineError

    chart = open_chart("https://ehr.example.org/fhir", token_file, "urn:oid:2.16.840.1.113883.19")
    given = Education(MRN, "After your test", "TEST-D-001", "2026-11-26", "K7QM-2XDF",
                      dt.datetime.now(dt.timezone.utc))
    identifier = procedure(given, chart.mrn_system)["subject"]["identifier"]
    assert identifier["system"] == "urn:oid:2.16.840.1.113883.19"
    assert identifier["value"] == MRN and chart.url == "https://ehr.example.org/fhir/Procedure"
    for endpoint, system, words in (("https://ehr.example.org/fhir", "ward-3", "namespace"),
                                    ("ftp://ehr.example.org/fhir", "", "base address"),
                                    ("https://nurse:pw@ehr.example.org/fhir", "", "no password")):
        with pytest.raises(PipelineError, match=words):
            open_chart(endpoint, token_file, system)
