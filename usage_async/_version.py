"""The installed distribution's version (``0.0.0`` when running from an uninstalled tree).

Core layer: imports nothing.
"""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("usage-async")
except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0.0.0"
