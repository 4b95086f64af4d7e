"""usage-async: an asyncio client for OpenAI's organization Usage and Costs API.

    import usage_async as ua

    async with ua.UsageClient() as client:          # OPENAI_ADMIN_KEY from the environment
        async for bucket in client.completions(start_time=..., group_by=["model"]):
            ...

The package root is the public surface; modules starting with an underscore are private.

The ``if TYPE_CHECKING:`` block below is the one list of what the root exports: type checkers
read it as explicit re-exports, and at run time ``_lazy`` reads it to build ``__all__`` and to
import each name on first use (PEP 562). So ``import usage_async`` stays cheap: the pytest
plugin loads in every test run of an environment that has this package installed. To export
a name, add its ``from ._module import Name as Name`` line there.

Layer: the public face over everything; nothing inside the package imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import budgets as budgets
    from ._client import UsageClient as UsageClient
    from ._concurrency import FanOut as FanOut
    from ._concurrency import FanOutError as FanOutError
    from ._concurrency import fan_out as fan_out
    from ._directory import Directory as Directory
    from ._endpoints import ENDPOINTS as ENDPOINTS
    from ._endpoints import LIST_ENDPOINTS as LIST_ENDPOINTS
    from ._endpoints import Endpoint as Endpoint
    from ._endpoints import ListEndpoint as ListEndpoint
    from ._exceptions import APIConnectionError as APIConnectionError
    from ._exceptions import APIError as APIError
    from ._exceptions import APIStatusError as APIStatusError
    from ._exceptions import APITimeoutError as APITimeoutError
    from ._exceptions import AuthenticationError as AuthenticationError
    from ._exceptions import BadRequestError as BadRequestError
    from ._exceptions import ClientClosedError as ClientClosedError
    from ._exceptions import DecodeError as DecodeError
    from ._exceptions import InternalServerError as InternalServerError
    from ._exceptions import InvalidParameterError as InvalidParameterError
    from ._exceptions import NotFoundError as NotFoundError
    from ._exceptions import PaginationError as PaginationError
    from ._exceptions import PermissionDeniedError as PermissionDeniedError
    from ._exceptions import RateLimitError as RateLimitError
    from ._exceptions import UsageError as UsageError
    from ._models import Amount as Amount
    from ._models import AudioSpeechesResult as AudioSpeechesResult
    from ._models import AudioTranscriptionsResult as AudioTranscriptionsResult
    from ._models import Bucket as Bucket
    from ._models import CodeInterpreterSessionsResult as CodeInterpreterSessionsResult
    from ._models import CompletionsResult as CompletionsResult
    from ._models import CostsResult as CostsResult
    from ._models import DecisionsResult as DecisionsResult
    from ._models import EmbeddingsResult as EmbeddingsResult
    from ._models import FileSearchesResult as FileSearchesResult
    from ._models import ImagesResult as ImagesResult
    from ._models import KeyOwner as KeyOwner
    from ._models import ModerationsResult as ModerationsResult
    from ._models import Page as Page
    from ._models import Project as Project
    from ._models import ProjectApiKey as ProjectApiKey
    from ._models import Result as Result
    from ._models import ServiceAccount as ServiceAccount
    from ._models import UnknownResult as UnknownResult
    from ._models import User as User
    from ._models import VectorStoresResult as VectorStoresResult
    from ._models import WebSearchesResult as WebSearchesResult
    from ._row_columns import row_fields as row_fields
    from ._rows import Names as Names
    from ._rows import Totals as Totals
    from ._rows import bucket_rows as bucket_rows
    from ._rows import row_dicts as row_dicts
    from ._rows import rows as rows
    from ._rows import totals as totals
    from ._streams import BucketStream as BucketStream
    from ._streams import ListStream as ListStream
    from ._version import __version__ as __version__
    from .focus import FOCUS_COLUMNS as FOCUS_COLUMNS
    from .focus import FocusColumn as FocusColumn
    from .focus import FocusExportError as FocusExportError
    from .focus import FocusRows as FocusRows
    from .focus import FocusSummary as FocusSummary
    from .focus import ProjectDirectory as ProjectDirectory
    from .focus import focus_rows as focus_rows
    from .focus import write_focus as write_focus
    from .sync import SyncError as SyncError
    from .sync import SyncReport as SyncReport
    from .sync import sync as sync
else:
    from ._lazy import lazy_exports

    __all__, __getattr__, __dir__ = lazy_exports(__name__)
