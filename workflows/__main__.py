"""``python -m workflows``: the operator CLI (see :mod:`workflows.cli`)."""

import sys

from workflows.cli import main

if __name__ == "__main__":
    sys.exit(main())
