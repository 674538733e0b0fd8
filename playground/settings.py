"""One settings module, read from the environment; with no environment it is the embedded mode:
SQLite, the in-memory channel layer, generations in process, the simulator provider."""

from __future__ import annotations

import secrets
from pathlib import Path

import environ
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("PLAYGROUND_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()


def _embedded_secret_key() -> str:
    """A random key kept in var/ so sessions and encrypted keys survive restarts."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _embedded_secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",  # its templates, for FORM_RENDERER (TemplatesSetting)
    "channels",
    "django_htmx",
    "playground.streaming",
    "playground.accounts",
    "playground.workspaces",
    "playground.providers",
    "playground.chats",
    "playground.comparisons",
    "playground.documents",
    "playground.billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "playground.workspaces.middleware.CurrentWorkspaceMiddleware",
]

ROOT_URLCONF = "playground.urls"
ASGI_APPLICATION = "playground.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "chats:home"
LOGOUT_REDIRECT_URL = "accounts:login"

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
                "django.template.context_processors.csp",
                "playground.context_processors.sidebar",
            ],
        },
    }
]

FORM_RENDERER = "playground.forms.FormRenderer"

# --- storage -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'playground.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The generation writes while requests read: WAL and IMMEDIATE transactions avoid
    # "database is locked" under that concurrency.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not shared-cache memory, so generation threads see committed rows as the server
    # would and WAL lets them read while a test writes.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    # Django runs each ASGI request's and each websocket consumer's sync code in its own
    # thread; persistent per-thread connections would exhaust PostgreSQL's max_connections at
    # a few hundred viewers. A psycopg pool lends a connection per query batch instead.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("PLAYGROUND_DB_POOL_MIN", default=2),
        "max_size": env.int("PLAYGROUND_DB_POOL_MAX", default=20),
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # The pub/sub layer: a group_send is one PUBLISH and Redis pushes it to every web process
    # subscribed. The list-based RedisChannelLayer drains a process's messages one BZPOPMIN
    # round trip at a time, which fell seconds behind at 200 streams (bench/RESULTS.md).
    # Delivery is at most once either way; viewers repair gaps with a resync.
    # Each shard publishes through one connection behind a lock; listing the same server
    # several times gives that many connections, and every process hashes a group to the
    # same shard, so one worker's streams publish in parallel. The subclass wakes a shard's
    # reader on subscribe instead of after a 100 ms poll (playground/streaming/channel_layer.py).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "playground.streaming.channel_layer.WakefulPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL}] * env.int("PLAYGROUND_CHANNEL_SHARDS", default=8)
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "m1pg",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- generations ---------------------------------------------------------------------------
# "inprocess": generations run on the server's event loop (embedded mode, one process).
# "celery": generations run in Celery workers (production; needs REDIS_URL).
PLAYGROUND_TASKS = env.str("PLAYGROUND_TASKS", default="celery" if REDIS_URL else "inprocess")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
# A generation may stream for longer than an hour; the claim in the database stops a
# redelivered task from running it twice, this only makes redeliveries rare.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4 * 3600}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The sweeper (playground/streaming/sweeper.py) under `celery -A playground beat`.
CELERY_BEAT_SCHEDULE = {
    "sweep": {
        "task": "streaming.sweep",
        "schedule": env.float("PLAYGROUND_SWEEP_SECONDS", default=15.0),
    }
}

PLAYGROUND = {
    "MAX_MESSAGE_CHARS": env.int("PLAYGROUND_MAX_MESSAGE_CHARS", default=400_000),
    "FRAME_INTERVAL_SECONDS": env.float("PLAYGROUND_FRAME_INTERVAL", default=0.075),
    "SAVE_INTERVAL_SECONDS": env.float("PLAYGROUND_SAVE_INTERVAL", default=1.0),
    "CANCEL_POLL_SECONDS": env.float("PLAYGROUND_CANCEL_POLL", default=0.1),
    # A streaming message whose generation has not saved for this long is reported as lost.
    "STALE_STREAM_SECONDS": env.int("PLAYGROUND_STALE_STREAM_SECONDS", default=90),
    # How often the sweeper looks for such answers and for stalled document readings.
    "SWEEP_SECONDS": env.float("PLAYGROUND_SWEEP_SECONDS", default=15.0),
    "PROVIDER_MAX_RETRIES": env.int("PLAYGROUND_PROVIDER_MAX_RETRIES", default=2),
    "SIMULATOR_HTTP": env.bool("PLAYGROUND_SIMULATOR_HTTP", default=not REDIS_URL),
    # Hosts a provider base URL may point at; empty means any public host (see providers).
    "PROVIDER_HOST_ALLOWLIST": env.list("PLAYGROUND_PROVIDER_HOSTS", default=[]),
    "ALLOW_PRIVATE_PROVIDER_HOSTS": env.bool(
        "PLAYGROUND_ALLOW_PRIVATE_PROVIDER_HOSTS", default=True
    ),
    # Documents (issue 4): uploads are kept here under generated names and never served.
    "DOCUMENTS_DIR": env.str("PLAYGROUND_DOCUMENTS_DIR", default=str(VAR_DIR / "documents")),
    "DOCUMENT_MAX_MB": env.int("PLAYGROUND_DOCUMENT_MAX_MB", default=50),
    "DOCUMENT_MAX_FILES_PER_UPLOAD": env.int("PLAYGROUND_DOCUMENT_MAX_FILES", default=20),
    "DOCUMENT_MAX_PAGES": env.int("PLAYGROUND_DOCUMENT_MAX_PAGES", default=2000),
    "DOCUMENT_MAX_ARCHIVE_FILES": env.int("PLAYGROUND_DOCUMENT_MAX_ARCHIVE_FILES", default=10_000),
    "DOCUMENT_MAX_ARCHIVE_MB": env.int("PLAYGROUND_DOCUMENT_MAX_ARCHIVE_MB", default=200),
    "DOCUMENT_EXTRACT_SECONDS": env.int("PLAYGROUND_DOCUMENT_EXTRACT_SECONDS", default=120),
    "DOCUMENT_EXTRACT_MEMORY_MB": env.int("PLAYGROUND_DOCUMENT_EXTRACT_MEMORY_MB", default=1536),
    # Blocking jobs at once in the embedded mode (document readings, each in a child process).
    # (PLAYGROUND_DOCUMENT_EXTRACTIONS is its name before the reshaping; still read.)
    "BLOCKING_JOBS_AT_ONCE": env.int(
        "PLAYGROUND_BLOCKING_JOBS", default=env.int("PLAYGROUND_DOCUMENT_EXTRACTIONS", default=2)
    ),
    # A tokenizer.json (Hugging Face format) for exact token counts instead of estimates.
    "TOKENIZER_JSON": env.str("PLAYGROUND_TOKENIZER_JSON", default=""),
    # Per person (issue 11); 0 turns a limit off. Answers being written at once over all their
    # chats, and answers started (a comparison's columns one each) and files uploaded a minute.
    "MAX_STREAMING_PER_USER": env.int("PLAYGROUND_MAX_STREAMING_PER_USER", default=4),
    "SENDS_PER_MINUTE": env.int("PLAYGROUND_SENDS_PER_MINUTE", default=30),
    "UPLOADS_PER_MINUTE": env.int("PLAYGROUND_UPLOADS_PER_MINUTE", default=60),
}
# One upload request carries one file (the browser sends them one by one, with progress).
DATA_UPLOAD_MAX_NUMBER_FILES = PLAYGROUND["DOCUMENT_MAX_FILES_PER_UPLOAD"]

# Fernet keys for API keys at rest, newest first (MultiFernet rotation). Without them a key
# is derived from SECRET_KEY, which is fine for one machine but not for rotation.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# --- security ------------------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env.bool("SECURE_COOKIES", default=False):
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind TLS only (with SECURE_COOKIES, so that the proxy's X-Forwarded-Proto is believed and
# the redirect does not loop). HSTS is off unless set: browsers remember it for that long.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # httpx2 logs every request line; provider URLs are not secrets but are noise.
    "loggers": {"httpx2": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}
