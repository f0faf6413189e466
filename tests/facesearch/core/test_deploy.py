"""Production defaults: `check --deploy` is clean behind HTTPS, and the plain default still serves http.

`make run` serves http://127.0.0.1, so the secure set is off unless FACESEARCH_HTTPS turns it on (docker/compose.yaml).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SECURITY_SETTINGS = [
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_PROXY_SSL_HEADER",
]
# What docker/compose.yaml sets for the web role behind its reverse proxy.
HTTPS_ENV = {
    "DEBUG": "false",
    "FACESEARCH_HTTPS": "true",
    "FACESEARCH_PROXY_SETS_X_FORWARDED_PROTO": "true",
    "SECRET_KEY": "k" * 20 + "-a-long-random-looking-production-key-" + "z" * 20,
    "ALLOWED_HOSTS": "photos.example.com",
}


def _plain_env() -> dict[str, str]:
    """The test run's environment without any of the HTTPS variables, as `make run` starts."""
    names = {"DEBUG", "FACESEARCH_HTTPS", "FACESEARCH_PROXY_SETS_X_FORWARDED_PROTO", *SECURITY_SETTINGS}
    return {name: value for name, value in os.environ.items() if name not in names}


def _settings(env: dict[str, str]) -> dict:
    """The security settings a process started with `env` gets."""
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name, None) for name in {SECURITY_SETTINGS!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env={**env, "DJANGO_SETTINGS_MODULE": "facesearch.settings"}, cwd=ROOT,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


@pytest.mark.slow  # a manage.py subprocess
def test_check_deploy_finds_no_warning_with_the_https_environment():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={**_plain_env(), **HTTPS_ENV}, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


@pytest.mark.slow  # a subprocess
def test_https_environment_turns_on_hsts_secure_cookies_redirect_and_the_proxy_header():
    assert _settings({**_plain_env(), **HTTPS_ENV}) == {
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


@pytest.mark.slow  # a subprocess
def test_default_environment_keeps_plain_http_working_and_trusts_no_forwarded_header():
    assert _settings(_plain_env()) == {
        "SECURE_SSL_REDIRECT": False,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_default_settings_serve_http_without_redirect_hsts_or_secure_cookies(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response
    assert not response.cookies["csrftoken"]["secure"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_pages_carry_a_csp_without_inline_scripts(client):
    policy = dict(part.strip().split(" ", 1) for part in client.get("/login/")["Content-Security-Policy"].split(";"))
    assert policy == {
        "default-src": "'self'",
        "img-src": "'self' blob:",  # the search page previews the chosen photo from a blob: URL
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


@pytest.mark.django_db
def test_https_redirects_plain_http_except_the_healthcheck_and_trusts_the_proxys_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/login/")
    assert response.status_code == 301 and response["Location"] == "https://testserver/login/"
    behind_proxy = client.get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert behind_proxy.status_code == 200
    assert behind_proxy["Strict-Transport-Security"] == "max-age=3600"
    # The container healthcheck asks over plain http from inside: it is answered, not redirected.
    healthz = client.get("/healthz")
    assert healthz.status_code in (200, 503) and set(healthz.json()) == {"ok"}  # the probe's answer, up or down
