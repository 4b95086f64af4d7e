"""Keeping a secret out of text that may quote a cut-off snippet of it.

Core layer: the standard library only, so the command line can redact what it says without
loading asyncio or the client.
"""

from __future__ import annotations

__all__ = ["redact"]


def redact(text: str, secret: str | None, least: int = 8) -> str:
    """``text`` with every run of ``least`` or more characters of ``secret`` blanked out.

    Error messages quote cut-off snippets of bodies, so a secret that a server echoed shows
    up cut, where a plain ``replace`` of the whole secret would miss it. A secret shorter
    than ``least`` is blanked where it appears whole.
    """
    if not secret or not text:
        return text
    if len(secret) < least:
        return text.replace(secret, "<redacted>")
    pieces = {secret[i : i + least] for i in range(len(secret) - least + 1)}
    # Every character inside some window found in the secret belongs to a run the secret
    # holds; overlapping or touching windows become one marker.
    spans: list[list[int]] = []
    for start in range(len(text) - least + 1):
        if text[start : start + least] in pieces:
            if spans and start <= spans[-1][1]:
                spans[-1][1] = start + least
            else:
                spans.append([start, start + least])
    if not spans:
        return text
    out, done = [], 0
    for start, end in spans:
        out.append(text[done:start] + "<redacted>")
        done = end
    out.append(text[done:])
    return "".join(out)
