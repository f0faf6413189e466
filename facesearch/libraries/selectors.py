"""Reads about libraries: the caller's libraries with their role and counts, members, keys, the audit log, receipts."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Lower

from facesearch.libraries.access import OWN, Caller, in_libraries, library_get
from facesearch.libraries.models import ApiKey, AuditEntry, ErasureReceipt, Library, Membership
from facesearch.people.models import Person
from facesearch.photos.models import Face, Photo


def library_list(*, caller: Caller, filters: dict[str, Any] | None = None) -> QuerySet[Library]:
    """The libraries the caller may read, each with `role` (the caller's; empty for a key) and item counts."""
    filters = filters or {}
    libraries = in_libraries(Library.objects.all(), caller, field="id")
    if "library" in filters:
        libraries = libraries.filter(id=filters["library"])
    role = Membership.objects.filter(library=OuterRef("pk"), user_id=caller.user.pk if caller.user else None)
    return libraries.annotate(
        role=Coalesce(Subquery(role.values("role")[:1]), Value("")),
        photo_count=_count("photos"),
        face_count=_count("faces"),
        person_count=_count("people"),
    ).order_by(Lower("name"), "id")  # "olga's library" beside "Olga's", not after every capital


def _count(relation: str) -> Subquery:
    """A count per library as a subquery: three joined COUNTs would multiply each other's rows."""
    model = {"photos": Photo, "faces": Face, "people": Person}[relation]
    counts = model.objects.filter(library=OuterRef("pk")).order_by().values("library").annotate(n=Count("id"))
    return Coalesce(Subquery(counts.values("n")[:1]), 0)


def member_list(*, library: Library) -> QuerySet[Membership]:
    return Membership.objects.filter(library=library).select_related("user").order_by("user__username")


def api_key_list(*, library: Library) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(library=library).select_related("created_by")


def audit_list(*, caller: Caller, filters: dict[str, Any] | None = None) -> QuerySet[AuditEntry]:
    """Audit entries of the libraries the caller owns (`library` narrows to one), newest first; `kind`, `username`
    filter."""
    filters = filters or {}
    if "library" in filters:
        owned = [library_get(caller, filters["library"], OWN).id]  # a library they read but do not own: 403
    else:
        owned = list(caller.library_ids(OWN).values_list("id", flat=True))
    entries = AuditEntry.objects.filter(library_ids__overlap=owned)
    for field in ("kind", "username"):
        if field in filters:
            entries = entries.filter(**{field: filters[field]})
    return entries.order_by("-created_at", "-id")


def erasure_list(*, caller: Caller, filters: dict[str, Any] | None = None) -> QuerySet[ErasureReceipt]:
    """Receipts of erasures in the libraries the caller owns, and those the caller requested (a deleted library's
    receipt has no owner left to read it)."""
    receipts = ErasureReceipt.objects.filter(library_id__in=caller.library_ids(OWN))
    if caller.name:
        receipts = receipts | ErasureReceipt.objects.filter(requested_by=caller.name)
    if "library" in (filters or {}):
        receipts = receipts.filter(library_id=filters["library"])
    return receipts
