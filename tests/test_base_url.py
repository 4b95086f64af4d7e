"""The base-URL rules: which URL a 404 was likely meant for."""

from __future__ import annotations

import pytest

from usage_async._base_url import with_version


@pytest.mark.parametrize(
    ("url", "meant"),
    [
        ("http://127.0.0.1:18089", "http://127.0.0.1:18089/v1"),
        ("http://127.0.0.1:18089/", "http://127.0.0.1:18089/v1"),
        ("https://gateway.example/openai", "https://gateway.example/openai/v1"),
        ("https://api.openai.com/v1", None),
        ("https://gateway.example/openai/v2/", None),
    ],
)
def test_a_base_url_naming_no_api_version_is_meant_with_v1(url: str, meant: str | None) -> None:
    assert with_version(url) == meant
