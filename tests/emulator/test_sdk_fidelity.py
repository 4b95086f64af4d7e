"""The official ``openai`` SDK, as a client, accepts everything the emulator says.

Its admin usage methods call all twelve endpoints with the SDK's own query encoding
(``name[]=v``), and its pydantic models, with strict response validation on, must accept
every page. The raw JSON is also validated directly and checked for fields the models do not
declare: the emulator emits only shapes the official models know, and the two extra fields
the live API adds to cost rows (``organization_id``, ``organization_name``).
"""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import orjson
import pydantic
import pytest
from openai.types.admin.organization import (
    usage_audio_speeches_response,
    usage_audio_transcriptions_response,
    usage_code_interpreter_sessions_response,
    usage_completions_response,
    usage_costs_response,
    usage_decisions_response,
    usage_embeddings_response,
    usage_file_search_calls_response,
    usage_images_response,
    usage_moderations_response,
    usage_vector_stores_response,
    usage_web_search_calls_response,
)

import usage_async as ua
from usage_async.emulator import ORGANIZATION, Emulator

from .conftest import DAY, MIDNIGHT, NOW

RESPONSE_MODELS: dict[str, type[pydantic.BaseModel]] = {
    "audio_speeches": usage_audio_speeches_response.UsageAudioSpeechesResponse,
    "audio_transcriptions": usage_audio_transcriptions_response.UsageAudioTranscriptionsResponse,
    "code_interpreter_sessions": (
        usage_code_interpreter_sessions_response.UsageCodeInterpreterSessionsResponse
    ),
    "completions": usage_completions_response.UsageCompletionsResponse,
    "costs": usage_costs_response.UsageCostsResponse,
    "decisions": usage_decisions_response.UsageDecisionsResponse,
    "embeddings": usage_embeddings_response.UsageEmbeddingsResponse,
    "file_search_calls": usage_file_search_calls_response.UsageFileSearchCallsResponse,
    "images": usage_images_response.UsageImagesResponse,
    "moderations": usage_moderations_response.UsageModerationsResponse,
    "vector_stores": usage_vector_stores_response.UsageVectorStoresResponse,
    "web_search_calls": usage_web_search_calls_response.UsageWebSearchCallsResponse,
}

# Fields the live API sends that no spec or SDK model declares (the reference's "extra
# fields"); project names are not among them, they come from the directory.
LIVE_EXTRA_FIELDS = {"costs": {"organization_id", "organization_name"}}

# One filter value per filter that has rows in the emulated organization.
FILTER_EXAMPLES: dict[str, Any] = {
    "batch": False,
    "models": [
        "gpt-4o-mini-2024-07-18",
        "gpt-4o-2024-08-06",
        "text-embedding-3-small",
        "omni-moderation-latest",
        "gpt-4o-mini-tts",
        "whisper-1",
        "gpt-image-1",
    ],
    "sources": ["image.generation", "image.edit"],
    "sizes": ["1024x1024"],
    "context_levels": ["low", "medium"],
    "line_items": ["gpt-4o-mini-2024-07-18, input", "code interpreter sessions"],
}


def test_the_table_and_the_sdk_cover_the_same_twelve_endpoints() -> None:
    assert set(RESPONSE_MODELS) == set(ua.ENDPOINTS)
    assert all(
        hasattr(openai.resources.admin.organization.usage.AsyncUsage, n) for n in ua.ENDPOINTS
    )


