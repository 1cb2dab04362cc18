"""``python -m muser_core``: the same command line as ``muser`` (:mod:`muser_core.cli`)."""

import sys

from muser_core.cli import main

sys.exit(main())
