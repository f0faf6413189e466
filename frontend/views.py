"""Page views: each renders a template that its ES module fills from the REST API (the one implementation of it all).

Pages need a signed-in user; the CSRF cookie is always set so the modules can send it back in `X-CSRFToken`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from axes.helpers import get_client_username
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

NAVIGATION = (  # (section, label, URL name, owners only: shown once library.js finds a library you own)
    ("search", "Search", "search", False),
    ("photos", "Photos", "photos", False),
    ("people", "People", "people", False),
    ("unknown", "Unknown faces", "unknown-faces", False),
    ("jobs", "Jobs", "jobs", False),
    ("libraries", "Libraries", "libraries", False),
    ("audit", "Audit log", "audit", True),
)


def page(template: str, section: str) -> Callable[..., HttpResponse]:
    """A login-required view rendering `frontend/<template>` with the URL's ids and the current nav section."""

    @login_required
    @ensure_csrf_cookie
    def view(request: HttpRequest, **ids: int) -> HttpResponse:
        context = {"section": section, "navigation": NAVIGATION, **ids}
        return render(request, f"frontend/{template}", context)

    view.__name__ = template.removesuffix(".html")
    return view


def locked_out(
    request: HttpRequest, response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """django-axes' answer (AXES_LOCKOUT_CALLABLE) to a sign-in refused after too many wrong passwords, on the sign-in
    page and the admin's alike: 429, and how long to wait."""
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    username = get_client_username(request, credentials) or ""
    return render(request, "frontend/locked_out.html", {"minutes": minutes, "username": username}, status=429)
