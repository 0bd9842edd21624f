"""``python -m bot``: the ``feedback-bot`` command line."""

import sys

from bot.cli import main

sys.exit(main())
