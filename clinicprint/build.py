"""The build: validate everything, then render each document and write it atomically."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .content import Project, load_project
from .errors import PipelineError
from .layouts import PROFILES
from .merge import Document, merge_variant
from .output import ManifestEntry, sha256, update_manifest, write_atomic
from .render_html import render_html
from .render_pdf import Rendered, render_pdf

DEFAULT_PROFILES = ("office",)


@dataclass
class BuildResult:
    built: list[ManifestEntry] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def plan(project: Project, handouts: Iterable[str] = (), variants: Iterable[str] = (),
         profiles: Iterable[str] = DEFAULT_PROFILES) -> list[Document]:
    """Every handout x variant x profile selected, in a stable order."""
    handouts = _selected("handout", list(handouts), project.handouts)
    variants = _selected("variant", list(variants), project.variants)
    profiles = _selected("profile", list(profiles), PROFILES)
    return [merge_variant(project.handouts[h], project.variants[v], PROFILES[p])
            for h in handouts for v in variants for p in profiles
            if v in project.handouts[h].variants]


def _selected(what: str, asked: list[str], known: dict) -> list[str]:
    for name in asked:
        if name not in known:
            raise PipelineError(f"unknown {what} '{name}'; choose from: {', '.join(known)} "
                                f"(see `python pipeline.py list`)")
    return asked or list(known)


def render_document(document: Document, project: Project) -> Rendered:
    html = render_html(document, project.brand, project.root)
    return render_pdf(html, document, project.root)


def build(root: Path, output: Path, handouts: Iterable[str] = (), variants: Iterable[str] = (),
          report: Callable[[Document, str | None], None] = lambda doc, error: None,
          ) -> BuildResult:
    """Render the selected documents; one failure does not stop the others."""
    project = load_project(root)
    documents = plan(project, handouts, variants)
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
        report(document, None)
    update_manifest(output, result.built)
    return result


def _entry(document: Document, rendered: Rendered) -> ManifestEntry:
    return ManifestEntry(
        handout=document.handout.id, variant=document.variant.name,
        profile=document.profile.name, path=document.relative_path, pages=rendered.pages,
        sha256=sha256(rendered.pdf), document_code=document.handout.document_code,
        revision=document.handout.revision.isoformat())
