"""``python -m insightlite.cli``: the `insightlite` command."""

import sys

from insightlite.cli import main

sys.exit(main())
