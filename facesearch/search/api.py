"""REST API of the read path: search by photo or face, identify (1:N), verify (1:1).

Query images arrive through `QueryImageUploadHandler`, so they are held in memory only and never written anywhere.
Errors: no face in an image → 422; a missing or unreadable file → 400; an unknown face id → 404.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from facesearch.core.api import (
    NOT_AUTHENTICATED,
    UNSUPPORTED_MEDIA_TYPE,
    FaceOutputSerializer,
    PersonRefSerializer,
    absolute_url,
    error_responses,
)
from facesearch.core.uploads import QueryImageUploadHandler
from facesearch.libraries.access import Caller
from facesearch.libraries.models import Scope
from facesearch.photos.models import Photo
from facesearch.search import services

THUMB_SIZE = 256

ERRORS = {
    **error_responses({400: "missing or unreadable file, invalid parameters"}),
    **NOT_AUTHENTICATED,
    **error_responses(
        {
            403: "an API key without the `search` scope",
            404: "an unknown face or library, or one you may not search",
            409: "the stored face was encoded by another encoder, or its person is marked never-match",
            422: "no face was found in an image",
        }
    ),
    **UNSUPPORTED_MEDIA_TYPE,
    **error_responses(
        {
            429: "over the user's search rate, or the server is busy with other searches (its networks run a few at "
            "a time): retry after `extra.wait` seconds, also sent as `Retry-After`"
        }
    ),
}


class QueryImageApi(APIView):
    """Base of the endpoints that take query images: multipart (or JSON when only ids are sent), kept in memory.

    Search, identify and verify share one `search` rate per user, on top of the general one: each runs the networks.
    """

    parser_classes = [MultiPartParser, FormParser, JSONParser]
    scopes = {"POST": Scope.SEARCH}
    throttle_classes = [*APIView.throttle_classes, ScopedRateThrottle]
    throttle_scope = "search"

    def initialize_request(self, request: HttpRequest, *args, **kwargs) -> Request:
        request.upload_handlers = [QueryImageUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)


class QueryFaceOutputSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="position in the query image, most prominent first")
    box = serializers.ListField(child=serializers.FloatField(), help_text="[x1, y1, x2, y2] in query image pixels")
    score = serializers.FloatField(help_text="detection confidence")

    class Meta:
        ref_name = "QueryFace"


class PhotoRefOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    original_name = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    taken_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField(help_text="the image")
    thumb_url = serializers.SerializerMethodField(help_text=f"a JPEG thumbnail, {THUMB_SIZE} px on its longest side")
    detail_url = serializers.SerializerMethodField(help_text="the photo in the API, with all its faces")

    class Meta:
        ref_name = "PhotoRef"

    def get_url(self, photo: Photo) -> str:
        return absolute_url(self.context, reverse("photos:photo-image", args=[photo.id]))

    def get_thumb_url(self, photo: Photo) -> str:
        return absolute_url(self.context, f"{reverse('photos:photo-image', args=[photo.id])}?size={THUMB_SIZE}")

    def get_detail_url(self, photo: Photo) -> str:
        return absolute_url(self.context, reverse("photos:photo-detail", args=[photo.id]))


class MatchOutputSerializer(serializers.Serializer):
    face = FaceOutputSerializer(source="*")
    photo = PhotoRefOutputSerializer()
    person = PersonRefSerializer(allow_null=True)
    distance = serializers.FloatField(help_text="Euclidean distance between L2-normalised embeddings: 0 is identical")

    class Meta:
        ref_name = "SearchMatch"


class IdentificationOutputSerializer(serializers.Serializer):
    box = serializers.ListField(child=serializers.FloatField(), help_text="[x1, y1, x2, y2] in image pixels")
    score = serializers.FloatField(help_text="detection confidence")
    person = PersonRefSerializer(allow_null=True, help_text="null when unknown")
    distance = serializers.FloatField(allow_null=True, help_text="to the nearest enrolled face; null if none")
    threshold = serializers.FloatField()
    decision = serializers.ChoiceField(choices=["match", "unknown"])

    class Meta:
        ref_name = "Identification"


class SearchApi(QueryImageApi):
    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(required=False, allow_empty_file=True, help_text="a query image (or face_id)")
        face_id = serializers.IntegerField(required=False, min_value=1, help_text="a stored face (or file)")
        limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)
        max_distance = serializers.FloatField(
            required=False, min_value=0.0, max_value=2.0, help_text="default: the encoder's calibrated threshold"
        )
        face_index = serializers.IntegerField(
            required=False, min_value=0, default=0, help_text="which face of the query image (0: most prominent)"
        )
        library = serializers.IntegerField(
            required=False,
            min_value=1,
            help_text="compare within this library only; default: every library you may search",
        )

        class Meta:
            ref_name = "SearchQuery"

        def validate(self, data: dict) -> dict:
            if ("file" in data) == ("face_id" in data):
                raise serializers.ValidationError("Send a query image as `file`, or a stored face as `face_id`.")
            return data

    class JsonInputSerializer(InputSerializer):  # JSON carries no file: a search by stored face
        file = None
        face_id = serializers.IntegerField(min_value=1, help_text="a stored face")

        class Meta:
            ref_name = "SearchByFaceQuery"

    class OutputSerializer(serializers.Serializer):
        query_faces = QueryFaceOutputSerializer(
            many=True, help_text="the faces found in the query, largest first, at most FACESEARCH_MAX_QUERY_FACES"
        )
        face_index = serializers.IntegerField(help_text="the query face searched for")
        matches = MatchOutputSerializer(many=True, help_text="nearest first")
        threshold = serializers.FloatField(help_text="the encoder's calibrated same-person distance")
        max_distance = serializers.FloatField(help_text="matches at this distance or farther were left out")
        false_accept_rate = serializers.FloatField(
            help_text="the calibrated share of different-person pairs closer than that distance (LFW)"
        )
        operating_points = serializers.SerializerMethodField(
            help_text="strict, normal and loose cuts of this encoder: each one's distance and calibrated false-accept "
            "rate (normal is the 1:1 threshold); a client offers these instead of a distance"
        )

        class Meta:
            ref_name = "SearchResult"

        @extend_schema_field(
            {"type": "object", "additionalProperties": {"type": "object", "properties": {
                "max_distance": {"type": "number"}, "false_accept_rate": {"type": "number"}}}}
        )  # fmt: skip
        def get_operating_points(self, result) -> dict:
            return {
                name: {"max_distance": round(distance, 4), "false_accept_rate": float(f"{far:.3g}")}
                for name, (distance, far) in result.operating_points.items()
            }

    @extend_schema(
        operation_id="search",
        request={"multipart/form-data": InputSerializer, "application/json": JsonInputSerializer},
        responses={200: OutputSerializer, **ERRORS},
        description="Faces like the query face, nearest first, at most `limit`, none at `max_distance` or farther. "
        "Only the largest faces of a query image are encoded, at most FACESEARCH_MAX_QUERY_FACES (10 by default). "
        "The query image is not stored.",
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        options = {"limit": data["limit"], "max_distance": data.get("max_distance"), "library": data.get("library")}
        caller = Caller.of(request)
        if "face_id" in data:
            result = services.faces_search_by_face(caller=caller, face_id=data["face_id"], **options)
        else:
            result = services.faces_search_by_photo(
                caller=caller, file=data["file"], face_index=data["face_index"], **options
            )
        return Response(self.OutputSerializer(result, context={"request": request}).data)


class IdentifyApi(QueryImageApi):
    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True, help_text="an image with one or more faces")
        max_distance = serializers.FloatField(
            required=False,
            min_value=0.0,
            max_value=2.0,
            help_text="match only within this distance, overriding the calibrated threshold",
        )
        fpir = serializers.FloatField(
            required=False,
            min_value=0.0001,
            max_value=0.5,
            help_text="the share of strangers (people not enrolled) that may be named: the threshold is calibrated to "
            "it and to the number of enrolled faces compared with; default FACESEARCH_IDENTIFY_FPIR (0.01)",
        )
        library = serializers.IntegerField(
            required=False,
            min_value=1,
            help_text="compare within this library only; default: every library you may search",
        )

        class Meta:
            ref_name = "IdentifyQuery"

    class OutputSerializer(serializers.Serializer):
        faces = IdentificationOutputSerializer(many=True, help_text="in the order of prominence")
        threshold = serializers.FloatField(help_text="the distance the faces were decided at")
        fpir = serializers.FloatField(
            allow_null=True, help_text="the target it was calibrated for; null with max_distance"
        )
        gallery_size = serializers.IntegerField(help_text="enrolled (confirmed) faces compared with")
        false_accept_rate = serializers.FloatField(help_text="per comparison, at the threshold (calibrated on LFW)")
        expected_fpir = serializers.FloatField(
            help_text="the share of strangers expected to be named at this threshold with this gallery"
        )

        class Meta:
            ref_name = "IdentifyResult"

    @extend_schema(
        operation_id="identify",
        request={"multipart/form-data": InputSerializer},
        responses={200: OutputSerializer, **ERRORS},
        description="Each face of the image → the enrolled person it is, or `unknown` beyond the threshold, which is "
        "calibrated to name at most `fpir` of strangers given the number of enrolled faces compared with. "
        "Only the largest faces are identified, at most FACESEARCH_MAX_QUERY_FACES (10 by default). "
        "The image is not stored.",
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = services.faces_identify(
            caller=Caller.of(request), file=data["file"], max_distance=data.get("max_distance"),
            fpir=data.get("fpir"), library=data.get("library"),
        )  # fmt: skip
        return Response(self.OutputSerializer(result).data)


class VerifyApi(QueryImageApi):
    class InputSerializer(serializers.Serializer):
        file_a = serializers.FileField(required=False, allow_empty_file=True, help_text="first image (or face_a)")
        file_b = serializers.FileField(required=False, allow_empty_file=True, help_text="second image (or face_b)")
        face_a = serializers.IntegerField(required=False, min_value=1, help_text="a stored face (or file_a)")
        face_b = serializers.IntegerField(required=False, min_value=1, help_text="a stored face (or file_b)")

        class Meta:
            ref_name = "VerifyQuery"

        def validate(self, data: dict) -> dict:
            for side in ("a", "b"):
                if (f"file_{side}" in data) == (f"face_{side}" in data):
                    raise serializers.ValidationError(f"Send exactly one of `file_{side}` or `face_{side}`.")
            return data

    class JsonInputSerializer(InputSerializer):  # JSON carries no file: two stored faces
        file_a = None
        file_b = None
        face_a = serializers.IntegerField(min_value=1, help_text="a stored face")
        face_b = serializers.IntegerField(min_value=1, help_text="a stored face")

        class Meta:
            ref_name = "VerifyFacesQuery"

    class OutputSerializer(serializers.Serializer):
        distance = serializers.FloatField(help_text="between the most prominent faces of the two images")
        threshold = serializers.FloatField()
        same = serializers.BooleanField(
            help_text="distance < threshold, before rounding (`embeddings.same_person`: identify decides alike)"
        )
        false_accept_rate = serializers.FloatField(
            help_text="the calibrated share of different-person pairs closer than the threshold (LFW)"
        )

        class Meta:
            ref_name = "VerifyResult"

    @extend_schema(
        operation_id="verify",
        request={"multipart/form-data": InputSerializer, "application/json": JsonInputSerializer},
        responses={200: OutputSerializer, **ERRORS},
        description="Are the two faces the same person? Uploaded images are not stored.",
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.faces_verify(caller=Caller.of(request), **serializer.validated_data)
        return Response(self.OutputSerializer(result).data)
