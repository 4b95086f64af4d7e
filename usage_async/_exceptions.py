"""The exceptions this library raises, and only these.

    UsageError
    ├── InvalidParameterError (also ValueError)   bad argument, raised before any request
    ├── APIError                                  something went wrong talking to the API
    │   ├── APIStatusError                        the API answered with an error status
    │   │   ├── BadRequestError                   400
    │   │   ├── AuthenticationError               401
    │   │   ├── PermissionDeniedError             403
    │   │   ├── NotFoundError                     404
    │   │   ├── RateLimitError                    429 (``retry_after``)
    │   │   └── InternalServerError               >= 500
    │   ├── APIConnectionError                    no usable response (DNS, reset, refused...)
    │   │   └── APITimeoutError                   an attempt took longer than ``timeout``
    │   ├── DecodeError                           a body that is not the documented shape
    │   └── PaginationError                       a cursor that repeats, or has_more without one
    ├── ClientClosedError                         the client or stream is closed
    └── FanOutError                               one stream of ``fan_out`` failed (``key``)

Every ``APIError`` carries ``request_id`` (the ``x-request-id`` response header) when the
server sent one. No exception from aiohttp, cattrs, tenacity or the JSON parser reaches a
caller: they are chained as ``__cause__`` of one of these.

Core layer: the bottom of it; imports nothing.
"""

from __future__ import annotations

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "DecodeError",
    "InternalServerError",
    "InvalidParameterError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "UsageError",
]


class UsageError(Exception):
    """Base class of every exception raised by usage-async."""


class InvalidParameterError(UsageError, ValueError):
    """A parameter was rejected before anything was sent. ``param`` names it."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class ClientClosedError(UsageError, RuntimeError):
    """The client or stream was closed: used after ``close()``/``aclose()``, or closed while
    a request was in flight or waiting (which then ends with this, never retried)."""


class APIError(UsageError):
    """A request to the API did not produce usable data."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id

    def __str__(self) -> str:
        if self.request_id:
            return f"{self.message} (request_id: {self.request_id})"
        return self.message


class APIStatusError(APIError):
    """The API answered with an error status. Fields come from its error envelope."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        type: str | None = None,
        param: str | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        should_retry: bool | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code
        self.type = type
        self.param = param
        self.code = code
        #: Seconds the server asked us to wait (``retry-after-ms`` / ``retry-after``), if any.
        self.retry_after = retry_after
        #: The server's ``x-should-retry`` verdict, if it sent one.
        self.should_retry = should_retry

    def __str__(self) -> str:
        details = [f"request_id: {self.request_id}"] if self.request_id else []
        if self.param:
            details.insert(0, f"param: {self.param}")
        if self.code:
            details.insert(0, f"code: {self.code}")
        suffix = f" ({', '.join(details)})" if details else ""
        return f"HTTP {self.status_code}: {self.message}{suffix}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, message={self.message!r}, "
            f"type={self.type!r}, param={self.param!r}, code={self.code!r}, "
            f"request_id={self.request_id!r})"
        )


class BadRequestError(APIStatusError):
    """400: the API rejected a parameter (``param`` says which)."""


class AuthenticationError(APIStatusError):
    """401: the key is missing, wrong, or not an admin key."""


class PermissionDeniedError(APIStatusError):
    """403: the key lacks the ``api.usage.read`` scope (project keys do)."""


class NotFoundError(APIStatusError):
    """404: no such path (check ``base_url``)."""


class RateLimitError(APIStatusError):
    """429: throttled. ``retry_after`` is the server's requested wait in seconds, if it sent one.

    Raised after the retries are spent, at once when the server asks for a wait longer than
    the client's ``max_retry_after``, and at once for ``code == "insufficient_quota"``.
    """


class InternalServerError(APIStatusError):
    """A 5xx status: the API failed; retried before it is raised."""


class APIConnectionError(APIError):
    """No usable response: the connection failed, was reset, or the body was cut short.

    ``retryable`` is false for failures another attempt cannot clear (a TLS handshake that
    failed, an invalid URL): those are raised at once. ``unreachable`` is true when no
    server was reached at all (the connection was refused, or the host name does not
    resolve): those are retried once, at once, not backed off (``RetryPolicy``).
    """

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        retryable: bool = True,
        unreachable: bool = False,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.retryable = retryable
        self.unreachable = unreachable


class APITimeoutError(APIConnectionError):
    """An attempt took longer than the client's ``timeout``, or the retry deadline passed."""


class DecodeError(APIError):
    """The body is not the documented shape: not JSON, a missing field, a wrong type."""


class PaginationError(APIError):
    """The server's cursors cannot be trusted: one repeated, or ``has_more`` came without one."""
