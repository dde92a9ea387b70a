"""What must never reach a print shop: placeholder clinic details and unreviewed words.

- Placeholder details in brand.yaml (a value in [brackets], a 555-01xx number, an
  example.org/.com/.net address): press PDFs are still made, so `make build` works on a
  fresh clone, but every panel carries a large SAMPLE mark (templates/brochure.html)
  and the build says so once.
- A draft or out-of-date translation: no press PDF at all, even with --allow-draft or
  --allow-stale (those mark the desk and screen editions only); the build says so once.
"""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\[[^\]]*\]|\b555[-.) ]*01\d\d\b|\(555\)\s*01\d-?\d{4}|"
                         r"\bexample\.(?:org|com|net)\b", re.IGNORECASE)
BRAND_DETAILS = ("phone", "after_hours_phone", "address", "website", "email",
                 "scheduling_url")


def placeholder_details(brand) -> list[str]:
    """The brand.yaml keys that still hold placeholder values."""
    found = []
    for key in BRAND_DETAILS:
        value = getattr(brand, key, "")
        text = " ".join(value) if isinstance(value, (list, tuple)) else str(value)
        if PLACEHOLDER.search(text):
            found.append(key)
    return found


def sample_notice(brand) -> str | None:
    keys = placeholder_details(brand)
    if not keys:
        return None
    return (f"brand.yaml: {', '.join(keys)} still hold placeholder details, so every press "
            "PDF is marked SAMPLE on every panel; put the clinic's real details in "
            "brand.yaml before sending anything to the print shop")


def unready_translation(document) -> str | None:
    """Why a press PDF must not be made of this document's translation, or None."""
    status = getattr(document, "translation", None)
    if status is None or not document.profile.cmyk:
        return None
    if getattr(status, "draft", False):
        return "a draft, not reviewed"
    if getattr(status, "stale", False):
        return "out of date with the English"
    return None


def split_press_ready(documents: list) -> tuple[list, dict[str, list]]:
    """(documents to build, {language name and reason: labels skipped})."""
    ready, skipped = [], {}
    for document in documents:
        reason = unready_translation(document)
        if reason is None:
            ready.append(document)
        else:
            skipped.setdefault(f"the {document.language.name} translation is {reason}",
                               []).append(document)
    return ready, skipped


def skipped_notice(reason: str, documents: list) -> str:
    return (f"no press PDF for {len(documents)} document(s): {reason}, and a print shop "
            "must never receive one (--allow-draft and --allow-stale mark only the office, "
            "screen and web editions)")
