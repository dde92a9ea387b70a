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
    input_key: str = ""
    inputs: tuple[str, ...] = ()  # files WeasyPrint loaded: stylesheets, fonts, images
    gates: dict | None = None     # the quality-gate measurements, for the proof page
    lang: str = "en"              # the document's language (languages.yaml code)


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


def update_manifest(output: Path, built: list[ManifestEntry],
                    extra: list[ManifestEntry] = (), drop: list[str] = ()) -> list[ManifestEntry]:
    """Merge this run's documents into the manifest, dropping entries whose file is gone
    and those in `drop` (documents that failed this run: their last good file stays)."""
    entries = {entry.path: entry for entry in [*read_manifest(output), *extra]}
    entries.update({entry.path: entry for entry in built})
    for path in drop:
        entries.pop(path, None)
    kept = sorted((entry for entry in entries.values() if (output / entry.path).is_file()),
                  key=lambda entry: entry.path)
    payload = {"documents": [asdict(entry) for entry in kept]}
    write_atomic(output / MANIFEST, (json.dumps(payload, indent=2) + "\n").encode())
    return kept


def read_manifest(output: Path) -> list[ManifestEntry]:
    try:
        payload = json.loads((output / MANIFEST).read_text(encoding="utf-8"))
        return [ManifestEntry(**{**entry, "inputs": tuple(entry.get("inputs", ()))})
                for entry in payload["documents"]]
    except (OSError, ValueError, KeyError, TypeError):
        # A missing or hand-edited manifest is rebuilt from this run's documents.
        return []


def combine(shards: list[Path], output: Path) -> list[ManifestEntry]:
    """Join the output folders of CI shards into one folder with one manifest."""
    from .errors import PipelineError

    entries: dict[str, ManifestEntry] = {}
    sources: dict[str, Path] = {}
    # Check every shard first, so that a bad one leaves the target untouched.
    for shard in shards:
        found = read_manifest(shard)
        if not found:
            raise PipelineError(f"{shard / MANIFEST}: missing or empty; point combine at the "
                                "output folders of `build --shard K/N`")
        for entry in found:
            source = _inside(shard, entry.path, shard / MANIFEST)
            try:
                data = source.read_bytes()
            except OSError:
                raise PipelineError(f"{source}: listed in the manifest but missing; rebuild "
                                    "that shard") from None
            if sha256(data) != entry.sha256:
                raise PipelineError(f"{source}: does not match its manifest sha256; rebuild "
                                    "that shard")
            other = entries.get(entry.path)
            if other and other.sha256 != entry.sha256:
                raise PipelineError(f"{entry.path}: two shards built it differently; each "
                                    "document belongs to exactly one shard")
            entries[entry.path], sources[entry.path] = entry, source
    for path, source in sources.items():
        write_atomic(_inside(output, path, output / MANIFEST), source.read_bytes())
    return update_manifest(output, list(entries.values()))


def _inside(folder: Path, relative: str, named_by: Path) -> Path:
    """A manifest path must stay inside its folder ("../x.pdf" would write elsewhere)."""
    from .errors import PipelineError

    target = (folder / relative).resolve()
    if Path(relative).is_absolute() or not target.is_relative_to(folder.resolve()):
        raise PipelineError(f"{named_by}: path '{relative}' leads outside {folder}; the "
                            "manifest was edited by hand or is damaged")
    return target
