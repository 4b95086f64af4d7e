"""Reading an admin key from a file: the command line's ``--api-key-file`` and a
``sync.toml`` source's ``api_key_file`` alike.

Core layer: imports the standard library only.
"""

from __future__ import annotations

__all__ = ["read_key_file"]


def read_key_file(path: str) -> str:
    """The key on the first line of the file at ``path``, without surrounding space.

    Raises ``ValueError`` saying why there is none (the file cannot be read, or its first
    line is empty); the message names the file and never holds a key.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            key = handle.readline().strip()
    except OSError as exc:
        raise ValueError(f"cannot read the key file {path}: {exc.strerror}") from None
    if not key:
        raise ValueError(f"the key file {path} is empty; put the admin key on line 1")
    return key
