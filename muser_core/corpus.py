"""``python -m muser_core.corpus``: build a canonical corpus table; a thin entry kept so the command keeps its name.

The flags come from the source registry, :mod:`muser_core.sources`.
"""

import sys

from muser_core.sources import main

if __name__ == "__main__":
    sys.exit(main())
