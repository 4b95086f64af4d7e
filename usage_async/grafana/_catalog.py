"""What the dashboards may read: the tables and views of a sync, with their columns.

A panel names the relations and columns its SQL reads (``Needs``); a ``Catalog`` says which
a database has, so that a panel the database cannot answer is left out rather than shown
broken. ``Catalog.of_sync`` is what a sync of this version creates (every endpoint's table
grouped by every field, the views, the state and the directory); ``Catalog.of_relations``
is what a database actually has (``usage_async.sync.describe_database``). Names here are
without the sync's ``--prefix``: ``Catalog.table`` adds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from ..sync._describe import Relation, describe, describe_database
from ..sync._schema import checked_prefix
from ..sync._store import database_url

__all__ = ["Catalog", "Needs", "database_catalog"]

Needs = Mapping[str, tuple[str, ...]]
"""The relations (names without the prefix) and, for each, the columns a query reads."""


@attrs.frozen
class Catalog:
    """The relations of one database under one ``prefix``: name (without the prefix) ->
    its columns."""

    prefix: str
    columns: Mapping[str, frozenset[str]]

    @classmethod
    def of_sync(cls, prefix: str = "") -> Catalog:
        """What a sync of this version creates under ``prefix`` (``describe()``).

        Raises ``InvalidParameterError`` for a prefix a sync refuses.
        """
        return cls.of_relations(describe(prefix=prefix), prefix)

    @classmethod
    def of_relations(cls, relations: Iterable[Relation], prefix: str = "") -> Catalog:
        """The ``relations`` (``describe()`` or ``describe_database()`` under ``prefix``).

        Raises ``InvalidParameterError`` for a prefix a sync refuses.
        """
        checked_prefix(prefix)
        return cls(
            prefix,
            {
                relation.name.removeprefix(prefix): frozenset(c.name for c in relation.columns)
                for relation in relations
                if relation.name.startswith(prefix)
            },
        )

    def table(self, name: str) -> str:
        """The name ``name`` has in the database: with the prefix (``acme_costs``)."""
        return f"{self.prefix}{name}"

    def has(self, name: str, *columns: str) -> bool:
        """Whether the database has the relation ``name`` with every one of ``columns``."""
        present = self.columns.get(name)
        return present is not None and present.issuperset(columns)

    def missing(self, needs: Needs) -> list[str]:
        """What of ``needs`` the database lacks, as ``table`` or ``table.column`` names."""
        lacking: list[str] = []
        for name, columns in needs.items():
            present = self.columns.get(name)
            if present is None:
                lacking.append(self.table(name))
            else:
                lacking += [f"{self.table(name)}.{c}" for c in columns if c not in present]
        return lacking


async def database_catalog(database: str, prefix: str = "") -> Catalog:
    """What ``database`` (a URL) has under ``prefix``: its tables and views of a sync, with
    the columns it reports. Creates nothing. A libpq ``sslmode`` in the URL (which Grafana
    reads) is given to the driver as the ``ssl`` it reads.

    Raises ``InvalidParameterError`` for a prefix a sync refuses or a URL it cannot open,
    and SQLAlchemy's or the driver's errors for a database it cannot reach.
    """
    url = database_url(database)
    mode = url.query.get("sslmode")
    if mode is not None:
        url = url.difference_update_query(["sslmode"]).update_query_dict({"ssl": mode})
    relations = await describe_database(url.render_as_string(hide_password=False), prefix=prefix)
    return Catalog.of_relations(relations, prefix)
