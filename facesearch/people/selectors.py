"""Reads about people: the list with face counts and covers, a person's faces and rejected faces, their history and
the groups a split would offer. (Suggested people, the stored groups of unknown faces, are read by
`facesearch.grouping.selectors`.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import django_filters
import numpy as np
from django.db.models import Case, Count, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from embeddings.splitting import split
from facesearch.core.pipeline import get_pipeline
from facesearch.libraries.access import Caller, in_libraries
from facesearch.people.models import AssignmentEvent, FaceRejection, Person
from facesearch.photos.models import CONFIRMED, Face
from facesearch.photos.selectors import FACE_LIST_FIELDS_DEFERRED


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


def person_history(*, person: Person) -> QuerySet[AssignmentEvent]:
    """Every change of a face to or from the person, and of faces their merges left unassigned, newest first."""
    return (
        AssignmentEvent.objects.filter(Q(person=person) | Q(previous_person=person) | Q(merge__person=person))
        .select_related("person", "previous_person", "merge")
        .order_by("-id")
    )


@dataclass(frozen=True)
class SplitGroup:
    """Faces of a person that look like someone else: offered to be moved to another person."""

    faces: list[Face]
    distance: float  # from the group's mean face to the mean face of the person's kept faces


@dataclass(frozen=True)
class PersonSplit:
    kept: list[Face]  # the largest group, and the groups near its mean: the person
    groups: list[SplitGroup]  # largest first
    max_distance: float  # the grouping cut
    offer_distance: float  # a group farther than this from the person's mean face is offered


def person_split_groups(*, person: Person) -> PersonSplit:
    """A person's faces (of the current encoder) split by `embeddings.splitting.split`: grouped at the suggestions' cut
    (`group_distance`), two faces of one photo never together; the largest group is the person, and another group is
    offered as someone else when its mean face would not verify as the person's (over the encoder's 1:1 threshold)."""
    spec = get_pipeline().spec
    cut = spec.group_distance
    rows = list(
        Face.objects.filter(person=person, model_id=spec.model_id)
        .order_by("id")
        .values_list("id", "photo_id", "embedding")
    )
    ids = [face_id for face_id, _, _ in rows]
    vectors = np.array([np.asarray(vector, dtype=np.float32) for _, _, vector in rows])
    result = split(vectors, cut, spec.threshold, cannot_link=[photo_id for _, photo_id, _ in rows])
    faces = Face.objects.defer(*FACE_LIST_FIELDS_DEFERRED).select_related("photo", "person").in_bulk(ids)

    def newest_first(members: np.ndarray) -> list[Face]:
        return [faces[ids[i]] for i in sorted(members, key=lambda i: -ids[i])]

    return PersonSplit(
        kept=newest_first(result.kept),
        groups=[SplitGroup(faces=newest_first(members), distance=distance) for members, distance in result.offered],
        max_distance=cut,
        offer_distance=spec.threshold,
    )
