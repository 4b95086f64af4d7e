"""What the sync asks of a database, as one interface: ``Backend``.

Everything that differs between databases is a member of a backend: the driver and the extra
that installs it, the engine's set-up, the column types and how values are bound to them,
the upsert, the page's transaction as the driver runs it, whether writes take turns, and the
SQL and introspection of views. Each database is one module (``_sqlite``, ``_postgresql``)
holding one backend, and ``_registry`` maps a URL scheme or dialect name to it: only the
backend modules know a dialect, and nothing else in the sync tests a dialect's name.

Adding a database is one module implementing ``Backend`` and one entry in the registry.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["Backend"]


class Backend(Protocol):
    """One database as the sync uses it (see the module's docstring).

    A later change adds a writer lock per (database, source) as ``lock(conn, key)`` and
    more views through ``create_view``; they belong here, beside the members below.
    """

    name: str
    """The dialect's name and the URL's scheme: ``sqlite``."""
    url_form: str
    """The URL's start as messages show it: ``sqlite:///``."""
    url_example: str
    """A URL as a user writes it: ``sqlite:///PATH``."""
    driver: str
    """The SQLAlchemy driver name the sync uses: ``sqlite+aiosqlite``."""
    driver_module: str
    """The module that driver imports: ``aiosqlite``."""
    extra: str
    """The extra of this package that installs ``driver_module``: ``sync``."""

    def configure(self, engine: AsyncEngine) -> None:
        """Set up a new engine for the sync (pragmas, how transactions begin)."""
