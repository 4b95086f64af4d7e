"""usage-async: an asyncio client for OpenAI's organization Usage and Costs API.

    import usage_async as ua

    async with ua.UsageClient() as client:          # OPENAI_ADMIN_KEY from the environment
        async for bucket in client.completions(start_time=..., group_by=["model"]):
            ...

The package root is the public surface; modules starting with an underscore are private.

Names are imported on first use (PEP 562), so ``import usage_async`` stays cheap: the pytest
plugin loads in every test run of an environment that has this package installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._client import BucketStream, UsageClient
    from ._concurrency import FanOutError, fan_out
    from ._endpoints import ENDPOINTS, Endpoint
    from ._exceptions import (
        APIConnectionError,
        APIError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ClientClosedError,
        DecodeError,
        InternalServerError,
        InvalidParameterError,
        NotFoundError,
        PaginationError,
        PermissionDeniedError,
        RateLimitError,
        UsageError,
    )
    from ._models import (
        Amount,
        AudioSpeechesResult,
        AudioTranscriptionsResult,
        Bucket,
        CodeInterpreterSessionsResult,
        CompletionsResult,
        CostsResult,
        DecisionsResult,
        EmbeddingsResult,
        FileSearchesResult,
        ImagesResult,
        ModerationsResult,
        Page,
        Result,
        UnknownResult,
        VectorStoresResult,
        WebSearchesResult,
    )
    from ._rows import Totals, bucket_rows, row_fields, rows, totals
    from ._version import __version__
    from .sync import SyncError, SyncReport, sync

__all__ = [
    "ENDPOINTS",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "Amount",
    "AudioSpeechesResult",
    "AudioTranscriptionsResult",
    "AuthenticationError",
    "BadRequestError",
    "Bucket",
    "BucketStream",
    "ClientClosedError",
    "CodeInterpreterSessionsResult",
    "CompletionsResult",
    "CostsResult",
    "DecisionsResult",
    "DecodeError",
    "EmbeddingsResult",
    "Endpoint",
    "FanOutError",
    "FileSearchesResult",
    "ImagesResult",
    "InternalServerError",
    "InvalidParameterError",
    "ModerationsResult",
    "NotFoundError",
    "Page",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "Result",
    "SyncError",
    "SyncReport",
    "Totals",
    "UnknownResult",
    "UsageClient",
    "UsageError",
    "VectorStoresResult",
    "WebSearchesResult",
    "__version__",
    "bucket_rows",
    "fan_out",
    "row_fields",
    "rows",
    "sync",
    "totals",
]

# Where each public name lives.
_MODULE_OF = {
    "ENDPOINTS": "._endpoints",
    "APIConnectionError": "._exceptions",
    "APIError": "._exceptions",
    "APIStatusError": "._exceptions",
    "APITimeoutError": "._exceptions",
    "Amount": "._models",
    "AudioSpeechesResult": "._models",
    "AudioTranscriptionsResult": "._models",
    "AuthenticationError": "._exceptions",
    "BadRequestError": "._exceptions",
    "Bucket": "._models",
    "BucketStream": "._client",
    "ClientClosedError": "._exceptions",
    "CodeInterpreterSessionsResult": "._models",
    "CompletionsResult": "._models",
    "CostsResult": "._models",
    "DecisionsResult": "._models",
    "DecodeError": "._exceptions",
    "EmbeddingsResult": "._models",
    "Endpoint": "._endpoints",
    "FanOutError": "._concurrency",
    "FileSearchesResult": "._models",
    "ImagesResult": "._models",
    "InternalServerError": "._exceptions",
    "InvalidParameterError": "._exceptions",
    "ModerationsResult": "._models",
    "NotFoundError": "._exceptions",
    "Page": "._models",
    "PaginationError": "._exceptions",
    "PermissionDeniedError": "._exceptions",
    "RateLimitError": "._exceptions",
    "Result": "._models",
    "SyncError": ".sync",
    "SyncReport": ".sync",
    "Totals": "._rows",
    "UnknownResult": "._models",
    "UsageClient": "._client",
    "UsageError": "._exceptions",
    "VectorStoresResult": "._models",
    "WebSearchesResult": "._models",
    "__version__": "._version",
    "bucket_rows": "._rows",
    "fan_out": "._concurrency",
    "row_fields": "._rows",
    "rows": "._rows",
    "sync": ".sync",
    "totals": "._rows",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
