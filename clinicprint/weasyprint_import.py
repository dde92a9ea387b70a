"""Importing WeasyPrint without its slow search for the native libraries.

WeasyPrint (text/ffi.py) opens Pango, HarfBuzz, fontconfig and GObject by trying
several platform names for each in turn (Windows, macOS and Linux names, and an
optional HarfBuzz library Debian does not ship). For every name that does not load
as given, cffi calls ctypes.util.find_library, which on Linux runs `ldconfig -p`,
then gcc, then ld as subprocesses: about 0.2 s of a nurse's cold start of about 1.4 s
was spent there, on names that cannot match.

While WeasyPrint loads, find_library answers from the dynamic linker's cache alone
(`ldconfig -p`, read once). gcc and ld find libraries in the same system folders,
or through LIBRARY_PATH / LD_LIBRARY_PATH; with either set, the search is left as
it is. tests/test_weasyprint_import.py checks that the same library files load.
"""

from __future__ import annotations

import ctypes.util
import functools
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator


def import_weasyprint() -> None:
    """Import WeasyPrint once per process (a no-op once it is loaded), with its
    one-word lines mended (clinicprint/line_fit.py)."""
    if "weasyprint" in sys.modules:
        return
    with _linker_cache_search():
        import weasyprint  # noqa: F401
    from .line_fit import install
    install()


@contextmanager
def _linker_cache_search() -> Iterator[None]:
    if (not sys.platform.startswith("linux") or os.environ.get("LD_LIBRARY_PATH")
            or os.environ.get("LIBRARY_PATH")):
        yield
        return
    original = ctypes.util.find_library
    ctypes.util.find_library = _find_in_linker_cache
    try:
        yield
    finally:
        ctypes.util.find_library = original


def _find_in_linker_cache(name: str) -> str | None:
    """What ctypes.util.find_library tries first on Linux (the same pattern over
    `ldconfig -p`), without running ldconfig again for every name."""
    found = re.search(rf"\s+(lib{re.escape(name)}\.[^\s]+)\s+\({_ABI}", _linker_cache())
    return found[1] if found else None


# As ctypes.util._findSoname_ldconfig maps this machine to ldconfig's words.
_ABI = re.escape({"x86_64": "libc6,x86-64", "ppc64": "libc6,64bit", "sparc64": "libc6,64bit",
                  "s390x": "libc6,64bit", "ia64": "libc6,IA-64"}.get(os.uname().machine,
                                                                      "libc6"))


@functools.lru_cache(maxsize=1)
def _linker_cache() -> str:
    for ldconfig in ("/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"):
        try:
            return subprocess.run([ldconfig, "-p"], capture_output=True, text=True,
                                  env={"LC_ALL": "C", "LANG": "C"}, check=False).stdout
        except OSError:
            continue
    return ""
