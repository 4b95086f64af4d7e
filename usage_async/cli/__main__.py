"""``python -m usage_async.cli``: the ``usage-async`` command line, where no console script is
on PATH (as ``python -m usage_async.cli`` ran it before the command line became a package)."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
