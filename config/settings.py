"""Settings from environment variables, with the embedded defaults of `make run`.

Unset, everything runs on one machine with no servers: SQLite under var/, Celery on the
filesystem broker, the tiny offline model. Production sets DATABASE_URL,
CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS and the HTTPS settings (see
docker-compose.yml); with DEBUG off nothing serves without a private SECRET_KEY.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("RANKWISE_VAR_DIR", BASE_DIR / "var"))


def env_flag(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    """Read a comma-separated environment variable."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item]


DEBUG = env_flag("DEBUG")
# Signs sessions and keys the exports' annotator pseudonyms. Unset, it is the one
# `make run` keeps in the var folder, so manage.py commands there share the server's;
# else the development key, which is public (it is in this file): with DEBUG off,
# config.startup refuses to serve with it.
SECRET_KEY_FILE = VAR_DIR / "secret-key"
DEVELOPMENT_SECRET_KEY = "django-insecure-rankwise-development-key"
SECRET_KEY = (
    os.environ.get("SECRET_KEY")
    or (SECRET_KEY_FILE.read_text().strip() if SECRET_KEY_FILE.is_file() else "")
    or DEVELOPMENT_SECRET_KEY
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "annotate",
    "training",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside the rest, so error pages and every other response carry it too.
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Sent with every response (config.middleware). No inline scripts anywhere: every
# script is a static file, and data for one rides in json_script or data-*
# attributes. Images only from the site or data: URLs, so Markdown in outputs or
# instructions cannot make the annotator's browser call out.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Django's admin and DRF's browsable API write some style="" attributes and <style>
# blocks (never scripts): under these paths only, inline styles are allowed.
CONTENT_SECURITY_POLICY_INLINE_STYLE_PATHS = ("/admin/", "/api/v1/")

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'rankwise.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The server's threads, the worker and a job's heartbeat thread write at once.
    # WAL lets reads run beside the one writer. IMMEDIATE takes the write lock when a
    # transaction begins, so a second writer waits for it (up to `timeout` seconds):
    # a deferred transaction that read first fails at once with "database is locked"
    # when it tries to write, and select_for_update() does not lock on SQLite. Test
    # on a file too: an in-memory test database has one connection, so no contention.
    sqlite_options = DATABASES["default"].setdefault("OPTIONS", {})
    sqlite_options.setdefault("init_command", "PRAGMA journal_mode=WAL")
    sqlite_options.setdefault("transaction_mode", "IMMEDIATE")
    sqlite_options.setdefault("timeout", 30)
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-rankwise.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# HTTPS, all off by default (`make run` serves plain HTTP on loopback). Behind a proxy
# that ends TLS, trust its X-Forwarded-Proto only if it always sets that header itself:
# a client could otherwise claim HTTPS.
if env_flag("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT")
SESSION_COOKIE_SECURE = env_flag("SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = env_flag("CSRF_COOKIE_SECURE")
# Browsers remember HSTS for this long: raise it step by step once HTTPS works.
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_flag("SECURE_HSTS_PRELOAD")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG and env_flag("RANKWISE_COLLECTED_STATIC")
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "annotate:home"
LOGOUT_REDIRECT_URL = "login"

# Failed logins (web, admin, API token; counted together) allowed per client
# address and per username in a window, "N/period": "30/10m" is 30 per 10 minutes
# (units s, m, h, d). Beyond either, logins answer 429 until the window ends.
RANKWISE_LOGIN_FAILURES_PER_ADDRESS = os.environ.get(
    "RANKWISE_LOGIN_FAILURES_PER_ADDRESS", "30/10m"
)
RANKWISE_LOGIN_FAILURES_PER_USERNAME = os.environ.get(
    "RANKWISE_LOGIN_FAILURES_PER_USERNAME", "10/15m"
)
# Proxies in front of the web server that append to X-Forwarded-For: the client's
# address is that many entries from the right. 0: REMOTE_ADDR (a client could
# otherwise write its own X-Forwarded-For and never be throttled).
RANKWISE_NUM_PROXIES = int(os.environ.get("RANKWISE_NUM_PROXIES", "0"))
# API tokens stop working this long after they are issued (30 days).
RANKWISE_TOKEN_TTL_HOURS = float(os.environ.get("RANKWISE_TOKEN_TTL_HOURS", "720"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JsonParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ApiPagination",
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
    # Throttles tell clients apart by address (annotate.throttling reads it too).
    "NUM_PROXIES": RANKWISE_NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "rankwise API",
    "DESCRIPTION": "Projects, prompts, outputs, tasks and judgements of rankwise. "
    "Authenticate with `Authorization: Token <key>` (POST /api/v1/auth/token/; a "
    "token expires after RANKWISE_TOKEN_TTL_HOURS, then ask again for a new one; "
    "POST /api/v1/auth/token/revoke/ or logging out of the site revokes it) or a "
    'browser session. Errors answer {"errors": {field: why}}.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request and response components: ids and timestamps are never sent.
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "RoundStateEnum": "training.models.Round.State",
        "ImportFormatEnum": "annotate.importing.FORMATS",
    },
}

# Celery: the filesystem broker needs no server; one folder is both inbox and outbox.
CELERY_FILESYSTEM_DIR = VAR_DIR / "celery-broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_DIR),
        "data_folder_out": str(CELERY_FILESYSTEM_DIR),
        "processed_folder": str(VAR_DIR / "celery-processed"),
        # Broadcast exchanges (pings, remote control); kombu defaults to ./control.
        "control_folder": str(VAR_DIR / "celery-control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = os.environ.get(
    "CELERY_RESULT_BACKEND", f"file://{VAR_DIR / 'celery-results'}"
)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# The login throttle's counters must be shared by every web process (gunicorn runs
# several; a per-process memory cache would multiply the limits and forget them on
# restart). CACHE_REDIS_URL=redis://host:6379/2 uses Redis (a database of its own:
# clearing a cache empties its Redis database); unset, a table in the main
# database, which `migrate` creates.
CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL", "")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_REDIS_URL,
    }
    if CACHE_REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "rankwise_cache",
        # Counters are kept per address and per username tried: room for an attack
        # spread over many of each before old windows are culled.
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}

