"""Per-result decoding cost: the choices behind usage_async._convert and _models, measured.

    python benchmarks/decode.py

Decodes one page of the walk's shape (168 buckets x 9 completions results, as orjson gives
them) with: our generated cattrs hooks (what the library ships), cattrs' own generated hooks,
our hooks over a frozen twin of the model, and the official SDK's pydantic model. Reports
microseconds per result, best of several repeats (the floor, not the noise).
"""

from __future__ import annotations

import timeit
import typing
from typing import Any

import attrs
import orjson
from cattrs.gen import make_dict_structure_fn
from cattrs.preconf.orjson import make_converter

import usage_async as ua
from usage_async._convert import _STRUCTURE, _generate_structure_fn


def sample_page() -> list[dict[str, Any]]:
    results = []
    for i in range(168 * 9):
        results.append(
            {
                "object": ua.CompletionsResult.object,
                "input_tokens": 1000 + i,
                "output_tokens": 200 + i,
                "num_model_requests": 3,
                "input_cached_tokens": 100,
                "input_uncached_tokens": 900 + i,
                "input_text_tokens": 900 + i,
                "output_text_tokens": 200 + i,
                "project_id": f"proj_{i % 5}",
                "user_id": f"user_{i % 9}",
                "api_key_id": None,
                "model": "gpt-4o-mini-2024-07-18",
                "batch": None,
                "service_tier": None,
                "api_source": None,
            }
        )
    parsed: list[dict[str, Any]] = orjson.loads(orjson.dumps(results))
    return parsed


def frozen_twin() -> type:
    hints = typing.get_type_hints(ua.CompletionsResult)
    fields = {
        f.name: attrs.field(type=hints[f.name], default=f.default)
        for f in attrs.fields(ua.CompletionsResult)
    }
    twin = attrs.make_class("FrozenCompletionsResult", fields, frozen=True, slots=True)
    twin.object = ua.CompletionsResult.object  # type: ignore[attr-defined]
    return twin


def per_result_us(label: str, decode_one: Any, rows: list[dict[str, Any]]) -> str:
    def run() -> None:
        for row in rows:
            decode_one(row)

    best = min(timeit.repeat(run, number=3, repeat=7)) / 3
    return f"| {label} | {best / len(rows) * 1e6:.2f} |"


def decode_table() -> str:
    """The per-result table, as Markdown."""
    from openai.types.admin.organization.usage_completions_response import (
        DataResultOrganizationUsageCompletionsResult as SdkResult,
    )

    rows = sample_page()
    cls = ua.CompletionsResult
    ours = _STRUCTURE[cls]  # what BucketDecoder calls
    plain = make_converter(forbid_extra_keys=False, detailed_validation=False)
    cattrs_own = make_dict_structure_fn(cls, plain, _cattrs_detailed_validation=False)
    twin = frozen_twin()
    ours_frozen = _generate_structure_fn(twin)
    lines = [
        "| decoder (24-field CompletionsResult) | us per result |",
        "|---|---:|",
        per_result_us(
            "usage-async: generated hook, slotted mutable attrs (shipped)",
            lambda r: ours(r, cls),
            rows,
        ),
        per_result_us("same hook, frozen attrs twin", lambda r: ours_frozen(r, twin), rows),
        per_result_us(
            "cattrs make_dict_structure_fn, no detailed validation",
            lambda r: cattrs_own(r, cls),
            rows,
        ),
        per_result_us("openai SDK pydantic model_validate", SdkResult.model_validate, rows),
        per_result_us("orjson dict walk, one field (the floor)", lambda r: r["input_tokens"], rows),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(decode_table())
