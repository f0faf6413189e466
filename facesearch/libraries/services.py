"""Changes to libraries, their members and their API keys. Deleting a library is an erasure (`erasure.py`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from facesearch.core.errors import ApplicationError
from facesearch.libraries.authentication import key_generate
from facesearch.libraries.models import ApiKey, Library, Membership, Role, Scope


@transaction.atomic
def library_create(*, name: str, owner: AbstractBaseUser | None) -> Library:
    library = Library(name=name.strip())
    library.full_clean()
    library.save()
    if owner is not None:
        Membership.objects.create(library=library, user=owner, role=Role.OWNER)
    return library


@transaction.atomic
def library_create_personal(*, user: AbstractBaseUser) -> Library:
    """The library a new user's uploads go to by default, owned by them."""
    library = library_create(name=f"{user.get_username()}'s library"[:200], owner=user)
    library.personal_for = user
    library.save(update_fields=["personal_for"])
    return library


@transaction.atomic
def library_update(*, library: Library, name: str) -> Library:
    library.name = name.strip()
    library.full_clean()
    library.save(update_fields=["name"])
    return library


@transaction.atomic
def member_set(*, library: Library, username: str, role: str) -> Membership:
    """Share the library with a user (or change their role); the last owner cannot step down."""
    if role not in Role.values:
        raise ApplicationError(f"Unknown role {role!r}.", {"role": role, "choices": Role.values})
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ApplicationError("No such user.", {"username": username}, status=404)
    _owners_lock(library)
    membership, created = Membership.objects.get_or_create(library=library, user=user, defaults={"role": role})
    if not created and membership.role != role:
        if membership.role == Role.OWNER:
            _keep_an_owner(library, leaving=membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(*, library: Library, user_id: int) -> None:
    _owners_lock(library)
    membership = Membership.objects.filter(library=library, user_id=user_id).first()
    if membership is None:
        raise ApplicationError("This user is not a member of the library.", {"user_id": user_id}, status=404)
    if membership.role == Role.OWNER:
        _keep_an_owner(library, leaving=membership)
    membership.delete()


def _owners_lock(library: Library) -> None:
    """Role changes of one library take turns, so two owners stepping down at once cannot leave it with none."""
    Library.objects.select_for_update().filter(id=library.id).first()


def _keep_an_owner(library: Library, *, leaving: Membership) -> None:
    if not Membership.objects.filter(library=library, role=Role.OWNER).exclude(id=leaving.id).exists():
        raise ApplicationError(
            "A library needs an owner: make someone else owner first, or delete the library.",
            {"user_id": leaving.user_id},
        )


@transaction.atomic
def api_key_create(
    *,
    library: Library,
    name: str,
    scopes: Iterable[str],
    created_by: AbstractBaseUser | None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key for an application: `(row, key)`; the key itself is returned only here and never stored."""
    scopes = sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if not scopes or unknown:
        raise ApplicationError("Give one or more scopes.", {"unknown": unknown, "choices": Scope.values})
    if expires_at is not None and expires_at <= timezone.now():
        raise ApplicationError("The expiry must be in the future.", {"expires_at": expires_at.isoformat()})
    key, prefix, digest = key_generate()
    row = ApiKey(library=library, name=name.strip(), prefix=prefix, digest=digest, scopes=scopes,
                 expires_at=expires_at, created_by=created_by)  # fmt: skip
    row.full_clean()
    row.save()
    return row, key


@transaction.atomic
def api_key_revoke(*, key: ApiKey) -> ApiKey:
    """A revoked key stops working at once; its row stays, so the audit log can still name it."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key
