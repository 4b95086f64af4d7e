"""The databases a sync writes to: their backends by URL scheme and dialect name.

Every question about which database this is goes through ``backend_named`` (or
``backend_of``): a database with no backend is refused here, once, in the same words
wherever it is met (a URL, an engine passed in, a type bound for its dialect).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import Dialect

from .._exceptions import InvalidParameterError
from ._backend import Backend
from ._postgresql import POSTGRESQL
from ._sqlite import SQLITE

__all__ = ["BACKENDS", "backend_named", "backend_of", "extra_providing", "url_examples"]

BACKENDS: Mapping[str, Backend] = {backend.name: backend for backend in (SQLITE, POSTGRESQL)}
"""The backends by dialect name, which is also the URL's scheme (before any ``+driver``)."""


def backend_named(name: str) -> Backend:
    """The backend of the dialect or URL scheme ``name``.

    Raises ``InvalidParameterError`` (``param="database"``) if no backend has that name.
    """
    backend = BACKENDS.get(name)
    if backend is None:
        forms = " or ".join(known.url_form for known in BACKENDS.values())
        raise InvalidParameterError(
            f"cannot sync into {name}: give a {forms} URL", param="database"
        )
    return backend


def backend_of(dialect: Dialect) -> Backend:
    """The backend of ``dialect``; raises ``InvalidParameterError`` as ``backend_named``."""
    return backend_named(dialect.name)


def extra_providing(module: str) -> str:
    """The extra of this package that installs the driver ``module`` (``sync`` if none
    of the backends' drivers is that module)."""
    for backend in BACKENDS.values():
        if backend.driver_module == module:
            return backend.extra
    return "sync"


def url_examples() -> str:
    """The URLs a sync takes, as a user writes them: ``sqlite:///PATH or ...``."""
    return " or ".join(backend.url_example for backend in BACKENDS.values())
