"""``python -m muser_core.train``: see :mod:`muser_core.train.cli`."""

import sys

from muser_core.train.cli import main

sys.exit(main())
