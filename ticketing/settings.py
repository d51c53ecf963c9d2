"""Settings for the ticketing project, read from the environment.

Environment variables (all optional; the embedded defaults run a first demo with nothing installed but
Python):

- ``SECRET_KEY``: Django's secret key. Without it a random key is created once in ``.secret_key``.
- ``DEBUG``: ``true``/``false`` (default false).
- ``ALLOWED_HOSTS``: comma-separated (default ``localhost,127.0.0.1,[::1]``).
- ``DATABASE_URL``: e.g. ``postgres://postgres@127.0.0.1:5432/ticketing``. Default: SQLite in WAL mode
  with ``IMMEDIATE`` transactions and a busy timeout (``db.sqlite3`` in the project directory).
- ``REDIS_URL``: e.g. ``redis://127.0.0.1:6379/0``. Selects channels-redis for the channel layer and
  Redis for the cache (rate limits). Default: the in-memory channel layer and a local-memory cache.
- ``CHANNEL_LAYER``: ``pubsub`` (default, ``RedisPubSubChannelLayer``) or ``core``
  (``RedisChannelLayer``); only with ``REDIS_URL``.
- ``REDIS_PREFIX`` (older name ``CACHE_KEY_PREFIX``): the prefix of everything this deployment keeps
  in Redis (default derived from the database); ``REDIS_TIMEOUT_SECONDS`` (0.25),
  ``REDIS_BREAKER_FAILURES`` (3), ``REDIS_BREAKER_RESET_SECONDS`` (1): see ``core.redisguard``.
  ``REALTIME_REORDER_WAIT_SECONDS`` (1), ``REALTIME_PROBE_SECONDS`` (0.5): see ``realtime.hub``;
  ``REALTIME_FRAME_INTERVAL_SECONDS`` (0.05): see ``realtime.events``.
  ``PRESENCE_LEASE_SECONDS`` (30), ``PRESENCE_REFRESH_SECONDS`` (10), ``ABANDON_SWEEP_SECONDS`` (1):
  see ``realtime.presence``.
  ``QUEUE_ADMITTER_IN_WEB`` (true), ``QUEUE_ADMITTER_SECONDS`` (1): the waiting room's admitter
  inside the server processes (``realtime.admitter``); false when the ``admit`` process runs it.
- ``PAYMENT_PROVIDER`` (``demo``, the default, captures at once; ``webhook`` waits for the signed
  webhook, secret ``PAYMENT_WEBHOOK_SECRET``), ``PAYMENT_WINDOW_SECONDS`` (default 900),
- ``HTTPS`` (``true`` in production: secure cookies, HSTS, https redirect, proxy header),
  ``CSRF_TRUSTED_ORIGINS``, ``LOG_FORMAT`` (``json`` default, ``plain``), ``LOG_LEVEL``,
- ``SITE_URL`` (links in e-mails), ``EMAIL_BACKEND`` (console by default; ``EMAIL_HOST`` & co. for
  SMTP), ``DEFAULT_FROM_EMAIL``, ``EMAIL_TIMEOUT`` (10 s, one SMTP send). E-mails go through the
  outbox (``orders.emails``): the worker retries a failed one after ``EMAIL_RETRY_BASE_SECONDS``
  (60) × 2^(attempt-1), at most an hour, and marks it dead after ``EMAIL_MAX_ATTEMPTS`` (8),
  ``DB_LOCK_TIMEOUT_MS`` (default 5000).
- ``LANGUAGE_CODE`` (``en``): the language when a request names none (``ticketing/i18n.py``,
  docs/i18n.md); ``th`` and ``en`` are served.
- Booking rules (docs/api.md): ``HOLD_TTL_SECONDS`` (300) and ``MAX_SEATS_PER_ORDER`` (10), the
  ``hold_ttl`` and ``max_seats_per_order`` of new showtimes; ``MAX_PENDING_ORDERS_PER_BUYER`` (3),
  unpaid orders one buyer may have per showtime; ``HOLD_EXPIRING_NOTICE_SECONDS`` (60), how long
  before a hold's ``expires_at`` its owner's socket gets ``hold.expiring`` (docs/realtime.md).
- Performance (their measurements: ``bench/README.md``): ``HTTP_THREADS`` (4), ``JWT_USER_CACHE_SECONDS``
  (30), ``REALTIME_SNAPSHOT_CACHE_SECONDS`` (1), ``DB_POOL_MIN``/``DB_POOL_MAX`` (1/20),
  ``DB_SERVER_SIDE_BINDING`` (true), ``DB_PREPARE_THRESHOLD`` (5; ``off``: no prepared statements).
- Hostile input and overload (issue #14): ``API_MAX_BODY_BYTES`` (64 KiB), ``ADMIN_UPLOAD_MAX_BYTES``
  (10 MiB), ``MAX_REQUEST_BODY_BYTES`` (256 KiB), ``TRUSTED_PROXIES`` (CIDRs; none),
  ``DB_POOL_TIMEOUT_SECONDS`` (5): see docs/deploy.md.
"""

