"""`python -m kgen ...`: the same as the `kgen` console script."""

import sys

from kgen.cli import main

sys.exit(main())
