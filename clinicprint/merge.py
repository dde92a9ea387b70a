"""Merge a handout's shared content with one variant's overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .content import Handout, Override, Section, Variant
from .languages import ENGLISH, Language
from .layouts import Profile


@dataclass(frozen=True)
class Document:
    """One handout in one variant and one print profile: exactly one file (a PDF, or
    the web edition's HTML page)."""

    handout: Handout
    variant: Variant
    profile: Profile
    title: str
    subtitle: str
    summary: str
    sections: tuple[Section, ...]
    language: Language = ENGLISH
    translation: object = None  # translations.TranslationStatus, for a translated document

    @property
    def relative_path(self) -> str:
        """English (the source language) at <profile>/<handout>/<variant>.pdf, every other
        language in a folder of its own: <lang>/<profile>/<handout>/<variant>.pdf (.html for the web
        edition)."""
        prefix = "" if self.language.source else f"{self.language.code}/"
        return (f"{prefix}{self.profile.name}/{self.handout.id}/{self.variant.name}."
                f"{self.profile.extension}")

    @property
    def label(self) -> str:
        lang = "" if self.language.source else f", {self.language.code}"
        return f"{self.handout.id} [{self.variant.name}, {self.profile.name}{lang}]"

    @property
    def fields(self) -> tuple:
        """The details a nurse fills in on this sheet (field_declarations.Field), in the
        handout's order: the template's own and those its sections place."""
        placed = {name for section in self.sections for name in section.fields if name}
        return tuple(field for field in self.handout.fields
                     if field.on_every_sheet or field.name in placed)

    def in_panel(self, panel: str) -> list[Section]:
        return [section for section in self.sections if section.panel == panel]


def merge_variant(handout: Handout, variant: Variant, profile: Profile,
                  language: Language = ENGLISH, translation: object = None) -> Document:
    """`handout` is already in `language` (translations.translate_handout)."""
    override = handout.overrides.get(variant.name, Override())
    fields = {"title": handout.title, "subtitle": handout.subtitle,
              "summary": handout.summary, **override.fields}
    return Document(handout=handout, variant=variant, profile=profile,
                    sections=_merge_sections(handout.sections, override),
                    language=language, translation=translation, **fields)


def _merge_sections(shared: tuple[Section, ...], override: Override) -> tuple[Section, ...]:
    sections = [section for section in shared if section.id not in override.remove]
    for addition in override.add:
        index = _insert_index(sections, addition.after)
        sections.insert(index, addition.section)
    for section_id, after in override.moves.items():
        moving = next((s for s in sections if s.id == section_id), None)
        if moving is not None and after in {s.id for s in sections}:
            sections.remove(moving)
            sections.insert(_insert_index(sections, after), moving)
    return tuple(dataclasses.replace(section, **override.replace.get(section.id, {}))
                 for section in sections)


def _insert_index(sections: list[Section], after: str | None) -> int:
    ids = [section.id for section in sections]
    return ids.index(after) + 1 if after in ids else len(sections)


def placed_fields(handout: Handout, variant: str) -> tuple[str, ...]:
    """The fields a variant's sheet prints, in the handout's order of declaration: the
    template's own (on_every_sheet) and those section items place. ValueError names a
    field placed twice."""
    override = handout.overrides.get(variant, Override())
    placed: list[str] = []
    for section in _merge_sections(handout.sections, override):
        for name in section.fields:
            if name in placed:
                raise ValueError(name)
            if name:
                placed.append(name)
    order = [field.name for field in handout.fields]
    chosen = {field.name for field in handout.fields if field.on_every_sheet} | set(placed)
    return tuple(name for name in order if name in chosen)
