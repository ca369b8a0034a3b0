"""``python -m catscan`` runs the command line (the same as the ``catscan`` script)."""

import sys

from catscan.cli import main

sys.exit(main())
