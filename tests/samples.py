"""Wire samples for tests: pages and results shaped as the live API sends them."""

from __future__ import annotations

from typing import Any

COMPLETIONS = "organization.usage.completions.result"


def completions_result(**fields: Any) -> dict[str, Any]:
    result = {
        "object": COMPLETIONS,
        "input_tokens": 1000,
        "output_tokens": 200,
        "num_model_requests": 5,
    }
    result.update(fields)
    return result


def bucket(
    start: int, results: list[dict[str, Any]] | None = None, width: int = 86400
) -> dict[str, Any]:
    return {
        "object": "bucket",
        "start_time": start,
        "end_time": start + width,
        "results": [completions_result()] if results is None else results,
    }


def page(
    buckets: list[dict[str, Any]], next_page: str | None = None, has_more: bool | None = None
) -> dict[str, Any]:
    return {
        "object": "page",
        "data": buckets,
        "has_more": next_page is not None if has_more is None else has_more,
        "next_page": next_page,
    }
