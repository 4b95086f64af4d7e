"""The one check of an API base URL, shared by the client and the command line.

``base_url_problem`` names the rule a URL breaks (no I/O); the client words it for a library
caller (``allow_insecure=True``), the command line for a person at a shell (``--allow-insecure``).
``with_version`` is the URL a 404 was likely meant for, when a base URL names no ``/v1``.

Core layer: imports the standard library and ``_exceptions`` only.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from typing import Final, Literal

from ._exceptions import InvalidParameterError

__all__ = [
    "DEFAULT_BASE_URL",
    "BaseUrlProblem",
    "base_url_problem",
    "check_base_url",
    "is_loopback",
    "with_version",
]

DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"

BaseUrlProblem = Literal["not-http", "credentials", "insecure"]
"""``not-http``: not an http(s) URL with a host; ``credentials``: a user or password in it;
``insecure``: plain http to a host that is not loopback, without leave to be insecure."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def base_url_problem(url: str, allow_insecure: bool) -> BaseUrlProblem | None:
    """The rule ``url`` breaks as a base URL for an admin key, or ``None``."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not-http"
    if parts.username or parts.password:
        return "credentials"
    if parts.scheme == "http" and not allow_insecure and not is_loopback(parts.hostname):
        return "insecure"
    return None


def check_base_url(url: str, allow_insecure: bool) -> str:
    """``url`` without a trailing slash; raises ``InvalidParameterError`` (``param="base_url"``)
    naming the rule it breaks."""
    problem = base_url_problem(url, allow_insecure)
    if problem == "not-http":
        message = f"base_url must be an http(s) URL with a host, got {url!r}"
    elif problem == "credentials":
        message = "base_url must not carry credentials; pass the key as api_key"
    elif problem == "insecure":
        message = (
            f"base_url {url!r} is plain http to a non-loopback host: the admin key would cross "
            f"the network unencrypted. Use https, or pass allow_insecure=True if you must."
        )
    else:
        return url.rstrip("/")
    raise InvalidParameterError(message, param="base_url")


def with_version(url: str) -> str | None:
    """``url`` with ``/v1`` added to its path, when the path names no API version
    (``http://127.0.0.1:18089`` -> ``http://127.0.0.1:18089/v1``); ``None`` when it does
    (``.../v1``, ``.../proxy/v2/``). Every path of the API starts ``/v1/``, so a base URL
    without it answers 404 to everything."""
    parts = urllib.parse.urlsplit(url)
    if any(re.fullmatch(r"v\d+", segment) for segment in parts.path.split("/")):
        return None
    scheme, netloc, path, query, fragment = parts
    return urllib.parse.urlunsplit((scheme, netloc, path.rstrip("/") + "/v1", query, fragment))
