"""Reading a chargeback report's data from the API: the text report's queries and who spent.

``collect`` sends the queries of ``usage-async report`` (``report_params``: every endpoint
in daily buckets from UTC midnight of the start day, grouped by model, project and line
item where the endpoint has them), so the HTML and the text report show the same period
and the same numbers, and two more costs queries beside them: costs by user and costs by
API key. All run at once (``fan_out``, within the client's in-flight cap), with the
directory read beside them for names.

The API refuses costs grouped by ``api_key_id`` for ranges that start before 2025-12-06
(``Endpoint.group_by_since``): the keys' costs are read from that day on
only, and ``Chargeback.api_keys_from`` says so; the report shows the days before it as
costs the API does not attribute to keys (their amount is known from the main costs).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any

import attrs

from .._client import UsageClient
from .._concurrency import fan_out
from .._directory import PARTS, Directory
from .._endpoints import ENDPOINTS, REVISION_WINDOW, Endpoint
from .._exceptions import APIError, InvalidParameterError
from .._models import Bucket, Page
from .._rows import Totals
from .._time import DAY, floor_to
from ._model import Chargeback, CostCell, EndpointUsage, RankedCost

__all__ = [
    "API_KEYS",
    "NAME_PARTS",
    "REPORT_GROUPS",
    "REPORT_WIDTH",
    "USERS",
    "collect",
    "report_params",
]

logger = logging.getLogger("usage_async")

REPORT_WIDTH = "1d"
REPORT_GROUPS = ("model", "project_id", "line_item")
"""The fields the report totals by; each endpoint is grouped by those it has."""

USERS = "costs by user"
API_KEYS = "costs by API key"
"""The keys of the two costs queries beside the text report's (as ``FanOutError.key``)."""

NAME_PARTS = ("projects", "users", "api_keys")
"""The parts of the directory ``names=True`` reads: names for projects, users and keys."""

_NO_NAME = {"project_id": "(no project)", "user_id": "(no user)", "api_key_id": "(no API key)"}


def report_params(start: int, end: int) -> dict[str, dict[str, Any]]:
    """The parameters of every endpoint's query for the report of ``[start, end)``.

    These are the text report's queries: daily buckets from UTC midnight of ``start``'s day
    (costs buckets are whole UTC days; usage is aligned with them so every section covers
    the same days), whole pages, grouped by the ``REPORT_GROUPS`` the endpoint has. Pass
    each to ``client.stream(name, **params)``.
    """
    start = floor_to(start, DAY)
    return {
        name: _params(endpoint, start, end, REPORT_GROUPS) for name, endpoint in ENDPOINTS.items()
    }


def _params(endpoint: Endpoint, start: int, end: int, fields: Collection[str]) -> dict[str, Any]:
    groups = [field for field in endpoint.group_by if field in fields]
    return {
        "start_time": start,
        "end_time": end,
        "bucket_width": REPORT_WIDTH,
        # Whole pages: the fewest requests for the period.
        "limit": endpoint.page_limit(REPORT_WIDTH).maximum,
        # In REPORT_GROUPS' order, as the text report sends them.
        "group_by": sorted(groups, key=list(fields).index) or None,
    }


def _attribution_params(start: int, end: int) -> dict[str, dict[str, Any]]:
    """The costs by user over the period, and by API key from the first day the API
    groups them so (none when the period ends before it)."""
    costs = ENDPOINTS["costs"]
    start = floor_to(start, DAY)
    params = {USERS: _params(costs, start, end, ["user_id"])}
    keys_from = max(start, costs.group_by_since["api_key_id"])
    if keys_from < end:
        params[API_KEYS] = _params(costs, keys_from, end, ["api_key_id"])
    return params


@attrs.define
class _UsageTally:
    overall: Totals = attrs.field(factory=Totals)
    by_model: Totals = attrs.field(factory=lambda: Totals(["model"]))
    by_project: Totals = attrs.field(factory=lambda: Totals(["project_id"]))

    def add(self, bucket: Bucket[Any], group_by: tuple[str, ...]) -> None:
        self.overall.add(bucket)
        if "model" in group_by:
            self.by_model.add(bucket)
        if "project_id" in group_by:
            self.by_project.add(bucket)


