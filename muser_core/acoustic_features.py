"""``python -m muser_core.acoustic_features``: eGeMAPS extraction, a thin entry kept so the command keeps its name; see :mod:`muser_core.features.acoustic`."""

import sys

from muser_core.features.acoustic import main

if __name__ == "__main__":
    sys.exit(main())
