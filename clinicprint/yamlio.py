"""Safe YAML loading that remembers the line of every mapping key.

Errors can then say `handouts/x.yaml:14: sections[2].title: required`
instead of leaving the editor to hunt for the key.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml

from .errors import ContentError


class LineDict(dict):
    """A dict that knows the source line of each key (1-based)."""

    def __init__(self, *args: Any, line: int = 0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.line = line
        self.lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


# libyaml's parser when PyYAML has it (its wheels do): several times quicker than the
# pure-Python one, which a cold `discharge` spent half a second in. Constructing the
# values, and so every check here, stays in Python either way.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SAFE_LOADER):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    mapping = LineDict(line=node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be plain text", key_node.start_mark)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}' (first on line {mapping.lines[key]})",
                key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = line
    return mapping


class _BadValue(yaml.constructor.ConstructorError):
    """Well-formed YAML whose value is wrong: reported without the syntax hint."""


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> Any:
    """A date that looks right but does not exist (2027-02-30) is a content error."""
    try:
        return _SAFE_LOADER.construct_yaml_timestamp(loader, node)
    except ValueError:
        raise _BadValue(
            None, None, f"'{node.value}' is not a real date; check the day and month",
            node.start_mark) from None


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)

# Limits that make a runaway or hostile file fail in well under a second, long
# before it could exhaust memory or recursion (stated in the README).
MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 12


def load_yaml(path: Path, label: str, root: Path | None = None) -> Any:
    """Parse one YAML file safely; `label` is how errors name the file. With `root`,
    a file that resolves outside that folder (through a link) is refused."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        raise ContentError([f"{label}: a link that cannot be resolved (a loop?)"]) from None
    if root is not None and not resolved.is_relative_to(root.resolve()):
        raise ContentError([f"{label}: is a link to a file outside the project; keep "
                            "content files inside the project folder"])
    if resolved.exists() and not stat.S_ISREG(resolved.stat().st_mode):
        raise ContentError([f"{label}: not a regular file (a folder or a pipe); it must be "
                            "a YAML text file"])
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ContentError([f"{label}: {size // 1024} KiB, more than the "
                                f"{MAX_FILE_BYTES // 1024} KiB a content file may have; "
                                "split it or shorten it"])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContentError([f"{label}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ContentError([f"{label}: cannot read ({reason}); save it as UTF-8 text"]) \
            from None
    if not text.strip() or all(line.lstrip().startswith("#") or not line.strip()
                               for line in text.splitlines()):
        raise ContentError([f"{label}: the file is empty; fill it in or remove it"])
    try:
        _check_depth(text, label)
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except _BadValue as exc:
        raise ContentError([f"{label}:{exc.problem_mark.line + 1}: {exc.problem}"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{label}:{mark.line + 1}" if mark else label
        problem = exc.problem or exc.context or "invalid YAML"
        raise ContentError(
            [f"{where}: invalid YAML: {problem}; check indentation and quoting"]) from None
    except yaml.YAMLError as exc:
        raise ContentError([f"{label}: invalid YAML: {exc}"]) from None


def _check_depth(text: str, label: str) -> None:
    """Refuse deep nesting before building objects: PyYAML builds them recursively,
    so a deeply nested file would end in a RecursionError. The event stream is flat."""
    depth = 0
    for event in yaml.parse(text, Loader=_SAFE_LOADER):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise ContentError([f"{label}:{event.start_mark.line + 1}: nested more than "
                                    f"{MAX_DEPTH} levels deep; handouts need far fewer, "
                                    "check the indentation"])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
