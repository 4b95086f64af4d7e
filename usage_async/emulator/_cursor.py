"""Opaque page cursors, bound to the query that produced them.

A cursor is ``page_`` + base64url (no padding) of::

    version (1 byte) | query digest (16 bytes) | bucket offset (4 bytes) | as of (8 bytes)
    | tag (12 bytes)

where the tag is an HMAC-SHA256 of the rest under a key derived from the emulator's seed.
"As of" is the instant (Unix seconds) the query's first page was answered at: later pages
of the query are answered as of that instant too, as the live API's cursor does, so a walk
of an open range never grows between pages. So cursors are deterministic (same seed, query
and instant, same cursor: identical requests get identical bytes), a tampered cursor fails
the tag, and a genuine cursor replayed with other parameters fails the digest. Both are a
400 naming ``page``.

Layer: part of the emulator, a library over the core; never cli, sync or focus.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from typing import NamedTuple

from ._query import WireError

__all__ = ["CursorCodec", "Position"]

_PREFIX = "page_"
_VERSION = 2
_BODY = struct.Struct(">B16sIq")
_TAG = 12


class Position(NamedTuple):
    """Where a cursor points: the first bucket of the next page, and the query's instant."""

    offset: int
    as_of: int


class CursorCodec:
    """Makes and checks cursors for one emulator (one seed)."""

    def __init__(self, seed: int) -> None:
        self._key = hashlib.sha256(f"usage-async emulator cursor key {seed}".encode()).digest()

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_TAG]

    def encode(self, digest: bytes, position: Position) -> str:
        body = _BODY.pack(_VERSION, digest, position.offset, position.as_of)
        token = base64.urlsafe_b64encode(body + self._tag(body)).rstrip(b"=")
        return _PREFIX + token.decode("ascii")

    def decode(self, cursor: str, digest: bytes) -> Position:
        """Where a cursor points, if it is genuine and belongs to ``digest``."""
        invalid = WireError(
            "Invalid page cursor: pass the next_page value of a previous response, unchanged.",
            param="page",
            code="invalid_cursor",
        )
        if not cursor.startswith(_PREFIX) or not cursor.isascii():
            raise invalid
        token = cursor[len(_PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise invalid from None
        # The decoder skips stray characters; only the canonical spelling of a cursor is valid.
        if (
            len(raw) != _BODY.size + _TAG
            or base64.urlsafe_b64encode(raw).rstrip(b"=") != token.encode()
        ):
            raise invalid
        body, tag = raw[: _BODY.size], raw[_BODY.size :]
        if not hmac.compare_digest(tag, self._tag(body)):
            raise invalid
        version, bound_to, offset, as_of = _BODY.unpack(body)
        if version != _VERSION:
            raise invalid
        if not hmac.compare_digest(bound_to, digest):
            raise WireError(
                "This page cursor belongs to a request with other parameters; a cursor can "
                "only be used with the exact parameters of the request that returned it.",
                param="page",
                code="invalid_cursor",
            )
        return Position(offset, as_of)
