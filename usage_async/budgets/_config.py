"""``budgets.toml``: budgets, anomaly detection and where alerts go, read with ``tomllib``.

::

    [notify.team-slack]
    type = "slack"                 # a Slack incoming webhook
    url_env = "SLACK_WEBHOOK_URL"

    [notify.finops]
    type = "webhook"               # a JSON POST, signed
    url_env = "BUDGET_WEBHOOK_URL"
    secret_env = "BUDGET_WEBHOOK_SECRET"

    [[budget]]
    name = "alpha-monthly"
    amount = "500.00"              # exact decimal
    currency = "usd"
    period = "month"               # "month" or "day"
    project = "proj_alpha"         # optional: a project ID or its exact name
    line_item = "gpt-4o, input"    # optional
    source = "default"             # optional (sync --source)
    thresholds = [0.5, 0.8, 1.0]   # fractions of amount; default [0.8, 1.0]
    forecast = true                # also alert when the forecast crosses 1.0 (default true)
    notify = ["team-slack", "finops"]

    [anomaly]                      # optional
    notify = ["finops"]
    lookback_days = 28
    min_amount = "1.00"

Secrets come only from the environment: a ``url`` or ``secret`` (or anything like a key)
written into the file is refused, since configuration files get committed, copied and
shown. The variables are read when the file is loaded. Every error names the file, the line
and the key (``tomllib`` gives no line numbers, so the lines are found in the text here),
and nothing of a URL or a secret ever appears in a message or a ``repr``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs

__all__ = [
    "DEFAULT_THRESHOLDS",
    "AnomalyRule",
    "Budget",
    "BudgetConfig",
    "BudgetConfigError",
    "Receiver",
    "Where",
    "load_budgets",
]

DEFAULT_THRESHOLDS = (Decimal("0.8"), Decimal("1"))

Period = Literal["month", "day"]
ReceiverType = Literal["slack", "webhook"]


class BudgetConfigError(ValueError):
    """A budget configuration that cannot be used: the message names the file, the line and
    the key (``path``, ``line``, ``key``; ``None`` where there is none, as for a config made
    in Python). Raised before anything is read from the database or sent."""

    def __init__(
        self,
        problem: str,
        *,
        path: str | None = None,
        line: int | None = None,
        key: str | None = None,
        table: str | None = None,
    ) -> None:
        place = path or "budget config"
        if line is not None:
            place += f", line {line}"
        head = " ".join(p for p in (table, key) if p)
        super().__init__(f"{place}: {head}: {problem}" if head else f"{place}: {problem}")
        self.problem = problem
        self.path = path
        self.line = line
        self.key = key


@attrs.frozen
class Where:
    """Where a table of the file is: its path, its header's line, and each key's line, so an
    error found later (an unknown project, when the check runs) can still name them."""

    path: str | None = None
    table: str | None = None
    line: int | None = None
    lines: Mapping[str, int] = attrs.field(factory=dict)

    def error(self, key: str | None, problem: str) -> BudgetConfigError:
        """The error for ``key`` of this table (its line if it has one, else the table's)."""
        line = self.lines.get(key, self.line) if key is not None else self.line
        return BudgetConfigError(problem, path=self.path, line=line, key=key, table=self.table)


_NOWHERE = Where()


@attrs.frozen
class Receiver:
    """Where alerts go: a Slack incoming webhook, or a signed JSON webhook.

    ``url`` and ``secret`` never appear in a ``repr`` or a message; ``host`` is what is shown.
    """

    name: str
    type: ReceiverType
    url: str = attrs.field(repr=False)
    secret: str | None = attrs.field(default=None, repr=False)

    @property
    def host(self) -> str:
        """The URL's host name: all of the URL that a log line or an error shows."""
        return urlsplit(self.url).hostname or "?"


@attrs.frozen
class Budget:
    """One budget: ``amount`` of ``currency`` per ``period`` (UTC month or day) for a scope.

    ``project`` (an ID or its exact name), ``line_item`` and ``source`` narrow the scope;
    ``None`` project means the whole organization. ``thresholds`` are fractions of
    ``amount``; ``forecast`` also alerts when the period's forecast reaches the amount.
    ``notify`` names receivers of the config.
    """

    name: str
    amount: Decimal
    currency: str = "usd"
    period: Period = "month"
    project: str | None = None
    line_item: str | None = None
    source: str = "default"
    thresholds: tuple[Decimal, ...] = DEFAULT_THRESHOLDS
    forecast: bool = True
    notify: tuple[str, ...] = ()
    where: Where = attrs.field(default=_NOWHERE, eq=False, repr=False)


@attrs.frozen
class AnomalyRule:
    """The ``[anomaly]`` table: who hears of anomalies, the baseline's length in days, and
    the smallest day's cost of a line item that is judged at all."""

    notify: tuple[str, ...] = ()
    lookback_days: int = 28
    min_amount: Decimal = Decimal("1.00")
    where: Where = attrs.field(default=_NOWHERE, eq=False, repr=False)


@attrs.frozen
class BudgetConfig:
    """A whole ``budgets.toml`` (or the same made in Python).

    Raises ``BudgetConfigError`` if a budget names a receiver that is not there, or two
    budgets share a name.
    """

    budgets: tuple[Budget, ...] = ()
    receivers: Mapping[str, Receiver] = attrs.field(factory=dict)
    anomaly: AnomalyRule | None = None
    path: str | None = None

    def __attrs_post_init__(self) -> None:
        names: set[str] = set()
        for budget in self.budgets:
            if budget.name in names:
                raise budget.where.error("name", f"two budgets are named {budget.name!r}")
            names.add(budget.name)
            self._check_receivers(budget.notify, budget.where)
        if self.anomaly is not None:
            self._check_receivers(self.anomaly.notify, self.anomaly.where)

    def _check_receivers(self, names: Iterable[str], where: Where) -> None:
        for name in names:
            if name not in self.receivers:
                known = ", ".join(sorted(self.receivers)) or "none: add a [notify.NAME] table"
                raise where.error("notify", f"no receiver {name!r}; the receivers are {known}")


# --- Finding lines: tomllib gives none ---------------------------------------------------------

_NAME_PART = r'(?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_-]+)'
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_NAME_PART}(?:\s*\.\s*{_NAME_PART})*)\s*\]\]?")
_KEY = re.compile(rf"^\s*({_NAME_PART})\s*(?:\.\s*{_NAME_PART}\s*)*=")
_PART = re.compile(_NAME_PART)


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p.strip("\"'") for p in _PART.findall(dotted))


