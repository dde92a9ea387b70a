"""Education given, for the patient's chart: the desk records each printed sheet as a
FHIR R4 Procedure (`serve --fhir-endpoint URL --fhir-token-file FILE`).

Wards document "education given" in the EHR; HL7 FHIR's own example of that is a
Procedure with the category SNOMED CT 311401005 "Patient education (procedure)". The
patient is identified by the medical record number the nurse types in the field named
`mrn` (declared like any field, in fields.yaml): it goes into the Procedure and
nowhere else. It is never printed unless a handout places it, never stored, logged or
recorded; without it nothing is sent. Each resource is validated with the
`fhir.resources` package before it is sent (its R4B models: R4B changed other
resources, not Procedure, whose elements are R4's). A post that fails is told to the
nurse and logged without the MRN; it never stops the print.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .errors import PipelineError

MRN_FIELD = "mrn"
POST_TIMEOUT = 10.0   # seconds for the EHR to answer; the print has already gone
FHIR_JSON = "application/fhir+json"

# HL7 FHIR R4, Procedure (https://hl7.org/fhir/R4/procedure.html), as FHIR's example of
# patient education records it: the category from SNOMED CT, and the patient named by
# an identifier of type MR (medical record number) from HL7 v2 table 0203.
PATIENT_EDUCATION = {"system": "http://snomed.info/sct", "code": "311401005",
                     "display": "Patient education (procedure)"}
MEDICAL_RECORD_NUMBER = {"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                         "code": "MR", "display": "Medical record number"}
# A FHIR token's characters (RFC 6750, b64token), so a header cannot be split.
TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")


@dataclass(frozen=True)
class Education:
    """What was handed out, for the chart: no patient detail but the MRN."""

    mrn: str
    title: str
    document_code: str
    revision: str
    sheet_id: str
    when: dt.datetime       # UTC


@dataclass(frozen=True)
class Chart:
    endpoint: str           # the FHIR server's base URL; resources go to {endpoint}/Procedure
    token: str = field(repr=False)   # never in a log line or a traceback's repr
    mrn_system: str = ""    # the hospital's MRN namespace (Identifier.system), if it has one

    @property
    def url(self) -> str:
        return self.endpoint.rstrip("/") + "/Procedure"

    def send(self, given: Education) -> str:
        """POST the Procedure; '' when the server took it, else why not, in words that
        hold no patient detail."""
        try:
            body = json.dumps(procedure(given, self.mrn_system)).encode("utf-8")
        except InvalidResource as exc:
            return str(exc)
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": f"{FHIR_JSON}; charset=utf-8", "Accept": FHIR_JSON,
            "Authorization": f"Bearer {self.token}"})
        try:
            with _opener().open(request, timeout=POST_TIMEOUT) as response:
                response.read(65536)
                return ""
        except urllib.error.HTTPError as exc:
            return f"the chart's server answered {exc.code} {_words(exc.reason)}"
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return f"the chart's server could not be reached ({_words(reason)})"


class InvalidResource(Exception):
    """The Procedure did not validate; the message names the elements, never a value."""


def procedure(given: Education, mrn_system: str = "") -> dict:
    """The FHIR R4 Procedure recording that the patient was given the handout,
    validated with fhir.resources."""
    identifier = {"type": {"coding": [MEDICAL_RECORD_NUMBER]}, "value": given.mrn}
    if mrn_system:
        identifier["system"] = mrn_system
    resource = {
        "resourceType": "Procedure",
        "status": "completed",
        "category": {"coding": [PATIENT_EDUCATION], "text": PATIENT_EDUCATION["display"]},
        "code": {"text": f"Patient education: {given.title} ({given.document_code}, "
                         f"revision {given.revision})"},
        "subject": {"identifier": identifier},
        "performedDateTime": given.when.astimezone(dt.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "note": [{"text": f"Discharge sheet {given.sheet_id}"}],
    }
    validate(resource)
    return resource


def validate(resource: dict) -> None:
    """InvalidResource naming the elements that fhir.resources finds wrong (its own
    message quotes the values, which may be the MRN)."""
    from fhir.resources.R4B.procedure import Procedure
    from pydantic import ValidationError

    try:
        Procedure.model_validate(resource)
    except ValidationError as exc:
        where = sorted({".".join(str(part) for part in error["loc"]) or "(resource)"
                        for error in exc.errors()})
        raise InvalidResource("the chart's record did not validate as a FHIR Procedure "
                              f"({', '.join(where)})") from None


def open_chart(endpoint: str | None, token_file: Path | None,
               mrn_system: str = "") -> Chart | None:
    """The chart from the options, checked at start: both or neither; an http(s)
    URL; a token file readable by the desk's account only."""
    from .desk_access import read_private_file

    if not endpoint and not token_file:
        if mrn_system:
            raise PipelineError("--fhir-mrn-system: give it with --fhir-endpoint")
        return None
    if not endpoint or not token_file:
        raise PipelineError("--fhir-endpoint and --fhir-token-file go together: give both, "
                            "or neither to keep the chart out of it")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query \
            or parts.fragment or parts.username or parts.password:
        raise PipelineError(f"--fhir-endpoint {endpoint}: give the FHIR server's base "
                            "address, e.g. https://ehr.example.org/fhir (no query, no "
                            "password: the token goes in --fhir-token-file)")
    if mrn_system and urlsplit(mrn_system).scheme not in ("http", "https", "urn"):
        raise PipelineError(f"--fhir-mrn-system {mrn_system}: give the hospital's MRN "
                            "namespace as a URI, e.g. urn:oid:... or https://...")
    token = read_private_file(token_file, "FHIR token file")
    if not TOKEN.match(token):
        raise PipelineError(f"{token_file}: the FHIR token file should hold one bearer "
                            "token on one line (letters, digits and - . _ ~ + / =)")
    return Chart(endpoint, token, mrn_system)


def _opener():
    """Never follow a redirect with the token: a POST that is redirected fails."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    return urllib.request.build_opener(NoRedirect)


def _words(reason) -> str:
    """A reason as the page, the log and a header may show it: printable ASCII, short
    (a server's words could be anything)."""
    text = getattr(reason, "strerror", None) or str(reason)
    return re.sub(r"[^ -~]+", " ", text).strip()[:200]
