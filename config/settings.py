"""Settings read from the environment, with safe local defaults.

Local default: SQLite file in the project folder, no broker (in-process workers), the embedded
process engine, DEBUG on. Production: ``config.production`` (see README's configuration table).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
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
    "drf_spectacular_sidecar",
    "django_htmx",
    "core",
    "processes",
    "vendors",
    "orders",
    "returns",
    "subscriptions",
]
if django.VERSION < (6, 0):  # Python 3.11: partials come from the package Django 6 absorbed
    INSTALLED_APPS.append("template_partials")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.UserTimezoneMiddleware",
]

ROOT_URLCONF = "config.urls"

# Django 6 has {% partialdef %} and {% partial %} built in. On 5.2 they come from
# django-template-partials, whose 25.x releases only wrap the loaders: the tags are added here.
TEMPLATE_BUILTINS = ["template_partials.templatetags.partials"] if django.VERSION < (6, 0) else []

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
                "config.navigation.navigation",
            ],
            "builtins": TEMPLATE_BUILTINS,
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web threads read while an in-process worker writes; IMMEDIATE transactions take
    # the write lock up front so two writers queue instead of failing on a lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}
else:
    # PostgreSQL: each process draws its connections from a bounded pool (psycopg_pool) instead
    # of keeping one per thread, so a burst of requests waits for a connection rather than
    # exhausting the server's. Django requires CONN_MAX_AGE 0 with a pool. 0 turns pooling off.
    DATABASE_POOL_MAX_SIZE = int(os.environ.get("DATABASE_POOL_MAX_SIZE", "10"))
    if DATABASE_POOL_MAX_SIZE > 0:
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(2, DATABASE_POOL_MAX_SIZE),
            "max_size": DATABASE_POOL_MAX_SIZE,
            # Seconds a request waits for a free connection before it fails.
            "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "30")),
        }
    # One test database per test run, so that runs side by side do not drop each other's.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("TEST_DATABASE_NAME")
        or f"test_{DATABASES['default']['NAME']}_{os.getpid()}"
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".staticfiles"
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON only, read strictly (NUL, NaN, 64-bit, depth and size limits): core.parsers.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # ApplicationError -> HTTP status by its code, the same for every API.
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Orderly API",
    "DESCRIPTION": "Order intake, webhooks and the Camunda 8 REST v2 subset served by the engine.",
    "VERSION": "0.1.0",
    # Swagger UI from the drf-spectacular-sidecar package (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.add_shared_responses",
    ],
}

# Process layer --------------------------------------------------------------------------------
PROCESS_ENGINE = os.environ.get("PROCESS_ENGINE", "embedded")
if PROCESS_ENGINE not in {"embedded", "zeebe"}:
    raise ImproperlyConfigured("PROCESS_ENGINE must be 'embedded' or 'zeebe'.")
ZEEBE_ADDRESS = os.environ.get("ZEEBE_ADDRESS", "127.0.0.1:26500")
# Camunda 8's REST API (v2): user tasks and the reads of the back-office pages on Zeebe.
CAMUNDA_REST_ADDRESS = os.environ.get("CAMUNDA_REST_ADDRESS", "http://127.0.0.1:8080/v2")
CAMUNDA_REST_USERNAME = os.environ.get("CAMUNDA_REST_USERNAME", "")
CAMUNDA_REST_PASSWORD = os.environ.get("CAMUNDA_REST_PASSWORD", "")
# The embedded engine's Zeebe gRPC gateway (processes.grpc): `manage.py serve` starts it when an
# address is set (`manage.py zeebe_gateway` runs it alone); a token makes it require
# `authorization: Bearer <token>`.
ZEEBE_GATEWAY_ADDRESS = os.environ.get("ZEEBE_GATEWAY_ADDRESS", "")
ZEEBE_GATEWAY_TOKEN = os.environ.get("ZEEBE_GATEWAY_TOKEN", "")
# How the Zeebe adapter and the job bridge reach a cluster: OAuth client credentials (SaaS,
# self-managed with Identity) over TLS, else plaintext with an optional bearer token.
ZEEBE_CLIENT_ID = os.environ.get("ZEEBE_CLIENT_ID", "")
ZEEBE_CLIENT_SECRET = os.environ.get("ZEEBE_CLIENT_SECRET", "")
ZEEBE_AUTHORIZATION_SERVER_URL = os.environ.get(
    "ZEEBE_AUTHORIZATION_SERVER_URL", "https://login.cloud.camunda.io/oauth/token"
)
ZEEBE_TOKEN_AUDIENCE = os.environ.get("ZEEBE_TOKEN_AUDIENCE", "")
ZEEBE_TOKEN = os.environ.get("ZEEBE_TOKEN", "")

# Celery: no broker configured means jobs run in-process (the `make run` default).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django integration closes the database connection around every task unless told to
# reuse it: a new PostgreSQL connection per job costs more than the job. Reuse it for this many
# tasks; jobs.execute_job still drops a connection that broke or outlived CONN_MAX_AGE.
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "200"))

# The engine ticker's heartbeat (processes.heartbeat): shared through Redis when the broker is
# Redis (beat's ticks run in a worker process), else in the memory of the one serving process.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ticker": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CELERY_BROKER_URL}
        if CELERY_BROKER_URL.startswith("redis")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ticker"}
    ),
}

# In-process workers (threads in the web process) when no broker is configured.
INPROCESS_WORKERS = env_bool("INPROCESS_WORKERS", not CELERY_BROKER_URL)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
ENGINE_CLOCK_CONTROLLED = env_bool("ENGINE_CLOCK_CONTROLLED", DEBUG)

# Payments: "sandbox" (default; test cards tok_visa, tok_chargeDeclined, tok_retry) or "stripe".
PAYMENT_PROVIDER = os.environ.get("PAYMENT_PROVIDER", "sandbox")
STRIPE_API_KEY = os.environ.get("STRIPE_API_KEY", "")


def env_secrets(name: str) -> dict[str, str]:
    """``"name=<secret>,name=<secret>"`` from the environment as a dict (names lower-cased)."""
    found = {}
    for item in os.environ.get(name, "").split(","):
        key, _, secret = item.strip().partition("=")
        if key.strip() and secret.strip():
            found[key.strip().lower()] = secret.strip()
    return found


# Webhook signing secrets per sender (vendors sign with their own callback secret instead).
CARRIER_WEBHOOK_SECRETS = env_secrets("CARRIER_WEBHOOK_SECRETS")
# Returned items reported by the warehouse or a carrier ("warehouse=secret,dhl=secret").
RETURN_WEBHOOK_SECRETS = env_secrets("RETURN_WEBHOOK_SECRETS")
# International shipments: customs brokers' and international carriers' webhook secrets
# ("sandbox=secret,acme=secret"), the broker adapter ("sandbox" or "http") and its endpoint.
CUSTOMS_BROKER_SECRETS = env_secrets("CUSTOMS_BROKER_SECRETS")
CUSTOMS_CARRIER_SECRETS = env_secrets("CUSTOMS_CARRIER_SECRETS")
CUSTOMS_BROKER = os.environ.get("CUSTOMS_BROKER", "sandbox")
CUSTOMS_BROKER_URL = os.environ.get("CUSTOMS_BROKER_URL", "")
CUSTOMS_BROKER_TOKEN = os.environ.get("CUSTOMS_BROKER_TOKEN", "")
CUSTOMS_CARRIER = os.environ.get("CUSTOMS_CARRIER", "sandbox")
# Currency reference rates: "ecb" (the ECB's daily XML over HTTP) or a provider class's path.
CUSTOMS_RATES_PROVIDER = os.environ.get("CUSTOMS_RATES_PROVIDER", "ecb")
CUSTOMS_HOME_COUNTRY = os.environ.get("CUSTOMS_HOME_COUNTRY", "DE")
CUSTOMS_SANDBOX_DELAY_SECONDS = int(os.environ.get("CUSTOMS_SANDBOX_DELAY_SECONDS", "120"))
# Payment provider webhooks (asynchronous renewal results), "stripe=secret,sandbox=secret".
PAYMENT_WEBHOOK_SECRETS = env_secrets("PAYMENT_WEBHOOK_SECRETS")
# The demo simulator places orders and plays vendors and carriers in `make run` (off: "off").
SIMULATOR = os.environ.get("SIMULATOR", "on" if DEBUG else "off")
# Subscription renewals: the daily run starts at this UTC time of day ("HH:MM") and opens
# invoices in batches of this many subscriptions (one process instance each).
SUBSCRIPTION_RENEWAL_TIME = os.environ.get("SUBSCRIPTION_RENEWAL_TIME", "02:00")
SUBSCRIPTION_RENEWAL_BATCH = int(os.environ.get("SUBSCRIPTION_RENEWAL_BATCH", "500"))
# Demo only: every vendor SLA lasts this many minutes (0: each vendor's own hours).
DEMO_VENDOR_SLA_MINUTES = int(os.environ.get("DEMO_VENDOR_SLA_MINUTES", "0") or 0)
# Back-off between job retries when a handler fails (milliseconds).
PROCESS_JOB_RETRY_BACKOFF_MS = int(os.environ.get("PROCESS_JOB_RETRY_BACKOFF_MS", "10000"))

_email_backend = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": _email_backend}}
else:
    EMAIL_BACKEND = _email_backend
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "orders@orderly.example")
