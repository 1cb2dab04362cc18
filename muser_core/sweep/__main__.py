"""``python -m muser_core.sweep``: see :mod:`muser_core.sweep.grid`."""

import sys

from muser_core.sweep.grid import main

sys.exit(main())
