"""``python -m muser_core.predict``: see :mod:`muser_core.predict.cli`."""

import sys

from muser_core.predict.cli import main

sys.exit(main())
