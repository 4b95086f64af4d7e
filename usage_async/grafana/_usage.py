"""The Usage dashboard: tokens and requests by model and project, images, audio, searches.

Tokens and requests read the view ``tokens_by_model_day`` (completions, the directory's
project names) and count the UTC days that start in the time range. The other endpoints
read their tables, bucket by bucket (``$__timeFilter(start_time)``), summed per UTC day
(``$__timeGroupAlias(start_time, '1d')``), each at the one bucket width its views read too:
the smallest its sync state names (a table synced at two widths would otherwise count twice).
"""

from __future__ import annotations

from ._catalog import Catalog
from ._costs import DAY_START
from ._panels import Panel, among

__all__ = ["MODEL_TABLES", "usage_panels"]

_VIEW = "tokens_by_model_day"
_VIEW_KEYS = ("day", "source", "project_id", "project_name", "model")
_TOKEN_SUMS = ("input_tokens", "output_tokens", "input_cached_tokens", "num_model_requests")

MODEL_TABLES = (
    "completions",
    "embeddings",
    "images",
    "audio_speeches",
    "audio_transcriptions",
    "web_search_calls",
)
"""The tables whose usage the ``$model`` variable narrows (each has a ``model`` column)."""


def _view_filter() -> str:
    return (
        f"$__timeFilter({DAY_START})\n"
        f"  AND {among('source', 'source')}\n"
        f"  AND {among('project', 'project_id')}\n"
        f"  AND {among('model', 'model')}"
    )


def _token_stats(catalog: Catalog) -> list[Panel]:
    view = catalog.table(_VIEW)
    stats = (
        ("Input tokens", "input_tokens", "Input tokens of completions, cached ones included."),
        ("Output tokens", "output_tokens", "Output tokens of completions."),
        ("Cached input tokens", "input_cached_tokens", "Input tokens read from the cache."),
        ("Requests", "num_model_requests", "Requests to completions models."),
    )
    return [
        Panel(
            title=title,
            kind="stat",
            description=f"{meaning} UTC days that start in the time range.",
            sql=f"""SELECT COALESCE(SUM({column}), 0) AS "{title.lower()}"
FROM {view}
WHERE {_view_filter()}""",
            needs={_VIEW: (*_VIEW_KEYS, column)},
            width=6,
            height=4,
        )
        for title, column, meaning in stats
    ]


def _token_charts(catalog: Catalog) -> list[Panel]:
    view = catalog.table(_VIEW)
    tokens = Panel(
        title="Tokens per day by model",
        kind="timeseries",
        description="Input and output tokens of completions per UTC day, stacked by model.",
        sql=f"""SELECT {DAY_START} AS "time",
  COALESCE(model, '(no model)') AS metric,
  SUM(COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0)) AS tokens
FROM {view}
WHERE {_view_filter()}
GROUP BY 1, 2
ORDER BY 1, 2""",
        needs={_VIEW: (*_VIEW_KEYS, "input_tokens", "output_tokens")},
        height=9,
    )
    requests = Panel(
        title="Requests per day by model",
        kind="timeseries",
        description="Requests to completions models per UTC day, stacked by model.",
        sql=f"""SELECT {DAY_START} AS "time",
  COALESCE(model, '(no model)') AS metric,
  SUM(num_model_requests) AS requests
FROM {view}
WHERE {_view_filter()}
GROUP BY 1, 2
ORDER BY 1, 2""",
        needs={_VIEW: (*_VIEW_KEYS, "num_model_requests")},
        height=9,
    )
    return [tokens, requests]


_TOKEN_SUMS_SQL = """SUM(input_tokens) AS "input tokens",
  SUM(output_tokens) AS "output tokens",
  SUM(input_cached_tokens) AS "cached input tokens",
  SUM(num_model_requests) AS "requests\""""


def _token_table(catalog: Catalog, per: str, shown: str, grouped: str) -> Panel:
    """The completions of the time range in a table, a row ``per`` project or model
    (``shown`` as its first column, grouped by ``grouped``), most input tokens first."""
    return Panel(
        title=f"Tokens and requests by {per}",
        kind="table",
        description=f"Completions in the time range, per {per}, most input tokens first.",
        sql=f"""SELECT {shown} AS "{per}",
  {_TOKEN_SUMS_SQL}
FROM {catalog.table(_VIEW)}
WHERE {_view_filter()}
GROUP BY {grouped}
ORDER BY "input tokens" DESC NULLS LAST, 1""",
        needs={_VIEW: (*_VIEW_KEYS, *_TOKEN_SUMS)},
        height=9,
    )


def _token_tables(catalog: Catalog) -> list[Panel]:
    return [
        _token_table(
            catalog,
            "project",
            "COALESCE(project_name, project_id, '(no project)')",
            "project_id, project_name",
        ),
        _token_table(catalog, "model", "COALESCE(model, '(no model)')", "model"),
    ]


def _per_day_from_table(
    catalog: Catalog, endpoint: str, title: str, value: str, series: str, unit: str = "short"
) -> Panel:
    """A chart of one table's ``value`` per UTC day, stacked by the column ``series``."""
    table = catalog.table(endpoint)
    narrowed = [among("source", "t.source"), among("project", "t.project_id")]
    if series == "model":
        narrowed.append(among("model", "t.model"))
    conditions = "\n  AND ".join(narrowed)
    return Panel(
        title=title,
        kind="timeseries",
        description=f"{endpoint}.{value} per UTC day, stacked by {series}.",
        sql=f"""SELECT $__timeGroupAlias(t.start_time, '1d'),
  COALESCE(t.{series}, '(no {series.replace("_", " ")})') AS metric,
  SUM(t.{value}) AS {value}
FROM {table} t
WHERE $__timeFilter(t.start_time)
  AND t.bucket_width = (SELECT MIN(s.bucket_width) FROM {catalog.table("sync_state")} s
    WHERE s.endpoint = '{endpoint}')
  AND {conditions}
GROUP BY 1, 2
ORDER BY 1, 2""",
        needs={
            endpoint: ("source", "bucket_width", "start_time", "project_id", series, value),
            "sync_state": ("endpoint", "bucket_width"),
        },
        unit=unit,
        height=9,
    )


def usage_panels(catalog: Catalog) -> list[Panel]:
    """The Usage dashboard's panels, in the order they are laid out."""
    return [
        *_token_stats(catalog),
        *_token_charts(catalog),
        *_token_tables(catalog),
        _per_day_from_table(
            catalog, "embeddings", "Embedding tokens per day by model", "input_tokens", "model"
        ),
        _per_day_from_table(catalog, "images", "Images per day by model", "images", "model"),
        _per_day_from_table(
            catalog, "audio_speeches", "Speech characters per day by model", "characters", "model"
        ),
        _per_day_from_table(
            catalog,
            "audio_transcriptions",
            "Transcribed audio per day by model",
            "seconds",
            "model",
            unit="s",
        ),
        _per_day_from_table(
            catalog, "web_search_calls", "Web searches per day by model", "num_requests", "model"
        ),
        _per_day_from_table(
            catalog,
            "file_search_calls",
            "File searches per day by vector store",
            "num_requests",
            "vector_store_id",
        ),
    ]
