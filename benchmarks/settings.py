"""Settings for benchmark servers: the project's own, plus a Server-Timing header and the floor view's URL."""

from config.settings import *  # noqa: F401,F403
from config.settings import MIDDLEWARE

ROOT_URLCONF = "benchmarks.urls"
# first, so the time covers every other middleware, the view and the template: what the server spends
MIDDLEWARE = ["benchmarks.urls.ServerTimingMiddleware", *MIDDLEWARE]
