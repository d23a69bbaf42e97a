"""A Celery worker process of the drills: `python -m benchmarks.drills.worker <name> [--beat]`.

The broker is the drill session's own Redis (REDIS_URL). Messages of a killed worker become visible again
after DRILL_VISIBILITY_TIMEOUT seconds (default 2, production uses 600) and are looked for every second,
so a redelivery is quick. With --beat it also runs the periodic tasks (the health-check outbox dispatcher).
"""

import os
import sys
import tempfile

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from config.celery import app  # noqa: E402

timeout = float(os.environ.get("DRILL_VISIBILITY_TIMEOUT", "2"))
app.conf.broker_transport_options = {"visibility_timeout": timeout, "unacked_restore_interval": 1,
                                     "unacked_restore_throttle": 1}
app.conf.task_always_eager = False
name = sys.argv[1] if len(sys.argv) > 1 else "w"
argv = ["worker", "--pool=solo", "--loglevel=WARNING", "--without-heartbeat", "--without-mingle",
        "--without-gossip", "-n", f"drill-{name}-{os.getpid()}@localhost"]
if "--beat" in sys.argv:
    folder = os.environ.get("TOLLGATE_VAR_DIR") or tempfile.gettempdir()
    schedule = os.path.join(folder, f"beat-{os.getpid()}")
    argv += ["--beat", "--schedule", schedule]
app.worker_main(argv)