@attrs.define
class _Tally:
    """Everything the pages of the report's queries add up to, as they arrive."""

    group_by: Mapping[str, tuple[str, ...]]
    days: list[int] = attrs.field(factory=list)
    cells: list[CostCell] = attrs.field(factory=list)
    usage: dict[str, _UsageTally] = attrs.field(factory=dict)
    users: Totals = attrs.field(factory=lambda: Totals(["user_id"]))
    api_keys: Totals = attrs.field(factory=lambda: Totals(["api_key_id"]))
    # Names the costs rows carry themselves (the live API sends some).
    row_project_names: dict[str, str] = attrs.field(factory=dict)
    organization: str | None = None

    def __attrs_post_init__(self) -> None:
        # Every usage endpoint is in the report, those without usage too.
        for key in self.group_by:
            if key in ENDPOINTS and key != "costs":
                self.usage[key] = _UsageTally()

    def add(self, key: str, page: Page[Any]) -> None:
        for bucket in page.data:
            if key == "costs":
                self._add_costs(bucket)
            elif key == USERS:
                self.users.add(bucket)
            elif key == API_KEYS:
                self.api_keys.add(bucket)
            else:
                self.usage[key].add(bucket, self.group_by[key])

    def _add_costs(self, bucket: Bucket[Any]) -> None:
        self.days.append(bucket.start_time)
        one = Totals(["project_id", "line_item"])
        one.add(bucket)
        for (project_id, line_item, currency), sums in one.result().items():
            amount = sums.get("amount")
            if amount is not None:
                cell = CostCell(bucket.start_time, project_id, line_item, currency, Decimal(amount))
                self.cells.append(cell)
        for result in bucket.results:
            if result.project_id is not None and result.project_name:
                self.row_project_names[result.project_id] = result.project_name
            if self.organization is None and result.organization_name:
                self.organization = result.organization_name


async def collect(
    client: UsageClient,
    start: int,
    end: int,
    *,
    names: bool | Collection[str] = True,
    attribution: bool = True,
    on_page: Callable[[str, Page[Any]], object] | None = None,
) -> Chargeback:
    """The chargeback report of ``[start, end)`` (Unix seconds), read through ``client``.

    The period starts at UTC midnight of ``start``'s day, as the text report's does
    (``report_params``). ``names=True`` reads the projects, users and API keys of the
    directory (``NAME_PARTS``) beside the usage to name them; a collection of parts reads
    only those (``("projects",)``: one request per hundred projects, where API keys take one
    per project); ``False`` reads none and shows IDs. A directory that cannot be read leaves
    IDs and a warning in ``Chargeback.warnings``. ``attribution=False`` leaves out the costs
    by user and by API key (two queries the text report does without). ``on_page(key,
    page)`` is called with each page as it arrives (``key``: the endpoint, ``USERS`` or
    ``API_KEYS``), for a progress bar. ``client`` is borrowed: it stays open.

    Raises ``InvalidParameterError`` before any request for a period the API would refuse
    (an end before the start), and ``FanOutError`` (with the query's key and the
    ``APIError``) when a query fails.
    """
    queries = report_params(start, end)
    if attribution:
        queries.update(_attribution_params(start, end))
    streams = {
        key: client.stream("costs" if key in (USERS, API_KEYS) else key, **params)
        for key, params in queries.items()
    }
    tally = _Tally({key: stream.query.group_by for key, stream in streams.items()})
    parts = _parts(names)
    lookup = asyncio.ensure_future(_directory(client, parts)) if parts else None
    try:
        pages = {key: stream.pages() for key, stream in streams.items()}
        async with fan_out(pages, concurrency=client.max_in_flight) as fan:
            async for key, page in fan:
                tally.add(key, page)
                if on_page is not None:
                    on_page(key, page)
        directory, warnings = await lookup if lookup is not None else (Directory(), ())
    finally:
        if lookup is not None:
            # Awaited in every case, so that a failure nobody waited for is not logged.
            lookup.cancel()
            await asyncio.gather(lookup, return_exceptions=True)
    server_time = streams["costs"].server_time
    return _chargeback(
        tally,
        directory,
        warnings,
        named=bool(parts),
        attributed=attribution,
        start=floor_to(start, DAY),
        end=end,
        server_time=server_time if server_time is not None else int(time.time()),
        keys_from=streams[API_KEYS].query.start_time if API_KEYS in streams else None,
    )