import os
import re
import secrets
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _secret_key() -> str:
    """Return ``SECRET_KEY`` from the environment, else a random key kept in ``.secret_key``."""
    key = env("SECRET_KEY", default="")
    if key:
        return key
    path = BASE_DIR / ".secret_key"
    try:
        with open(path, "x") as handle:  # "x": two processes starting at once don't both write
            handle.write(secrets.token_urlsafe(50))
    except FileExistsError:
        pass
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Behind HTTPS (production): HTTPS=true turns on secure cookies, HSTS and the redirect to https,
# and trusts the load balancer's X-Forwarded-Proto. Off by default so the embedded first run works
# on http://127.0.0.1.
HTTPS = env.bool("HTTPS", default=False)
if HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/$", r"^metrics$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_prometheus",
    "django_guid",
    "core",
    "ticketing",
    "seats",
    "orders",
    "realtime",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "ticketing.middleware.BodySizeLimitMiddleware",
    "ticketing.middleware.MalformedRequestMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # gzip for API answers and pages when the client accepts it (docs/api.md "Compression";
    # Django's, with its BREACH mitigation). Below WhiteNoise, which answers static files itself
    # (precompressed .gz/.br), so they never reach it; above every middleware that reads or
    # writes the body. It skips bodies under 200 bytes, 304s and answers already encoded.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ticketing.i18n.LanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    "ticketing.middleware.OverloadMiddleware",
]
# A session cookie that is not a session key is no session (ticketing/sessions.py).
SESSION_ENGINE = "ticketing.sessions"

ROOT_URLCONF = "ticketing.urls"
ASGI_APPLICATION = "ticketing.asgi.application"

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


def _prepare_threshold(value: str) -> int | None:
    """psycopg's ``prepare_threshold`` from ``DB_PREPARE_THRESHOLD``: a count (0 or more: prepare
    a statement after that many runs on a connection), or None for ``off``/``none``/empty (never
    prepare). Anything else stops the start with ImproperlyConfigured."""
    value = value.strip().lower()
    if value in ("", "off", "none"):
        return None
    if not value.isdigit():
        raise ImproperlyConfigured(f"DB_PREPARE_THRESHOLD must be a count or 'off', not {value!r}")
    return int(value)


