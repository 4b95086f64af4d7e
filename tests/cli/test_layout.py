"""The command line's layout: what it imports to parse, and where its words come from."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import usage_async as ua

from .conftest import Result

Cli = Callable[..., Result]


@pytest.mark.parametrize("endpoint", list(ua.ENDPOINTS.values()), ids=lambda e: e.name)
def test_each_endpoint_summary_is_the_first_line_of_its_client_method(
    endpoint: ua.Endpoint,
) -> None:
    # The command's help shows the table's summary, the library's reference the method's
    # docstring: a summary changed in one place only would tell two stories.
    method_doc = getattr(ua.UsageClient, endpoint.name).__doc__ or ""
    assert method_doc.splitlines()[0] == endpoint.summary


def test_an_endpoint_command_help_shows_its_summary_without_markup(cli: Cli) -> None:
    result = cli("costs", "--help")
    assert result.code == 0
    assert "Costs per daily bucket (amount as an exact Decimal)." in result.out
