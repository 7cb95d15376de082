"""`python -m kgen.bench`: `kgen bench` without the kgen CLI."""

import sys

from kgen.bench.parent import main

sys.exit(main())
