"""Stemvault settings: everything comes from the environment (see the README's table)."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


# A value these helpers cannot read stops the start with a message naming the variable: a typo
# such as DEBUG=Ture must not quietly become the default (for DEBUG, production mode).
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def env_bool(name: str, default: bool = False) -> bool:
    value = env_str(name)
    if value == "":
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a yes/no value: use 1, true, yes or on for yes, "
        f"0, false, no or off for no (any case), or leave {name} unset for the default"
    )


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if value == "":
        return default
    if not _INT.fullmatch(value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a whole number: write digits only, such as {default}, "
            f"or leave {name} unset for the default"
        )
    return int(value)


def env_float(name: str, default: float) -> float:
    value = env_str(name)
    if value == "":
        return default
    # The pattern refuses nan, inf and 1_000 too, which float() would take.
    if not _FLOAT.fullmatch(value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a number: write it like {default} or 0.5, "
            f"or leave {name} unset for the default"
        )
    return float(value)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# Where a generated key is kept when SECRET_KEY is unset; the deploy check reads it too.
SECRET_KEY_FILE = VAR_DIR / "secret_key"


def _secret_key() -> str:
    # A stable per-checkout key beats a hard-coded one: sessions survive restarts of `make run`
    # and no key is ever committed. Production sets SECRET_KEY explicitly.
    if key := env_str("SECRET_KEY"):
        return key
    path = SECRET_KEY_FILE
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Links in e-mails point here; a local run on another PORT (make run sets it) links to that port.
SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{env_int('PORT', 8000)}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_dramatiq",
    # For its `export_schema` command (make graphql-schema); the schema is portal.site.graphql.
    "strawberry_django",
    "portal.core",
    "portal.site",
    "portal.accounts",
    "portal.clients",
    "portal.jobs",
    "portal.audit",
    "portal.stems",
    "portal.review",
    "portal.mixes",
    "portal.royalties",
    "portal.payouts",
    "portal.catalogue",
    "portal.streams",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.core.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "site:dashboard"
LOGOUT_REDIRECT_URL = "site:home"

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
                "portal.review.context_processors.notifications",
            ]
        },
    }
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'stemvault.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the worker read while the web process writes; IMMEDIATE takes the write lock
        # at BEGIN so two writers queue instead of failing with "database is locked" mid-way.
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so that a worker in another process sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttling, sign-in limits, claims) -------------------------------------------------
# Shared by every process, or each would count throttles and sign-in attempts on its own: Redis
# when CACHE_URL names one or the broker is Redis (its keys are prefixed, see portal/core/cache),
# else a database table that migrate creates (portal/core/migrations).
CACHE_URL = env_str("CACHE_URL") or (
    env_str("BROKER_URL") if urlparse(env_str("BROKER_URL")).scheme in {"redis", "rediss"} else ""
)
if not CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "stemvault_cache",
            "KEY_PREFIX": "stemvault",
            "OPTIONS": {"MAX_ENTRIES": 20000},
        }
    }
elif urlparse(CACHE_URL).scheme in {"redis", "rediss"}:
    CACHES = {
        "default": {
            "BACKEND": "portal.core.cache.PrefixedRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "stemvault",
            # A Redis that stops answering fails a request in seconds rather than hanging it.
            "OPTIONS": {"socket_connect_timeout": 5, "socket_timeout": 5},
        }
    }
else:
    raise RuntimeError(f"CACHE_URL must start with redis:// or rediss://, not {CACHE_URL!r}")

# --- Background jobs --------------------------------------------------------------------------
# The broker is only a doorbell: every job is a row in the database, and the sweeper rings
# again for any job whose message was lost. Unset BROKER_URL = an embedded in-process worker.
BROKER_URL = env_str("BROKER_URL")
_broker_scheme = urlparse(BROKER_URL).scheme if BROKER_URL else ""
if _broker_scheme in {"redis", "rediss"}:
    _broker, _broker_options = "dramatiq.brokers.redis.RedisBroker", {"url": BROKER_URL}
elif _broker_scheme in {"amqp", "amqps"}:
    _broker, _broker_options = "dramatiq.brokers.rabbitmq.RabbitmqBroker", {"url": BROKER_URL}
elif not BROKER_URL:
    _broker, _broker_options = "dramatiq.brokers.stub.StubBroker", {}
else:
    raise RuntimeError(f"BROKER_URL must start with redis:// or amqp://, not {_broker_scheme}://")
BROKER_KIND = {"": "embedded", "redis": "redis", "rediss": "redis"}.get(_broker_scheme, "rabbitmq")

DRAMATIQ_BROKER = {
    "BROKER": _broker,
    "OPTIONS": _broker_options,
    # django-dramatiq's default list names a Prometheus middleware that dramatiq 2 dropped, so
    # the list is explicit. Retries are the job row's business (attempts, backoff), not the
    # broker's, so the actor itself runs with max_retries=0.
    "MIDDLEWARE": [
        "dramatiq.middleware.AgeLimit",
        "dramatiq.middleware.TimeLimit",
        "dramatiq.middleware.Callbacks",
        "dramatiq.middleware.Retries",
        "django_dramatiq.middleware.DbConnectionsMiddleware",
        "portal.jobs.middleware.SweeperMiddleware",
        "portal.jobs.middleware.RenderPoolMiddleware",
        "portal.jobs.middleware.KeepFreedMemoryMiddleware",
    ],
}
DRAMATIQ_AUTODISCOVER_MODULES = ["tasks"]
JOB_HEARTBEAT_S = env_float("JOB_HEARTBEAT_S", 2.0)
JOB_STALE_AFTER_S = env_float("JOB_STALE_AFTER_S", 20.0)
JOB_REDELIVER_AFTER_S = env_float("JOB_REDELIVER_AFTER_S", 15.0)
JOB_SWEEP_INTERVAL_S = env_float("JOB_SWEEP_INTERVAL_S", 2.0)
EMBEDDED_WORKER_THREADS = env_int("EMBEDDED_WORKER_THREADS", 2)
# Worker threads of the "renders" queue in every worker process, beside the threads of the
# other queues (EMBEDDED_WORKER_THREADS, or `rundramatiq --threads`): see RenderPoolMiddleware.
WORKER_RENDER_THREADS = env_int("WORKER_RENDER_THREADS", 1)

# The licence certificate PDF embeds the first of these TrueType fonts that exists (artists'
# names are in any script); portal/mixes/certificate_pdf.py falls back to Latin-1 without one.
CERTIFICATE_PDF_FONTS = env_str(
    "CERTIFICATE_PDF_FONTS",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:"
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf:"
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
).split(":")

# --- Storage ----------------------------------------------------------------------------------
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
MEDIA_ROOT = VAR_DIR / "media"
if AWS_STORAGE_BUCKET_NAME:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "us-east-1"),
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            # Private objects; every download goes through a signed URL that expires.
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 300),
            "file_overwrite": False,
        },
    }
else:
    # base_url=None: nothing under MEDIA_ROOT is ever served at a public URL.
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    }
# Where the browser fetches stored audio from besides this site (signed S3 URLs): the
# Content-Security-Policy's media-src (portal/core/csp.py).
CSP_MEDIA_ORIGINS: list[str] = []
if AWS_STORAGE_BUCKET_NAME:
    _endpoint = urlparse(env_str("AWS_S3_ENDPOINT_URL"))
    if _endpoint.netloc:
        # Path-style (bucket in the path) or virtual-hosted (bucket as a subdomain).
        CSP_MEDIA_ORIGINS = [
            f"{_endpoint.scheme}://{_endpoint.netloc}",
            f"{_endpoint.scheme}://*.{_endpoint.netloc}",
        ]
    else:
        CSP_MEDIA_ORIGINS = ["https://*.amazonaws.com"]
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # larger uploads stream to a temporary file
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
STEM_MAX_UPLOAD_BYTES = env_int("STEM_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
# The public clearance lookup (portal.mixes.clearance_views): a claimed clip of at most 3 min
# fits in 40 MB as 16-bit stereo 48 kHz WAV (35 MB), any length as MP3; the rate is per client
# address.
CLEARANCE_MAX_UPLOAD_BYTES = env_int("CLEARANCE_MAX_UPLOAD_BYTES", 40 * 1024 * 1024)
CLEARANCE_THROTTLE_RATE = env_str("CLEARANCE_THROTTLE_RATE", "20/min")

# --- Domain knobs (each domain reads its own with a default; the environment may override) ---
# Sign-in and password-reset attempts allowed per account and per client address, per window.
ACCOUNTS_LOGIN_ATTEMPTS_PER_ACCOUNT = env_int("ACCOUNTS_LOGIN_ATTEMPTS_PER_ACCOUNT", 5)
ACCOUNTS_LOGIN_ATTEMPTS_PER_ADDRESS = env_int("ACCOUNTS_LOGIN_ATTEMPTS_PER_ADDRESS", 20)
ACCOUNTS_PASSWORD_RESETS_PER_ACCOUNT = env_int("ACCOUNTS_PASSWORD_RESETS_PER_ACCOUNT", 3)
ACCOUNTS_PASSWORD_RESETS_PER_ADDRESS = env_int("ACCOUNTS_PASSWORD_RESETS_PER_ADDRESS", 10)
ACCOUNTS_ATTEMPT_WINDOW_MINUTES = env_int("ACCOUNTS_ATTEMPT_WINDOW_MINUTES", 15)
# Reverse proxies of ours in front of the web process that append the client to
# X-Forwarded-For; 0 = use REMOTE_ADDR and ignore that header (anyone can write it).
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
REVIEW_CLAIM_MINUTES = env_int("REVIEW_CLAIM_MINUTES", 30)
STEMVAULT_SIGNING_KEY = env_str("STEMVAULT_SIGNING_KEY")  # PEM path; unset = var/keys/
# Content Credentials (C2PA): PEM paths of a certificate chain (signer first) and its private
# key, both or neither; unset = a development CA and signer generated in var/keys/c2pa/.
C2PA_CERT_CHAIN_PEM = env_str("C2PA_CERT_CHAIN_PEM")
C2PA_PRIVATE_KEY_PEM = env_str("C2PA_PRIVATE_KEY_PEM")
C2PA_TSA_URL = env_str("C2PA_TSA_URL")  # an RFC 3161 timestamp authority; unset = none
MIXES_RENDER_TIME_LIMIT_S = env_int("MIXES_RENDER_TIME_LIMIT_S", 300)
MIXES_STEM_CACHE_BYTES = env_int("MIXES_STEM_CACHE_BYTES", 512 * 1024**2)
# Render quotas (see mixes.quotas): soundtracks queued or rendering at once, and requested
# seconds per UTC day, for a person's own requests and for each client app's.
MIXES_MAX_CONCURRENT_RENDERS_PER_ACCOUNT = env_int("MIXES_MAX_CONCURRENT_RENDERS_PER_ACCOUNT", 3)
MIXES_MAX_CONCURRENT_RENDERS_PER_APP = env_int("MIXES_MAX_CONCURRENT_RENDERS_PER_APP", 10)
MIXES_RENDER_SECONDS_PER_DAY_PER_ACCOUNT = env_int("MIXES_RENDER_SECONDS_PER_DAY_PER_ACCOUNT", 3600)
MIXES_RENDER_SECONDS_PER_DAY_PER_APP = env_int("MIXES_RENDER_SECONDS_PER_DAY_PER_APP", 36000)
# Completion webhooks for client apps (portal.clients.webhooks): the receiver's time to answer
# one attempt, attempts before a delivery is failed, and whether a webhook may go to loopback
# or private addresses (refused in production against SSRF; a local receiver in development).
WEBHOOK_TIMEOUT_S = env_float("WEBHOOK_TIMEOUT_S", 5.0)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", DEBUG)
ROYALTIES_MAX_PLAYS_PER_LISTENER_PER_MIX_PER_DAY = env_int(
    "ROYALTIES_MAX_PLAYS_PER_LISTENER_PER_MIX_PER_DAY", 20
)
ROYALTIES_CLOCK_SKEW_S = env_int("ROYALTIES_CLOCK_SKEW_S", 120)
ROYALTIES_PLAYS_THROTTLE_RATE = env_str("ROYALTIES_PLAYS_THROTTLE_RATE", "200/s")
ROYALTIES_LATE_WINDOW_DAYS = env_int("ROYALTIES_LATE_WINDOW_DAYS", 35)
# The listening rules' thresholds: read from the environment only when given there. Their
# defaults, and why each is what it is, live beside the rules (royalties/computation.py
# RULE_SETTINGS), which is also what the public "How plays count" page prints.
for _rule_setting in (
    "ROYALTIES_OVERLAP_TOLERANCE_S",
    "ROYALTIES_SPIKE_FACTOR",
    "ROYALTIES_SPIKE_HISTORY_DAYS",
    "ROYALTIES_SPIKE_FLOOR",
    "ROYALTIES_LOCKSTEP_WINDOW_S",
    "ROYALTIES_LOCKSTEP_MIN_LISTENERS",
    "ROYALTIES_LOCKSTEP_FACTOR",
    "ROYALTIES_LOCKSTEP_SHARE_PCT",
    "ROYALTIES_HUGGING_MARGIN_S",
    "ROYALTIES_HUGGING_MIN_PLAYS",
    "ROYALTIES_HUGGING_SHARE_PCT",
    "ROYALTIES_HUGGING_APP_MIN_PLAYS",
):
    if os.environ.get(_rule_setting):
        globals()[_rule_setting] = env_int(_rule_setting, 0)
# The live player (portal/streams): segment length, how many segments are rendered ahead of the
# live edge (topped up STREAM_RENDER_BATCH at a time), how long before its play time a segment is
# published (a quarter of a segment: players hold a blocking playlist reload open for the next
# segment and learn of it the moment it is published, see streams/schedule.py), the playlist
# window, idle timeout, per-app concurrent sessions, dislike/like memory, and how many seconds
# of listening make one paid play.
STREAM_SEGMENT_SECONDS = env_float("STREAM_SEGMENT_SECONDS", 2.0)
STREAM_LEAD_SEGMENTS = env_int("STREAM_LEAD_SEGMENTS", 3)
STREAM_RENDER_BATCH = env_int("STREAM_RENDER_BATCH", 2)
STREAM_PUBLISH_AHEAD_S = env_float("STREAM_PUBLISH_AHEAD_S", 0.5)
STREAM_PLAYLIST_WINDOW = env_int("STREAM_PLAYLIST_WINDOW", 6)
STREAM_IDLE_SECONDS = env_int("STREAM_IDLE_SECONDS", 60)
STREAM_MAX_SESSIONS_PER_APP = env_int("STREAM_MAX_SESSIONS_PER_APP", 500)
STREAM_DISLIKE_SECONDS = env_int("STREAM_DISLIKE_SECONDS", 7 * 24 * 3600)
STREAM_LIKE_SECONDS = env_int("STREAM_LIKE_SECONDS", 30 * 24 * 3600)
STREAM_LIKE_WEIGHT = env_float("STREAM_LIKE_WEIGHT", 2.0)
STREAM_PLAY_SECONDS = env_int("STREAM_PLAY_SECONDS", 300)
STREAM_SELF_OUTPUT_SECONDS = env_int("STREAM_SELF_OUTPUT_SECONDS", 30)
# Counting (portal/streams/services/counting.py): how far a segment's wall-clock interval may
# run into the listener's already counted listening (heartbeat jitter; more is a second stream
# heard at the same time, and does not count), and the paid stream seconds per listener per UTC
# day (12 h: a shop's opening hours; one pair of ears cannot exceed 24 h anyway).
STREAM_OVERLAP_SLACK_MS = env_int("STREAM_OVERLAP_SLACK_MS", 500)
STREAM_DAILY_CAP_SECONDS = env_int("STREAM_DAILY_CAP_SECONDS", 12 * 3600)
STREAM_STEM_CACHE_BYTES = env_int("STREAM_STEM_CACHE_BYTES", 512 * 1024**2)
PAYOUT_THRESHOLD_MINOR = env_int("PAYOUT_THRESHOLD_MINOR", 1000)
PAYOUT_CONCURRENCY = env_int("PAYOUT_CONCURRENCY", 4)
STRIPE_TIMEOUT_S = env_int("STRIPE_TIMEOUT_S", 20)
# Hours after which a Stripe write is retried only after looking Stripe up first: Stripe forgets
# idempotency keys once they are 24 hours old, so this must stay under 24 (0: always look up).
PAYOUTS_IDEMPOTENCY_SAFE_HOURS = env_int("PAYOUTS_IDEMPOTENCY_SAFE_HOURS", 20)
if not 0 <= PAYOUTS_IDEMPOTENCY_SAFE_HOURS <= 23:
    raise RuntimeError(
        "PAYOUTS_IDEMPOTENCY_SAFE_HOURS must be 0 to 23: Stripe forgets idempotency keys once "
        f"they are 24 hours old (got {PAYOUTS_IDEMPOTENCY_SAFE_HOURS})."
    )

# --- Stripe -----------------------------------------------------------------------------------
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_API_BASE = env_str("STRIPE_API_BASE")  # a local Stripe-compatible server in tests
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")

# --- Email ------------------------------------------------------------------------------------
# Locally each message goes to a file under var/mail/ with one line on the log (portal.core.mail);
# production sets a real backend.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "portal.core.mail.FileEmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Stemvault <noreply@stemvault.local>")

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First: it claims app credentials (sva_...) and leaves personal tokens to the next.
        "portal.clients.authentication.AppCredentialAuthentication",
        "portal.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "portal.accounts.permissions.FullScopeOnly",
    ],
    "DEFAULT_PAGINATION_CLASS": "portal.core.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON", "60/min"),
        "user": env_str("THROTTLE_USER", "1200/min"),
    },
    # The throttles' client address follows TRUSTED_PROXIES too: DRF's default (None) would
    # believe any X-Forwarded-For a client sends, one fresh allowance per invented address.
    "NUM_PROXIES": TRUSTED_PROXIES,
    "EXCEPTION_HANDLER": "portal.core.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Stemvault API",
    "DESCRIPTION": "Contribute stems, review them, request soundtracks and report plays.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's assets come from the drf-spectacular-sidecar package: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Security (production = DEBUG off) ----------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# One handler, on the root: Django's default config gives the `django` logger a console handler
# of its own under DEBUG, which with the root's printed every "Not Found" twice, so `django`
# here just propagates. 4xx answers log one line without a traceback (portal.core.logging).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "client_errors_without_traceback": {
            "()": "portal.core.logging.ClientErrorsWithoutTraceback"
        },
        "two_workers_one_broker": {"()": "portal.core.logging.TwoWorkersOneBroker"},
    },
    "formatters": {
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["client_errors_without_traceback", "two_workers_one_broker"],
        },
        # runserver's request lines, timestamped as Django's default config has them (naming
        # `django` below resets its children, this one included).
        "server": {"class": "logging.StreamHandler", "formatter": "server"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},
        # The certificate PDF's font subsetting logs every table it prunes at INFO.
        "fontTools": {"level": "WARNING"},
    },
}
