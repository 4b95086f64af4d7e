"""What a reader finds in a report's HTML: its tags, its text and its tables, parsed.

The HTML is read with the standard library's parser, as a browser's tokenizer would read it
(entities decoded), so a test sees the text a person sees and the tags a browser builds.
"""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser

import attrs


@attrs.define
class Row:
    part: str  # thead, tbody or tfoot
    classes: str
    cells: list[str] = attrs.field(factory=list)


@attrs.define
class Table:
    classes: str
    rows: list[Row] = attrs.field(factory=list)

    def part(self, name: str) -> list[Row]:
        return [row for row in self.rows if row.part == name]


class Page(HTMLParser):
    """Parse with ``Page.of(html)``; then ``tags``, ``text`` and ``tables``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: list[Table] = []
        self._text: list[str] = []
        self._part = "tbody"
        self._cell: list[str] | None = None

    @classmethod
    def of(cls, html: str) -> Page:
        page = cls()
        page.feed(html)
        page.close()
        return page

    @property
    def text(self) -> str:
        return " ".join(" ".join(self._text).split())

    def tables_of(self, cls: str) -> list[Table]:
        return [table for table in self.tables if cls in table.classes.split()]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if tag == "table":
            self.tables.append(Table(found.get("class") or ""))
        elif tag in ("thead", "tbody", "tfoot"):
            self._part = tag
        elif tag == "tr" and self.tables:
            self.tables[-1].rows.append(Row(self._part, found.get("class") or ""))
        elif tag in ("td", "th") and self.tables:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1].rows[-1].cells.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag in ("thead", "tbody", "tfoot"):
            self._part = "tbody"

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def cents_of(cell: str) -> int:
    """The cents a money cell shows (``1,234.56`` -> 123456; a dash -> 0)."""
    if cell in ("\u2013", ""):  # an en dash: no cost at all
        return 0
    return int(Decimal(cell.replace(",", "")) * 100)
