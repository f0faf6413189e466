"""The one place that decides what a request may see and do: who is calling (a user or an application's API key)
and which libraries that caller may use for a scope. (How a key authenticates, and the permission that checks a key's
scopes per operation, are in `authentication.py`.)

Selectors and services take a `Caller` and filter with `in_libraries`/`library_ids`; views never filter by hand.
An object outside the caller's libraries is a 404 (its existence is not revealed); one the caller may read but not
change is a 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Model, QuerySet
from rest_framework.request import Request

from facesearch.core.errors import ApplicationError
from facesearch.libraries.authentication import OWN
from facesearch.libraries.models import ApiKey, Library, Membership, Role, Scope

ROLE_SCOPES: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset({Scope.READ, Scope.SEARCH}),
    Role.EDITOR: frozenset({Scope.READ, Scope.SEARCH, Scope.UPLOAD, Scope.MANAGE}),
    Role.OWNER: frozenset({Scope.READ, Scope.SEARCH, Scope.UPLOAD, Scope.MANAGE, OWN}),
}


def roles_with(scope: str) -> list[str]:
    return [role for role, scopes in ROLE_SCOPES.items() if scope in scopes]


@dataclass(frozen=True)
class Caller:
    """Who makes a request: a signed-in user (their roles decide), or an API key (its one library and its scopes)."""

    user: AbstractBaseUser | None
    key: ApiKey | None = None
    every_library: bool = False  # a superuser in the admin: sees all libraries

    @classmethod
    def of(cls, request: Request) -> Caller:
        if isinstance(request.auth, ApiKey):
            return cls(user=None, key=request.auth)
        return cls(user=request.user if request.user.is_authenticated else None)

    @property
    def name(self) -> str:
        """For the audit log: the username, or `key:<name>` for an application."""
        if self.key is not None:
            return f"key:{self.key.name}"[:150]
        return self.user.get_username() if self.user is not None else ""

    def library_ids(self, scope: str = Scope.READ) -> QuerySet:
        """Ids of the libraries this caller may use for `scope`, as a subquery (filter with `__in`)."""
        if self.every_library:
            libraries = Library.objects.all()
        elif self.key is not None:
            # Which operations a key may call is HasScope's: one without `read` gets 403 on every listing. The
            # operations it may call read its own library (an upload-only key's upload answers with the photo), so
            # for `read` the key's library is always its own.
            usable = scope == Scope.READ or scope in self.key.scopes
            libraries = Library.objects.filter(id=self.key.library_id) if usable else Library.objects.none()
        elif self.user is None:
            libraries = Library.objects.none()
        else:
            libraries = Library.objects.filter(memberships__user=self.user, memberships__role__in=roles_with(scope))
        return libraries.values("id")

    def may(self, scope: str, library_id: int) -> bool:
        return self.library_ids(scope).filter(id=library_id).exists()

    def scopes_in(self, library: Library, *, role: str | None = None) -> frozenset[str]:
        """What this caller may do in `library` (`role`: the caller's role there, when already known)."""
        if self.every_library:
            return ROLE_SCOPES[Role.OWNER]
        if self.key is not None:
            return frozenset({Scope.READ, *self.key.scopes}) if self.key.library_id == library.id else frozenset()
        role = role if role is not None else self.role_in(library.id)
        return ROLE_SCOPES.get(role, frozenset())

    def role_in(self, library_id: int) -> str | None:
        if self.key is not None or self.user is None:
            return None
        return Membership.objects.filter(library_id=library_id, user=self.user).values_list("role", flat=True).first()

    def library_or_default(self, library_id: int | None, scope: str = Scope.UPLOAD) -> Library:
        """The library a request works in when it names one or none: the one named (if `scope` is the caller's
        there), else the key's, else the user's personal library (or the first where `scope` is theirs)."""
        if library_id is not None:
            return library_get(self, library_id, scope)
        if self.key is not None:
            return library_get(self, self.key.library_id, scope)
        writable = Library.objects.filter(id__in=self.library_ids(scope))
        library = writable.filter(personal_for=self.user).first() or writable.order_by("id").first()
        if library is None:
            raise ApplicationError("You have no library you may do this in; ask a library's owner to share it.", {})
        return library


OPERATOR = Caller(user=None, every_library=True)
"""The management commands: whoever runs them runs the server, and sees every library."""


def in_libraries(queryset: QuerySet, caller: Caller, scope: str = Scope.READ, *, field: str = "library") -> QuerySet:
    """`queryset` narrowed to rows of the libraries `caller` may use for `scope`: every read's scoping."""
    return queryset.filter(**{f"{field}__in": caller.library_ids(scope)})


def object_get(
    queryset: QuerySet, caller: Caller, scope: str = Scope.READ, *, field: str = "library", noun: str = "object",
    **lookup: Any,
) -> Model:  # fmt: skip
    """The row matching `lookup` in the caller's libraries: 404 when they cannot read it (the same answer as for an id
    that does not exist), 403 when they can read it but `scope` is not theirs there."""
    row = in_libraries(queryset, caller, Scope.READ, field=field).filter(**lookup).first()
    if row is None:
        raise ApplicationError(f"No such {noun}.", lookup, status=404)
    if scope != Scope.READ:
        library_id = library_id_of(row, field)
        if not caller.may(scope, library_id):
            raise ApplicationError(
                f"Your access to this library does not allow this (it needs `{scope}`).",
                {"library": library_id, "needs": scope},
                status=403,
            )
    return row


def library_get(caller: Caller, library_id: int, scope: str = Scope.READ) -> Library:
    return object_get(Library.objects.all(), caller, scope, field="id", noun="library", id=library_id)


def library_id_of(row: Model, field: str = "library") -> int:
    """The id of the library `row` belongs to, by the `field` path `in_libraries` filters on ("id" for a library)."""
    *path, last = field.split("__")
    for part in path:
        row = getattr(row, part)
    return row.id if last == "id" else getattr(row, f"{last}_id")
