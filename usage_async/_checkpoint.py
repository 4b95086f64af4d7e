"""Checkpoints: where a stream stands, as a string that another process can resume from.

A checkpoint records the query exactly as it was sent (so a cursor stays valid: the API binds
cursors to their query) and the position: the cursor of the page in progress and the end of
the last bucket yielded (bucket streams), or the id of the last item yielded (list streams).
Resuming fetches from that page again and skips what was already yielded, so a resumed stream
continues with no gap and no duplicate.

The text is ``ua1.`` followed by base64url of a small JSON document; it holds no key. A
checkpoint that is not one, or that a later format wrote, is refused with
``InvalidParameterError`` before anything is sent.

Core layer: imports the standard library, attrs, orjson and ``_exceptions`` only.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Literal

import attrs
import orjson

from ._exceptions import InvalidParameterError

__all__ = ["FORMAT", "Checkpoint", "decode_checkpoint", "encode_checkpoint"]

FORMAT = 1
_PREFIX = f"ua{FORMAT}."

Mode = Literal["cursor", "time"]


@attrs.frozen
class Checkpoint:
    """The position of one stream.

    ``params`` are the keyword arguments of the query as sent (``None`` if nothing was sent
    yet: the query is then decided when the resumed stream starts, from ``requested``).
    ``mode`` says how to resume: ``cursor`` from ``cursor`` (skipping buckets that end at or
    before ``after``; a list's cursor is the id of its last item yielded), ``time`` from
    ``after`` as the new start (windowed bucket streams, whose pages have no common cursor).
    """

    kind: Literal["buckets", "list"]
    endpoint: str
    requested: Mapping[str, Any]
    params: Mapping[str, Any] | None
    mode: Mode = "cursor"
    cursor: str | None = None
    after: int | None = None
    done: bool = False


def encode_checkpoint(checkpoint: Checkpoint) -> str:
    """The checkpoint as a compact, URL- and shell-safe string."""
    document = {"v": FORMAT, **attrs.asdict(checkpoint)}
    token = base64.urlsafe_b64encode(orjson.dumps(document)).rstrip(b"=").decode("ascii")
    return _PREFIX + token


def _refuse(why: str) -> InvalidParameterError:
    return InvalidParameterError(f"not a usage-async checkpoint: {why}", param="checkpoint")


def decode_checkpoint(text: object) -> Checkpoint:
    """Read a checkpoint string; raises ``InvalidParameterError`` saying what is wrong."""
    if not isinstance(text, str):
        raise _refuse(f"expected a string, got {type(text).__name__}")
    prefix, dot, token = text.partition(".")
    if not dot or not prefix.startswith("ua") or not prefix[2:].isdigit():
        raise _refuse("it does not start with 'ua<format>.'")
    if int(prefix[2:]) != FORMAT:
        raise InvalidParameterError(
            f"this checkpoint was written in format {prefix[2:]} by another version of "
            f"usage-async; this version reads format {FORMAT}",
            param="checkpoint",
        )
    try:
        document = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise _refuse("its body is not base64url JSON (was it cut short?)") from None
    if not isinstance(document, dict):
        raise _refuse("its body is not an object")
    try:
        return _checked(document)
    except (KeyError, TypeError, ValueError) as exc:
        raise _refuse(f"a field is missing or of the wrong type ({exc})") from None


def _checked(document: dict[str, Any]) -> Checkpoint:
    kind = document["kind"]
    if kind not in ("buckets", "list"):
        raise ValueError(f"kind {kind!r}")
    mode = document.get("mode", "cursor")
    if mode not in ("cursor", "time"):
        raise ValueError(f"mode {mode!r}")
    endpoint, requested, params = document["endpoint"], document["requested"], document["params"]
    cursor, after, done = document.get("cursor"), document.get("after"), document.get("done")
    if not isinstance(endpoint, str) or not isinstance(requested, dict):
        raise TypeError("endpoint or requested")
    if params is not None and not isinstance(params, dict):
        raise TypeError("params")
    if cursor is not None and not isinstance(cursor, str):
        raise TypeError("cursor")
    if after is not None and (isinstance(after, bool) or not isinstance(after, int)):
        raise TypeError("after: Unix seconds")
    if kind == "list" and (mode != "cursor" or after is not None):
        raise ValueError("a list resumes by cursor alone")
    if not isinstance(done, bool):
        raise TypeError("done")
    return Checkpoint(kind, endpoint, requested, params, mode, cursor, after, done)
