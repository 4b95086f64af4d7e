"""YAML for Grafana's provisioning files, written without a YAML library.

The files are small and their shape is fixed: block mappings, sequences of mappings, and
scalars each written as JSON writes it (a double-quoted string, a number, ``true``,
``false``, ``null``), which YAML reads as the same value. Grafana expands environment
variables in every value of a provisioning file (``$NAME``, ``${NAME}``, ``$__env{NAME}``)
and reads ``$$`` as one literal ``$``: every string is written with its ``$`` doubled, so a
user or database name keeps its ``$``, except an ``Expanded`` string, which is meant to be
expanded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Expanded", "provisioning_yaml"]

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Characters JSON leaves as they are that YAML wants escaped in a double-quoted string.
_YAML_ESCAPES = {"\u0085": "\\N", "\u2028": "\\L", "\u2029": "\\P", "\ufeff": "\\ufeff"}


class Expanded(str):
    """A value Grafana is to expand when it reads the file (``$__env{NAME}``): written with
    its ``$`` as they are."""

    __slots__ = ()


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        text = value if isinstance(value, Expanded) else value.replace("$", "$$")
        quoted = json.dumps(text, ensure_ascii=False)
        return "".join(_YAML_ESCAPES.get(c, c) for c in quoted)
    raise TypeError(f"no YAML scalar for {value!r}")


def _is_block(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple) and len(value) > 0


def _empty(value: Any) -> str:
    return "{}" if isinstance(value, Mapping) else "[]"


def _mapping(value: Mapping[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, item in value.items():
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a plain YAML key: {key!r}")
        if isinstance(item, Mapping) and item:
            lines += [f"{pad}{key}:", *_mapping(item, indent + 2)]
        elif isinstance(item, list | tuple) and item:
            lines += [f"{pad}{key}:", *_sequence(item, indent + 2)]
        elif isinstance(item, Mapping | list | tuple):
            lines.append(f"{pad}{key}: {_empty(item)}")
        else:
            lines.append(f"{pad}{key}: {_scalar(item)}")
    return lines


def _sequence(items: Sequence[Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for item in items:
        if isinstance(item, Mapping) and item:
            # The item's first key goes on the dash's line; the others line up under it.
            first, *rest = _mapping(item, indent + 2)
            lines += [f"{pad}- {first.lstrip()}", *rest]
        elif _is_block(item):
            raise ValueError("a sequence of sequences is not written here")
        elif isinstance(item, Mapping | list | tuple):
            lines.append(f"{pad}- {_empty(item)}")
        else:
            lines.append(f"{pad}- {_scalar(item)}")
    return lines


def provisioning_yaml(document: Mapping[str, Any], comments: Sequence[str] = ()) -> str:
    """``document`` as a YAML file, after ``comments`` (each a ``#`` line).

    Raises ``ValueError`` for a key that is not a plain identifier and ``TypeError`` for a
    value that is not a mapping, a sequence of mappings or scalars, a string, an integer, a
    boolean or ``None``.
    """
    header = [f"# {line}".rstrip() for line in comments]
    return "\n".join([*header, *_mapping(document, 0)]) + "\n"
