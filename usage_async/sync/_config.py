"""``sync.toml``: several organizations synced into one database, read with ``tomllib``.

::

    database = "postgresql://usage@db.internal/usage"
    max_in_flight = 8             # requests in flight across all sources at once
    wait = true                   # false: skip a source another run holds, not wait for it

    [defaults]                    # every key here may be overridden per source
    endpoints = ["completions", "costs"]                # default: all twelve
    bucket_width = "1h"
    group_by = ["project_id", "model"]                  # or { completions = [...], ... }
    settle = "2d"                                       # or { default = "2d", costs = "3d" }
    since = "90d"                                       # first run only
    directory_max_age = "24h"                           # how old a project's key list may get

    [sources.acme]
    api_key_env = "ACME_OPENAI_ADMIN_KEY"               # the key from this variable...

    [sources.globex]
    api_key_file = "/run/secrets/globex_admin_key"      # ...or from this file's first line
    prefix = "globex_"

A key written into the file itself is refused: configuration files get committed, copied and
shown; keys belong in the environment or in a file only their owner can read.

``load_config(path, overrides=...)`` takes settings that win over the file's: over
``[defaults]`` and over every source's own.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from .._endpoints import ENDPOINTS
from .._keyfile import read_key_file
from .._time import TimeSyntaxError, parse_duration, parse_when

__all__ = ["ConfigError", "SourceConfig", "SyncConfig", "load_config", "parse_since", "read_key"]


class ConfigError(ValueError):
    """A configuration, or one of its settings, cannot be used; the message says why."""


def parse_since(text: str) -> int | _dt.timedelta:
    """A ``since`` value, in the library's WHEN grammar (``_time.parse_when``): a
    span before now (``90d``, ``2w``, ``36h``, ``now``) as a timedelta, which a run counts
    back from the server's now, or an ISO-8601 date or datetime (UTC unless it has an offset)
    as Unix seconds. Raises ``ConfigError`` saying what a WHEN is.
    """
    now = int(time.time())
    try:
        when = parse_when(text, now)
    except TimeSyntaxError as exc:
        raise ConfigError(str(exc)) from None
    if when.relative:
        return _dt.timedelta(seconds=now - when.seconds)
    return when.seconds


def read_key(*, env: str | None, file: str | None, where: str) -> str:
    """The admin key of a ``[sources.NAME]`` table: from the environment variable it names
    or the first line of the file it names. Raises ``ConfigError`` saying which is missing."""
    if file is not None:
        try:
            return read_key_file(file)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if env is None:
        raise ConfigError(f"{where}: no key: set api_key_env or api_key_file")
    key = os.environ.get(env, "").strip()
    if not key:
        raise ConfigError(f"{where}: the environment variable {env} holds no admin key")
    return key


@attrs.frozen
class SourceConfig:
    """One organization to sync: its client settings and what to sync of it."""

    name: str
    api_key: str = attrs.field(repr=False)
    base_url: str | None = None
    organization: str | None = None
    endpoints: tuple[str, ...] | None = None
    bucket_width: str = "1h"
    group_by: list[str] | dict[str, list[str]] | None = None
    settle: dict[str, int] | None = None
    since: int | _dt.timedelta | None = None
    prefix: str = ""
    directory_max_age: int | None = None

    def sync_options(self) -> dict[str, Any]:
        """The keyword arguments of ``sync()`` for this source."""
        options: dict[str, Any] = {
            "source": self.name,
            "endpoints": self.endpoints,
            "bucket_width": self.bucket_width,
            "group_by": self.group_by,
            "settle": self.settle,
            "since": self.since,
            "prefix": self.prefix,
        }
        if self.directory_max_age is not None:
            options["directory_max_age"] = self.directory_max_age
        return options


@attrs.frozen
class SyncConfig:
    """A whole ``sync.toml``."""

    sources: tuple[SourceConfig, ...]
    database: str | None = None
    max_in_flight: int = 8
    wait: bool = True  # wait for another run that holds a source (false: --no-wait)


_INLINE_KEYS = frozenset({"api_key", "key", "admin_key", "openai_admin_key", "token"})
_SOURCE_KEYS = frozenset(
    {
        "api_key_env",
        "api_key_file",
        "base_url",
        "organization",
        "endpoints",
        "bucket_width",
        "group_by",
        "settle",
        "since",
        "prefix",
        "directory_max_age",
    }
)
_DEFAULT_KEYS = _SOURCE_KEYS - {"api_key_env", "api_key_file", "base_url", "organization"}
_TOP_KEYS = frozenset({"database", "max_in_flight", "wait", "defaults", "sources"})


def _check_keys(table: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    for key in table:
        if key.lower() in _INLINE_KEYS:
            raise ConfigError(
                f"{where}: {key} is refused: a key must not be written into the configuration "
                f"file. Put it in an environment variable named by api_key_env, or in a file "
                f"named by api_key_file."
            )
        if key not in allowed:
            raise ConfigError(
                f"{where}: unknown setting {key!r}; expected {', '.join(sorted(allowed))}"
            )


def _strings(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} must be a list of names")
    return list(value)


def _duration(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    raise ConfigError(f'{where} must be a duration such as "2d" or a number of seconds')


def source_settings(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The sync settings of one ``[defaults]`` or ``[sources.NAME]`` table, checked."""
    out: dict[str, Any] = {}
    if "endpoints" in table:
        names = _strings(table["endpoints"], f"{where}.endpoints")
        for name in names:
            if name not in ENDPOINTS:
                raise ConfigError(
                    f"{where}.endpoints: unknown endpoint {name!r}; expected some of "
                    f"{', '.join(ENDPOINTS)}"
                )
        out["endpoints"] = tuple(names)
    if "bucket_width" in table:
        if table["bucket_width"] not in ("1h", "1d"):
            raise ConfigError(f'{where}.bucket_width must be "1h" or "1d"')
        out["bucket_width"] = table["bucket_width"]
    if "group_by" in table:
        group_by = table["group_by"]
        if isinstance(group_by, dict):
            out["group_by"] = {
                name: _strings(fields, f"{where}.group_by.{name}")
                for name, fields in group_by.items()
            }
            for name in out["group_by"]:
                if name not in ENDPOINTS:
                    raise ConfigError(f"{where}.group_by: unknown endpoint {name!r}")
        else:
            out["group_by"] = _strings(group_by, f"{where}.group_by")
    if "settle" in table:
        settle = table["settle"]
        if isinstance(settle, dict):
            out["settle"] = {
                name: _duration(value, f"{where}.settle.{name}") for name, value in settle.items()
            }
            for name in out["settle"]:
                if name != "default" and name not in ENDPOINTS:
                    raise ConfigError(f"{where}.settle: unknown endpoint {name!r}")
        else:
            out["settle"] = {"default": _duration(settle, f"{where}.settle")}
    if "since" in table:
        if not isinstance(table["since"], str | _dt.date):
            raise ConfigError(f'{where}.since must be a span ("90d") or a date')
        out["since"] = parse_since(str(table["since"]))
    if "directory_max_age" in table:
        out["directory_max_age"] = _duration(
            table["directory_max_age"], f"{where}.directory_max_age"
        )
    if "prefix" in table:
        if not isinstance(table["prefix"], str):
            raise ConfigError(f"{where}.prefix must be a string")
        out["prefix"] = table["prefix"]
    return out