@pytest.mark.parametrize("endpoint", sorted(ua.ENDPOINTS))
async def test_sdk_pages_through_every_endpoint_grouped_by_every_field(
    sdk: openai.AsyncOpenAI, emu: Emulator, endpoint: str
) -> None:
    spec = ua.ENDPOINTS[endpoint]
    method = getattr(sdk.admin.organization.usage, endpoint)
    response_model = RESPONSE_MODELS[endpoint]
    kwargs: dict[str, Any] = {
        "start_time": MIDNIGHT - 4 * DAY,
        "end_time": MIDNIGHT,
        "group_by": list(spec.group_by),
        "limit": 3,
    }
    if "project_ids" in spec.filter_names:
        kwargs["project_ids"] = [p.id for p in ORGANIZATION.projects]
    kwargs.update({f: FILTER_EXAMPLES[f] for f in spec.filter_names if f in FILTER_EXAMPLES})
    pages = []
    page = await method(**kwargs)
    pages.append(page)
    while page.has_more:
        assert page.next_page
        page = await method(**kwargs, page=page.next_page)
        pages.append(page)
    assert [type(p) for p in pages] == [response_model, response_model]
    assert sum(len(p.data) for p in pages) == 4
    assert pages[-1].next_page is None
    results = [r for p in pages for b in p.data for r in b.results]
    assert results, f"{endpoint}: no rows for four days"
    assert {r.object for r in results} == {spec.result_object}
    assert emu.stats.by_status == {200: len(pages)}


@pytest.mark.parametrize("endpoint", sorted(ua.ENDPOINTS))
async def test_raw_pages_validate_and_hold_only_fields_the_sdk_models_declare(
    emu: Emulator, endpoint: str
) -> None:
    spec = ua.ENDPOINTS[endpoint]
    response_model = RESPONSE_MODELS[endpoint]
    async with httpx2.AsyncClient() as http:
        reply = await http.get(
            emu.base_url + spec.path,
            params=[
                ("start_time", str(NOW - 3 * DAY)),
                ("bucket_width", "1h" if not spec.whole_days else "1d"),
                *(("group_by[]", g) for g in spec.group_by),
            ],
            headers={"Authorization": f"Bearer {emu.api_key}"},
        )
    assert reply.status_code == 200
    raw = orjson.loads(reply.content)
    page = response_model.model_validate(raw, strict=False)
    assert set(raw) <= set(response_model.model_fields)
    bucket_model = response_model.model_fields["data"].annotation.__args__[0]  # type: ignore[union-attr]
    for bucket in raw["data"]:
        assert set(bucket) <= set(bucket_model.model_fields)
    rows = [r for b in raw["data"] for r in b["results"]]
    assert rows
    result_model = type(page.data[-1].results[0]) if page.data[-1].results else None
    result_model = result_model or type(next(r for b in page.data for r in b.results))
    extras = LIVE_EXTRA_FIELDS.get(endpoint, set())
    for row in rows:
        declared = set(result_model.model_fields) | extras
        assert set(row) <= declared, set(row) - declared
        assert extras <= set(row), "every row carries the live API's extra fields"
        if endpoint == "costs":
            assert isinstance(row["amount"]["value"], float | int)
            assert row["amount"]["currency"] == "usd"
            assert (row["organization_id"], row["organization_name"]) == (
                ORGANIZATION.id,
                ORGANIZATION.name,
            )


async def test_sdk_query_encoding_is_the_one_the_emulator_documents(
    sdk: openai.AsyncOpenAI,
) -> None:
    raw = await sdk.admin.organization.usage.with_raw_response.completions(
        start_time=MIDNIGHT - DAY, group_by=["model", "project_id"], batch=True, models=["a"]
    )
    query = raw.http_request.url.query.decode()
    assert "group_by%5B%5D=model&group_by%5B%5D=project_id" in query
    assert "models%5B%5D=a" in query
    assert "batch=true" in query
    assert raw.http_response.status_code == 200


async def test_sdk_sees_the_emulators_400_as_its_bad_request_error(
    sdk: openai.AsyncOpenAI,
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.admin.organization.usage.costs(start_time=MIDNIGHT - DAY, limit=366)
    assert caught.value.status_code == 400
    assert caught.value.param == "limit"  # type: ignore[attr-defined]
    assert caught.value.request_id
    assert caught.value.request_id.startswith("req_")


async def test_sdk_with_a_wrong_key_gets_its_authentication_error(emu: Emulator) -> None:
    async with openai.AsyncOpenAI(
        admin_api_key="sk-admin-wrong", api_key="x", base_url=emu.base_url, max_retries=0
    ) as client:
        with pytest.raises(openai.AuthenticationError):
            await client.admin.organization.usage.completions(start_time=MIDNIGHT - DAY)
