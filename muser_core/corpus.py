"""``python -m muser_core.corpus``: the corpus loaders (see that module), a thin entry kept so the command keeps its name; see :mod:`muser_core.data.corpus`."""

import sys

from muser_core.data.corpus import main

if __name__ == "__main__":
    sys.exit(main())
