"""Writing a benchmark's figures into ``benchmarks/RESULTS.md``.

Each script's figures begin with its own marker (an HTML comment). Writing again replaces
the figures from the marker up to the next ``## `` heading; a file without the marker gets
the figures appended under a new heading.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(mark: str, figures: str, *, heading: str, intro: str = "") -> None:
    """Put ``figures`` (which begin with ``mark``) into RESULTS.md, in place of the old ones."""
    text = RESULTS.read_text()
    head, found, tail = text.partition(mark)
    if found:
        rest = tail.split("\n## ", 1)
        text = head + figures + ("\n## " + rest[1] if len(rest) == 2 else "")
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n{intro}{figures}"
    RESULTS.write_text(text)
