"""Reads about people: the list with face counts and covers, one person, a person's faces."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from facesearch.people.models import Person
from facesearch.photos.models import Face

CONFIRMED = (Face.Assignment.MANUAL, Face.Assignment.ENROLLED)
"""Assignments a person made (not identification's guesses): identification compares against these faces only."""


class PersonFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")

    class Meta:
        model = Person
        fields = ["search"]


def person_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Person]:
    """People by name, each with `face_count` and `cover_id` (its cover face, or its first face if it has no cover)."""
    first_face = Face.objects.filter(person=OuterRef("pk")).order_by("-box_size", "id").values("id")[:1]
    people = Person.objects.annotate(
        face_count=Count("faces"),
        cover_id=Coalesce(F("cover_face_id"), Subquery(first_face)),
    ).order_by("name", "id")  # Meta.ordering does not apply to aggregated queries
    return PersonFilter(filters or {}, queryset=people).qs


def person_faces(*, person: Person) -> QuerySet[Face]:
    """A person's faces, newest first, without the heavy columns (crop bytes, embedding)."""
    return (
        Face.objects.filter(person=person)
        .select_related("photo")
        .defer("crop", "embedding", "photo__error")
        .order_by("-created_at", "-id")
    )
