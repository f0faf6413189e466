"""API rate limits beyond the general per-user one (settings: `# Throttling`): per user and per scope.

The counters live in Django's cache, which settings put on Redis so that every web process shares them.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView


class WriteScopedRateThrottle(ScopedRateThrottle):
    """The view's `throttle_scope`, counted on writes only: listing photos must not spend the upload budget of the
    view that also takes uploads."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