def load_config(path: str | Path, *, overrides: Mapping[str, Any] | None = None) -> SyncConfig:
    """Read and check ``sync.toml``; returns the whole configuration. ``overrides``
    (``SourceConfig`` fields, checked by the caller) win over the file's settings,
    ``[defaults]`` and every source's. Keys are read from their variables or files now.

    Raises ``ConfigError`` saying what is wrong and where.
    """
    where = str(path)
    try:
        with open(path, "rb") as handle:
            doc = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read {where}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from None
    _check_keys(doc, _TOP_KEYS, where)
    database = doc.get("database")
    if database is not None and not isinstance(database, str):
        raise ConfigError(f"{where}: database must be a URL string")
    max_in_flight = doc.get("max_in_flight", 8)
    if isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) or max_in_flight < 1:
        raise ConfigError(f"{where}: max_in_flight must be a positive whole number")
    wait = doc.get("wait", True)
    if not isinstance(wait, bool):
        raise ConfigError(f"{where}: wait must be true or false")
    common: dict[str, Any] = {}
    shared = doc.get("defaults", {})
    if not isinstance(shared, dict):
        raise ConfigError(f"{where}: [defaults] must be a table")
    _check_keys(shared, _DEFAULT_KEYS, f"{where}: defaults")
    common.update(source_settings(shared, f"{where}: defaults"))
    tables = doc.get("sources")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{where}: no sources; add a [sources.NAME] table per organization")
    sources = []
    for name, table in tables.items():
        here = f"{where}: sources.{name}"
        if not isinstance(table, dict):
            raise ConfigError(f"{here} must be a table")
        _check_keys(table, _SOURCE_KEYS, here)
        env, file = table.get("api_key_env"), table.get("api_key_file")
        if env is not None and not isinstance(env, str):
            raise ConfigError(f"{here}.api_key_env must name an environment variable")
        if isinstance(env, str) and env.startswith("sk-"):
            raise ConfigError(
                f"{here}.api_key_env holds what looks like a key, not the name of a variable; "
                f"a key must not be written into the configuration file"
            )
        if env is not None and file is not None:
            raise ConfigError(f"{here}: give api_key_env or api_key_file, not both")
        settings = {**common, **source_settings(table, here), **(overrides or {})}
        sources.append(
            SourceConfig(
                name=name,
                api_key=read_key(env=env, file=file, where=here),
                base_url=table.get("base_url"),
                organization=table.get("organization"),
                **settings,
            )
        )
    return SyncConfig(
        sources=tuple(sources), database=database, max_in_flight=max_in_flight, wait=wait
    )
