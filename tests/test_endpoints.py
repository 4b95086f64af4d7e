"""The endpoint table agrees with the reference, with our TypedDicts and with the official SDK."""

from __future__ import annotations

import importlib
import typing

import pytest

import usage_async as ua
from usage_async._endpoints import PARAMS_BY_ENDPOINT

COMMON = {"start_time", "end_time", "bucket_width", "limit", "page", "group_by"}


def test_there_are_exactly_the_twelve_endpoints_with_their_wire_objects() -> None:
    assert sorted(ua.ENDPOINTS) == [
        "audio_speeches",
        "audio_transcriptions",
        "code_interpreter_sessions",
        "completions",
        "costs",
        "decisions",
        "embeddings",
        "file_search_calls",
        "images",
        "moderations",
        "vector_stores",
        "web_search_calls",
    ]
    assert ua.ENDPOINTS["costs"].path == "/organization/costs"
    assert ua.ENDPOINTS["costs"].bucket_widths == ("1d",)
    assert (
        ua.ENDPOINTS["file_search_calls"].result_object == "organization.usage.file_searches.result"
    )
    for name, endpoint in ua.ENDPOINTS.items():
        if name != "costs":
            assert endpoint.path == f"/organization/usage/{name}"
            assert {w: (lim.default, lim.maximum) for w, lim in endpoint.limits.items()} == {
                "1d": (7, 31),
                "1h": (24, 168),
                "1m": (60, 1440),
            }


@pytest.mark.parametrize("name", sorted(ua.ENDPOINTS))
def test_typed_params_match_the_table(name: str) -> None:
    endpoint = ua.ENDPOINTS[name]
    hints = typing.get_type_hints(PARAMS_BY_ENDPOINT[name])
    assert set(hints) == COMMON | {"concurrency"} | set(endpoint.filter_names)
    group_by_literals = {
        arg
        for part in typing.get_args(hints["group_by"])
        for arg in (typing.get_args(part) or (part,))
        for arg in (typing.get_args(arg) or (arg,))
        if isinstance(arg, str)
    }
    assert group_by_literals == set(endpoint.group_by)


def _sdk_params(name: str) -> dict[str, typing.Any]:
    module = importlib.import_module(f"openai.types.admin.organization.usage_{name}_params")
    cls = next(v for k, v in vars(module).items() if k.endswith("Params") and isinstance(v, type))
    return typing.get_type_hints(cls)


def _literals(tp: typing.Any) -> set[str]:
    out = set()
    for arg in typing.get_args(tp) or (tp,):
        if isinstance(arg, str):
            out.add(arg)
        else:
            out |= _literals(arg) if typing.get_args(arg) else set()
    return out


@pytest.mark.parametrize("name", sorted(ua.ENDPOINTS))
def test_table_matches_the_official_sdk_parameters(name: str) -> None:
    """Schema drift guard: the official SDK's params for this endpoint are exactly ours."""
    endpoint = ua.ENDPOINTS[name]
    sdk = _sdk_params(name)
    assert set(sdk) == COMMON | set(endpoint.filter_names)
    assert _literals(sdk["group_by"]) == set(endpoint.group_by)
    assert _literals(sdk["bucket_width"]) == set(endpoint.bucket_widths)
    for spec in endpoint.filters:
        if spec.choices:
            assert _literals(sdk[spec.name]) == set(spec.choices), spec.name


@pytest.mark.parametrize("name", sorted(ua.ENDPOINTS))
def test_result_fields_match_the_official_sdk_models(name: str) -> None:
    """Schema drift guard: every field the SDK's result model declares is one of ours."""
    import attrs

    module = importlib.import_module(f"openai.types.admin.organization.usage_{name}_response")
    cls = ua.ENDPOINTS[name].result_type
    sdk_models = [
        v
        for v in vars(module).values()
        if isinstance(v, type)
        and hasattr(v, "model_fields")
        and "object" in v.model_fields
        and typing.get_args(v.model_fields["object"].annotation) == (cls.object,)
    ]
    assert sdk_models, f"the SDK has no model for {cls.object}"
    ours = {f.name for f in attrs.fields(cls)} | {"object"}
    sdk_fields = set(sdk_models[0].model_fields)
    assert sdk_fields <= ours, sdk_fields - ours
