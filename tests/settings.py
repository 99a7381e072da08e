"""Test settings: the real settings, with the testing switch on before they are read."""

import os

os.environ.setdefault("COMPTOIR_TESTING", "1")

from comptoir.settings import *  # noqa: F403
