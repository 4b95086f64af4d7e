"""usage-async: an asyncio client for OpenAI's organization Usage and Costs API.

    import usage_async as ua

    async with ua.UsageClient() as client:          # OPENAI_ADMIN_KEY from the environment
        async for bucket in client.completions(start_time=..., group_by=["model"]):
            ...

The package root is the public surface; modules starting with an underscore are private.
"""

from ._client import BucketStream, UsageClient, __version__
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
    "totals",
]
