"""Reads about people: the list with face counts and covers, a person's faces and rejected faces, and suggested
people."""

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
from facesearch.people.models import FaceRejection, Person
from facesearch.photos.models import CONFIRMED, Face
from facesearch.photos.selectors import FACE_LIST_FIELDS_DEFERRED, face_nearest


class PersonFilter(django_filters.FilterSet):
    library = django_filters.NumberFilter(field_name="library")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    hidden = django_filters.ChoiceFilter(
        choices=[("false", "shown only"), ("true", "hidden only"), ("all", "both")], method="filter_hidden"
    )

    class Meta:
        model = Person
        fields = ["library", "search", "never_match", "hidden"]

    def filter_hidden(self, queryset: QuerySet[Person], name: str, value: str) -> QuerySet[Person]:
        return queryset if value == "all" else queryset.filter(hidden=value == "true")


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


def person_rejections(*, person: Person) -> QuerySet[Face]:
    """The faces rejected for a person ("not them"), most recently rejected first, without the heavy columns."""
    rejections = FaceRejection.objects.filter(person=person)
    rejected_at = rejections.filter(face=OuterRef("pk")).values("created_at")[:1]
    return (
        Face.objects.filter(id__in=rejections.values("face_id"))
        .annotate(rejected_at=Subquery(rejected_at))
        .select_related("photo", "person")
        .defer("crop", "embedding", "photo__error")
        .order_by("-rejected_at", "-id")
    )


NAMING_CANDIDATES = 10
"""Nearest confirmed faces looked at to name a group: the nearest may belong to a person the group must not be named
after (hidden, or rejected by one of its faces), and a person has several faces; 10 reaches the next person in the
usual case at the cost of one index scan, and beyond them the group is left unnamed."""


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
    the group's mean face. Hidden people, and people any face of the group was rejected for, are passed over.

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
    refused: dict[int, set[int]] = {}
    for face_id, person_id in FaceRejection.objects.filter(face_id__in=list(shown)).values_list("face_id", "person_id"):
        refused.setdefault(face_id, set()).add(person_id)
    groups = []
    for members in clusters:
        mean = vectors[members].mean(axis=0)
        nearest = face_nearest(
            embedding=mean / np.linalg.norm(mean),
            model_id=spec.model_id,
            library_ids=[library.id],
            limit=NAMING_CANDIDATES,
            max_distance=cut,
            confirmed_only=True,
        )
        not_them = set().union(*(refused.get(int(i), set()) for i in ids[members]))
        match = next((f for f in nearest if not f.person.hidden and f.person_id not in not_them), None)
        groups.append(
            FaceGroup(
                faces=[shown[int(i)] for i in ids[members]],
                person=match.person if match else None,
                distance=round(match.distance, 4) if match else None,
            )
        )
    total = len(rows) if len(rows) < settings.FACESEARCH_GROUP_WINDOW else unassigned.count()
    return FaceGroups(groups=groups, considered=len(rows), unassigned=total, max_distance=cut)
