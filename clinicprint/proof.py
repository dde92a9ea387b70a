"""The proof gallery: every built document on one page, from the real PDFs.

output/proof/index.html works straight from the file system: thumbnails are PNG
files beside it, links are relative, and no fonts or scripts come from a network.
It also shows which pages changed since a reviewer approved them: `proof --approve`
keeps pictures of every page in approved-pages/ (content, committed with the handouts).
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import jinja2

from .output import ManifestEntry, read_manifest, write_atomic
from .visual import PageDifference, compare_document, page_images, png_bytes

THUMB_SCALE = 0.5  # 36 dpi: legible headings, small files
PROOF_DIR = "proof"
APPROVED_DIR = "approved-pages"  # at the project root, beside handouts/
CHANGES_DIR = "changes"          # under output/proof/: pictures of what changed

Changes = dict[str, list[PageDifference]]  # PDF path in output/ -> its changed pages


def build_proof(output: Path, clinic: str, variant_order: Sequence[str] = (),
                langs: set[str] | None = None, changes: Changes | None = None,
                nothing_approved: bool = False) -> Path:
    """Write output/proof/index.html and the thumbnails it shows; return the page.

    Side-by-side columns follow `variant_order` (the order of variants.yaml).
    `langs`: only the documents in these languages (default: all). `changes`: the
    pages changed since approval (changes_since_approval; None: not compared, as in
    `watch`); `nothing_approved`: say that no page was ever approved."""
    entries = [entry for entry in read_manifest(output) if not langs or entry.lang in langs]
    proof = output / PROOF_DIR
    thumbs = _thumbnails(entries, output, proof)
    page = _template().render(clinic=clinic, cards=_cards(entries, thumbs, output, changes),
                              handouts=_side_by_side(entries, thumbs, variant_order),
                              changes=_changed_pages(changes, proof),
                              nothing_approved=nothing_approved)
    write_atomic(proof / "index.html", page.encode("utf-8"))
    return proof / "index.html"


def _thumbnails(entries: list[ManifestEntry], output: Path, proof: Path) -> dict:
    """Page PNGs per document, redrawn only when the PDF's sha256 changed."""
    index_path = proof / "thumbs" / "index.json"
    try:
        known = json.loads(index_path.read_text())
    except (OSError, ValueError):
        known = {}
    thumbs = {}
    for entry in entries:
        if not entry.path.endswith(".pdf"):
            thumbs[entry.path] = []  # the web edition: a page to open, not to picture
            continue
        names = [f"thumbs/{entry.path.replace('.pdf', '')}-p{n}.png"
                 for n in range(1, entry.pages + 1)]
        if known.get(entry.path) != entry.sha256 or not all((proof / n).is_file()
                                                              for n in names):
            for name, image in zip(names, page_images(output / entry.path, THUMB_SCALE)):
                write_atomic(proof / name, png_bytes(image))
            known[entry.path] = entry.sha256
        thumbs[entry.path] = names
    known = {path: sha for path, sha in known.items() if path in thumbs}
    write_atomic(index_path, json.dumps(known, indent=1, sort_keys=True).encode())
    return thumbs


def changes_since_approval(output: Path, entries: list[ManifestEntry],
                           approved: Path) -> Changes | None:
    """Per PDF, its pages that differ from the approved pictures (same tolerance as the
    tests' visual check); None when nothing was ever approved. Pictures of each change
    (approved, now, changed pixels in red) go to output/proof/changes/."""
    if not approved.is_dir():
        return None
    pictures = output / PROOF_DIR / CHANGES_DIR
    shutil.rmtree(pictures, ignore_errors=True)  # an earlier run's pictures are stale
    changes = {}
    for entry in entries:
        if entry.path.endswith(".pdf"):
            changed = compare_document(output / entry.path, entry.path, approved, pictures)
            if changed:
                changes[entry.path] = changed
    return changes


def _changed_pages(changes: Changes | None, proof: Path) -> dict | None:
    """For the page: each changed document with its pages, pictures linked relatively."""
    if changes is None:
        return None
    return {path: [(page.brief(), page.diff_image.relative_to(proof).as_posix()
                    if page.diff_image else None) for page in pages]
            for path, pages in changes.items()}


def _cards(entries: list[ManifestEntry], thumbs: dict, output: Path,
           changes: Changes | None) -> list[dict]:
    return [{"entry": entry, "pdf": f"../{entry.path}", "thumbs": thumbs[entry.path],
             "size_kb": max(1, round((output / entry.path).stat().st_size / 1024)),
             "gates": entry.gates,
             "changed": [page.page for page in (changes or {}).get(entry.path, [])]}
            for entry in entries]


def _side_by_side(entries: list[ManifestEntry], thumbs: dict,
                  variant_order: Sequence[str]) -> list[dict]:
    """Per handout and profile: one row per page, one column per variant."""
    groups: dict[tuple[str, str, str], list[ManifestEntry]] = defaultdict(list)
    for entry in entries:
        if not entry.pages:
            continue  # the web edition: a page, not a PDF
        # Translations live under output/<lang>/; the source language has no folder.
        lang = "" if entry.path.startswith(f"{entry.profile}/") else entry.lang
        groups[(lang, entry.handout, entry.profile)].append(entry)
    rank = {name: index for index, name in enumerate(variant_order)}
    views = []
    for (lang, handout, profile), members in sorted(groups.items()):
        members.sort(key=lambda entry: (rank.get(entry.variant, len(rank)), entry.variant))
        pages = max(entry.pages for entry in members)
        rows = [[(entry, thumbs[entry.path][n] if n < entry.pages else None)
                 for entry in members] for n in range(pages)]
        views.append({"handout": handout, "profile": profile, "variants": members,
                      "rows": rows, "lang": lang})
    return views


def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("clinicprint", "."),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    return env.get_template("proof.html")
