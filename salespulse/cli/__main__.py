"""`python -m salespulse.cli`: the command line, as the `salespulse` script runs it."""

import sys

from salespulse.cli import main

sys.exit(main())
