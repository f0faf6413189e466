"""One settings module; every knob comes from the environment (django-environ).

Embedded mode: when DATABASE_URL / REDIS_URL are unset, `facesearch run` starts embedded servers and writes their
addresses to FACESEARCH_DATA_DIR/run/services.env, which is read here so any `manage.py` command finds them.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from facesearch.paths import data_dir

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
DATA_DIR = data_dir()
SERVICES_ENV = DATA_DIR / "run" / "services.env"
if SERVICES_ENV.exists():
    environ.Env.read_env(SERVICES_ENV)  # never overrides variables already set


def _secret_key() -> str:
    """A key generated once per data directory, so sessions survive restarts without configuration."""
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _secret_key()

# Metrics (facesearch/core/metrics.py): web and worker processes of one host write their samples to one folder
# (prometheus_client reads the variable when first imported, which is after this). `/metrics` needs the token, or a
# staff session; a worker on its own host serves its samples on FACESEARCH_WORKER_METRICS_PORT.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(DATA_DIR / "run" / "metrics"))
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
FACESEARCH_METRICS_TOKEN = env.str("FACESEARCH_METRICS_TOKEN", default="")
FACESEARCH_WORKER_METRICS_PORT = env.int("FACESEARCH_WORKER_METRICS_PORT", default=0)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_prometheus",
    "facesearch.core",
    "facesearch.libraries",
    "facesearch.people",
    "facesearch.photos",
    "facesearch.grouping",
    "facesearch.search",
    "frontend",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first and last: request latency by route
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last but metrics, as django-axes requires: it turns a lockout into its page
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "facesearch.urls"
WSGI_APPLICATION = "facesearch.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# Without DATABASE_URL (and before `facesearch run` wrote services.env) a command fails on connecting, not on loading.
DATABASES = {
    "default": env.db("DATABASE_URL")
    if env.str("DATABASE_URL", default="")
    else {"ENGINE": "django.db.backends.postgresql", "NAME": "facesearch"}
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Three queues, in the order a worker takes from them when several hold tasks (the Redis transport's "priority"
# strategy: interactive first): `interactive`, photos a person just uploaded and waits for; `ingest`, bulk imports
# (folders, large uploads, recovered photos); `maintenance`, re-encoding, grouping, retention, recovery. A worker
# busy with a bulk batch takes an interactive task next, whatever the backlog (tests/facesearch/photos/test_queues.py).
# Give a host only some of them with `celery worker -Q interactive` (e.g. a worker kept free for people waiting).
CELERY_TASK_QUEUES = [Queue("interactive"), Queue("ingest"), Queue("maintenance")]
CELERY_TASK_DEFAULT_QUEUE = "ingest"
CELERY_TASK_ROUTES = {
    "facesearch.photos.tasks.photos_recover": {"queue": "maintenance"},
    "facesearch.libraries.tasks.*": {"queue": "maintenance"},
    "facesearch.grouping.tasks.*": {"queue": "maintenance"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message unacknowledged this long is handed out again (Redis has no consumer liveness): it must exceed the longest
# task, or a slow task runs twice, again and again.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "queue_order_strategy": "priority"}
# A replacement pool process loads the networks in `worker_process_init`, which takes longer than Celery's 4 s default
# on a busy machine; with the default, the main process kills each replacement before it is up.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 300
# A broker that is down or hung fails a publish within seconds (the photo stays pending for recovery) instead of
# holding the web request.
CELERY_BROKER_TRANSPORT_OPTIONS |= {"socket_connect_timeout": 5, "socket_timeout": 10}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
# Recovery (Celery beat): photos pending or processing for longer than FACESEARCH_RECOVER_AFTER seconds are queued
# again, checked every FACESEARCH_RECOVER_INTERVAL seconds. The bound must exceed a normal wait in the queue and a run.
FACESEARCH_RECOVER_AFTER = env.int("FACESEARCH_RECOVER_AFTER", default=900)
FACESEARCH_RECOVER_INTERVAL = env.int("FACESEARCH_RECOVER_INTERVAL", default=300)
# Retention (Celery beat, daily, and `manage.py purge`): unassigned faces and audit entries older than this many days
# are deleted; 0 keeps them forever.
FACESEARCH_RETAIN_UNASSIGNED_DAYS = env.int("FACESEARCH_RETAIN_UNASSIGNED_DAYS", default=0)
FACESEARCH_RETAIN_AUDIT_DAYS = env.int("FACESEARCH_RETAIN_AUDIT_DAYS", default=0)
# Grouping (Celery beat): new unknown faces join the stored groups as they are stored; every this many seconds the
# groups that changed are re-clustered locally and faces assigned or deleted since leave them.
FACESEARCH_GROUP_MAINTAIN_INTERVAL = env.int("FACESEARCH_GROUP_MAINTAIN_INTERVAL", default=600)
CELERY_BEAT_SCHEDULE = {
    "photos-recover": {"task": "facesearch.photos.tasks.photos_recover", "schedule": FACESEARCH_RECOVER_INTERVAL},
    "retention": {"task": "facesearch.libraries.tasks.retention_run", "schedule": 24 * 3600},
    "groups-maintain": {
        "task": "facesearch.grouping.tasks.groups_maintain_run",
        "schedule": FACESEARCH_GROUP_MAINTAIN_INTERVAL,
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")  # when each periodic task last ran
# A photo whose processing was started this many times without finishing is failed with the reason rather than tried
# again: the broker redelivers a run that kills its worker (out of memory) forever otherwise.
FACESEARCH_PROCESSING_ATTEMPTS = env.int("FACESEARCH_PROCESSING_ATTEMPTS", default=3)

# Cache
# Shared by every process, so that the API throttles count each user's requests once, whichever gunicorn process
# answers: Redis, on the database after REDIS_URL's (Celery's), because Django's `cache.clear()` empties a whole
# database. Without REDIS_URL (a command run before `facesearch run` wrote services.env) each process keeps its own.
FACESEARCH_CACHE_URL = env.str("FACESEARCH_CACHE_URL", default="")
if not FACESEARCH_CACHE_URL and REDIS_URL:
    _redis = urlsplit(REDIS_URL)
    if _redis.scheme not in ("redis", "rediss"):
        raise ImproperlyConfigured("REDIS_URL is not redis:// or rediss://: set FACESEARCH_CACHE_URL too.")
    FACESEARCH_CACHE_URL = _redis._replace(path=f"/{int(_redis.path.strip('/') or 0) + 1}").geturl()
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": FACESEARCH_CACHE_URL,
        "KEY_PREFIX": "facesearch",
        # A Redis that is down or hung fails the request within seconds instead of holding it.
        "OPTIONS": {"socket_connect_timeout": 5, "socket_timeout": 5},
    }
    if FACESEARCH_CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",  # first: its keyword is the 401's WWW-Authenticate
        "facesearch.libraries.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["facesearch.libraries.authentication.HasScope"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "facesearch.core.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "facesearch API",
    "DESCRIPTION": "Upload photos, search by face, identify and verify people.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/",  # operations are grouped by what follows it: photos, faces, jobs, people, search
    # Jobs and their items both have a `state`, with different choices: name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "JobStateEnum": "facesearch.photos.models.IngestJob.State",
        "JobItemStateEnum": "facesearch.photos.models.IngestItem.State",
        "JobSourceEnum": "facesearch.photos.models.IngestJob.Source",
        "FaceSourceEnum": "facesearch.photos.models.Face.Source",
    },
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files: a pinned version, no CDN, CSP 'self' holds.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge image from validator.swagger.io (another origin, which the CSP refuses).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# Throttling
# API requests per user, in DRF's "N/second|minute|hour|day" (a 429 says how many seconds to wait): `user` for every
# endpoint, plus `search` shared by search, identify and verify (each runs the networks) and `upload` for photo
# uploads (listing photos is not counted as uploading).
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["rest_framework.throttling.UserRateThrottle"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "user": env.str("FACESEARCH_THROTTLE_USER", default="3000/min"),
    "search": env.str("FACESEARCH_THROTTLE_SEARCH", default="60/min"),
    "upload": env.str("FACESEARCH_THROTTLE_UPLOAD", default="600/min"),
}
# Sign-in (django-axes): after FACESEARCH_LOGIN_FAILURES wrong passwords in a row for one username from one address,
# the sign-in page and the admin's refuse that pair, right password or not, for FACESEARCH_LOGIN_COOLOFF minutes.
# Behind a proxy every client has the proxy's address, so the lockout is then per username. API tokens and sessions
# never call `authenticate()`, so the API is not affected.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("FACESEARCH_LOGIN_FAILURES", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("FACESEARCH_LOGIN_COOLOFF", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # "in a row": signing in forgets the earlier mistakes
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # tries while locked out do not restart the wait the page names
AXES_LOCKOUT_CALLABLE = "frontend.views.locked_out"  # the page says how long to wait
AXES_DISABLE_ACCESS_LOG = True  # no row (address, browser) per successful sign-in, kept forever

# The face pipeline: the embeddings library takes these as constructor arguments.
FACESEARCH_ENCODER = env.str("FACESEARCH_ENCODER", default="facenet")
# "mtcnn", "retinaface", "yunet" or "yunet-onet" (embeddings.detection.DETECTORS); the README's detector table
# compares them.
FACESEARCH_DETECTOR = env.str("FACESEARCH_DETECTOR", default="yunet-onet")
if FACESEARCH_DETECTOR not in ("mtcnn", "retinaface", "yunet", "yunet-onet"):
    raise ImproperlyConfigured(
        f"FACESEARCH_DETECTOR must be mtcnn, retinaface, yunet or yunet-onet, not {FACESEARCH_DETECTOR!r}"
    )
FACESEARCH_WEIGHTS_DIR = Path(env.str("FACESEARCH_WEIGHTS_DIR", default=str(DATA_DIR / "models")))
FACESEARCH_MIN_FACE_SIZE = env.int("FACESEARCH_MIN_FACE_SIZE", default=20)
# The side images are shrunk to for detection; 0 keeps the detector's own (YuNet 640, MTCNN and RetinaFace 1024). A
# library of group photos wants 1024 for YuNet: it misses faces under about 16 px as detected (README, Detectors).
FACESEARCH_DETECTOR_MAX_SIDE = env.int("FACESEARCH_DETECTOR_MAX_SIDE", default=0)
# Threads TensorFlow runs one worker process's networks on; 0: all cores (TensorFlow's default, right for one worker
# process a host). With N worker processes on a host give each cores / N, or their threads fight over the cores:
# `benchmarks/ingest.py --workers` measures both (README, "Running at scale").
FACESEARCH_TF_THREADS = env.int("FACESEARCH_TF_THREADS", default=0)
# New faces close enough to an enrolled face (the encoder's auto_assign_distance) are named automatically.
FACESEARCH_AUTO_ASSIGN = env.bool("FACESEARCH_AUTO_ASSIGN", default=True)
# Identification names at most this share of strangers (people not enrolled): its threshold is calibrated to the
# number of confirmed faces compared with (embeddings.calibration; `fpir` per request overrides it).
FACESEARCH_IDENTIFY_FPIR = env.float("FACESEARCH_IDENTIFY_FPIR", default=0.01)
if not 0 < FACESEARCH_IDENTIFY_FPIR < 1:
    raise ImproperlyConfigured("FACESEARCH_IDENTIFY_FPIR must be between 0 and 1, e.g. 0.01")

# Request limits
# Each uploaded file is cut at FACESEARCH_MAX_UPLOAD_BYTES while it streams in, then refused as too large
# (facesearch/core/uploads.py); a request with more than FACESEARCH_MAX_UPLOAD_FILES files, more than
# DATA_UPLOAD_MAX_NUMBER_FIELDS fields or more than DATA_UPLOAD_MAX_MEMORY_SIZE bytes of non-file data (Django's
# 2.5 MiB default: ids and options, never images) is refused with a 400. A reverse proxy in front must admit request
# bodies of FACESEARCH_MAX_UPLOAD_BYTES times the files of one upload (README: REST API).
FACESEARCH_MAX_UPLOAD_BYTES = env.int("FACESEARCH_MAX_UPLOAD_BYTES", default=30 * 1024 * 1024)
FACESEARCH_MAX_UPLOAD_FILES = env.int("FACESEARCH_MAX_UPLOAD_FILES", default=100)
FACESEARCH_MAX_PIXELS = env.int("FACESEARCH_MAX_PIXELS", default=50_000_000)
DATA_UPLOAD_MAX_NUMBER_FILES = FACESEARCH_MAX_UPLOAD_FILES
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The schema says what a request may carry: file fields as binary (not as URL strings), non-blank strings with a
# minLength, and a PATCH body with the fields it requires (drf-spectacular's request components).
SPECTACULAR_SETTINGS |= {"COMPONENT_SPLIT_REQUEST": True, "COMPONENT_SPLIT_PATCH": False}

# Inference in the web process
# Search, identify and verify run both networks in the request (facesearch/core/inference.py). Per web worker process,
# at most FACESEARCH_INFERENCE_CONCURRENCY run at once and FACESEARCH_INFERENCE_QUEUE more wait, each at most
# FACESEARCH_INFERENCE_WAIT seconds; others get 429 with Retry-After. Each running or waiting search holds a gunicorn
# thread, so together they stay below its threads (facesearch/gunicorn_conf.py) and the rest serve everything else.
FACESEARCH_INFERENCE_CONCURRENCY = env.int("FACESEARCH_INFERENCE_CONCURRENCY", default=1)
FACESEARCH_INFERENCE_QUEUE = env.int("FACESEARCH_INFERENCE_QUEUE", default=4)
FACESEARCH_INFERENCE_WAIT = env.float("FACESEARCH_INFERENCE_WAIT", default=10.0)
# Faces encoded per query image, the largest first: a crowd photo costs at most this many encodings.
FACESEARCH_MAX_QUERY_FACES = env.int("FACESEARCH_MAX_QUERY_FACES", default=10)

# Security behind HTTPS
# `make run` serves plain http://127.0.0.1, so the secure set is off by default; FACESEARCH_HTTPS=true (a deployment
# behind a TLS-terminating proxy, docker/compose.yaml) turns it on, and each setting can still be overridden alone.
FACESEARCH_HTTPS = env.bool("FACESEARCH_HTTPS", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=FACESEARCH_HTTPS)
# The container healthcheck and load balancers probe over plain http from inside: they are answered, not redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=FACESEARCH_HTTPS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=FACESEARCH_HTTPS)
# One year, what `check --deploy` asks for; browsers keep it that long, so it is sent only once HTTPS is on.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if FACESEARCH_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=FACESEARCH_HTTPS)
# Preloading is the domain owner's decision: anyone may submit a domain that sends `preload` to the browsers' lists,
# and leaving them takes months, so it is off unless asked for (and `check --deploy` is told that is deliberate).
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Trust X-Forwarded-Proto only when the proxy in front sets it (and strips a client's own): otherwise any client could
# claim HTTPS. Without it, behind a TLS-terminating proxy, SECURE_SSL_REDIRECT would redirect every request forever.
if env.bool("FACESEARCH_PROXY_SETS_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = env.bool("SECURE_CONTENT_TYPE_NOSNIFF", default=True)
SECURE_REFERRER_POLICY = env.str("SECURE_REFERRER_POLICY", default="same-origin")
X_FRAME_OPTIONS = env.str("X_FRAME_OPTIONS", default="DENY")
# Content-Security-Policy (django-csp 4): scripts, styles, fonts and requests from this origin only, so injected markup
# runs nothing. The search page previews the chosen photo from a blob: URL. The API docs pages add what Swagger UI and
# ReDoc need, on those pages only (facesearch/core/api_docs.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# LOG_FORMAT=json: one JSON object a line (time, level, logger, message and any extra fields), for log collectors.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOG_FORMATTERS = {
    "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    "json": {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
    },
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"default": LOG_FORMATTERS[LOG_FORMAT]},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "default"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING too (JSON when asked)
AXES_VERBOSE = False  # no banner on every process start
