"""What every app's REST API shares: the page envelope (and its schema), page filters, absolute links."""

from __future__ import annotations

import functools

from django.db.models import QuerySet
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class Pagination(PageNumberPagination):
    """`results`, `next`, `previous`, `count`; `page_size` lets a client ask for up to 500 items per page."""

    page_size_query_param = "page_size"
    max_page_size = 500


class PageFilterSerializer(serializers.Serializer):
    """The query parameters of every list: subclass it to add the list's own filters."""

    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=Pagination.max_page_size)


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


def paginated_response(request: Request, view: APIView, queryset: QuerySet, serializer_class) -> Response:
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True, context={"request": request}).data)


def absolute_url(context: dict, path: str) -> str:
    """`path` as an absolute URL when the serializer has the request, else as it is."""
    request = context.get("request")
    return request.build_absolute_uri(path) if request else path
