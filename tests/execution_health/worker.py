"""A Celery worker process for the fault tests: `python -m tests.execution_health.worker`.

The broker comes from REDIS_URL (the test's own Redis); unacknowledged messages of a killed worker
become visible again after a second, and are looked for every second, so a redelivery is quick.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from config.celery import app  # noqa: E402

app.conf.broker_transport_options = {"visibility_timeout": 1, "unacked_restore_interval": 1,
                                     "unacked_restore_throttle": 1}
app.conf.task_always_eager = False
app.worker_main(["worker", "--pool=solo", "--loglevel=WARNING", "--without-heartbeat", "--without-mingle",
                 "--without-gossip", "-n", f"e1-fault-{os.getpid()}@localhost"])
