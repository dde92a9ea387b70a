"""Input keys: one hash of everything that can change a document's bytes.

A document is up to date when its file still has the sha256 the manifest
recorded and its inputs still hash to the recorded key. The inputs are the
handout, the shared content files, every template, the files WeasyPrint
loaded for it last time (stylesheets, fonts, images), the pipeline's own code
and the versions of the libraries that render it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

from .merge import Document
from .output import ManifestEntry

SHARED_INPUTS = ("brand.yaml", "variants.yaml", "plain-words.yaml", "fields.yaml", "languages.yaml",
                 "language-assistance.yaml")
LIBRARIES = ("weasyprint", "pydyf", "pypdf", "jinja2", "markdown-it-py", "segno", "fonttools",
             "babel", "pyphen", "pikepdf")
CODE = Path(__file__).resolve().parent


class FileHashes:
    """Hashes each file once per run, however many documents use it."""

    def __init__(self, root: Path):
        self.root = root
        self._cache: dict[str, str] = {}

    def __call__(self, relative: str) -> str:
        if relative not in self._cache:
            path = Path(relative) if Path(relative).is_absolute() else self.root / relative
            try:
                self._cache[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                self._cache[relative] = "missing"
        return self._cache[relative]


@lru_cache(maxsize=1)
def engine_key() -> str:
    """The pipeline's code and the library versions: a change to either rebuilds all."""
    digest = hashlib.sha256()
    for name in LIBRARIES:
        digest.update(f"{name}={version(name)}\n".encode())
    for path in sorted([*CODE.glob("*.py"), CODE.parent / "pipeline.py"]):
        digest.update(path.name.encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def static_inputs(document: Document, root: Path) -> list[str]:
    templates = sorted(p.relative_to(root).as_posix() for p in (root / "templates").glob("*"))
    handout = document.handout.path.relative_to(root).as_posix()
    language = [document.language.plain_words]
    if document.translation is not None:  # the translation file: its words and review
        from .termbase import glossary_file

        language += [document.translation.file, glossary_file(document.language.code)]
    return [handout, *SHARED_INPUTS, *templates, *language]


def input_key(document: Document, root: Path, loaded: tuple[str, ...],
              hashes: FileHashes) -> str:
    digest = hashlib.sha256(engine_key().encode())
    digest.update(f"{document.relative_path}|{document.profile}".encode())
    for name in sorted({*static_inputs(document, root), *loaded}):
        digest.update(f"{name}={hashes(name)}\n".encode())
    return digest.hexdigest()


def is_fresh(document: Document, entry: ManifestEntry | None, output: Path, root: Path,
             hashes: FileHashes) -> bool:
    if entry is None or not entry.input_key:
        return False
    pdf = output / entry.path
    try:
        if hashlib.sha256(pdf.read_bytes()).hexdigest() != entry.sha256:
            return False  # missing, or changed by hand
    except OSError:
        return False
    return input_key(document, root, tuple(entry.inputs), hashes) == entry.input_key
