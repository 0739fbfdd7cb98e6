"""``python -m maligrad.data`` runs the ``maligrad-data`` command."""

import sys

from .cli import main

sys.exit(main())
