"""A strict reader of the YAML the provisioning files are written in, and Grafana's ``$``.

The files are block mappings, sequences of mappings (``- key: value``) and JSON scalars, with
``#`` comment lines; ``read_yaml`` reads exactly that and raises on anything else, so a file
that drifts from the subset fails the tests instead of being read loosely. Where PyYAML is
installed (the docs extra brings it) the tests read the files with it too.

``grafana_value`` is what Grafana makes of a string value: ``$$`` is one ``$``, and an
environment variable (``$NAME``, ``${NAME}``, ``$__env{NAME}``) is expanded.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

_LINE = re.compile(
    r"(?P<indent> *)(?P<dash>- )?(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?: (?P<value>.+))?"
)


def _lines(text: str) -> list[tuple[int, bool, str, str | None]]:
    parsed = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            raise ValueError(f"line {number} is not of the subset: {line!r}")
        indent = len(match["indent"]) + (2 if match["dash"] else 0)
        parsed.append((indent, bool(match["dash"]), match["key"], match["value"]))
    return parsed


def _block(lines: list[tuple[int, bool, str, str | None]], at: int, indent: int) -> tuple[Any, int]:
    """The mapping or sequence of mappings that starts at ``lines[at]``; the next index."""
    if lines[at][1]:  # a sequence of mappings
        items: list[Any] = []
        while at < len(lines) and lines[at][0] == indent and lines[at][1]:
            item, at = _mapping(lines, at, indent)
            items.append(item)
        return items, at
    return _mapping(lines, at, indent)


def _mapping(
    lines: list[tuple[int, bool, str, str | None]], at: int, indent: int
) -> tuple[dict[str, Any], int]:
    result: dict[str, Any] = {}
    first = True
    while at < len(lines):
        line_indent, dash, key, value = lines[at]
        if line_indent < indent or (dash and not first) or line_indent > indent:
            if line_indent > indent:
                raise ValueError(f"unexpected indentation at {key!r}")
            break
        first = False
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        at += 1
        if value is not None:
            result[key] = json.loads(value)
        else:
            nested_indent = lines[at][0] if at < len(lines) else -1
            if nested_indent <= indent:
                raise ValueError(f"{key!r} has no value")
            result[key], at = _block(lines, at, nested_indent)
    return result, at


def read_yaml(text: str) -> dict[str, Any]:
    """The document of a provisioning file written in the subset; raises ``ValueError`` on
    anything outside it."""
    lines = _lines(text)
    document, at = _mapping(lines, 0, 0)
    if at != len(lines):
        raise ValueError(f"text left over at {lines[at][2]!r}")
    return document


_ENV = re.compile(r"\$__env\{(\w+)\}|\$\{(\w+)\}|\$(\w+)")


def grafana_value(value: str, environment: Mapping[str, str] | None = None) -> str:
    """``value`` as Grafana reads it from a provisioning file: split at ``$$``, each part's
    environment variables expanded, joined with ``$``."""
    env = os.environ if environment is None else environment
    parts = [
        _ENV.sub(lambda m: env.get(m.group(1) or m.group(2) or m.group(3), ""), part)
        for part in value.split("$$")
    ]
    return "$".join(parts)


def grafana_document(document: Any, environment: Mapping[str, str] | None = None) -> Any:
    """Every string of ``document`` as Grafana reads it (``grafana_value``)."""
    if isinstance(document, dict):
        return {k: grafana_document(v, environment) for k, v in document.items()}
    if isinstance(document, list):
        return [grafana_document(v, environment) for v in document]
    if isinstance(document, str):
        return grafana_value(document, environment)
    return document
