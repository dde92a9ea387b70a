"""Fields are content (issue 27): fields.yaml and a discharge handout's `fields:` declare
what a nurse fills in; each type has its own check and message, the same through the
command's options, `--field NAME=VALUE` and a CSV list; dates must make sense for a sheet
printed today and names may not hide or reorder text (issue 23's wrong-patient lessons);
the build's field-room gate proves each sheet keeps room for every field at its longest.
Every test runs `python pipeline.py` as a process on the generated library."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from conftest import LIBRARY, assert_process_failed, run_cli, run_pipeline
from library import load, write
from pdfread import squash, text_of

TODAY = dt.date.today()
DAY = dt.timedelta(days=1)
[SHEET] = LIBRARY.discharges
MARK = f"Qz{uuid.uuid4().hex[:8]}"  # a patient value that must never be echoed


def discharge(*args: str, cwd: Path, project: Path | None = None):
    return run_pipeline("discharge", *map(str, args), "-o", "sheet.pdf", cwd=cwd,
                        project=project)


def refused(proc, *fragments: str) -> str:
    err = assert_process_failed(proc, *fragments)
    assert MARK not in err and len(err.strip().splitlines()) == 1, err
    return err


# --- each type's check, with its own message --------------------------------------------

BAD_VALUES = [
    # (option or --field, value, what the one-line message says)
    ("--field=lift-limit", "51", "--field lift-limit: must be from 1 to 50"),
    ("--field=lift-limit", "ten", "--field lift-limit: not a number"),
    ("--field=lift-limit", "10.5", "--field lift-limit: write a whole number"),
    ("--field=side", "upper", "--field side: choose one of: left, right, both"),
    ("--field=team-phone", "call me", "--field team-phone: not a phone number"),
    ("--field=team-phone", "123", "--field team-phone: not a phone number"),
    ("--levels", "L9", "--levels: use vertebra names"),
    ("--levels", "T1, T2, T3, T4, T5, T6, T7", "--levels: more than 6 levels"),
    ("--procedure-date", "2026-02-30", "--procedure-date: not a date"),
    ("--procedure-date", "9999-12-31", "--procedure-date: must be today or in the last 90"),
    ("--procedure-date", "2099-12-31", "--procedure-date: must be today or in the last 90"),
    ("--procedure-date", "1900-01-01", "--procedure-date: must be today or in the last 90"),
    ("--procedure-date", f"{TODAY - 91 * DAY}", "--procedure-date: must be today or in the"),
    ("--follow-up", "2020-06-01 10:00", "--follow-up: must be today or in the next 365"),
    ("--follow-up", f"{TODAY + 366 * DAY} 10:00", "--follow-up: must be today or in the next"),
    ("--follow-up", f"{TODAY} 25:00", "--follow-up: not a date and time"),
    ("--field=restart-on", f"{TODAY + 91 * DAY}", "--field restart-on: must be today or in"),
]


def check(option: str, value: str) -> str:
    """The message the command gives for one value (personal.parse_patient, which the
    command, a CSV list and the desk all call), or "" when it is accepted."""
    from clinicprint.content import load_project
    from clinicprint.errors import PipelineError
    from clinicprint.personal import parse_patient, sheet_fields

    project = load_project(LIBRARY.root)
    name = option.removeprefix("--field=").removeprefix("--")
    fields = sheet_fields(project, SHEET, "general", "en")
    label = (lambda n: f"--field {n}") if option.startswith("--field=") else \
        (lambda n: f"--{n}")
    try:
        parse_patient({name: value}, fields, label, project.root)
    except PipelineError as exc:
        return exc.message
    return ""


@pytest.mark.parametrize("option,value,message", BAD_VALUES,
                         ids=[f"{o}-{i}" for i, (o, _, _) in enumerate(BAD_VALUES)])
def test_each_type_refuses_a_wrong_value_in_one_line(option: str, value: str,
                                                     message: str) -> None:
    said = check(option, value)
    assert said.startswith(message), said
    assert value not in said or len(value) < 4  # the value is never repeated
    assert "\n" not in said


def test_the_command_and_a_csv_give_the_same_messages(tmp_path: Path) -> None:
    """Through the real process: nothing written, the option or cell named, no value."""
    for option, value, message in (BAD_VALUES[0], BAD_VALUES[3], BAD_VALUES[10]):
        args = ["--field", f"{option[8:]}={value}"] if option.startswith("--field=") \
            else [option, value]
        refused(discharge("--patient", MARK, *args, cwd=tmp_path), message)
    (tmp_path / "day.csv").write_text(f"patient,procedure-date\n{MARK},{TODAY}\n"
                                      f"{MARK},2099-12-31\n", encoding="utf-8")
    refused(run_pipeline("discharge", "--csv", "day.csv", "--merge", "-o", "day.pdf",
                         cwd=tmp_path),
            "day.csv row 3, column procedure-date: must be today or in the last 90 days")
    assert not list(tmp_path.glob("*.pdf"))


def test_a_date_before_the_one_it_must_follow_is_refused(project: Path,
                                                        tmp_path: Path) -> None:
    """With a range, a follow-up cannot precede a procedure in the past; a clinic may
    drop the range, and then `after:` still holds the order."""
    data = load(project / "fields.yaml")
    for field in data["fields"]:
        field.pop("days_from_today", None)
    write(project / "fields.yaml", data)
    refused(run_pipeline("discharge", "--patient", MARK, "--procedure-date", f"{TODAY}",
                         "--follow-up", f"{TODAY - 3 * DAY} 10:00", "-o", "x.pdf",
                         cwd=tmp_path, project=project),
            "--follow-up: comes before procedure-date; check both dates")


# --- names that hide, reorder or stack text ------------------------------------------------

HIDDEN = {
    "right-to-left override": "Smith \u202eeoJ nhoJ",
    "zero-width space": "Ann\u200bLee",
    "byte order mark": "\ufeffAnn Lee",
    "soft hyphen": "Ann\u00adLee",
    "isolate": "Ann \u2066Lee\u2069",
    "joiner between Latin letters": "An\u200dn Lee",
}


@pytest.mark.parametrize("what", HIDDEN)
def test_names_refuse_invisible_and_direction_characters(what: str) -> None:
    assert check("--patient", HIDDEN[what]).startswith(
        "--patient: contains an invisible or direction-changing character")


def test_a_spoofed_name_is_refused_by_the_command(tmp_path: Path) -> None:
    refused(discharge("--patient", HIDDEN["right-to-left override"], "--physician", MARK,
                      cwd=tmp_path),
            "--patient: contains an invisible or direction-changing character")


def test_stacked_accents_and_unreadable_characters_are_refused(tmp_path: Path) -> None:
    assert check("--patient", "Z" + "\u0301" * 60).startswith(
        "--patient: more than 2 accents on one letter")
    assert check("--physician", "Dr \ufffd\ufffd").startswith(
        "--physician: contains a control, unreadable or unassigned character")
    # Two accents (Vietnamese decomposed, composed by NFC) and a Persian joiner are fine.
    ok = run_pipeline("discharge", "--patient", "Nguye\u0302\u0303n \u0646\u06cc\u200c\u0646",
                      "-o", "ok.pdf", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr.decode()


# --- --field, CSV columns and the sheet's own fields ---------------------------------------

def test_every_type_prints_through_the_command(tmp_path: Path) -> None:
    proc = run_pipeline(
        "discharge", "--patient", "Ann Lee", "--procedure-date", f"{TODAY - DAY}",
        "--levels", "t12,l1", "--follow-up", f"{TODAY + 14 * DAY}T10:30",
        "--field", "side=LEFT", "--field", "lift-limit=10", "--field",
        f"restart-on={TODAY + 3 * DAY}", "--field", "team-phone=(555) 010-0142",
        "-o", "sheet.pdf", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    text = squash(text_of(tmp_path / "sheet.pdf"))
    for printed in ("Ann Lee", "T12, L1", "left", "10", "(555) 010-0142",
                    f"{(TODAY + 3 * DAY):%b} {(TODAY + 3 * DAY).day}"):
        assert printed in text, printed


def test_a_choice_prints_in_the_sheet_s_language(tmp_path: Path) -> None:
    proc = run_pipeline("discharge", "--lang", "es", "--field", "side=right", "-o", "hoja.pdf",
                        cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    text = text_of(tmp_path / "hoja.pdf")
    assert "derecho" in text and "right" not in text


@pytest.mark.parametrize("entry,message", [
    ("side", "--field: write NAME=VALUE"),
    ("Side=left", "--field: write NAME=VALUE"),
    ("patient=Ann", "--field: give patient with --patient"),
    ("no-such-field=1", "--field no-such-field: this sheet has no place for it"),
])
def test_field_option_mistakes(tmp_path: Path, entry: str, message: str) -> None:
    proc = discharge("--field", entry, cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode in (1, 2) and message.split(":")[0] in err and "Traceback" not in err
    assert message.split(": ", 1)[1] in err


def test_a_csv_has_a_column_per_field_and_refuses_one_the_sheet_lacks(
        project: Path, tmp_path: Path) -> None:
    (tmp_path / "day.csv").write_text(
        f"patient,side,lift-limit,team-phone\n{MARK},both,5,+1 555 010 0100\n",
        encoding="utf-8")
    ok = run_pipeline("discharge", "--csv", "day.csv", "--merge", "-o", "day.pdf",
                      cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr.decode()
    assert "both" in text_of(tmp_path / "day.pdf")
    # In a copy whose general sheet no longer places `side`, a value for it is refused.
    path = project / "handouts" / f"{SHEET}.yaml"
    data = load(path)
    for section in data["sections"]:
        section["items"] = [item for item in section.get("items", [])
                            if not (isinstance(item, dict) and item.get("field") == "side")]
    data["overrides"]["oncology"].setdefault("add", []).append(
        {"id": "side-only-here", "type": "write-in", "title": "Side",
         "items": [{"label": "Side treated:", "field": "side"}]})
    write(path, data)
    (tmp_path / "bad.csv").write_text(f"patient,variant,side\n{MARK},oncology,left\n"
                                      f"{MARK},general,left\n", encoding="utf-8")
    refused(run_pipeline("discharge", "--csv", "bad.csv", "--merge", "-o", "bad.pdf",
                         cwd=tmp_path, project=project),
            "bad.csv row 3, column side: this sheet has no place for it")


def test_list_shows_each_sheet_s_fields_and_their_rules() -> None:
    out = run_pipeline("list", "--fields").stdout.decode()
    for line in ("side", "one of: left, right, both", "a number from 1 to 50",
                 "today or in the last 90 days", "not before procedure-date",
                 "a phone number"):
        assert line in out, line


# --- declarations are checked when content loads -------------------------------------------

DECLARATIONS = [
    ({"name": "x", "label": "X:", "type": "colour"}, "fields[4].type: 'colour' is not a field"),
    ({"name": "x", "label": "X:", "type": "choice", "choices": ["only"]},
     "fields[4].choices: give from 2 to 12 choices"),
    ({"name": "x", "label": "X:", "type": "number", "min": 5, "max": 1},
     "fields[4].min: must not be larger than max"),
    ({"name": "x", "label": "X:", "type": "text"}, "fields[4].max: required key is missing"),
    ({"name": "x", "label": "X:", "type": "date", "after": "side"},
     "fields.x.after: 'side' is not another date"),
    ({"name": "x", "label": "X:", "type": "phone", "max": 20}, "fields[4].max: unknown key"),
    ({"name": "Bad Name", "label": "X:", "type": "phone"}, "must be lowercase letters"),
    ({"name": "side", "label": "X:", "type": "phone"}, "field 'side' is declared twice"),
    ({"name": "x", "label": "X:", "type": "date", "days_from_today": [5, -5]},
     "fields[4].days_from_today: must be [earliest, latest]"),
]


@pytest.mark.parametrize("field,message", DECLARATIONS,
                         ids=[f"decl{i}" for i in range(len(DECLARATIONS))])
def test_a_bad_declaration_is_named_in_one_line(project: Path, field: dict,
                                                message: str) -> None:
    path = project / "handouts" / f"{SHEET}.yaml"
    data = load(path)
    data["fields"].append(field)
    write(path, data)
    err = assert_process_failed(run_pipeline("list", project=project),
                                f"handouts/{SHEET}.yaml:", message)
    assert "Traceback" not in err


def test_placement_is_checked(project: Path) -> None:
    path = project / "handouts" / f"{SHEET}.yaml"
    data = load(path)
    data["fields"].append({"name": "unplaced", "label": "Nowhere:", "type": "phone"})
    data["sections"][1]["items"].append({"label": "Again:", "field": "side"})
    data["sections"][2]["items"].append({"label": "Who:", "field": "no-such"})
    write(path, data)
    err = assert_process_failed(run_pipeline("list", project=project))
    assert "fields.unplaced: is not placed on the sheet in any variant" in err
    assert "field 'side' is placed twice" in err
    assert "'no-such' is not a field of this handout; declare it under fields:" in err
    brochure = project / "handouts" / f"{LIBRARY.brochures[0]}.yaml"
    write(brochure, {**load(brochure), "fields": [{"name": "a", "label": "A:",
                                                   "type": "phone"}]})
    assert_process_failed(run_pipeline("list", project=project),
                          "fields: only a discharge handout has details a nurse fills in")


# --- the field-room gate ----------------------------------------------------------------------

def test_the_field_room_gate_names_a_field_the_sheet_has_no_room_for(project: Path) -> None:
    """A planted defect: one sheet of paper for the general sheet, and a 600-character
    field in its narrow first section; the build fails naming that field, where the sheet
    without it builds."""
    variants = project / "variants.yaml"
    data = load(variants)
    data["variants"]["general"]["max_pages"]["discharge"] = 2
    write(variants, data)
    one = ("--handout", SHEET, "--variant", "general", "--profile", "office")
    fits = run_cli("build", *one, "-o", project / "out", project=project)  # in-process
    assert fits.exit_code == 0, fits.output
    path = project / "handouts" / f"{SHEET}.yaml"
    sheet = load(path)
    sheet["fields"].append({"name": "essay", "label": "Essay:", "type": "text", "max": 600,
                            "lines": 8})
    sheet["sections"][1]["items"].append({"label": "Essay:", "field": "essay"})
    write(path, sheet)
    proc = run_pipeline("build", *one, "-o", project / "out2", project=project)
    err = assert_process_failed(proc, "field-room gate", "essay")
    assert "lower the field's max" in err
