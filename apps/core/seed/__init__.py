"""The demo seed behind `manage.py seed_demo`: a small bank with a year of upgrade history.

`data` holds the people and the inventory, `requests` the upgrade requests and how far
each got, `timeline` when every step happens, and `build` replays it all through the
services under a frozen clock. Later apps extend it: new material in their own
step, and `register_before(transition, hook)` for what their gates need.
"""

from .build import already_seeded, demo_users_present, register_before, run_before, seed

__all__ = ["already_seeded", "demo_users_present", "register_before", "run_before", "seed"]