class _Lines:
    """The line of each table header and each key of a TOML text, by table and occurrence:
    ``("budget", 2)`` is the third ``[[budget]]``, ``("notify", "finops")`` a table."""

    def __init__(self, text: str) -> None:
        self.tables: dict[tuple[Any, ...], int] = {}
        self.keys: dict[tuple[Any, ...], dict[str, int]] = {(): {}}
        counts: dict[tuple[str, ...], int] = {}
        current: tuple[Any, ...] = ()
        quote: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if quote is not None:  # inside a multi-line string
                if line.count(quote) % 2:
                    quote = None
                continue
            header = _HEADER.match(line)
            if header:
                parts = _parts(header[2])
                if header[1] == "[[":
                    counts[parts] = counts.get(parts, -1) + 1
                    current = (*parts, counts[parts])
                else:
                    current = parts
                self.tables.setdefault(current, number)
                self.keys.setdefault(current, {})
                continue
            key = _KEY.match(line)
            if key:
                self.keys[current].setdefault(_parts(key[1])[0], number)
            for opener in ('"""', "'''"):
                if line.count(opener) % 2:
                    quote = opener

    def where(self, path: str, table: tuple[Any, ...], label: str) -> Where:
        return Where(path, label, self.tables.get(table), self.keys.get(table, {}))


