"""Reads about people: the list with face counts and covers, a person's faces, and suggested people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import django_filters
import numpy as np
from django.conf import settings
from django.db.models import Case, Count, F, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

import embeddings
from facesearch.core.pipeline import get_pipeline
from facesearch.libraries.access import Caller, in_libraries
from facesearch.libraries.models import Library
from facesearch.people.models import Person
from facesearch.photos.models import CONFIRMED, Face
from facesearch.photos.selectors import FACE_LIST_FIELDS_DEFERRED, face_nearest


class PersonFilter(django_filters.FilterSet):
    library = django_filters.NumberFilter(field_name="library")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")

    class Meta:
        model = Person
        fields = ["library", "search", "never_match"]


def cover_candidates(faces: QuerySet[Face]) -> QuerySet[Face]:
    """The one rule for a person's cover, best first: a confirmed face, then the largest, most confidently detected."""
    unconfirmed = Case(When(assignment__in=CONFIRMED, then=Value(0)), default=Value(1))
    return faces.annotate(unconfirmed=unconfirmed).order_by("unconfirmed", "-box_size", "-score", "id")


def person_list(*, caller: Caller, filters: dict[str, Any] | None = None) -> QuerySet[Person]:
    """The caller's people by name, each with `face_count` and `cover_id` (its chosen cover, else the best by
    `cover_candidates`)."""
    best = cover_candidates(Face.objects.filter(person=OuterRef("pk"))).values("id")[:1]
    people = (
        in_libraries(Person.objects.all(), caller)
        .annotate(
            face_count=Count("faces"),
            cover_id=Coalesce(F("cover_face_id"), Subquery(best)),
        )
        .order_by("name", "id")
    )  # Meta.ordering does not apply to aggregated queries
    return PersonFilter(filters or {}, queryset=people).qs


def person_faces(*, person: Person) -> QuerySet[Face]:
    """A person's faces, newest first, without the heavy columns (crop bytes, embedding)."""
    return (
        Face.objects.filter(person=person)
        .select_related("photo")
        .defer("crop", "embedding", "photo__error")
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class FaceGroup:
    """Unassigned faces that look like one person, and the enrolled person they look like, if any."""

    faces: list[Face]  # newest first
    person: Person | None
    distance: float | None  # from the group's mean face to that person's nearest confirmed face


@dataclass(frozen=True)
class FaceGroups:
    groups: list[FaceGroup]  # largest first
    considered: int  # the newest unassigned faces that were grouped (at most FACESEARCH_GROUP_WINDOW)
    unassigned: int  # all unassigned faces of the current encoder
    max_distance: float


def face_groups_suggested(*, library: Library, limit: int = 20, max_distance: float | None = None) -> FaceGroups:
    """Suggested people of one library: its newest unassigned faces grouped by `embeddings.cluster`, largest groups
    first, each named after the library's enrolled person whose nearest confirmed face is within `max_distance` of
    the group's mean face.

    Nothing is stored: groups are recomputed from the faces as they are now, so naming or deleting faces changes the
    next answer. The cut defaults to the encoder's `group_distance` (stricter than the 1:1 threshold: a group is
    many pairs, and naming a group of strangers after someone costs more than a missed suggestion).
    """
    spec = get_pipeline().spec
    cut = spec.group_distance if max_distance is None else max_distance
    unassigned = Face.objects.filter(library=library, person__isnull=True, model_id=spec.model_id, searchable=True)
    rows = list(unassigned.order_by("-id").values_list("id", "embedding")[: settings.FACESEARCH_GROUP_WINDOW])
    if not rows:
        return FaceGroups(groups=[], considered=0, unassigned=0, max_distance=cut)
    ids = np.array([face_id for face_id, _ in rows])
    vectors = np.stack([np.asarray(vector, dtype=np.float32) for _, vector in rows])
    clusters = embeddings.cluster(vectors, cut)[:limit]

    shown = (
        unassigned.defer(*FACE_LIST_FIELDS_DEFERRED)
        .select_related("person")
        .in_bulk([int(i) for members in clusters for i in ids[members]])
    )
    groups = []
    for members in clusters:
        mean = vectors[members].mean(axis=0)
        nearest = face_nearest(
            embedding=mean / np.linalg.norm(mean),
            model_id=spec.model_id,
            library_ids=[library.id],
            limit=1,
            max_distance=cut,
            confirmed_only=True,
        )
        groups.append(
            FaceGroup(
                faces=[shown[int(i)] for i in ids[members]],
                person=nearest[0].person if nearest else None,
                distance=round(nearest[0].distance, 4) if nearest else None,
            )
        )
    total = len(rows) if len(rows) < settings.FACESEARCH_GROUP_WINDOW else unassigned.count()
    return FaceGroups(groups=groups, considered=len(rows), unassigned=total, max_distance=cut)
