"""Sustainment: post-implementation reviews, lessons, backlog, readiness and training (pir.py);
patch schedules and vendor advisories (patches.py)."""

from .patches import *  # noqa: F401,F403
from .pir import *  # noqa: F401,F403
