"""``python -m usage_async``: the ``usage-async`` command line, where no console script is
on PATH. It imports the command line's entry point only: parsing stays as light as the
console script's."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
