"""``python -m gdpr_as_code.cli``."""

import sys

from gdpr_as_code.cli import main

sys.exit(main())
