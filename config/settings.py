"""Tollgate settings: one module, every difference comes from the environment.

The defaults run the embedded demo (SQLite in WAL mode, a filesystem broker);
production sets DEBUG=false, SECRET_KEY, DATABASE_URL and REDIS_URL and gets
refusals instead of unsafe defaults.
"""

import datetime as dt
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("TOLLGATE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
_DEMO_KEY = "demo-only-insecure-key-do-not-use-in-production-0123456789abcdef"
SECRET_KEY = env.str("SECRET_KEY", default=_DEMO_KEY if DEBUG else "")
if not DEBUG and (not SECRET_KEY or SECRET_KEY == _DEMO_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("Set SECRET_KEY to a random value of at least 50 characters when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    # base layer
    "apps.core",
    "apps.accounts",
    "apps.audit",
    "apps.inventory",
    # core layer
    "apps.upgrades",
    # domain layer
    "apps.assessments",
    "apps.rollouts",
    "apps.cab",
    "apps.configuration",
    "apps.execution",
    "apps.reviews",
    # top layer
    "apps.reporting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "apps.core.middleware.ContentSecurityPolicyMiddleware",
    # a database outage answers 503 with a readable page instead of a 500 (inside CSP: the page gets it too)
    "apps.core.middleware.DatabaseUnavailableMiddleware",
    # serves our own static files (no CDN) in production without a separate web server
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.core.middleware.RequestContextMiddleware",
    "apps.core.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # a NUL character in any input, or a body over the size limit: 400/413 naming it, before any view
    "apps.core.middleware.InputGuardMiddleware",
    # sign-in throttling: the lockout answer for a locked username + address (last, as django-axes asks)
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.navigation",
            ],
        },
    }
]

# --- database -------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tollgate.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE takes the
    # write lock at BEGIN so two writers queue instead of failing mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # PostgreSQL's JIT compiles plans it estimates as costly, such as the visibility rule over 100,000
    # requests: about 1.5 s of compiling for a query that then runs in milliseconds (docs/performance.md)
    if env.bool("POSTGRES_JIT", default=False) is False:
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache ------------------------------------------------------------------
# Per-process memory by default. With several web processes set CACHE_URL (e.g. redis://host:6379/1, a
# database of its own: never the broker's) so the step-up throttle and the dashboard's short-lived figures
# are shared by all of them.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# --- auth -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # django-axes first: a locked-out username + address is refused before the password is checked
    "apps.accounts.lockout.ThrottledBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "core:my-work"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    ],
)
GUARDIAN_RAISE_403 = False
# sign-in throttling (apps.accounts.lockout): 5 wrong passwords for one username from one address lock that
# pair for 15 minutes; a successful sign-in clears the count
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.accounts.lockout.lockout_response"
AXES_VERBOSE = False
ANONYMOUS_USER_NAME = None  # no anonymous guardian user: anonymous visitors see nothing

# --- i18n / time -------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static / media -----------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise expects it, even before collectstatic
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
# retention moves expired files and archived audit segments here (keep it on backed-up storage)
ARCHIVE_ROOT = env.str("ARCHIVE_ROOT", default="")  # empty: MEDIA_ROOT/archive
MEDIA_URL = "/media/"
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENT_ALLOWED_EXTENSIONS = env.list(
    "ATTACHMENT_ALLOWED_EXTENSIONS",
    default=["pdf", "txt", "csv", "json", "yaml", "yml", "xml", "png", "jpg", "jpeg", "log", "md", "zip"],
)
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# --- mail -------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="tollgate@localhost")

# --- celery ------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Each pytest-xdist worker has its own test database, so it gets its own queue (and broker
# folder) too: a task published by one worker's test is never run against another's database.
TEST_WORKER = env.str("PYTEST_XDIST_WORKER", default="")
BROKER_DIR = VAR_DIR / (f"broker-{TEST_WORKER}" if TEST_WORKER else "broker")
CELERY_TASK_DEFAULT_QUEUE = f"tollgate-{TEST_WORKER}" if TEST_WORKER else "celery"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # A message whose worker died (SIGKILL, OOM) is handed out again after the visibility timeout,
    # which must exceed the longest task (the hard time limit below); kombu checks for such
    # messages at most every `unacked_restore_throttle` seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600, "unacked_restore_throttle": 1}
else:
    # Embedded broker for the demo: kombu's filesystem transport needs no server.
    for sub in ("in", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "in"),
        "data_folder_out": str(BROKER_DIR / "in"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- REST API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.AuditedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "apps.core.api.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"step_up": "10/min"},
    # the API reads JSON; only the operations that take a file (uploads, imports) read multipart forms.
    # A form body has no null, no types and repeats a key for a list, which let malformed input through
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tollgate API",
    "DESCRIPTION": "Upgrade requests, inventory, duties and the audit trail of Tollgate.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # swagger-ui is served from our own static files, never a CDN
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # every operation documents the error answers any view can give (400/401/403/404/409/413/429)
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "apps.core.api.schema_error_responses",
                             "apps.core.api.schema_blank_filters"],
}
KNOX_TOKEN_MODEL = "knox.AuthToken"
REST_KNOX = {
    "TOKEN_TTL": None,  # expiry is chosen per token when it is created
    "AUTO_REFRESH": False,
    "TOKEN_PREFIX": "tg_",
}

