"""The test's Grafana SQL expander does what Grafana does: its macros checked against the
cases of Grafana's own macro tests (``macros_test.go``), its variables against the
PostgreSQL data source's formatting, and both in Grafana's order."""

from __future__ import annotations

import datetime as dt

import pytest

from .grafana_sql import (
    ALL,
    Selection,
    TimeRange,
    expand,
    expand_macros,
    expand_variables,
    rfc3339,
    variable_names,
)

FROM = dt.datetime(2018, 4, 12, 18, 0, tzinfo=dt.UTC)
FIVE_MINUTES = TimeRange(FROM, FROM + dt.timedelta(minutes=5))


@pytest.mark.parametrize(
    ("sql", "expanded"),
    [
        ("select $__time(time_column)", 'select time_column AS "time"'),
        ("select min($__time(time_column))", 'select min(time_column AS "time")'),
        (
            "WHERE $__timeFilter(time_column)",
            "WHERE time_column BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z'",
        ),
        ("select $__timeFrom()", "select '2018-04-12T18:00:00Z'"),
        ("select $__timeTo()", "select '2018-04-12T18:05:00Z'"),
        (
            "SELECT $__timeGroup(time_column,'5m'), value",
            'SELECT floor(extract(epoch from time_column)/300)*300 AS "time", value',
        ),
        (
            "SELECT $__timeGroup(time_column,'5m') as time, value",
            "SELECT floor(extract(epoch from time_column)/300)*300 as time, value",
        ),
        (
            "SELECT $__timeGroup(time_column,'5m')",
            "SELECT floor(extract(epoch from time_column)/300)*300",
        ),
        (
            "$__timeGroupAlias(time_column , '5m')",
            'floor(extract(epoch from time_column)/300)*300 AS "time"',
        ),
        ("select $__unixEpochFilter(time)", "select time >= 1523556000 AND time <= 1523556300"),
        (
            "SELECT $__unixEpochGroupAlias(time_column+time_adjustment,'5m')",
            'SELECT floor((time_column+time_adjustment)/300)*300 AS "time"',
        ),
        ("select $__unixEpochFrom(), $__unixEpochTo()", "select 1523556000, 1523556300"),
    ],
)
def test_macros_expand_as_in_grafanas_own_tests(sql: str, expanded: str) -> None:
    assert expand_macros(sql, FIVE_MINUTES) == expanded


def test_times_are_rfc3339_with_nanoseconds_and_no_trailing_zeros() -> None:
    moment = dt.datetime(1960, 2, 1, 7, 0, 0, 500_000, tzinfo=dt.UTC)
    assert rfc3339(moment) == "1960-02-01T07:00:00.5Z"
    assert rfc3339(moment.replace(microsecond=0)) == "1960-02-01T07:00:00Z"
    tokyo = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    assert rfc3339(tokyo) == "2026-03-10T00:00:00Z"


def test_the_interval_macros_take_the_panels_interval() -> None:
    sql = "SELECT $__interval, $__interval_ms"
    assert expand_macros(sql, FIVE_MINUTES, dt.timedelta(minutes=10)) == "SELECT 10m, 600000"


def test_unknown_macros_and_unsupported_intervals_raise_rather_than_pass() -> None:
    with pytest.raises(ValueError, match="unknown macro"):
        expand_macros("SELECT $__nope(x)", FIVE_MINUTES)
    with pytest.raises(NotImplementedError):
        expand_macros("SELECT $__timeGroup(t, '1M')", FIVE_MINUTES)


MULTI = {"multi": True, "includeAll": True, "allValue": "'__all'"}


@pytest.mark.parametrize(
    ("sql", "variable", "values", "expanded"),
    [
        # A multi-value variable: each value quoted, ' doubled, comma-separated.
        ("x IN ($v)", MULTI, ["a", "o'b"], "x IN ('a','o''b')"),
        ("x IN (${v})", MULTI, ["a"], "x IN ('a')"),
        ("x IN ([[v]])", MULTI, ["a", "b"], "x IN ('a','b')"),
        ("x IN (${v:sqlstring})", MULTI, ["a", "o'b"], "x IN ('a','o''b')"),
        ("x = '${v:csv}'", MULTI, ["a", "b"], "x = 'a,b'"),
        # "All" with a custom all value: the value as it is, whatever the format.
        ("x IN ($v)", MULTI, [ALL], "x IN ('__all')"),
        ("x IN (${v:sqlstring})", MULTI, [ALL], "x IN ('__all')"),
        # A single-value variable: ' doubled, no quotes.
        ("x = '$v'", {"multi": False, "includeAll": False}, ["o'b"], "x = 'o''b'"),
    ],
)
def test_template_variables_are_formatted_as_grafanas_postgresql_data_source_does(
    sql: str, variable: dict[str, object], values: list[str], expanded: str
) -> None:
    assert expand_variables(sql, {"v": Selection.of(variable, values)}) == expanded


def test_all_without_a_custom_value_is_every_option() -> None:
    selection = Selection([ALL], options=("a", "b"))
    assert expand_variables("x IN ($v)", {"v": selection}) == "x IN ('a','b')"


def test_variables_come_first_and_leave_macros_and_unknown_names_to_the_server() -> None:
    sql = "WHERE $__timeFilter(t) AND s IN ($source) AND $other = 1 AND v = $__interval_ms"
    half = expand_variables(sql, {"source": Selection(["a"])})
    assert half == "WHERE $__timeFilter(t) AND s IN ('a') AND $other = 1 AND v = $__interval_ms"
    whole = expand(
        sql.replace(" AND v = $__interval_ms", ""), FIVE_MINUTES, {"source": Selection(["a"])}
    )
    assert whole == (
        "WHERE t BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z' "
        "AND s IN ('a') AND $other = 1"
    )
    assert variable_names(sql) == {"source", "other"}
