"""`python -m evals.cli`: the `goldgate` command, for a Python with goldgate importable but no script."""

import sys

from evals.cli import main

sys.exit(main())