# --- Reading values ----------------------------------------------------------------------------

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_KEYS = frozenset({"url", "secret", "token", "webhook", "webhook_url", "key", "password"})
_RECEIVER_KEYS = frozenset({"type", "url_env", "secret_env"})
_BUDGET_KEYS = frozenset(
    {
        "name",
        "amount",
        "currency",
        "period",
        "project",
        "line_item",
        "source",
        "thresholds",
        "forecast",
        "notify",
    }
)
_ANOMALY_KEYS = frozenset({"notify", "lookback_days", "min_amount"})
_TOP_KEYS = frozenset({"notify", "budget", "anomaly"})


def _check_keys(table: Mapping[str, Any], allowed: frozenset[str], where: Where) -> None:
    for key in table:
        if key.lower() in _SECRET_KEYS:
            raise where.error(
                key,
                f"is refused: a URL or a secret must not be written into the configuration "
                f"file; name an environment variable that holds it ({key}_env)"
                if key.lower() in ("url", "secret")
                else "is refused: secrets must not be written into the configuration file; "
                "name environment variables with url_env and secret_env",
            )
        if key not in allowed:
            raise where.error(key, f"unknown setting; expected {', '.join(sorted(allowed))}")


def _text(table: Mapping[str, Any], key: str, where: Where, default: str | None = None) -> Any:
    value = table.get(key, default)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise where.error(key, "must be a non-empty string")
    return value


def _money(value: Any, key: str, where: Where, *, positive: bool) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise where.error(key, 'must be an exact decimal amount such as "500.00"')
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise where.error(key, f'{value!r} is not a decimal amount such as "500.00"') from None
    if not amount.is_finite() or amount < 0 or (positive and amount == 0):
        raise where.error(key, f"must be {'above' if positive else 'at least'} 0")
    return amount


def _names(value: Any, key: str, where: Where) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise where.error(key, 'must be a list of names such as ["team-slack"]')
    return tuple(value)


def _thresholds(value: Any, where: Where) -> tuple[Decimal, ...]:
    if not isinstance(value, list) or not value:
        raise where.error("thresholds", "must be a non-empty list of fractions such as [0.8, 1.0]")
    out = set()
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | Decimal):
            raise where.error("thresholds", f"{item!r} is not a number; give fractions like 0.8")
        fraction = Decimal(item)
        if not 0 < fraction <= 10:
            raise where.error(
                "thresholds", f"{item} is not a fraction of the amount above 0 (1.0 is all of it)"
            )
        out.add(fraction.normalize())
    return tuple(sorted(out))


def _environment(
    table: Mapping[str, Any], key: str, where: Where, environ: Mapping[str, str]
) -> str | None:
    """The value of the variable ``table[key]`` names; never shown in a message."""
    name = table.get(key)
    if name is None:
        return None
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
        # The value is not quoted back: it may be the very secret that belongs elsewhere.
        raise where.error(
            key, "must be the name of an environment variable (letters, digits and _)"
        )
    value = environ.get(name, "").strip()
    if not value:
        raise where.error(key, f"the environment variable {name} is not set")
    return value


def _receiver(name: str, table: Any, where: Where, environ: Mapping[str, str]) -> Receiver:
    if not isinstance(table, dict):
        raise where.error(None, "must be a table")
    _check_keys(table, _RECEIVER_KEYS, where)
    kind = table.get("type")
    if kind not in ("slack", "webhook"):
        raise where.error("type", 'must be "slack" (an incoming webhook) or "webhook"')
    if "url_env" not in table:
        raise where.error(None, "has no url_env: name the variable that holds its URL")
    url = _environment(table, "url_env", where, environ)
    assert url is not None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise where.error("url_env", f"the variable {table['url_env']} holds no http(s) URL")
    secret = _environment(table, "secret_env", where, environ)
    if kind == "webhook" and secret is None:
        raise where.error(None, "has no secret_env: a webhook's requests are signed with it")
    if kind == "slack" and secret is not None:
        raise where.error("secret_env", "is for webhooks: Slack incoming webhooks are not signed")
    return Receiver(name, kind, url, secret)


