"""The retry policy as data, and the tenacity object that applies it to one request.

Retried: 408, 409, 429, >= 500, connection errors and timeouts. Not retried: other 4xx,
decode and pagination errors, cancellation, a closed client, TLS failures, a 429 with
``code == "insufficient_quota"``, and any response whose server-requested wait exceeds
``max_retry_after``. ``x-should-retry`` overrides the status rule either way. The wait is
the server's ``retry-after-ms`` / ``retry-after`` when it sends one, else exponential
back-off with jitter, capped.

A server that cannot be reached at all (the connection refused, the host name unresolved:
``APIConnectionError.unreachable``) is retried once, after a quarter of a second, and said
at INFO: nothing is listening, or the URL is wrong, and fifteen seconds of back-off would
only hide that. A dropped connection or a timeout, where a server was reached, keeps the
back-off.

Core layer: the one module that imports tenacity; otherwise attrs and ``_exceptions``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable

import attrs
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from ._exceptions import APIConnectionError, APIStatusError

__all__ = ["RetryPolicy"]

logger = logging.getLogger("usage_async")

_RETRY_STATUSES = frozenset({408, 409, 429})


@attrs.frozen
class RetryPolicy:
    """How a failed attempt is retried. ``max_retries`` counts retries, not attempts;
    ``unreachable_retries`` (within ``max_retries``) those of a server not reached at all,
    each after ``unreachable_wait`` seconds."""

    max_retries: int = 5
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 120.0
    unreachable_retries: int = 1
    unreachable_wait: float = 0.25

    def attempts(self, exc: BaseException | None) -> int:
        """How many attempts a request gets in all, when its last one failed with ``exc``."""
        if _unreachable(exc):
            return 1 + min(self.unreachable_retries, self.max_retries)
        return 1 + self.max_retries

    def is_retryable(self, exc: BaseException) -> bool:
        """Whether another attempt could succeed where this one failed."""
        if isinstance(exc, APIStatusError):
            if exc.retry_after is not None and exc.retry_after > self.max_retry_after:
                return False
            if exc.should_retry is not None:  # the server's explicit verdict wins
                return exc.should_retry
            if exc.code == "insufficient_quota":
                return False
            return exc.status_code in _RETRY_STATUSES or exc.status_code >= 500
        return isinstance(exc, APIConnectionError) and exc.retryable

    def wait_seconds(self, exc: BaseException | None, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if _unreachable(exc):
            return self.unreachable_wait
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None and 0 < retry_after <= self.max_retry_after:
            return float(retry_after)
        backoff: float = min(self.initial_backoff * 2.0 ** (attempt - 1), self.max_backoff)
        return backoff * rng.uniform(0.75, 1.0)

    def retrying(
        self,
        *,
        describe: str,
        sleep: Callable[[float], Awaitable[None]],
        rng: random.Random,
    ) -> AsyncRetrying:
        """A fresh tenacity controller for one request (never shared between requests)."""
        policy = self

        def log_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            # The quick retry of an unreachable server is routine, not worth a warning: if
            # it fails too, the error says what happened.
            logger.log(
                logging.INFO if _unreachable(exc) else logging.WARNING,
                "%s failed (attempt %d of %d): %s; retrying in %.2f s",
                describe,
                state.attempt_number,
                policy.attempts(exc),
                exc,
                delay,
            )

        return AsyncRetrying(
            sleep=sleep,
            stop=_AttemptsSpent(self),
            wait=_ServerAwareWait(self, rng),
            retry=retry_if_exception(self.is_retryable),
            before_sleep=log_retry,
            reraise=True,
        )


def _unreachable(exc: BaseException | None) -> bool:
    return isinstance(exc, APIConnectionError) and exc.unreachable


class _AttemptsSpent(stop_base):
    """tenacity stop once the attempts ``RetryPolicy.attempts`` allows for the last error
    are spent (fewer for a server not reached at all)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy

    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        return retry_state.attempt_number >= self._policy.attempts(exc)


class _ServerAwareWait(wait_base):
    """tenacity wait that defers to ``RetryPolicy.wait_seconds`` (Retry-After, else back-off)."""

    def __init__(self, policy: RetryPolicy, rng: random.Random) -> None:
        self._policy = policy
        self._rng = rng

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        return self._policy.wait_seconds(exc, retry_state.attempt_number, self._rng)
