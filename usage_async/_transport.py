"""The only module that talks to aiohttp: send one request, return status, headers and body.

A GET asks the API; a POST delivers a budget alert to a receiver (``usage_async.budgets``
keeps its retries and its record; only the sending is here). Neither follows redirects (a
redirect would carry the admin key, or a signed alert, to wherever it points); both read
the whole body before releasing the connection (so an abandoned iterator pins nothing), cap
the body size, and turn every aiohttp or socket failure into ``APIConnectionError`` or
``APITimeoutError``. A TLS failure is an ``APIConnectionError`` that is not retried: a
certificate or protocol mismatch does not clear on its own. A refused connection or a host
name that does not resolve is one that says so (``connection refused by 127.0.0.1:1``,
``cannot resolve nonexistent.invalid``) and is marked ``unreachable``. Once closed, the transport
refuses every request (``ClientClosedError``) and never opens a session again.

A POST's failures are worded without the URL or aiohttp's text (which quotes it): a webhook's
URL is a secret (Slack's carries its token in the path), so they read ``timed out``,
``connection refused``, ``connection closed`` and nothing is chained.

Core layer: the one module that imports aiohttp; otherwise the core's errors and ``Response``.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from ._exceptions import APIConnectionError, APITimeoutError, ClientClosedError, DecodeError
from ._protocol import Response

__all__ = ["AiohttpTransport", "Session"]

Session = aiohttp.ClientSession
"""What a caller may lend the client: the type is aiohttp's, named here so that no other
module of the core imports aiohttp."""


def _host_port(host: str, port: int | None) -> str:
    # An IPv6 address is bracketed, as in a URL, so that its port stays apart from it.
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


class AiohttpTransport:
    """Sends requests on one long-lived session: its own, or a caller's it only borrows."""

    def __init__(
        self, session: aiohttp.ClientSession | None, *, max_body_size: int, pool_size: int
    ) -> None:
        self._session = session
        self._owns_session = session is None
        self._max_body_size = max_body_size
        self._pool_size = pool_size
        self._closed = False

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("this UsageClient is closed; create a new one")
        if self._session is not None and self._session.closed:
            raise ClientClosedError(
                "the aiohttp session lent to this UsageClient was closed by its owner"
            )
        if self._session is None:
            # TLS verification stays on (aiohttp's default); no cookies are kept between calls.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                cookie_jar=aiohttp.DummyCookieJar(),
                raise_for_status=False,
            )
        return self._session

    async def get(
        self,
        url: str,
        params: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        attempt_timeout: float | None,
    ) -> Response:
        """One attempt: ``Response`` for any status; raises ``APIConnectionError`` otherwise."""
        session = self._get_session()
        try:
            return await self._exchange(
                session, "GET", url, attempt_timeout, params=params, headers=headers
            )
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise APITimeoutError(f"request timed out after {attempt_timeout} s") from exc
        except aiohttp.ClientPayloadError as exc:
            raise APIConnectionError(f"the response body was cut short: {exc}") from exc
        except aiohttp.InvalidURL as exc:
            raise APIConnectionError(f"invalid URL: {exc}", retryable=False) from exc
        except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
            raise APIConnectionError(
                f"TLS handshake with {url} failed ({exc}); check that base_url is https:// to "
                "a TLS port and that the server's certificate is trusted",
                retryable=False,
            ) from exc
        except aiohttp.ClientConnectorDNSError as exc:
            raise APIConnectionError(f"cannot resolve {exc.host}", unreachable=True) from exc
        except aiohttp.ClientConnectorError as exc:
            if not isinstance(exc.os_error, ConnectionRefusedError):
                raise APIConnectionError(f"connection failed: {type(exc).__name__}: {exc}") from exc
            raise APIConnectionError(
                f"connection refused by {_host_port(exc.host, exc.port)}", unreachable=True
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise APIConnectionError(f"connection failed: {type(exc).__name__}: {exc}") from exc
        except RuntimeError as exc:  # aiohttp: "Session is closed", raised as it closes
            if self._closed or session.closed:
                raise ClientClosedError(
                    f"the session was closed during the request ({exc})"
                ) from exc
            raise

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], attempt_timeout: float
    ) -> Response:
        """One POST attempt of ``body``: ``Response`` for any status.

        Raises ``APITimeoutError`` or ``APIConnectionError`` (``retryable`` false for TLS and
        an invalid URL) whose message is a short reason (``connection refused``) with no URL;
        ``DecodeError`` for an answer over ``max_body_size``.
        """
        session = self._get_session()
        try:
            return await self._exchange(
                session, "POST", url, attempt_timeout, data=body, headers=headers
            )
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise APITimeoutError("timed out") from None
        except (aiohttp.ClientError, ssl.SSLError, OSError) as exc:
            reason, retryable = _connection_failure(exc)
            # Not chained: aiohttp's text of the failure quotes the URL.
            raise APIConnectionError(reason, retryable=retryable) from None

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        attempt_timeout: float | None,
        **request: Any,
    ) -> Response:
        """Send one request and read its whole answer, whatever its status."""
        async with session.request(
            method,
            url,
            allow_redirects=False,
            # A borrowed session may raise on error statuses; we map them ourselves.
            raise_for_status=False,
            timeout=aiohttp.ClientTimeout(total=attempt_timeout),
            **request,
        ) as resp:
            headers = {k.lower(): v for k, v in resp.headers.items()}
            body = await self._read_body(resp, headers.get("x-request-id"))
            return Response(resp.status, headers, body)

    async def _read_body(self, resp: aiohttp.ClientResponse, request_id: str | None) -> bytes:
        limit = self._max_body_size
        length = resp.content_length
        if length is not None and length > limit:
            raise DecodeError(
                f"response body of {length} bytes exceeds max_body_size ({limit} bytes)",
                request_id=request_id,
            )
        # Count what arrives after decompression: Content-Length is the compressed size.
        chunks = bytearray()
        async for chunk in resp.content.iter_any():
            chunks += chunk
            if len(chunks) > limit:
                raise DecodeError(
                    f"response body exceeds max_body_size ({limit} bytes)",
                    request_id=request_id,
                )
        return bytes(chunks)

    async def close(self) -> None:
        """Refuse requests from now on; close the session if we created it (a borrowed one is
        left to its owner)."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()


def _connection_failure(exc: BaseException) -> tuple[str, bool]:
    """A failed connection in a few words that name no URL, and whether to try again."""
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return "TLS failed", False
    if isinstance(exc, aiohttp.InvalidURL):
        return "invalid URL", False
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "host not found", True
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused", True
        # The OS's words (Network is unreachable), which name no host, unlike aiohttp's.
        return f"connection failed ({exc.os_error.strerror or type(exc.os_error).__name__})", True
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return "connection closed", True
    return f"connection failed ({type(exc).__name__})", True
