"""``python -m muser_core.personal_model``: a participant's personal model, a thin entry kept so the command keeps its name; see :mod:`muser_core.study.personal_model`."""

import sys

from muser_core.study.personal_model import main

if __name__ == "__main__":
    sys.exit(main())
