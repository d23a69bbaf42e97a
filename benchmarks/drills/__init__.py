"""Fault drills: `python -m benchmarks.drills [name ...]` (`make drills`).

Each drill breaks something on purpose — a worker killed with SIGKILL, Redis stopped, PostgreSQL restarted,
twenty users approving at once — and checks what the users and the data went through. They share one
session of their own services (benchmarks/drills/harness.py: an own PostgreSQL cluster, Redis, Celery
workers and gunicorn on ports of their own, never the machine's shared ones), migrated once. Each drill
prints what it did and what it found and returns rows {drill, did, found, ok}; the run prints one table
and exits 1 when a drill failed. `hostile` (schemathesis against the API, long run) runs in a process of
its own.
"""

# in running order: the Redis drill is the long one (DRILL_REDIS_DOWN_SECONDS, default 60)
SESSION_DRILLS = ["approvals", "pg_restart", "worker_health", "worker_pdf", "redis_down"]
OTHER_DRILLS = ["hostile"]
DRILLS = SESSION_DRILLS + OTHER_DRILLS