# --- Database --------------------------------------------------------------------------------------
DB_LOCK_TIMEOUT_MS = env.int("DB_LOCK_TIMEOUT_MS", default=5000)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so two
    # writers never deadlock upgrading a read lock; the busy timeout (seconds) makes a writer wait
    # for the lock instead of failing at once (Django 5.1+ options).
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env.int("SQLITE_BUSY_TIMEOUT_SECONDS", default=20),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file, not Django's shared in-memory database, so that threads with their own
    # connections meet WAL and IMMEDIATE transactions exactly as the server does.
    # One file per test process, so parallel test runs on one machine never share it.
    _db["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}
elif _db["ENGINE"] in ("django.db.backends.postgresql",):
    # A lock wait longer than DB_LOCK_TIMEOUT_MS fails (answered 409 + Retry-After), so no request
    # waits forever. Django's psycopg pool: CONN_MAX_AGE does not reuse connections under ASGI
    # (../shared/PITFALLS.md).
    _db["OPTIONS"] = {
        "options": f"-c lock_timeout={DB_LOCK_TIMEOUT_MS}",
        # Parameters sent apart from the query (PostgreSQL's extended protocol): no client-side
        # quoting of every value, less web CPU per hold or order (bench/README.md, "onsale").
        # DB_SERVER_SIDE_BINDING=false goes back to client-side quoting.
        "server_side_binding": env.bool("DB_SERVER_SIDE_BINDING", default=True),
        # psycopg prepares a statement once it ran this many times on a connection (named
        # prepared statements): PostgreSQL plans it once per connection instead of on every
        # call, 1.1–1.4 ms less PostgreSQL CPU per hold or order request (bench/README.md,
        # "Issue #20"). DB_PREPARE_THRESHOLD=off for PgBouncer in transaction mode older than
        # 1.21 or without max_prepared_statements (docs/deploy.md).
        "prepare_threshold": _prepare_threshold(env.str("DB_PREPARE_THRESHOLD", default="5")),
        "pool": {
            "min_size": env.int("DB_POOL_MIN", default=1),
            "max_size": env.int("DB_POOL_MAX", default=20),
            "timeout": env.int("DB_POOL_TIMEOUT_SECONDS", default=5),
        },
    }
    _db["CONN_MAX_AGE"] = 0
    _db["TEST"] = {"NAME": f"test_{_db['NAME']}_{os.getpid()}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer and cache -------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# Everything this deployment keeps in Redis sits under REDIS_PREFIX: the channel layer's channels
# and groups (pub/sub ignores the database number of REDIS_URL), the seq counters, the cache and
# the rate limits. Two deployments sharing one Redis need different prefixes; the default is
# derived from the database, so two deployments with their own databases never meet (issue #13).
# CACHE_KEY_PREFIX is the older name of the same setting.
REDIS_PREFIX = env(
    "REDIS_PREFIX",
    default=env(
        "CACHE_KEY_PREFIX",
        default="seatline-"
        + re.sub(
            r"[^A-Za-z0-9_.-]+", "-", f"{_db.get('HOST') or 'local'}-{Path(str(_db['NAME'])).name}"
        ),
    ),
)
CACHE_KEY_PREFIX = REDIS_PREFIX
# Redis on request and socket paths (core.redisguard): each call's socket timeout, and the
# circuit breaker that stops trying after that many failures in a row, for that many seconds.
REDIS_TIMEOUT_SECONDS = env.float("REDIS_TIMEOUT_SECONDS", default=0.25)
REDIS_BREAKER_FAILURES = env.int("REDIS_BREAKER_FAILURES", default=3)
REDIS_BREAKER_RESET_SECONDS = env.float("REDIS_BREAKER_RESET_SECONDS", default=1.0)
if REDIS_URL:
    from redis.asyncio.retry import Retry as _AsyncRetry
    from redis.backoff import ExponentialBackoff as _Backoff

    _layer = env("CHANNEL_LAYER", default="pubsub")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": (
                "channels_redis.pubsub.RedisPubSubChannelLayer"
                if _layer == "pubsub"
                else "channels_redis.core.RedisChannelLayer"
            ),
            "CONFIG": {
                "prefix": f"{REDIS_PREFIX}:asgi",
                # Bounded connects, and reconnects after a Redis restart within about a second
                # (redis-py's default backoff waits up to 10 s between tries).
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_connect_timeout": 0.5,
                        "socket_keepalive": True,
                        "retry": _AsyncRetry(_Backoff(cap=0.5, base=0.05), 3),
                    }
                ],
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
            "OPTIONS": {
                # Redis down: cache reads miss and writes are dropped instead of raising, and
                # rate limits fail open (RATELIMIT_FAIL_OPEN), so the API keeps selling seats.
                # Short timeouts, no retries and the circuit breaker of core.redisguard
                # (GuardedConnection), so a hung Redis costs a request at most one timeout.
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT_SECONDS,
                "SOCKET_TIMEOUT": REDIS_TIMEOUT_SECONDS,
                "CONNECTION_POOL_CLASS": "core.redisguard.GuardedConnectionPool",
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # One process serves everything in the embedded mode, so a local-memory cache is shared by all
    # of its requests and django-ratelimit may use it.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

# --- Auth -------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ticketing.authentication.CachedJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Seat booking API",
    "DESCRIPTION": (
        "Shows, showtimes, holds, orders and tickets (see shared/spec/api.md). Every 4xx answer "
        'has the body {"error": {"code", "message", "details"}}; each response lists its codes.'
        "\n\nLanguages: English (`en`) and Thai (`th`). `error.message` and the messages in "
        "`error.details` come in the language asked for: a signed-in buyer's saved language "
        "first, then `?lang=th` (also kept in a cookie), then `Accept-Language: th`, else "
        "English. Codes, field names and status values never change with the language. Every "
        "answer names its language in `Content-Language`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request and response components (e.g. TokenObtainPairRequest), so read-only fields
    # are not asked for in requests and write-only ones are not promised in answers.
    "COMPONENT_SPLIT_REQUEST": True,
    # Tags and operation ids by resource ("orders_create"), not "v1" for everything.
    "SCHEMA_PATH_PREFIX": r"/api/v1/",
    # The common error answers (400 malformed_request, 503 unavailable: core/schema.py) and
    # the links between the booking operations (hold → order → pay …: ticketing/schema_links.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.add_common_errors",
        "core.schema.add_language",
        "ticketing.schema_links.add_links",
    ],
    # Swagger UI and ReDoc from the drf-spectacular-sidecar package (served as static files, works
    # offline) once the app is installed; the CDN otherwise.
    **(
        {
            "SWAGGER_UI_DIST": "SIDECAR",
            "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
            "REDOC_DIST": "SIDECAR",
        }
        if "drf_spectacular_sidecar" in INSTALLED_APPS
        else {}
    ),
}
SIMPLE_JWT = {"AUTH_HEADER_TYPES": ("Bearer",)}
# Seconds a process reuses a JWT's user row instead of reading it per request (0: read every time;
# ticketing/authentication.py).
JWT_USER_CACHE_SECONDS = env.int("JWT_USER_CACHE_SECONDS", default=30)
# Worker threads per process that run HTTP requests (ticketing/handlers.py); keep DB_POOL_MAX at
# least as large.
HTTP_THREADS = env.int("HTTP_THREADS", default=4)
# Seconds a process keeps a showtime's encoded snapshot frame while no frame of it arrives, so a
# connect storm reads the seats once (realtime/hub.py; 0: read for every socket).
REALTIME_SNAPSHOT_CACHE_SECONDS = env.float("REALTIME_SNAPSHOT_CACHE_SECONDS", default=1.0)
REALTIME_REORDER_WAIT_SECONDS = env.float("REALTIME_REORDER_WAIT_SECONDS", default=1.0)
REALTIME_PROBE_SECONDS = env.float("REALTIME_PROBE_SECONDS", default=0.5)
# The shortest time between two seats.changed frames of one process (changes meanwhile share the
# next frame): bounds the fan-out cost of an on-sale (bench/README.md "live"). 0: no wait.
REALTIME_FRAME_INTERVAL_SECONDS = env.float("REALTIME_FRAME_INTERVAL_SECONDS", default=0.05)

