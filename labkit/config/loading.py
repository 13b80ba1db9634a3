"""YAML -> validated pydantic models, with errors that name the file, line and field.

Used for hardware configs and protocols. YAML is read with the safe loader only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from labkit.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def _line_index(text: str) -> dict[tuple[Any, ...], int]:
    """1-based line of every mapping key and sequence item, by path."""
    lines: dict[tuple[Any, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, key.value)
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return lines


def line_of(text: str, path: tuple[Any, ...]) -> int:
    """1-based line of the YAML node at ``path`` (keys and list indices), or of its nearest
    parent that is in the text."""
    lines = _line_index(text)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, lines.get((), 1))


def _describe(error: dict[str, Any]) -> str:
    msg = error["msg"]
    kind = error.get("type", "")
    value = error.get("input")
    if kind == "extra_forbidden":
        return "unknown field; check its spelling against the documentation"
    if kind == "missing":
        return "required field is missing; add it"
    if isinstance(value, dict | list) and kind.startswith("value_error"):
        return msg  # a whole mapping is no help in one line
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{msg} (got {shown})"


def load_model(source: str | os.PathLike[str], model: type[M], *, text: str | None = None,
               what: str = "config") -> tuple[M, str]:
    """Load YAML from a file (or ``text``) into ``model``.

    Returns the validated model and the exact text (to be stored in sessions).

    Raises
    ------
    ConfigError
        One line: ``FILE:LINE: field a.b.c: what is wrong (got X)``.
    """
    name = str(source)
    if text is None:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"{name}: {what} file not found; check the path")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{name}: {what} file is not UTF-8 text ({exc.reason})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML ({problem}); fix the syntax") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: a {what} must be a YAML mapping of fields, got "
                          f"{type(data).__name__}")
    try:
        return model.model_validate(data), text
    except ValidationError as exc:
        lines = _line_index(text)
        first = exc.errors()[0]
        loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        # pydantic adds the discriminator value to union locations; drop what YAML lacks
        path: tuple[Any, ...] = ()
        shown: list[Any] = []
        for i, part in enumerate(loc):
            if (*path, part) in lines:
                path = (*path, part)
                shown.append(part)
            elif i == len(loc) - 1:
                shown.append(part)  # e.g. a missing field: not in the YAML, but named
        line = lines.get(path, lines.get((), 1))
        field = ".".join(str(p) for p in shown) or "(top level)"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{name}:{line}: field {field}: {_describe(first)}{more}") from None
