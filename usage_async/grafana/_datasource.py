"""The data source: Grafana's PostgreSQL data source for the database a sync keeps.

Host, port, database, user and ``sslmode`` come from the database URL; the password never
does. Grafana reads it from its own environment when it loads the file
(``$__env{USAGE_ASYNC_PG_PASSWORD}``), so no file written here holds a secret, whatever the
URL held. ``sslmode`` is the URL's (``?sslmode=require``, or the driver's ``?ssl=require``),
else ``disable`` for a server on this machine (a loopback address or a Unix socket) and
``require`` for any other.

Grafana has no built-in SQLite data source, so a SQLite URL is refused, saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import sqlalchemy as sa

from .._base_url import is_loopback
from .._exceptions import InvalidParameterError
from ..sync._store import database_url
from ._panels import DATASOURCE_TYPE
from ._yaml import Expanded

__all__ = [
    "DATASOURCE_NAME",
    "DATASOURCE_UID",
    "PASSWORD_ENV",
    "POSTGRES_VERSION",
    "SSL_MODES",
    "PostgresSource",
    "datasource_document",
    "postgres_source",
]

DATASOURCE_UID = "usage-async"
"""The data source's fixed UID, which every panel names."""
DATASOURCE_NAME = "usage-async"
PASSWORD_ENV = "USAGE_ASYNC_PG_PASSWORD"
"""The environment variable of Grafana's process that holds the database password."""
POSTGRES_VERSION = 1500
"""The ``postgresVersion`` Grafana is told (15, the version the tests run on)."""
SSL_MODES = ("disable", "require", "verify-ca", "verify-full")
"""The ``sslmode`` values Grafana's PostgreSQL data source offers."""
DEFAULT_PORT = 5432


@attrs.frozen
class PostgresSource:
    """Where Grafana finds the database: ``address`` (``host:port``, or a Unix socket's
    directory), the database, the user and the TLS mode. No password: see ``PASSWORD_ENV``."""

    address: str
    database: str
    user: str
    sslmode: str
    url_had_password: bool = False


def _refuse(message: str) -> InvalidParameterError:
    return InvalidParameterError(message, param="database")


def _query_value(url: sa.URL, name: str) -> str | None:
    value = url.query.get(name)
    if isinstance(value, tuple):  # the parameter given more than once: the last one
        value = value[-1] if value else None
    return value


def _on_this_machine(host: str) -> bool:
    # A Unix socket's directory is this machine too.
    return host.startswith("/") or is_loopback(host)


def _address(host: str, port: int) -> str:
    if host.startswith("/"):  # a Unix socket's directory: Grafana takes it as the host
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def postgres_source(url: str) -> PostgresSource:
    """Where Grafana finds the PostgreSQL database of ``url``
    (``postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE]``).

    Raises ``InvalidParameterError`` (``param="database"``) for a SQLite URL (Grafana has no
    built-in SQLite data source), a URL that is no database's, one without a user or a
    database, or an ``sslmode`` Grafana does not offer.
    """
    parsed = database_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        raise _refuse(
            "Grafana has no built-in SQLite data source: sync into PostgreSQL for the "
            "dashboards (usage-async sync postgresql://USER@HOST/DATABASE) and give its URL"
        )
    if backend != "postgresql":  # pragma: no cover - the sync knows SQLite and PostgreSQL only
        raise _refuse(f"Grafana's dashboards read PostgreSQL, not {backend}")
    shown = parsed.render_as_string(hide_password=True)
    if not parsed.username:
        raise _refuse(f"{shown} names no user: Grafana logs in as one (postgresql://USER@HOST/DB)")
    if not parsed.database:
        raise _refuse(f"{shown} names no database (postgresql://USER@HOST/DATABASE)")
    host = parsed.host or _query_value(parsed, "host") or "localhost"
    port = parsed.port or int(_query_value(parsed, "port") or DEFAULT_PORT)
    sslmode = _query_value(parsed, "sslmode") or _query_value(parsed, "ssl")
    if sslmode is None:
        sslmode = "disable" if _on_this_machine(host) else "require"
    elif sslmode not in SSL_MODES:
        raise _refuse(
            f"sslmode={sslmode}: Grafana's PostgreSQL data source takes {', '.join(SSL_MODES)}"
        )
    return PostgresSource(
        address=_address(host, port),
        database=parsed.database,
        user=parsed.username,
        sslmode=sslmode,
        url_had_password=parsed.password is not None,
    )


def datasource_document(source: PostgresSource) -> Mapping[str, Any]:
    """The provisioning file's content: one PostgreSQL data source (``DATASOURCE_UID``)
    whose password Grafana reads from ``PASSWORD_ENV``."""
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": DATASOURCE_NAME,
                "type": DATASOURCE_TYPE,
                "uid": DATASOURCE_UID,
                "access": "proxy",
                "url": source.address,
                "user": source.user,
                "editable": False,
                "jsonData": {
                    "database": source.database,
                    "sslmode": source.sslmode,
                    "postgresVersion": POSTGRES_VERSION,
                    "timescaledb": False,
                },
                "secureJsonData": {"password": Expanded(f"$__env{{{PASSWORD_ENV}}}")},
            }
        ],
    }
