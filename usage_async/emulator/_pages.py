"""From a checked request to the bytes of a response page.

Bucket rules (the live API's, as far as it documents them):

* Usage buckets start exactly at ``start_time``, even mid-hour; costs buckets are whole UTC
  days (``start_time`` floored to midnight).
* The range ends at ``end_time``, clamped to "now"; without ``end_time`` it ends at "now".
  "Now" is the clock when a query's first page is answered; its cursors carry that instant,
  so every page of one walk sees the same range.
  The last bucket ends at ``min(start + k * width, end)``: a partial last bucket is returned,
  ending at the range's end (as the live API does for an open range).
* A range that ends before it starts (``start_time`` in the future) has no buckets.
* ``limit`` buckets per page; ``has_more`` and a ``next_page`` cursor when more remain.

With late data (``_late``) a page also depends on the instant it is answered as of, even for
a closed range, until that range's data is final. Rendered pages are kept in a bounded LRU
keyed by the canonical query, the cursor offset and that instant (for a closed range, never
later than when its data became final), so repeated identical requests return identical bytes
without recomputing, and a page still being revised is never served stale.

Layer: part of the emulator, a library over the core; never cli, sync or focus.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import orjson

from .._endpoints import ENDPOINTS, Endpoint
from .._time import DAY
from ._catalog import (
    FILTER_DIMENSIONS,
    METRICS,
    NANO,
    ORGANIZATION,
    WORKLOADS,
    CostLine,
    cost_lines,
)
from ._cursor import CursorCodec, Position
from ._data import DimValue, Plan, UsageSeries, draw, flow_sums, levels, make_plan
from ._late import PPM, LateData
from ._query import PageRequest
from ._spike import Spike

__all__ = ["PageMaker"]

Row = dict[str, Any]


@attrs.frozen
class _CostAtom:
    """One cost line of one usage workload, with its values of the costs dimensions."""

    line: CostLine
    endpoint: str
    workload: int
    dims: Mapping[str, DimValue]


def _result_fields(endpoint: Endpoint) -> tuple[str, ...]:
    return tuple(a.name for a in attrs.fields(endpoint.result_type))


RowMaker = Callable[[Sequence[int], Sequence[DimValue]], Row]


def _compile_row_maker(
    name: str, object_tag: str, metrics: Sequence[tuple[str, Sequence[int]]], dims: Sequence[str]
) -> RowMaker:
    """A function ``(quantities, dims) -> row dict`` specialised to one endpoint's fields.

    Rendering rows is most of the cost of a large page (a ``1m`` day grouped three ways is
    ~19,000 rows); one dict display with the sums spelled out runs about three times faster
    than generic loops. The source is built only from the endpoint table's field names.
    """
    entries = [f"'object': {object_tag!r}"]
    for field, parts in metrics:
        entries.append(f"{field!r}: " + " + ".join(f"q[{i}]" for i in parts))
    entries.extend(f"{dim!r}: d[{j}]" for j, dim in enumerate(dims))
    source = "def make_row(q, d):\n    return {" + ", ".join(entries) + "}\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<usage emulator rows: {name}>", "exec"), namespace)
    maker: RowMaker = namespace["make_row"]
    return maker


class _UsageLayout:
    """How one usage endpoint's rows are rendered: the result fields in the order of the
    library's result class, each metric a sum of measured quantities, then every dimension."""

    def __init__(self, endpoint: Endpoint, series: UsageSeries) -> None:
        measured = series.measured
        derived = METRICS[endpoint.name].derived
        fields = _result_fields(endpoint)
        self.dims = tuple(name for name in fields if name in endpoint.group_by)
        metrics = [
            (
                name,
                (measured.index(name),)
                if name in measured
                else tuple(measured.index(p) for p in derived[name]),
            )
            for name in fields
            if name not in endpoint.group_by
        ]
        self._make_row = _compile_row_maker(
            endpoint.name, endpoint.result_object, metrics, self.dims
        )

    def rows(
        self, vector: Sequence[int], width: int, groups: Sequence[tuple[DimValue, ...]]
    ) -> list[Row]:
        make_row = self._make_row
        out = []
        for g, dims in enumerate(groups):
            quantities = vector[g * width : (g + 1) * width]
            if any(quantities):
                out.append(make_row(quantities, dims))
        return out


class _PageCache:
    """A byte-bounded LRU of rendered pages."""

    def __init__(self, max_bytes: int) -> None:
        self._pages: OrderedDict[tuple[bytes, int, int], bytes] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes

    def get(self, key: tuple[bytes, int, int]) -> bytes | None:
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def put(self, key: tuple[bytes, int, int], page: bytes) -> None:
        if len(page) > self._max_bytes or key in self._pages:
            return
        self._pages[key] = page
        self._bytes += len(page)
        while self._bytes > self._max_bytes:
            _, dropped = self._pages.popitem(last=False)
            self._bytes -= len(dropped)


