"""``python -m tools.bench``: cold grading against the torch import and otter (``make bench``)."""
import sys

from . import main

sys.exit(main())
