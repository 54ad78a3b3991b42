"""`python -m autograder.assign`: same as `python -m autograder assign`."""

import sys

from . import main

sys.exit(main())