def _budget(table: Any, where: Where) -> Budget:
    if not isinstance(table, dict):
        raise where.error(None, "must be a table")
    _check_keys(table, _BUDGET_KEYS, where)
    name = _text(table, "name", where)
    if name is None:
        raise where.error(None, "has no name")
    where = attrs.evolve(where, table=f"[[budget]] {name!r}")
    if "amount" not in table:
        raise where.error(None, 'has no amount: give one such as amount = "500.00"')
    period = table.get("period", "month")
    if period not in ("month", "day"):
        raise where.error("period", 'must be "month" or "day"')
    forecast = table.get("forecast", True)
    if not isinstance(forecast, bool):
        raise where.error("forecast", "must be true or false")
    return Budget(
        name=name,
        amount=_money(table["amount"], "amount", where, positive=True),
        currency=_text(table, "currency", where, "usd").lower(),
        period=period,
        project=_text(table, "project", where),
        line_item=_text(table, "line_item", where),
        source=_text(table, "source", where, "default"),
        thresholds=_thresholds(table["thresholds"], where)
        if "thresholds" in table
        else DEFAULT_THRESHOLDS,
        forecast=forecast,
        notify=_names(table.get("notify", []), "notify", where),
        where=where,
    )


def _anomaly(table: Any, where: Where) -> AnomalyRule:
    if not isinstance(table, dict):
        raise where.error(None, "must be a table")
    _check_keys(table, _ANOMALY_KEYS, where)
    lookback = table.get("lookback_days", 28)
    if isinstance(lookback, bool) or not isinstance(lookback, int) or not 7 <= lookback <= 366:
        raise where.error("lookback_days", "must be a whole number of days from 7 to 366")
    return AnomalyRule(
        notify=_names(table.get("notify", []), "notify", where),
        lookback_days=lookback,
        min_amount=_money(table.get("min_amount", "1.00"), "min_amount", where, positive=False),
        where=where,
    )


def load_budgets(path: str | Path, *, environ: Mapping[str, str] | None = None) -> BudgetConfig:
    """Read and check ``budgets.toml``; the receivers' URLs and secrets are read from the
    environment variables it names now (``environ``, default ``os.environ``).

    Raises ``BudgetConfigError`` naming the file, the line and the key of the first problem.
    """
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise BudgetConfigError(f"cannot be read: {reason}", path=where) from None
    try:
        # Floats as Decimal: 0.8 is the exact fraction written, never 0.8000000000000000444.
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise BudgetConfigError(
            f"is not valid TOML: {exc}", path=where, line=int(found[1]) if found else None
        ) from None
    lines = _Lines(text)
    top = lines.where(where, (), "")
    _check_keys(doc, _TOP_KEYS, top)
    env = os.environ if environ is None else environ
    receivers: dict[str, Receiver] = {}
    notify = doc.get("notify", {})
    if not isinstance(notify, dict):
        raise top.error("notify", "must hold tables such as [notify.team-slack]")
    for name, table in notify.items():
        receivers[name] = _receiver(
            name, table, lines.where(where, ("notify", name), f"[notify.{name}]"), env
        )
    tables = doc.get("budget", [])
    if isinstance(tables, dict):
        raise lines.where(where, ("budget",), "[budget]").error(
            None, "write each budget as a [[budget]] table (two brackets)"
        )
    budgets = tuple(
        _budget(table, lines.where(where, ("budget", i), f"[[budget]] #{i + 1}"))
        for i, table in enumerate(tables)
    )
    anomaly = None
    if "anomaly" in doc:
        anomaly = _anomaly(doc["anomaly"], lines.where(where, ("anomaly",), "[anomaly]"))
    if not budgets and anomaly is None:
        raise top.error(None, "has no [[budget]] and no [anomaly]: nothing to check")
    return BudgetConfig(budgets, receivers, anomaly, path=where)
