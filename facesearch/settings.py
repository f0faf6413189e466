"""One settings module; every knob comes from the environment (django-environ).

Embedded mode: when DATABASE_URL / REDIS_URL are unset, `facesearch run` starts embedded servers and writes their
addresses to FACESEARCH_DATA_DIR/run/services.env, which is read here so any `manage.py` command finds them.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
DATA_DIR = Path(env.str("FACESEARCH_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
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
    "drf_spectacular",
    "facesearch.core",
    "facesearch.people",
    "facesearch.photos",
    "facesearch.search",
    "frontend",
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
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message unacknowledged this long is handed out again (Redis has no consumer liveness): it must exceed the longest
# task, or a slow task runs twice, again and again.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# A replacement pool process loads the networks in `worker_process_init`, which takes longer than Celery's 4 s default
# on a busy machine; with the default, the main process kills each replacement before it is up.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 300

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
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
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
    # Jobs and their items both have a `state`, with different choices: name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "JobStateEnum": "facesearch.photos.models.IngestJob.State",
        "JobItemStateEnum": "facesearch.photos.models.IngestItem.State",
    },
}

# The face pipeline: the embeddings library takes these as constructor arguments.
FACESEARCH_ENCODER = env.str("FACESEARCH_ENCODER", default="facenet")
FACESEARCH_WEIGHTS_DIR = Path(env.str("FACESEARCH_WEIGHTS_DIR", default=str(DATA_DIR / "models")))
FACESEARCH_MIN_FACE_SIZE = env.int("FACESEARCH_MIN_FACE_SIZE", default=20)
# Suggested people group the newest unassigned faces, this many at most (0.25 s and 19 MiB for 2,000; the cost grows
# with the square: benchmarks/clustering.py).
FACESEARCH_GROUP_WINDOW = env.int("FACESEARCH_GROUP_WINDOW", default=2000)
# New faces close enough to an enrolled face (the encoder's auto_assign_distance) are named automatically.
FACESEARCH_AUTO_ASSIGN = env.bool("FACESEARCH_AUTO_ASSIGN", default=True)
FACESEARCH_MAX_UPLOAD_BYTES = env.int("FACESEARCH_MAX_UPLOAD_BYTES", default=30 * 1024 * 1024)
FACESEARCH_MAX_PIXELS = env.int("FACESEARCH_MAX_PIXELS", default=50_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = FACESEARCH_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
