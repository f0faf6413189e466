"""What every app's REST API shares: the page envelope (and its schema), page filters and the list helper, absolute
links, the error shape with the responses every app documents, and the shapes several apps show (`Face`, `PersonRef`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from facesearch.libraries.access import Caller, library_get
from facesearch.photos.models import Face

# ------------------------------------------------------------------------------------------------------ pagination


class Pagination(PageNumberPagination):
    """`results`, `next`, `previous`, `count`; `page_size` lets a client ask for up to 500 items per page."""

    page_size_query_param = "page_size"
    max_page_size = 500


class PageFilterSerializer(serializers.Serializer):
    """The query parameters of every list: subclass it to add the list's own filters."""

    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=Pagination.max_page_size)
    library = serializers.IntegerField(
        required=False, min_value=1, help_text="only this library's items; default: every library you may read"
    )


@functools.cache
def page_schema(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """The schema of a page of `serializer_class` items; one object per class, so the component is defined once."""
    return inline_serializer(
        name=f"Paginated{serializer_class.Meta.ref_name}List",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


def list_response(
    request: Request,
    view: APIView,
    *,
    filter_serializer_class: type[PageFilterSerializer],
    selector: Callable[..., QuerySet],
    output_serializer_class: type[serializers.Serializer],
) -> Response:
    """A page of `selector(caller=..., filters=...)`: the query parameters validated first (a 400 names the bad ones,
    a library the caller may not read is a 404), filters left unset (None) dropped, then the page serialized with the
    request in the context (for absolute links). Every list is the caller's: the selector scopes it."""
    params = filter_serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    filters = {key: value for key, value in params.validated_data.items() if value is not None}
    caller = Caller.of(request)
    if "library" in filters:
        library_get(caller, filters["library"])
    paginator = Pagination()
    page = paginator.paginate_queryset(selector(caller=caller, filters=filters), request, view=view)
    return paginator.get_paginated_response(output_serializer_class(page, many=True, context={"request": request}).data)


def absolute_url(context: dict, path: str) -> str:
    """`path` as an absolute URL when the serializer has the request, else as it is."""
    request = context.get("request")
    return request.build_absolute_uri(path) if request else path


# ---------------------------------------------------------------------------------------------------------- errors


class ErrorOutputSerializer(serializers.Serializer):  # what `core.errors.exception_handler` answers with
    message = serializers.CharField()
    extra = serializers.DictField()

    class Meta:
        ref_name = "Error"


def error_responses(descriptions: dict[int, str]) -> dict[int, OpenApiResponse]:
    """The `responses` of an operation's errors: each status with what it means there, all in the one error shape."""
    return {status: OpenApiResponse(ErrorOutputSerializer, description=text) for status, text in descriptions.items()}


NOT_AUTHENTICATED = error_responses(
    {
        401: "not authenticated",
        403: "an API key without the scope this needs, or a role in the library that does not allow it",
    }
)
PAGE_NOT_FOUND = error_responses({404: "no such page (`page` is past the last), or a `library` you may not read"})
LIBRARY_NOT_FOUND = error_responses({404: "no such `library`, or one you may not use"})
UNSUPPORTED_MEDIA_TYPE = error_responses({415: "a body of an undocumented type"})


# -------------------------------------------------------------------------------------------------- shared shapes
# Serializers carry comments, not docstrings: drf-spectacular would publish a docstring as the schema's description.


class PersonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()

    class Meta:
        ref_name = "PersonRef"


class QualitySerializer(serializers.Serializer):
    box_size = serializers.FloatField(help_text="min(width, height) of the box, pixels")
    sharpness = serializers.FloatField(help_text="variance of the Laplacian of the aligned crop; low is blurred")
    yaw = serializers.FloatField()
    pitch = serializers.FloatField()
    roll = serializers.FloatField()
    passed = serializers.BooleanField(
        source="quality_passed", help_text="passed the quality gate (detection score and size) when stored"
    )

    class Meta:
        ref_name = "FaceQuality"


def face_crop_url(context: dict, face_id: int) -> str:
    """The link of a face's crop image (absolute when the serializer has the request)."""
    return absolute_url(context, reverse("photos:face-crop", args=[face_id]))


class FaceOutputSerializer(serializers.Serializer):  # one `Face` in photos, lists, people, suggestions and matches
    id = serializers.IntegerField()
    library = serializers.IntegerField(source="library_id")
    photo = serializers.IntegerField(source="photo_id")
    index = serializers.IntegerField(help_text="position within the photo, most prominent first")
    box = serializers.ListField(child=serializers.FloatField(), help_text="[x1, y1, x2, y2] in photo pixels")
    landmarks = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()))
    score = serializers.FloatField(help_text="detection confidence (of a drawn face: O-Net's, 0 if it saw no face)")
    source = serializers.ChoiceField(choices=Face.Source.choices, help_text="detected, or drawn by a person")
    quality = QualitySerializer(source="*")
    model_id = serializers.CharField()
    person = PersonRefSerializer(allow_null=True)
    assignment = serializers.ChoiceField(choices=[*Face.Assignment.values, ""])
    assignment_distance = serializers.FloatField(allow_null=True)
    review = serializers.ChoiceField(
        choices=[*Face.Review.values, ""],
        help_text="a person's verdict: face (kept despite the quality gate), not_face, ignored; empty when none",
    )
    hidden = serializers.BooleanField(
        help_text="left out of search, suggestions, naming and Unknown faces: not a face, or below the quality gate "
        "and not named"
    )
    crop_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Face"

    def get_crop_url(self, face: Face) -> str:
        return face_crop_url(self.context, face.id)
