from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes, renderer_classes, throttle_classes
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from facesearch.core.health import health, probe


class DetailNeedsStaff(BasePermission):
    """Anyone may probe; the detailed report names server versions, worker hosts and errors, so only staff see it."""

    def has_permission(self, request: Request, view: object) -> bool:
        return "detail" not in request.query_params or bool(request.user and request.user.is_staff)


@extend_schema(exclude=True)  # an operations endpoint, not part of the REST API
@api_view(["GET"])
@permission_classes([DetailNeedsStaff])
@renderer_classes([JSONRenderer])
@throttle_classes([])  # the throttles count in Redis, one of the components probed
def healthz(request: Request) -> Response:
    """Liveness/readiness probe: `{"ok": true}` 200 when every component is up, `{"ok": false}` 503 otherwise.

    `?detail=1` (staff, by session or token) is the full report, computed now: each component and the failing ones.
    """
    report = health() if "detail" in request.query_params else {"ok": probe()}
    return Response(report, status=200 if report["ok"] else 503)
