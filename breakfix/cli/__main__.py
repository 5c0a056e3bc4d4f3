"""`python -m breakfix.cli`: the same as `breakfix`."""
import sys

from . import main

sys.exit(main())
