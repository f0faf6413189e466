"""How an application's API key authenticates, and the permission every API view checks: signed in, and for a key,
the view's scope is among the key's. (Imported by DRF's settings: it must not import the app's API modules.)"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from facesearch.libraries.models import ApiKey, Scope

OWN = "own"
"""Pseudo-scope of a library's own settings: renaming, members, API keys, its audit log, its erasure. Owners only;
no API key ever has it."""

KEY_PREFIX = "fsk_"
KEY_TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key: no write per request


def key_generate() -> tuple[str, str, str]:
    """A new key `fsk_<prefix>_<secret>`: (the whole key, shown once; its prefix, stored; its sha256, stored)."""
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, key_digest(key)


def key_digest(key: str) -> str:
    """sha256 suffices: the secret is 256 random bits, so there is nothing to guess that a slow hash would protect."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyUser:
    """`request.user` of a request made with an API key: authenticated, no account, no staff rights; throttled per
    key (`pk`)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, key: ApiKey) -> None:
        self.key = key
        self.pk = f"key-{key.id}"
        self.id = None
        self.username = f"key:{key.name}"

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Api-Key fsk_…` (or `X-Api-Key: fsk_…`): an application's key to one library."""

    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[ApiKeyUser, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if parts and parts[0].lower() == self.keyword.lower().encode():
            if len(parts) != 2:
                raise exceptions.AuthenticationFailed("Send one key after `Api-Key`.")
            raw = parts[1].decode(errors="replace")
        elif header := request.META.get("HTTP_X_API_KEY"):
            raw = header.strip()
        else:
            return None
        key = self._key(raw)
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > KEY_TOUCH_EVERY:
            ApiKey.objects.filter(id=key.id).update(last_used_at=now)
        return ApiKeyUser(key), key

    def _key(self, raw: str) -> ApiKey:
        invalid = exceptions.AuthenticationFailed("Invalid, revoked or expired API key.")
        prefix = raw.removeprefix(KEY_PREFIX).partition("_")[0]
        if not raw.startswith(KEY_PREFIX) or not prefix:
            raise invalid
        key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).select_related("library").first()
        if key is None or not hmac.compare_digest(key.digest, key_digest(raw)):
            raise invalid
        if key.expires_at is not None and key.expires_at <= timezone.now():
            raise invalid
        return key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class HasScope(BasePermission):
    """Signed in (a user or a key), and for a key, the view's scope for this method is among the key's scopes.

    A view declares `scopes = {"POST": Scope.UPLOAD, ...}`; unnamed methods need `read` when safe and `manage`
    otherwise. A user's roles are checked where the rows are looked up (`object_get`, `in_libraries`).
    """

    message = "Authentication credentials were not provided."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if isinstance(request.auth, ApiKey):
            scope = view_scope(view, request.method)
            if scope not in request.auth.scopes:
                raise exceptions.PermissionDenied(f"This API key does not have the `{scope}` scope.")
        return True


def view_scope(view: Any, method: str) -> str:
    default = Scope.READ if method in SAFE_METHODS else Scope.MANAGE
    return getattr(view, "scopes", {}).get(method, default)
