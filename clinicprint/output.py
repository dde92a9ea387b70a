"""Write outputs atomically and keep output/manifest.json in step with them."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ManifestEntry:
    handout: str
    variant: str
    profile: str
    path: str
    pages: int
    sha256: str
    document_code: str
    revision: str


def write_atomic(target: Path, data: bytes) -> None:
    """Write to a temporary file beside the target, then rename: never a partial file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        # mkstemp creates files readable only by their owner; outputs are shared.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def update_manifest(output: Path, built: list[ManifestEntry]) -> list[ManifestEntry]:
    """Merge this run's documents into the manifest, dropping entries whose file is gone."""
    entries = {entry.path: entry for entry in read_manifest(output)}
    entries.update({entry.path: entry for entry in built})
    kept = sorted((entry for entry in entries.values() if (output / entry.path).is_file()),
                  key=lambda entry: entry.path)
    payload = {"documents": [asdict(entry) for entry in kept]}
    write_atomic(output / MANIFEST, (json.dumps(payload, indent=2) + "\n").encode())
    return kept


def read_manifest(output: Path) -> list[ManifestEntry]:
    try:
        payload = json.loads((output / MANIFEST).read_text(encoding="utf-8"))
        return [ManifestEntry(**entry) for entry in payload["documents"]]
    except (OSError, ValueError, KeyError, TypeError):
        # A missing or hand-edited manifest is rebuilt from this run's documents.
        return []
