"""``python -m muser_core.segment``: sentence clips from a long recording, a thin entry kept so the command keeps its name; see :mod:`muser_core.audio.segment`."""

import sys

from muser_core.audio.segment import main

if __name__ == "__main__":
    sys.exit(main())
