from django.http import JsonResponse
from django.views.decorators.http import require_GET

from facesearch.core.health import health


@require_GET
def healthz(request):
    """Public liveness/readiness probe: 200 when every component is up, 503 naming the failing ones."""
    report = health()
    return JsonResponse(report, status=200 if report["ok"] else 503)