# --- Booking rules -----------------------------------------------------------------------------------
HOLD_TTL_SECONDS = env.int("HOLD_TTL_SECONDS", default=300)
MAX_SEATS_PER_ORDER = env.int("MAX_SEATS_PER_ORDER", default=10)
MAX_PENDING_ORDERS_PER_BUYER = env.int("MAX_PENDING_ORDERS_PER_BUYER", default=3)
PAYMENT_WINDOW_SECONDS = env.int("PAYMENT_WINDOW_SECONDS", default=900)
PAYMENT_PROVIDER = env("PAYMENT_PROVIDER", default="demo")
# Shared secret of the webhook provider's HMAC-SHA256 signatures; empty refuses every webhook.
PAYMENT_WEBHOOK_SECRET = env("PAYMENT_WEBHOOK_SECRET", default="")
# Where links in e-mails point (scheme, host and port of the public site).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Seatline <tickets@localhost>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# The outbox (orders/emails.py): attempts before an e-mail is dead, and the first retry's delay.
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=8)
EMAIL_RETRY_BASE_SECONDS = env.float("EMAIL_RETRY_BASE_SECONDS", default=60.0)
IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 3600
SOCKET_TICKET_TTL_SECONDS = 30
# The owner's socket gets hold.expiring this many seconds before the hold's expires_at (the seat
# map then offers "Extend"; docs/realtime.md).
HOLD_EXPIRING_NOTICE_SECONDS = env.int("HOLD_EXPIRING_NOTICE_SECONDS", default=60)
# Holds that follow the buyer (realtime/presence.py, docs/realtime.md "Presence"): a server process
# renews the presence lease of its buyers' holds every PRESENCE_REFRESH_SECONDS for
# PRESENCE_LEASE_SECONDS (a process that dies stops renewing: its buyers count as gone one lease
# later), and releases abandoned holds every ABANDON_SWEEP_SECONDS (0: only the cleanup worker does).
PRESENCE_LEASE_SECONDS = env.float("PRESENCE_LEASE_SECONDS", default=30.0)
PRESENCE_REFRESH_SECONDS = env.float("PRESENCE_REFRESH_SECONDS", default=10.0)
ABANDON_SWEEP_SECONDS = env.float("ABANDON_SWEEP_SECONDS", default=1.0)
# How many times a transaction that lost a deadlock or serialization race is retried before the
# request is answered 409 with Retry-After (domain.md, invariant 3).
DB_RETRY_ATTEMPTS = env.int("DB_RETRY_ATTEMPTS", default=3)
RATELIMIT_HOLDS = env("RATELIMIT_HOLDS", default="60/m")
RATELIMIT_ORDERS = env("RATELIMIT_ORDERS", default="20/m")
RATELIMIT_AUTH = env("RATELIMIT_AUTH", default="10/m")
# Waiting-room joins (POST showtimes/{id}/queue/), per client address (docs/waiting-room.md).
RATELIMIT_QUEUE = env("RATELIMIT_QUEUE", default="30/m")
# The waiting room's admitter runs inside every server process (realtime/admitter.py), one round
# every QUEUE_ADMITTER_SECONDS; off when the separate `admit` process runs it instead.
QUEUE_ADMITTER_IN_WEB = env.bool("QUEUE_ADMITTER_IN_WEB", default=True)
QUEUE_ADMITTER_SECONDS = env.float("QUEUE_ADMITTER_SECONDS", default=1.0)
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_FAIL_OPEN = True
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
# Body limits in bytes, enforced while a body streams in (ticketing/bodylimit.py, issue #14): the
# API, the admin (seating-plan uploads), every other path. Django's cap matches the larger non-file one.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)
ADMIN_UPLOAD_MAX_BYTES = env.int("ADMIN_UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=256 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, MAX_REQUEST_BODY_BYTES)
# X-Forwarded-For counts only when the direct peer is one of these proxies (CIDRs; RFC 7239 §8.3):
# the rate limits' client address (ticketing/clientip.py).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
RATELIMIT_IP_META_KEY = "ticketing.clientip.client_ip"

# --- I18n, static ------------------------------------------------------------------------------------
# The language when the request names none (ticketing/i18n.py: saved preference, ?lang=, cookie,
# Accept-Language, then this). Catalogs: locale/ (docs/i18n.md).
LANGUAGE_CODE = env("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", "English"), ("th", "ภาษาไทย")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "seatline_language"
LANGUAGE_COOKIE_SECURE = HTTPS
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production serves the collected, compressed, hashed files (collectstatic in the release step);
# the embedded run and the tests find them in static/ directly.
WHITENOISE_USE_FINDERS = True
if HTTPS:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

# Structured logs: one JSON object per line with the request id (X-Request-ID, made up when the
# client sends none, and returned in the response) and extra fields such as order_number.
# LOG_FORMAT=plain gives readable lines for a terminal.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": False,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": True,
}
LOG_FORMAT = env("LOG_FORMAT", default="json")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "django_guid.log_filters.CorrelationId"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
            "rename_fields": {
                "correlation_id": "request_id",
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
            },
        },
        "plain": {"format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "django_guid": {"level": "WARNING"}},
}
