"""``python -m muser_core.predict``: see :mod:`muser_core.predict.run_model`."""

import sys

from muser_core.predict.run_model import main

sys.exit(main())
