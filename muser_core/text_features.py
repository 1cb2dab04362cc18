"""``python -m muser_core.text_features``: LIWC-style text scores, a thin entry kept so the command keeps its name; see :mod:`muser_core.features.text`."""

import sys

from muser_core.features.text import main

if __name__ == "__main__":
    sys.exit(main())