class PageMaker:
    """Everything one emulator computes from its seed: series, cursors, cached pages."""

    def __init__(
        self,
        seed: int,
        *,
        late: LateData | None = None,
        spike: Spike | None = None,
        cache_bytes: int = 64 * 2**20,
    ) -> None:
        self.series = {name: UsageSeries(name, seed, late=late, spike=spike) for name in WORKLOADS}
        self.cursors = CursorCodec(seed)
        self._late = late
        self._seed = seed
        self._layouts = {
            name: _UsageLayout(ENDPOINTS[name], series) for name, series in self.series.items()
        }
        self._cost_atoms = self._build_cost_atoms()
        self._costs_object = ENDPOINTS["costs"].result_object
        self._cache = _PageCache(cache_bytes)

    def _build_cost_atoms(self) -> tuple[_CostAtom, ...]:
        atoms = []
        for name, workloads in WORKLOADS.items():
            for number, workload in enumerate(workloads):
                for line in cost_lines(name, workload):
                    dims = workload.dims
                    atoms.append(
                        _CostAtom(
                            line=line,
                            endpoint=name,
                            workload=number,
                            dims={
                                "project_id": dims.get("project_id"),
                                "user_id": dims.get("user_id"),
                                "line_item": line.line_item,
                                "api_key_id": dims.get("api_key_id"),
                                "api_source": dims.get("api_source", "unlabeled"),
                            },
                        )
                    )
        return tuple(atoms)

    def render(self, request: PageRequest, now: float) -> tuple[bytes, bool]:
        """The response body for ``request`` at time ``now``, and whether it was cached.

        Raises ``WireError`` for a cursor that is invalid or belongs to another query.
        """
        digest = request.digest()
        if request.page is None:
            as_of = self._as_of(request, int(now))
            offset = 0
        else:
            offset, as_of = self.cursors.decode(request.page, digest)
        origin = request.origin
        end = as_of if request.end_time is None else min(request.end_time, as_of)
        width = request.width_seconds
        total = -(-(end - origin) // width) if end > origin else 0
        key = (digest, offset, as_of)
        cached = self._cache.get(key)
        if cached is not None:
            return cached, True
        first = min(offset, total)
        last = min(offset + request.limit, total)
        edges = [origin + i * width for i in range(first, last)]
        if edges:
            edges.append(min(origin + last * width, end))
        has_more = last < total
        page = {
            "object": "page",
            "data": self._buckets(request, edges, as_of),
            "has_more": has_more,
            "next_page": self.cursors.encode(digest, Position(last, as_of)) if has_more else None,
        }
        body = orjson.dumps(page)
        self._cache.put(key, body)
        return body, False

    def _as_of(self, request: PageRequest, now: int) -> int:
        """The instant a query is answered as of: ``now``, or the moment its range reads the
        same at any later instant if that is earlier. So a closed range's cursors, and its
        cached pages, stay the same over time once its data is final."""
        end = request.end_time
        if end is None:
            return now
        if self._late is not None:
            end = self._late.settled_at(end, whole_days=request.endpoint.whole_days)
        return min(end, now)

    def _buckets(self, request: PageRequest, edges: list[int], as_of: int) -> list[Row]:
        if not edges:
            return []
        filters: dict[str, tuple[DimValue, ...]] = {
            FILTER_DIMENSIONS[name]: (value,) if isinstance(value, bool) else value
            for name, value in request.filters
        }
        if request.endpoint.whole_days:
            results = self._cost_rows(request.group_by, filters, edges, as_of)
        else:
            results = self._usage_rows(request.endpoint, request.group_by, filters, edges, as_of)
        return [
            {"object": "bucket", "start_time": start, "end_time": end, "results": rows}
            for start, end, rows in zip(edges, edges[1:], results, strict=False)  # n+1 edges
        ]

    def _usage_rows(
        self,
        endpoint: Endpoint,
        group_by: tuple[str, ...],
        filters: Mapping[str, Sequence[DimValue]],
        edges: list[int],
        as_of: int,
    ) -> list[list[Row]]:
        series = self.series[endpoint.name]
        plan = make_plan([w.dims for w in series.workloads], group_by, filters)
        if series.gauge:
            vectors = levels(series, plan, edges)  # a level is measured, never revised
        else:
            vectors = flow_sums(series, plan, edges, as_of)
        layout = self._layouts[endpoint.name]
        # Each row carries every dimension: the grouped ones' values, null for the rest.
        position = {dim: i for i, dim in enumerate(group_by)}
        groups = [
            tuple(key[position[d]] if d in position else None for d in layout.dims)
            for key in plan.groups
        ]
        return [layout.rows(vector, series.width, groups) for vector in vectors]

    def _cost_rows(
        self,
        group_by: tuple[str, ...],
        filters: Mapping[str, Sequence[DimValue]],
        edges: list[int],
        as_of: int,
    ) -> list[list[Row]]:
        atoms = self._cost_atoms
        plan = make_plan([a.dims for a in atoms], group_by, filters)
        buckets = len(edges) - 1
        amounts = [[0] * len(plan.groups) for _ in range(buckets)]
        quantities = [[0] * len(plan.groups) for _ in range(buckets)]
        # Usage of each workload a kept line bills, per bucket, then priced line by line:
        # exact integers (nano-dollars), so grouping never changes a total.
        # Late costs: the share of each line's final quantity shown, per atom and bucket.
        shares = self._costs_shares(edges, as_of)
        by_endpoint: dict[str, list[tuple[int, _CostAtom, int]]] = {}
        for number, group in plan.members:
            atom = atoms[number]
            by_endpoint.setdefault(atom.endpoint, []).append((number, atom, group))
        for name, members in by_endpoint.items():
            series = self.series[name]
            needed = sorted({atom.workload for _, atom, _ in members})
            slot = {w: i for i, w in enumerate(needed)}
            identity = Plan(tuple((w, i) for i, w in enumerate(needed)), ((),) * len(needed))
            # Costs are priced from the final usage, on their own revision schedule.
            vectors = flow_sums(series, identity, edges)
            parts = {
                number: [series.measured.index(p) for p in atom.line.parts]
                for number, atom, _ in members
            }
            for b, vector in enumerate(vectors):
                for number, atom, group in members:
                    base = slot[atom.workload] * series.width
                    quantity = sum(vector[base + p] for p in parts[number])
                    if quantity and shares is not None:
                        quantity = quantity * shares(number, b) // PPM
                    if quantity:
                        line = atom.line
                        amounts[b][group] += quantity * line.price // line.price_per
                        quantities[b][group] += quantity
        return self._render_costs(group_by, plan, amounts, quantities)

    def _costs_shares(self, edges: Sequence[int], as_of: int) -> Callable[[int, int], int] | None:
        """``(atom, bucket) -> share`` (of ``PPM``) of the final quantity shown, with late
        data; ``None`` without."""
        late = self._late
        if late is None:
            return None
        days = [start // DAY for start in edges[:-1]]

        def share(atom: int, bucket: int) -> int:
            day = days[bucket]
            return late.costs_share(day, draw(self._seed, atom, day), as_of)

        return share

    def _render_costs(
        self,
        group_by: tuple[str, ...],
        plan: Plan,
        amounts: list[list[int]],
        quantities: list[list[int]],
    ) -> list[list[Row]]:
        # A quantity only means something for one line item (tokens and images do not add
        # up), so, as on the live API, it is shown only when grouping by line_item.
        lines = {a.line.line_item: a.line for a in self._cost_atoms}
        groups = [dict(zip(group_by, key, strict=True)) for key in plan.groups]
        shown_lines = [
            lines[str(dims["line_item"])] if "line_item" in dims else None for dims in groups
        ]
        out = []
        for bucket_amounts, bucket_quantities in zip(amounts, quantities, strict=True):
            rows = []
            for dims, line, amount, quantity in zip(
                groups, shown_lines, bucket_amounts, bucket_quantities, strict=True
            ):
                if not amount and not quantity:
                    continue
                rows.append(
                    {
                        "object": self._costs_object,
                        "amount": {"value": amount / NANO, "currency": "usd"},
                        "line_item": dims.get("line_item"),
                        "project_id": dims.get("project_id"),
                        "user_id": dims.get("user_id"),
                        "api_key_id": dims.get("api_key_id"),
                        "api_source": dims.get("api_source"),
                        "quantity": None if line is None else _quantity(quantity, line),
                        "quantity_unit": None if line is None else line.unit,
                        # Extra fields the live API sends on cost rows (no spec lists them).
                        # Project names are not among them here: they come from the directory.
                        "organization_id": ORGANIZATION.id,
                        "organization_name": ORGANIZATION.name,
                    }
                )
            out.append(rows)
        return out


def _quantity(quantity: int, line: CostLine) -> int | float:
    return quantity if line.shown_per == 1 else quantity / line.shown_per