RANKWISE_POLICY_MODEL = os.environ.get("RANKWISE_POLICY_MODEL", "")
RANKWISE_MODELS_DIR = Path(os.environ.get("RANKWISE_MODELS_DIR", VAR_DIR / "models"))
# A training job beats every few seconds; one silent for this long is marked failed
# (its worker died), so a killed worker never leaves a run "running" for ever.
RANKWISE_RUN_HEARTBEAT_SECONDS = float(
    os.environ.get("RANKWISE_RUN_HEARTBEAT_SECONDS", "5")
)
RANKWISE_RUN_STALE_AFTER_SECONDS = float(
    os.environ.get("RANKWISE_RUN_STALE_AFTER_SECONDS", "60")
)
# Hard limit for one training or generation job on a worker.
RANKWISE_JOB_TIME_LIMIT_SECONDS = int(
    os.environ.get("RANKWISE_JOB_TIME_LIMIT_SECONDS", str(6 * 3600))
)
# Longest text stored (characters): bounds the work of one write and one task page.
RANKWISE_MAX_OUTPUT_CHARS = int(os.environ.get("RANKWISE_MAX_OUTPUT_CHARS", "100000"))
RANKWISE_MAX_PROMPT_CHARS = int(os.environ.get("RANKWISE_MAX_PROMPT_CHARS", "100000"))
RANKWISE_MAX_INSTRUCTIONS_CHARS = int(
    os.environ.get("RANKWISE_MAX_INSTRUCTIONS_CHARS", "50000")
)
# What annotators write and what prompts carry (annotate.limits).
RANKWISE_MAX_NOTES_CHARS = int(os.environ.get("RANKWISE_MAX_NOTES_CHARS", "10000"))
RANKWISE_MAX_SKIP_REASON_CHARS = int(
    os.environ.get("RANKWISE_MAX_SKIP_REASON_CHARS", "1000")
)
RANKWISE_MAX_METADATA_BYTES = int(
    os.environ.get("RANKWISE_MAX_METADATA_BYTES", "65536")
)
# A finished export job's file is kept this long, then deleted with its job.
RANKWISE_EXPORT_RETENTION_HOURS = float(
    os.environ.get("RANKWISE_EXPORT_RETENTION_HOURS", "24")
)
# Imports (annotate.importing.caps): a file over either cap is refused before its
# rows are decoded.
RANKWISE_IMPORT_MAX_BYTES = int(
    os.environ.get("RANKWISE_IMPORT_MAX_BYTES", str(1 << 30))
)
RANKWISE_IMPORT_MAX_ROWS = int(os.environ.get("RANKWISE_IMPORT_MAX_ROWS", "1000000"))
# What the `gpu` queue's workers have, so a launch is refused when a round's jobs
# could not run there: GPUs per worker (0: a CPU worker, whose processes use gloo)
# and GiB per GPU (unset: no memory plan is checked).
RANKWISE_WORKER_GPUS = int(os.environ.get("RANKWISE_WORKER_GPUS", "0"))
RANKWISE_WORKER_GPU_MEMORY_GIB = (
    float(os.environ["RANKWISE_WORKER_GPU_MEMORY_GIB"])
    if os.environ.get("RANKWISE_WORKER_GPU_MEMORY_GIB")
    else None
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