# --- security ---------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- Tollgate -------------------------------------------------------------------------------
# the navigation's "My work" count, cached per person for this many seconds; any write refreshes it at once
# (the key holds the newest audit event's number), so the time bounds only items that fall due by the clock.
# 0 = counted on every page (the test suite's setting, so query counts do not depend on test order)
TOLLGATE_INBOX_COUNT_SECONDS = env.int("TOLLGATE_INBOX_COUNT_SECONDS", default=60)
# the ids of the requests a person sees through duties and owner teams (the visibility rule's IN), remembered
# per person for this many seconds; any write forgets them at once (same key as above). 0 = asked every time
TOLLGATE_VISIBLE_IDS_SECONDS = env.int("TOLLGATE_VISIBLE_IDS_SECONDS", default=60)
# the request list filter's environment options, remembered this long and forgotten at any write; 0 = read each time
TOLLGATE_FORM_OPTIONS_SECONDS = env.int("TOLLGATE_FORM_OPTIONS_SECONDS", default=300)
# a KPI report's CSV is written in a forked child process while its PDF is drawn (apps.core.forked); False
# writes it in the worker itself, one after the other
TOLLGATE_FORK_WORK = env.bool("TOLLGATE_FORK_WORK", default=True)
# a KPI report reads its row sets on three PostgreSQL connections sharing one snapshot (apps.core.snapshot):
# size max_connections for two more per report being generated (without them it reads on one); False: one
TOLLGATE_PARALLEL_READS = env.bool("TOLLGATE_PARALLEL_READS", default=True)
# KPI reports add up each ended upgrade's stored facts in SQL (apps.reporting.facts, PostgreSQL); False: they
# classify every row of the period in Python each time (kpis.Data), as the dashboard does
TOLLGATE_KPI_FACTS = env.bool("TOLLGATE_KPI_FACTS", default=True)
TOLLGATE_SEED_ALLOWED = DEBUG
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- execution ---------------------------------------------------------------------
# SQL probe credentials are encrypted at rest with this key (Fernet); without it a key is derived
# from SECRET_KEY, so set it in production: changing SECRET_KEY would make them unreadable.
TOLLGATE_SECRET_KEY_FIELD = env.str("FIELD_ENCRYPTION_KEY", default="")
# how fresh the green pre-check run must be for execution to start
EXECUTION_PRECHECK_MAX_AGE_MINUTES = env.int("EXECUTION_PRECHECK_MAX_AGE_MINUTES", default=30)
# the demo's small estate of fake services on 127.0.0.1 (each test process gets its own ports)
_WORKER_INDEX = int(TEST_WORKER[2:]) if TEST_WORKER.startswith("gw") and TEST_WORKER[2:].isdigit() else -1
ESTATE_HTTP_PORT = env.int("TOLLGATE_ESTATE_HTTP_PORT", default=8765 if _WORKER_INDEX < 0 else 18765 + 2 * _WORKER_INDEX)
ESTATE_TCP_PORT = env.int("TOLLGATE_ESTATE_TCP_PORT", default=ESTATE_HTTP_PORT + 1)

# --- reviews ----------------------------------------------------------------------
# a post-implementation review is due this many days after a request completes, rolls back or fails
TOLLGATE_PIR_DUE_DAYS = env.int("TOLLGATE_PIR_DUE_DAYS", default=10)

# --- reporting ---------------------------------------------------------------------
# an upgrade with an incident linked within this many days of completing is not "successful"
REPORTING_INCIDENT_WINDOW_DAYS = env.int("REPORTING_INCIDENT_WINDOW_DAYS", default=7)
# absolute links in e-mails (scheduled reports, notifications), e.g. https://tollgate.bank.example
TOLLGATE_BASE_URL = env.str("TOLLGATE_BASE_URL", default="")

# --- data sovereignty --------------------------------------------------------------
# storage per region: {"eu-central": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {...}}};
# a region without an entry stores its files under MEDIA_ROOT/regions/<region>/ (apps.core.storage)
TOLLGATE_REGION_STORAGES = {}
# whether an export (evidence pack) may mix the data of several regions
TOLLGATE_CROSS_REGION_EXPORTS = env.bool("TOLLGATE_CROSS_REGION_EXPORTS", default=False)

# --- content security policy ---------------------------------------------------------------
# our own origin only, and no inline script or style (apps.core.middleware.ContentSecurityPolicyMiddleware)
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
