"""One exception for expected failures, and the handlers (DRF's and Django's) mapping API errors to the one format.

Clients always get `{"message": str, "extra": {...}}`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    """An expected failure with a message for the user; `status` is the HTTP code the API answers with.

    `headers` go on the response as they are, e.g. the `Retry-After` of a 429.
    """

    def __init__(
        self,
        message: str,
        extra: dict[str, Any] | None = None,
        status: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        self.status = status
        self.headers = headers or {}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """HackSoft-style handler: clients always get `{"message": str, "extra": {...}}`."""
    if isinstance(exc, REQUEST_LIMITS):  # raised by Django's parsers when the view reads `request.data`
        exc = request_limit_error(exc)
    if isinstance(exc, ApplicationError):
        return Response({"message": exc.message, "extra": exc.extra}, status=exc.status, headers=exc.headers)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"message": "Validation error", "extra": {"fields": response.data}}
    elif isinstance(exc, exceptions.Throttled):  # DRF also sets the Retry-After header from `wait`
        response.data = {"message": str(response.data["detail"]), "extra": {"wait": exc.wait}}
    else:
        response.data = {"message": str(response.data.get("detail", exc)), "extra": {}}
    return response


REQUEST_LIMITS = (TooManyFilesSent, TooManyFieldsSent, RequestDataTooBig)


def request_limit_error(exc: Exception | None) -> ApplicationError:
    """A request over one of Django's limits (settings: `# Request limits`) as the 400 naming it; else a plain 400."""
    if isinstance(exc, TooManyFilesSent):
        limit, message = settings.DATA_UPLOAD_MAX_NUMBER_FILES, "Too many files: at most {} in one request."
    elif isinstance(exc, TooManyFieldsSent):
        limit, message = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS, "Too many fields: at most {} in one request."
    elif isinstance(exc, RequestDataTooBig):
        limit, message = settings.DATA_UPLOAD_MAX_MEMORY_SIZE, "The request's data (files aside) is over {} bytes."
    else:
        return ApplicationError("Bad request.")
    return ApplicationError(message.format(limit), {"limit": limit})


# Django's error views (`handler400` … in facesearch/urls.py), for what never reaches a DRF view: a URL that matches no
# route (/api/photos/abc/), a limit hit before the view reads the request, an unhandled exception. Under /api/ they
# answer in the API's format, with no traceback; elsewhere, the web UI's pages.


def _api_error(request: HttpRequest, status: int, error: ApplicationError) -> HttpResponse | None:
    if not request.path_info.startswith("/api/"):
        return None
    return JsonResponse({"message": error.message, "extra": error.extra}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _api_error(request, 400, request_limit_error(exception)) or defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    error = ApplicationError("You do not have permission to perform this action.")
    return _api_error(request, 403, error) or defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    error = ApplicationError("Not found.", {"path": request.path})
    return _api_error(request, 404, error) or defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    return _api_error(request, 500, ApplicationError("Server error.")) or defaults.server_error(request)
