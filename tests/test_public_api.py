"""The package root is the contract: its export list and its exception tree."""

from __future__ import annotations

import re
from pathlib import Path

import usage_async as ua


def test_the_export_list_is_sorted_complete_and_importable() -> None:
    assert ua.__all__ == sorted(ua.__all__, key=lambda n: (not n.isupper(), n))
    for name in ua.__all__:
        assert hasattr(ua, name), name
    for name in (
        "UsageClient",
        "BucketStream",
        "Bucket",
        "Page",
        "Amount",
        "UnknownResult",
        "fan_out",
        "rows",
        "totals",
        "CompletionsResult",
        "DecisionsResult",
        "EmbeddingsResult",
        "ModerationsResult",
        "ImagesResult",
        "AudioSpeechesResult",
        "AudioTranscriptionsResult",
        "VectorStoresResult",
        "CodeInterpreterSessionsResult",
        "FileSearchesResult",
        "WebSearchesResult",
        "CostsResult",
        "focus_rows",
        "write_focus",
        "FocusRows",
        "FocusSummary",
        "FocusColumn",
        "FOCUS_COLUMNS",
        "ProjectDirectory",
        "FocusExportError",
        "Directory",
        "ListStream",
        "Project",
        "User",
        "ProjectApiKey",
        "KeyOwner",
        "ServiceAccount",
        "LIST_ENDPOINTS",
        "FanOut",
        "ListEndpoint",
        "Names",
        "row_dicts",
        "row_fields",
        "SyncError",
        "SyncReport",
        "sync",
    ):
        assert name in ua.__all__, name
    # Every name reached lazily is exported, and every name the README uses as ua.<name>.
    assert set(ua._MODULE_OF) == set(ua.__all__)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert set(re.findall(r"\bua\.(\w+)", readme)) <= set(ua.__all__)


def test_the_exception_tree_is_the_documented_one() -> None:
    expected = {
        ua.InvalidParameterError: (ua.UsageError, ValueError),
        ua.APIError: (ua.UsageError,),
        ua.APIStatusError: (ua.APIError,),
        ua.BadRequestError: (ua.APIStatusError,),
        ua.AuthenticationError: (ua.APIStatusError,),
        ua.PermissionDeniedError: (ua.APIStatusError,),
        ua.NotFoundError: (ua.APIStatusError,),
        ua.RateLimitError: (ua.APIStatusError,),
        ua.InternalServerError: (ua.APIStatusError,),
        ua.APIConnectionError: (ua.APIError,),
        ua.APITimeoutError: (ua.APIConnectionError,),
        ua.DecodeError: (ua.APIError,),
        ua.PaginationError: (ua.APIError,),
        ua.ClientClosedError: (ua.UsageError,),
        ua.FanOutError: (ua.UsageError,),
    }
    for cls, parents in expected.items():
        for parent in parents:
            assert issubclass(cls, parent), (cls, parent)
    doc = ua._exceptions.__doc__ or ""
    for cls in expected:
        assert cls.__name__ in doc, f"{cls.__name__} missing from the drawn tree"


def test_every_api_error_carries_a_request_id() -> None:
    err = ua.RateLimitError("slow", status_code=429, request_id="req_1", retry_after=2.0)
    assert (err.request_id, err.retry_after, err.status_code) == ("req_1", 2.0, 429)
    assert ua.DecodeError("bad", request_id="req_2").request_id == "req_2"
    assert "req_2" in str(ua.DecodeError("bad", request_id="req_2"))
