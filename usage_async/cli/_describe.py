"""``usage-async sync --describe [DATABASE_URL]``: every table and view, column by column.

Without a URL it prints what a sync creates (``sync.describe``: types as kinds, each kind
said once at the top); with one, what that database has under ``--prefix``
(``sync.describe_database``: its own types). Each relation is a heading line and one line
per column (name, type, meaning), the meanings wrapped so that every line fits 80 columns.
No key is needed and nothing is created.
"""

from __future__ import annotations

import argparse
import asyncio
import textwrap
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from ._running import EXIT_API_ERROR, EXIT_OK, usage_error
from ._voice import say

if TYPE_CHECKING:
    from ..sync._describe import Relation

__all__ = ["describe_lines", "run_describe"]

WIDTH = 80
# PostgreSQL's long type names, as psql shows them: a narrower column leaves the meaning room.
_SHORT_TYPES = {
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIMESTAMP WITHOUT TIME ZONE": "timestamp",
    "CHARACTER VARYING": "varchar",
    "DOUBLE PRECISION": "float8",
}


def run_describe(args: argparse.Namespace) -> int:
    """Print the description ``args`` asks for on stdout; returns the exit code."""
    from sqlalchemy.exc import SQLAlchemyError

    from .._exceptions import InvalidParameterError
    from ..sync._describe import KINDS, describe, describe_database

    prefix = args.prefix or ""
    lines: list[str] = []
    try:
        if args.database is None:
            relations = describe(prefix=prefix)
            kinds = max(len(kind) for kind in KINDS)
            lines.append("Types:")
            lines += [f"  {kind:<{kinds}}  {meaning}" for kind, meaning in KINDS.items()]
            lines.append("")
        else:
            relations = asyncio.run(describe_database(args.database, prefix=prefix))
    except InvalidParameterError as exc:
        usage_error(args, exc.message)
    except (SQLAlchemyError, OSError) as exc:
        say(f"cannot describe the database: {type(exc).__name__}: {exc}")
        return EXIT_API_ERROR
    if not relations:
        say(f"the database has no table or view of a sync{' under ' + prefix if prefix else ''}")
        return EXIT_OK
    lines += describe_lines(relations)
    print("\n".join(lines))
    return EXIT_OK


def describe_lines(relations: Sequence[Relation], width: int = WIDTH) -> list[str]:
    """``relations`` as text lines no wider than ``width``: per relation a heading, then a
    line per column (name, type, meaning wrapped under itself), then a blank line."""
    lines: list[str] = []
    for relation in relations:
        heading = f"{relation.name} ({relation.kind}): {relation.meaning}"
        if relation.primary_key:
            heading += f" Key: {', '.join(relation.primary_key)}."
        lines += _wrapped(heading, width)
        lines += _columns(relation, width)
        lines.append("")
    return lines[:-1]


def _columns(relation: Relation, width: int) -> Iterator[str]:
    names = max(len(column.name) for column in relation.columns)
    types = max(len(_short(column.type)) for column in relation.columns)
    indent = 2 + names + 2 + types + 2
    room = max(width - indent, 20)
    for column in relation.columns:
        head = f"  {column.name:<{names}}  {_short(column.type):<{types}}  "
        meaning = column.meaning + ("" if column.nullable else " (never null)")
        parts = textwrap.wrap(meaning, room) or [""]
        yield (head + parts[0]).rstrip()
        for part in parts[1:]:
            yield " " * indent + part


def _short(kind: str) -> str:
    for long, short in _SHORT_TYPES.items():
        kind = kind.replace(long, short)
    return kind


def _wrapped(text: str, width: int = WIDTH) -> list[str]:
    return textwrap.wrap(text, width, subsequent_indent="  ")
