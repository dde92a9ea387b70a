"""Shared fixtures: the real CLI, a real build, and throwaway project copies."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from library import Library, make_library  # noqa: E402
from pipeline import cli  # noqa: E402



@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _shared_home() -> Path:
    """A folder for what the whole run shares: the generated library and its build.
    `make test` runs the tests in two worker processes (pytest-xdist, one per core);
    they share one library and one build, made by whichever comes first, and the last
    one to finish removes the folder. A run without workers has a folder of its own."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:
        home = Path(tempfile.mkdtemp(prefix="handout-library-"))
        atexit.register(shutil.rmtree, home, ignore_errors=True)
        return home
    home = Path(tempfile.gettempdir()) / f"handout-library-{run}"
    home.mkdir(exist_ok=True)
    with _locked(home / ".lock"):
        users = home / ".users"
        users.write_text(str(int(users.read_text() or 0) + 1) if users.exists() else "1")
    atexit.register(_leave, home)
    return home


def _leave(home: Path) -> None:
    with _locked(home / ".lock"):
        users = home / ".users"
        left = int(users.read_text()) - 1
        users.write_text(str(left))
    if left == 0:
        shutil.rmtree(home, ignore_errors=True)


def _shared_library(home: Path) -> Library:
    with _locked(home / ".lock"):
        made = home / "library"
        if (home / "library.done").exists():
            return Library(made, *_names(made))
        shutil.rmtree(made, ignore_errors=True)
        library = make_library(made)
        (home / "library.done").touch()
        return library


def _names(root: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    stems = sorted(path.stem for path in (root / "handouts").glob("*.yaml"))
    return (tuple(s for s in stems if s.startswith("test-brochure")),
            tuple(s for s in stems if s.startswith("test-discharge")))


# The tests run on a generated library (tests/library.py), never on the shipped
# handouts: a clinic adds and edits those, and the build's gates check each one.
# Made once per run, at import, because tests are parametrized by its documents.
_HOME = _shared_home()
LIBRARY: Library = _shared_library(_HOME)

PROJECT_FILES = ("brand.yaml", "variants.yaml", "plain-words.yaml", "fields.yaml", "handouts",
                 "templates", "styles", "assets", "language-assistance.yaml")
# A copy without these is made in English only (languages.yaml is optional); the
# language tests copy them too (tests/test_languages.py).
LANGUAGE_FILES = ("languages.yaml", "plain-words.es.yaml", "translations")


def run_pipeline(*args: str, project: Path | None = None, cwd: Path | None = None,
                 env: dict[str, str] | None = None, input: bytes | None = None,
                 timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python pipeline.py ...` as a real process, as a user or CI does: exit
    codes, stdout and stderr are what the shell sees (bytes; decode as needed)."""
    prefix = ["--project", str(project or LIBRARY.root)]
    return subprocess.run([sys.executable, str(ROOT / "pipeline.py"), *prefix, *map(str, args)],
                          cwd=cwd or ROOT, env={**os.environ, **(env or {})}, input=input,
                          capture_output=True, timeout=timeout)


def assert_process_failed(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit 1, every fragment in stderr, no traceback; returns stderr as text."""
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 1, (proc.returncode, err)
    assert "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    return err


def documents_of(root: Path | None = None) -> list:
    """Every handout x variant x profile the project at `root` (the generated library
    by default) builds, derived from its content, so tests never hard-code handouts."""
    root = root or LIBRARY.root
    from clinicprint.build import plan
    from clinicprint.content import load_project

    return plan(load_project(root))


def with_languages(project: Path) -> Path:
    """Add the language files (LANGUAGE_FILES) to a `project` copy, which is English only."""
    for name in LANGUAGE_FILES:
        source = LIBRARY.root / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        elif source.exists():
            shutil.copy2(source, project / name)
    return project


def run_cli(*args: str, project: Path | None = None) -> Result:
    prefix = ["--project", str(project or LIBRARY.root)]
    return CliRunner().invoke(cli, [*prefix, *map(str, args)])


@pytest.fixture(scope="session", autouse=True)
def private_temporary_folder():
    """Renders done inside the test process (CliRunner) go to a private temporary
    folder that is removed at the end, as `python pipeline.py` does for itself."""
    from clinicprint.processes import private_tempdir

    with private_tempdir():
        yield


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A private copy of the generated library (English only), safe to break."""
    copy = tmp_path / "project"
    copy.mkdir()
    for name in PROJECT_FILES:
        source = LIBRARY.root / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        else:
            shutil.copy2(source, copy / name)
    return copy


@pytest.fixture(scope="session")
def built() -> Path:
    """Every document of the generated library, in every language, built once per run
    (by the first worker that needs it; tests read it and never change it)."""
    output = _HOME / "built" / "output"
    with _locked(_HOME / ".lock"):
        if not (_HOME / "built.done").exists():
            shutil.rmtree(output.parent, ignore_errors=True)
            result = run_cli("build", "--output", output)
            assert result.exit_code == 0, result.output
            (_HOME / "built.done").touch()
    return output


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def assert_clean_failure(result: Result, *fragments: str) -> None:
    """Non-zero exit, a readable message naming what is wrong, and no traceback."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, f"{fragment!r} not in:\n{result.output}"


def pdfs_in(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.pdf")) if folder.exists() else []


def leftovers(folder: Path) -> list[Path]:
    """Temporary or partial files the writer must never leave behind."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name.startswith(".")) \
        if folder.exists() else []
