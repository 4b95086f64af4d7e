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
    from . import budgets
    from ._client import UsageClient
    from ._concurrency import FanOut, FanOutError, fan_out
    from ._directory import Directory
    from ._endpoints import ENDPOINTS, LIST_ENDPOINTS, Endpoint, ListEndpoint
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
        KeyOwner,
        ModerationsResult,
        Page,
        Project,
        ProjectApiKey,
        Result,
        ServiceAccount,
        UnknownResult,
        User,
        VectorStoresResult,
        WebSearchesResult,
    )
    from ._rows import Names, Totals, bucket_rows, row_dicts, row_fields, rows, totals
    from ._streams import BucketStream, ListStream
    from ._version import __version__
    from .focus import (
        FOCUS_COLUMNS,
        FocusColumn,
        FocusExportError,
        FocusRows,
        FocusSummary,
        ProjectDirectory,
        focus_rows,
        write_focus,
    )
    from .sync import SyncError, SyncReport, sync

__all__ = [
    "ENDPOINTS",
    "FOCUS_COLUMNS",
    "LIST_ENDPOINTS",
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
    "Directory",
    "EmbeddingsResult",
    "Endpoint",
    "FanOut",
    "FanOutError",
    "FileSearchesResult",
    "FocusColumn",
    "FocusExportError",
    "FocusRows",
    "FocusSummary",
    "ImagesResult",
    "InternalServerError",
    "InvalidParameterError",
    "KeyOwner",
    "ListEndpoint",
    "ListStream",
    "ModerationsResult",
    "Names",
    "NotFoundError",
    "Page",
    "PaginationError",
    "PermissionDeniedError",
    "Project",
    "ProjectApiKey",
    "ProjectDirectory",
    "RateLimitError",
    "Result",
    "ServiceAccount",
    "SyncError",
    "SyncReport",
    "Totals",
    "UnknownResult",
    "UsageClient",
    "UsageError",
    "User",
    "VectorStoresResult",
    "WebSearchesResult",
    "__version__",
    "bucket_rows",
    "budgets",
    "fan_out",
    "focus_rows",
    "row_dicts",
    "row_fields",
    "rows",
    "sync",
    "totals",
    "write_focus",
]

# Where each public name lives.
_MODULE_OF = {
    "ENDPOINTS": "._endpoints",
    "FOCUS_COLUMNS": ".focus",
    "LIST_ENDPOINTS": "._endpoints",
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
    "BucketStream": "._streams",
    "ClientClosedError": "._exceptions",
    "CodeInterpreterSessionsResult": "._models",
    "CompletionsResult": "._models",
    "CostsResult": "._models",
    "DecisionsResult": "._models",
    "DecodeError": "._exceptions",
    "Directory": "._directory",
    "EmbeddingsResult": "._models",
    "Endpoint": "._endpoints",
    "FanOut": "._concurrency",
    "FanOutError": "._concurrency",
    "FileSearchesResult": "._models",
    "FocusColumn": ".focus",
    "FocusExportError": ".focus",
    "FocusRows": ".focus",
    "FocusSummary": ".focus",
    "ImagesResult": "._models",
    "InternalServerError": "._exceptions",
    "InvalidParameterError": "._exceptions",
    "KeyOwner": "._models",
    "ListEndpoint": "._endpoints",
    "ListStream": "._streams",
    "ModerationsResult": "._models",
    "Names": "._rows",
    "NotFoundError": "._exceptions",
    "Page": "._models",
    "PaginationError": "._exceptions",
    "PermissionDeniedError": "._exceptions",
    "Project": "._models",
    "ProjectApiKey": "._models",
    "ProjectDirectory": ".focus",
    "RateLimitError": "._exceptions",
    "Result": "._models",
    "ServiceAccount": "._models",
    "SyncError": ".sync",
    "SyncReport": ".sync",
    "Totals": "._rows",
    "UnknownResult": "._models",
    "UsageClient": "._client",
    "UsageError": "._exceptions",
    "User": "._models",
    "VectorStoresResult": "._models",
    "WebSearchesResult": "._models",
    "__version__": "._version",
    "bucket_rows": "._rows",
    "budgets": ".budgets",  # the package itself: ua.budgets.check(...)
    "fan_out": "._concurrency",
    "focus_rows": ".focus",
    "row_dicts": "._rows",
    "row_fields": "._rows",
    "rows": "._rows",
    "sync": ".sync",
    "totals": "._rows",
    "write_focus": ".focus",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    imported = importlib.import_module(module, __name__)
    value = imported if module == f".{name}" else getattr(imported, name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
