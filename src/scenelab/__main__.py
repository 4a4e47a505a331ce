"""``python -m scenelab``."""

import sys

from scenelab.cli import main

sys.exit(main())
