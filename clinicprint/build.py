"""The build: validate everything, then render each document and write it atomically."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .content import Project, load_project
from .errors import PipelineError
from .layouts import PDFX_VARIANTS, PROFILES, Profile
from .merge import Document, merge_variant
from .output import ManifestEntry, sha256, update_manifest, write_atomic
from .render_html import render_html
from .render_pdf import Rendered, render_pdf



@dataclass
class BuildResult:
    built: list[ManifestEntry] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def plan(project: Project, handouts: Iterable[str] = (), variants: Iterable[str] = (),
         profiles: Iterable[str] = (), pdfx: str = "x-4") -> list[Document]:
    """Every handout x variant x profile selected, in a stable order.

    A handout is built only in the variants and profiles it is made in."""
    handouts = _selected("handout", list(handouts), project.handouts)
    variants = _selected("variant", list(variants), project.variants)
    profiles = _selected("profile", list(profiles), PROFILES)
    chosen = {name: _with_pdfx(PROFILES[name], pdfx) for name in profiles}
    documents = [merge_variant(project.handouts[h], project.variants[v], chosen[p])
                 for h in handouts for p in profiles for v in variants
                 if v in project.handouts[h].variants and p in project.handouts[h].profiles]
    if not documents:
        raise PipelineError("nothing to build: no selected handout is made in the selected "
                            "variants and profiles (see `python pipeline.py list`)")
    return documents


def _with_pdfx(profile: Profile, pdfx: str) -> Profile:
    if pdfx not in PDFX_VARIANTS:
        raise PipelineError(f"unknown PDF/X version '{pdfx}'; use {' or '.join(PDFX_VARIANTS)}")
    if profile.pdf_variant and profile.pdf_variant.startswith("pdf/x"):
        return dataclasses.replace(profile, pdf_variant=PDFX_VARIANTS[pdfx])
    return profile


def _selected(what: str, asked: list[str], known: dict) -> list[str]:
    for name in asked:
        if name not in known:
            raise PipelineError(f"unknown {what} '{name}'; choose from: {', '.join(known)} "
                                f"(see `python pipeline.py list`)")
    return asked or list(known)


def render_document(document: Document, project: Project) -> Rendered:
    html = render_html(document, project.brand, project.root)
    return render_pdf(html, document, project.root, project.brand)


def build(root: Path, output: Path, handouts: Iterable[str] = (), variants: Iterable[str] = (),
          profiles: Iterable[str] = (), pdfx: str = "x-4",
          report: Callable[[Document, str | None], None] = lambda doc, error: None,
          ) -> BuildResult:
    """Render the selected documents; one failure does not stop the others."""
    project = load_project(root)
    documents = plan(project, handouts, variants, profiles, pdfx)
    result = BuildResult()
    for document in documents:
        try:
            rendered = render_document(document, project)
        except PipelineError as exc:
            # An old PDF would look current while its content no longer builds.
            (output / document.relative_path).unlink(missing_ok=True)
            result.failures.append(exc.message)
            report(document, exc.message)
            continue
        write_atomic(output / document.relative_path, rendered.pdf)
        result.built.append(_entry(document, rendered))
        result.warnings.extend(rendered.warnings)
        report(document, None)
    update_manifest(output, result.built)
    return result


def _entry(document: Document, rendered: Rendered) -> ManifestEntry:
    return ManifestEntry(
        handout=document.handout.id, variant=document.variant.name,
        profile=document.profile.name, path=document.relative_path, pages=rendered.pages,
        sha256=sha256(rendered.pdf), document_code=document.handout.document_code,
        revision=document.handout.revision.isoformat())
