"""The build: validate everything, then render each document and write it atomically."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .content import Project, load_project
from .errors import PipelineError
from .gates import GateReport, run_gates
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
    reports: list[GateReport] = field(default_factory=list)


@dataclass(frozen=True)
class GateOptions:
    enabled: bool = True
    allow_expired: bool = False
    today: dt.date = field(default_factory=dt.date.today)


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


def render_document(document: Document, project: Project,
                    gates: GateOptions = GateOptions()) -> tuple[Rendered, GateReport | None]:
    """Render one document and, unless switched off, hold it to the quality gates."""
    html = render_html(document, project.brand, project.root)
    rendered = render_pdf(html, document, project.root, project.brand)
    if not gates.enabled:
        return rendered, None
    return rendered, run_gates(document, project, html, rendered.layout, rendered.pdf,
                               gates.today, gates.allow_expired)


def build(root: Path, output: Path, handouts: Iterable[str] = (), variants: Iterable[str] = (),
          profiles: Iterable[str] = (), pdfx: str = "x-4", gates: GateOptions = GateOptions(),
          report: Callable[[Document, str | None], None] = lambda doc, error: None,
          ) -> BuildResult:
    """Render the selected documents; one failure does not stop the others."""
    project = load_project(root)
    documents = plan(project, handouts, variants, profiles, pdfx)
    result = BuildResult()
    for document in documents:
        problems = _render_into(result, document, project, output, gates)
        if problems:
            # An old PDF would look current while its content no longer passes.
            (output / document.relative_path).unlink(missing_ok=True)
            result.failures.extend(problems)
        report(document, "; ".join(problems) or None)
    update_manifest(output, result.built)
    return result


def _render_into(result: BuildResult, document: Document, project: Project, output: Path,
                 gates: GateOptions) -> list[str]:
    """Render, gate and write one document; return its problems (none when written)."""
    try:
        rendered, gate_report = render_document(document, project, gates)
    except PipelineError as exc:
        return [exc.message]
    result.warnings.extend(rendered.warnings)
    if gate_report is not None:
        result.reports.append(gate_report)
        result.warnings.extend(gate_report.warnings)
        if not gate_report.passed:
            return gate_report.failures
    write_atomic(output / document.relative_path, rendered.pdf)
    result.built.append(_entry(document, rendered))
    return []


def check(root: Path, handouts: Iterable[str] = (), variants: Iterable[str] = (),
          gates: GateOptions = GateOptions()) -> BuildResult:
    """Run every gate on every handout x variant (office profile), writing nothing."""
    project = load_project(root)
    result = BuildResult()
    for document in plan(project, handouts, variants, ["office"]):
        try:
            _, gate_report = render_document(document, project, gates)
        except PipelineError as exc:
            result.failures.append(exc.message)
            continue
        result.reports.append(gate_report)
        result.failures.extend(gate_report.failures)
        result.warnings.extend(gate_report.warnings)
    return result


def _entry(document: Document, rendered: Rendered) -> ManifestEntry:
    return ManifestEntry(
        handout=document.handout.id, variant=document.variant.name,
        profile=document.profile.name, path=document.relative_path, pages=rendered.pages,
        sha256=sha256(rendered.pdf), document_code=document.handout.document_code,
        revision=document.handout.revision.isoformat())
