"""gunicorn settings for Tollgate: `gunicorn config.wsgi:application -c config/gunicorn.py`.

Every value can be changed from the environment (WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_BIND,
GUNICORN_TIMEOUT). The default is gthread: CPU-count + 1 processes with 4 threads each. A Tollgate page spends
a good part of its time waiting on PostgreSQL, so threads keep the cores busy during those waits at a fraction
of the memory of more processes, and keep-alive connections are served instead of closed after each request;
the GIL caps each process at one core, so one process per core (plus one to cover a process that is
collecting garbage or restarting) is what keeps every core in use. On 2 cores it served 15-50 % more
requests per second than 2 x cores + 1 sync workers under the same mixed load (measure your own host with
`python -m benchmarks.load --compare-workers`).
Each thread holds its own database connection (CONN_MAX_AGE), so size PostgreSQL's max_connections for
processes x threads per web host.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
# a worker is replaced after this many requests (with jitter, so they do not all restart at once):
# a slow leak in a library cannot grow a process forever
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 5000))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
# the TLS terminator in front tells us the original scheme (settings.SECURE_PROXY_SSL_HEADER)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# the control socket defaults to one path in the home directory: several servers on a host would share it
control_socket_disable = True
