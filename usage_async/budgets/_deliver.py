"""Sending one alert: a POST with retries, and failures described by the receiver's host only.

The POST itself is the core's (``_transport.AiohttpTransport.post``, the one module that
talks to aiohttp): it does not follow redirects (a receiver that moved is a configuration to
fix, and a redirect would carry a signed body elsewhere) and words a failure without the
URL. What is the budgets' own is here: timeouts, connection errors, 408, 429 and 5xx are
retried with exponential back-off and jitter (tenacity); other statuses fail at once. No URL,
path, query or exception text reaches a message: a webhook URL is a secret (Slack's carries
its token in the path), so failures read ``HTTP 500``, ``timed out``, ``connection refused``
and name the host.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import attrs
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from .._exceptions import APIConnectionError, DecodeError
from .._transport import AiohttpTransport

__all__ = ["MAX_ANSWER_BYTES", "DeliveryError", "DeliveryPolicy", "deliver", "new_transport"]

logger = logging.getLogger("usage_async")

_RETRY_STATUSES = frozenset({408, 429})


@attrs.frozen
class DeliveryPolicy:
    """How hard one run tries to deliver an alert: ``attempts`` in all, waits doubling from
    ``initial_backoff`` up to ``max_backoff`` seconds (with jitter), ``timeout`` seconds per
    attempt. An alert that still fails stays pending for the next run."""

    attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    initial_backoff: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    max_backoff: float = attrs.field(default=8.0, validator=attrs.validators.ge(0))
    timeout: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))

    @property
    def longest(self) -> float:
        """An upper bound of the seconds one delivery can take, retries included."""
        return self.attempts * self.timeout + (self.attempts - 1) * self.max_backoff


class DeliveryError(Exception):
    """An attempt that failed: ``reason`` (``HTTP 503``, ``timed out``...), never a URL."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


MAX_ANSWER_BYTES = 1 << 20
"""The most of a receiver's answer that is read (it is only drained, never used)."""


def new_transport(concurrency: int) -> AiohttpTransport:
    """The transport one check delivers with: its own session, no cookies kept between
    receivers, ``concurrency`` connections at most. Close it when the check is done."""
    return AiohttpTransport(None, max_body_size=MAX_ANSWER_BYTES, pool_size=concurrency)


async def _post(
    transport: AiohttpTransport, url: str, body: bytes, headers: dict[str, str], seconds: float
) -> None:
    try:
        response = await transport.post(url, body, headers, seconds)
    except APIConnectionError as exc:
        # The transport's message is a few words without the URL ("timed out").
        raise DeliveryError(exc.message, retryable=exc.retryable) from None
    except DecodeError:
        raise DeliveryError("answer too large", retryable=False) from None
    status = response.status
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}", retryable=status >= 500 or status in _RETRY_STATUSES)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, DeliveryError) and exc.retryable


async def deliver(
    transport: AiohttpTransport,
    url: str,
    host: str,
    request: Callable[[], tuple[bytes, dict[str, str]]],
    policy: DeliveryPolicy,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> None:
    """POST ``request()``'s body and headers (made again for each attempt: a signature
    carries the time it was made) to ``url`` until it is accepted (2xx).

    Raises ``DeliveryError`` with the last attempt's reason once the retries are spent.
    """

    def log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        logger.debug(
            "budget alert to %s failed (%s), attempt %d of %d",
            host,
            exc,
            state.attempt_number,
            policy.attempts,
        )

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        # Doubling from initial_backoff, capped, plus up to one initial_backoff of jitter.
        wait=wait_exponential(multiplier=policy.initial_backoff, max=policy.max_backoff)
        + wait_random(0, policy.initial_backoff),
        retry=retry_if_exception(_retryable),
        before_sleep=log_retry,
        reraise=True,
        sleep=asyncio.sleep if sleep is None else sleep,
    )
    async for attempt in retrying:
        with attempt:
            body, headers = request()
            await _post(transport, url, body, headers, policy.timeout)
