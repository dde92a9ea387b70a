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


def loaded_libraries(*hows: str) -> list[list[str]]:
    """The native libraries each way of importing loads, each in its own process (the
    processes side by side)."""
    runs = [subprocess.Popen([sys.executable, "-c", LOADED.format(root=str(ROOT), how=how,
                                                                  names=LIBRARIES)],
                             stdout=subprocess.PIPE, text=True) for how in hows]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs)
    return [json.loads(output) for output in outputs]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the shortcut is Linux-only")
def test_same_library_files_as_a_plain_import():
    ours, plain = loaded_libraries(
        "from clinicprint.weasyprint_import import import_weasyprint\nimport_weasyprint()",
        "import weasyprint")
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
