"""WeasyPrint imported through clinicprint/weasyprint_import.py (without the slow
gcc/ld library search) opens the same native library files as a plain import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT

LIBRARIES = ("libpango", "libpangoft2", "libharfbuzz", "libfontconfig", "libgobject")

LOADED = """
import json, re, sys
sys.path.insert(0, {root!r})
{how}
maps = open("/proc/self/maps").read()
names = {names!r}
print(json.dumps(sorted({{path for path in re.findall(r"\\s(/\\S+\\.so[.\\d]*)$", maps, re.M)
                         if path.rsplit("/", 1)[-1].startswith(names)}})))
"""


def loaded_libraries(how: str) -> list[str]:
    code = LOADED.format(root=str(ROOT), how=how, names=LIBRARIES)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return json.loads(proc.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the shortcut is Linux-only")
def test_same_library_files_as_a_plain_import():
    ours = loaded_libraries("from clinicprint.weasyprint_import import import_weasyprint\n"
                            "import_weasyprint()")
    plain = loaded_libraries("import weasyprint")
    assert ours == plain
    for name in LIBRARIES:  # each of them, not an empty list twice
        assert any(path.rsplit("/", 1)[-1].startswith(name + ".so")
                   or path.rsplit("/", 1)[-1].startswith(name + "-") for path in ours), name


def test_find_library_is_put_back():
    code = ("import sys, ctypes.util; sys.path.insert(0, %r)\n"
            "before = ctypes.util.find_library\n"
            "from clinicprint.weasyprint_import import import_weasyprint\n"
            "import_weasyprint()\n"
            "assert ctypes.util.find_library is before\n"
            "assert 'weasyprint' in sys.modules\n") % str(ROOT)
    subprocess.run([sys.executable, "-c", code], check=True)