def _parts(names: bool | Collection[str]) -> tuple[str, ...]:
    if names is True:
        return NAME_PARTS
    if names is False:
        return ()
    if isinstance(names, str) or not set(names) <= set(PARTS):
        raise InvalidParameterError(
            f"names must be True, False or some of {', '.join(PARTS)}; got {names!r}",
            param="names",
        )
    return tuple(names)


async def _directory(
    client: UsageClient, parts: Collection[str]
) -> tuple[Directory, tuple[str, ...]]:
    """The directory's ``parts``, or an empty one and why, when it cannot be read."""
    try:
        directory = await client.directory(parts=parts)
    except APIError as exc:
        warning = f"cannot read names from the directory, showing IDs: {exc}"
        logger.warning("%s", warning)
        return Directory(), (warning,)
    return directory, directory.warnings


def _chargeback(
    tally: _Tally,
    directory: Directory,
    warnings: tuple[str, ...],
    *,
    named: bool,
    attributed: bool,
    start: int,
    end: int,
    server_time: int,
    keys_from: int | None,
) -> Chargeback:
    project_ids = {cell.project_id for cell in tally.cells}
    # Names the costs rows carry stand in for projects the directory does not list (removed
    # since); none are used when no names were asked for.
    fallback = tally.row_project_names if named else {}
    project_names = {**fallback, **_known(directory.projects, "name")}
    return Chargeback(
        start=start,
        end=end,
        server_time=server_time,
        provisional_from=floor_to(server_time - REVISION_WINDOW, DAY),
        days=tuple(sorted(set(tally.days))),
        costs=tuple(tally.cells),
        project_labels=_labels(project_ids, project_names, "project_id"),
        usage={name: _usage(name, usage) for name, usage in tally.usage.items()},
        users=_ranked(tally.users, _known(directory.users, "email"), "user_id")
        if attributed
        else None,
        api_keys=_ranked(tally.api_keys, _known(directory.api_keys, "name"), "api_key_id")
        if keys_from is not None
        else None,
        api_keys_from=keys_from,
        organization=tally.organization,
        warnings=warnings,
    )


def _known(records: Mapping[str, Any], attribute: str) -> dict[str, str]:
    """The names the directory's ``records`` carry, by ID (records without one left out)."""
    names = {ident: getattr(record, attribute) for ident, record in records.items()}
    return {ident: name for ident, name in names.items() if name}


def _labels(
    ids: Collection[str | None], names: Mapping[str, str], field: str
) -> dict[str | None, str]:
    """How a table shows each ID: its name; the ID where the name is unknown; ``name (ID)``
    where another ID has the same name (the text report's rule)."""
    seen: dict[str, int] = {}
    for known in names.values():
        seen[known] = seen.get(known, 0) + 1
    labels: dict[str | None, str] = {}
    for ident in ids:
        if ident is None:
            labels[ident] = _NO_NAME[field]
            continue
        name = names.get(ident)
        if name is None:
            labels[ident] = ident
        else:
            labels[ident] = f"{name} ({ident})" if seen[name] > 1 else name
    return labels


def _ranked(totals: Totals, names: Mapping[str, str], field: str) -> tuple[RankedCost, ...]:
    sums = totals.result()
    labels = _labels([key[0] for key in sums], names, field)
    ranked = [
        RankedCost(ident, labels[ident], currency, Decimal(values["amount"]))
        for (ident, currency), values in sums.items()
        if "amount" in values
    ]
    return tuple(sorted(ranked, key=lambda cost: cost.amount, reverse=True))


def _usage(name: str, tally: _UsageTally) -> EndpointUsage:
    endpoint = ENDPOINTS[name]
    metrics = tuple(
        f.name for f in attrs.fields(endpoint.result_type) if f.default is attrs.NOTHING
    )
    return EndpointUsage(
        name=name,
        metrics=metrics,
        levels=endpoint.level_metrics,
        totals=tally.overall.result().get((), {}),
        by_model={key[0]: sums for key, sums in tally.by_model.result().items()},
        by_project={key[0]: sums for key, sums in tally.by_project.result().items()},
    )
