"""REST API of the write path: photos (upload, list, detail, image, delete), faces (list, crop, assign, draw), jobs.

Views are thin: validate with an InputSerializer/FilterSerializer, call one service or selector, serialize out.
"""

from __future__ import annotations

import mimetypes

from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from embeddings import EmbeddingsError
from facesearch.core.api import (
    LIBRARY_NOT_FOUND,
    NOT_AUTHENTICATED,
    PAGE_NOT_FOUND,
    UNSUPPORTED_MEDIA_TYPE,
    FaceOutputSerializer,
    PageFilterSerializer,
    absolute_url,
    error_responses,
    list_response,
    page_schema,
)
from facesearch.core.errors import ApplicationError
from facesearch.core.throttling import WriteScopedRateThrottle
from facesearch.core.uploads import PhotoUploadHandler
from facesearch.libraries.access import Caller, object_get
from facesearch.libraries.models import Scope
from facesearch.people.models import Person
from facesearch.people.services import faces_assign, faces_unassign
from facesearch.photos import drawing, ingest, review, selectors, services
from facesearch.photos.models import Face, IngestItem, IngestJob, Photo
from facesearch.photos.storage import photo_file_path

BROWSER_FORMATS = frozenset({"jpg", "png", "webp", "gif", "avif", "bmp"})


# ------------------------------------------------------------------------------------------------------- shapes
# Shapes other apps show too (`Face`, `PersonRef`, `Error`) are in facesearch/core/api.py.


class PhotoOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    library = serializers.IntegerField(source="library_id")
    sha256 = serializers.CharField()
    status = serializers.ChoiceField(choices=Photo.Status.choices)
    error = serializers.CharField(help_text="why processing failed, when it did")
    url = serializers.SerializerMethodField(help_text="the image file")
    original_name = serializers.CharField()
    size = serializers.IntegerField(help_text="bytes")
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    taken_at = serializers.DateTimeField(allow_null=True, help_text="EXIF capture time")
    uploaded_by = serializers.CharField(source="uploaded_by.username", allow_null=True, default=None)
    model_id = serializers.CharField(help_text="encoder that produced the faces")
    created_at = serializers.DateTimeField()
    processed_at = serializers.DateTimeField(allow_null=True)
    faces = FaceOutputSerializer(many=True, source="faces.all")

    class Meta:
        ref_name = "Photo"

    def get_url(self, photo: Photo) -> str:
        return absolute_url(self.context, reverse("photos:photo-image", args=[photo.id]))


class JobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    library = serializers.IntegerField(source="library_id")
    source = serializers.ChoiceField(choices=IngestJob.Source.choices)
    path = serializers.CharField()
    state = serializers.ChoiceField(
        choices=IngestJob.State.choices,
        help_text="pending: files are being added; running: all added, processing; done; interrupted: resumable",
    )
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    total = serializers.IntegerField()
    pending = serializers.IntegerField()
    done = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="same bytes already stored")
    failed = serializers.IntegerField()
    retryable = serializers.IntegerField(
        help_text="failed items a retry can succeed for (a stored photo, a folder's file; not a refused upload)"
    )
    progress = serializers.SerializerMethodField(help_text="share of items finished, 0 to 1")

    class Meta:
        ref_name = "Job"

    def get_progress(self, job: IngestJob) -> float:
        return round(job.progress, 4)  # computed by `selectors.job_list`, shown to 4 places


class ItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=IngestItem.State.choices)
    error = serializers.CharField(help_text="the reason, for failed items")
    photo = serializers.IntegerField(source="photo_id", allow_null=True)
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "JobItem"


class JobDetailOutputSerializer(JobOutputSerializer):
    failures = ItemOutputSerializer(many=True, help_text="failed items with their reasons (the first 1000)")
    items_url = serializers.SerializerMethodField(help_text="every item, paginated")

    class Meta:
        ref_name = "JobDetail"

    def get_items_url(self, job: IngestJob) -> str:
        return absolute_url(self.context, reverse("photos:job-items", args=[job.id]))


class UploadResultOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    created = serializers.BooleanField(help_text="false: the same bytes were stored already")
    photo = PhotoOutputSerializer(allow_null=True)
    error = serializers.CharField(allow_null=True, help_text="why this file was refused")

    class Meta:
        ref_name = "PhotoUploadResult"


class BatchUploadOutputSerializer(serializers.Serializer):
    job = JobDetailOutputSerializer()
    results = UploadResultOutputSerializer(many=True)

    class Meta:
        ref_name = "PhotoBatchUpload"


def _job_detail(request: Request, job_id: int) -> dict:
    progress = selectors.job_progress(caller=Caller.of(request), job_id=job_id)
    if progress is None:
        raise ApplicationError("No such job.", {"id": job_id}, status=404)
    progress.job.failures = progress.failures
    return JobDetailOutputSerializer(progress.job, context={"request": request}).data


ERRORS = {**error_responses({400: "invalid input; nothing was stored"}), **NOT_AUTHENTICATED}
NOT_FOUND = error_responses({404: "no such id in a library you may read"})
IMAGE = {(200, "image/jpeg"): OpenApiTypes.BINARY}
UPLOAD_RESULT = PolymorphicProxySerializer(
    component_name="PhotoUploadResponse",
    serializers=[PhotoOutputSerializer, BatchUploadOutputSerializer],
    resource_type_field_name=None,
)


# ------------------------------------------------------------------------------------------------------- photos


class PhotoListApi(APIView):
    throttle_classes = [*APIView.throttle_classes, WriteScopedRateThrottle]
    throttle_scope = "upload"  # POST only: the list (GET) counts against the general rate alone
    scopes = {"POST": Scope.UPLOAD}

    class FilterSerializer(PageFilterSerializer):
        status = serializers.ChoiceField(choices=Photo.Status.choices, required=False)
        person = serializers.ListField(
            child=serializers.IntegerField(), required=False, max_length=20,
            help_text="photos showing this person; repeated: photos showing all of them",
        )  # fmt: skip
        faces = serializers.ChoiceField(
            choices=["unnamed", "none"], required=False,
            help_text="unnamed: with a face nobody is named for; none: processed, and no face was found",
        )  # fmt: skip
        model_id = serializers.CharField(required=False)
        ordering = serializers.ChoiceField(
            choices=[
                f"{sign}{field}" for field in ("created_at", "taken_at", "date", "id", "size") for sign in ("", "-")
            ],
            required=False,
            help_text="default: -created_at; date: when taken, else when uploaded",
        )

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(required=False, allow_empty_file=True, help_text="one image")
        files = serializers.ListField(
            child=serializers.FileField(allow_empty_file=True), required=False, help_text="several images (a job)"
        )
        library = serializers.IntegerField(
            required=False, min_value=1, help_text="default: an API key's library, or your personal library"
        )
        job = serializers.IntegerField(
            required=False, min_value=1,
            help_text="with `files`: add them to this upload job of yours (one upload sent in several requests)",
        )  # fmt: skip

        class Meta:
            ref_name = "PhotoUpload"

        def validate(self, data: dict) -> dict:
            if bool(data.get("file")) == bool(data.get("files")):
                raise serializers.ValidationError("Send one image as `file`, or several as `files`.")
            if data.get("job") and not data.get("files"):
                raise serializers.ValidationError("`job` goes with `files`.")
            return data

    def initialize_request(self, request: HttpRequest, *args, **kwargs) -> Request:
        request.upload_handlers = [PhotoUploadHandler(request)]  # no more than the size limit of a file is kept
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        operation_id="photos_list",
        parameters=[FilterSerializer],
        responses={200: page_schema(PhotoOutputSerializer), **ERRORS, **PAGE_NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        return list_response(
            request,
            self,
            filter_serializer_class=self.FilterSerializer,
            selector=selectors.photo_list,
            output_serializer_class=PhotoOutputSerializer,
        )

    @extend_schema(
        operation_id="photos_upload",
        request={"multipart/form-data": InputSerializer},
        responses={
            201: OpenApiResponse(UPLOAD_RESULT, description="a new photo, or a job with at least one new photo"),
            200: OpenApiResponse(UPLOAD_RESULT, description="nothing new: the same bytes were stored already"),
            **ERRORS,
            **LIBRARY_NOT_FOUND,
            **UNSUPPORTED_MEDIA_TYPE,
        },
        description=(
            "`file`: one image → 201 with the photo, or 200 with the stored photo for the same bytes. "
            "`files`: several → an upload job and one result per file (refused files are failed items), 201 when "
            "one of them is new, else 200; 400 only when no file could be stored. A file over "
            "FACESEARCH_MAX_UPLOAD_BYTES is refused; over FACESEARCH_MAX_UPLOAD_FILES files: 400, nothing stored. "
            "`job`: add `files` to an upload job of yours begun by an earlier request, so that one upload sent in "
            "several requests is one job. Faces appear once the worker has processed the photo "
            "(`status` goes pending → processing → done or failed)."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        context = {"request": request}
        caller = Caller.of(request)
        library = caller.library_or_default(serializer.validated_data.get("library"), Scope.UPLOAD)
        if file := serializer.validated_data.get("file"):
            photo, created = services.photo_create(file=file, library=library, uploaded_by=caller.user)
            data = PhotoOutputSerializer(photo, context=context).data
            return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

        job = None
        if (job_id := serializer.validated_data.get("job")) is not None:
            jobs = IngestJob.objects.filter(library=library, source=IngestJob.Source.UPLOAD, created_by=caller.user)
            job = object_get(jobs, caller, Scope.UPLOAD, noun="job", id=job_id)
        job, items = ingest.photos_upload(
            files=serializer.validated_data["files"], library=library, uploaded_by=caller.user, job=job
        )
        photos = {
            photo.id: PhotoOutputSerializer(photo, context=context).data
            for photo in selectors.photo_list(caller=caller).filter(
                id__in=[item.photo_id for item in items if item.photo_id]
            )
        }  # one read of the photos with their faces, however many files
        results = [
            {
                "name": item.name,
                "created": item.state == IngestItem.State.PENDING,
                "photo": photos.get(item.photo_id),
                "error": item.error if item.state == IngestItem.State.FAILED else None,
            }
            for item in items
        ]
        created = any(result["created"] for result in results)
        return Response(
            {"job": _job_detail(request, job.id), "results": results},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PhotoDetailApi(APIView):
    @extend_schema(operation_id="photos_retrieve", responses={200: PhotoOutputSerializer, **ERRORS, **NOT_FOUND})
    def get(self, request: Request, photo_id: int) -> Response:
        photo = object_get(
            selectors.photo_list(caller=Caller.of(request)), Caller.of(request), noun="photo", id=photo_id
        )
        return Response(PhotoOutputSerializer(photo, context={"request": request}).data)

    @extend_schema(
        operation_id="photos_destroy",
        responses={204: None, **ERRORS, **NOT_FOUND},
        description="Deletes the photo, its faces (vectors and crops), its job items and its file.",
    )
    def delete(self, request: Request, photo_id: int) -> Response:
        services.photo_delete(
            photo=object_get(Photo.objects.all(), Caller.of(request), Scope.MANAGE, noun="photo", id=photo_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PhotoBulkInputSerializer(serializers.Serializer):
    photo_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=1000)

    class Meta:
        ref_name = "PhotoBulk"


def _photos_bulk(request: Request, scope: str) -> list[Photo]:
    """The photos a bulk operation names, all of them the caller's with `scope`: else a 404 naming the ids that are
    not (as for ids that do not exist), or a 403, and nothing changes."""
    serializer = PhotoBulkInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return selectors.photos_for(
        caller=Caller.of(request), photo_ids=serializer.validated_data["photo_ids"], scope=scope
    )


class PhotoBulkDeleteApi(APIView):
    scopes = {"POST": Scope.MANAGE}

    @extend_schema(
        operation_id="photos_bulk_delete",
        request=PhotoBulkInputSerializer,
        responses={
            200: inline_serializer(name="PhotoBulkDeleted", fields={"deleted": serializers.IntegerField()}),
            **ERRORS,
            **NOT_FOUND,
            **UNSUPPORTED_MEDIA_TYPE,
        },
        description="Deletes several photos as `DELETE photos/{id}/` does each. Any id unknown: 404, nothing deleted.",
    )
    def post(self, request: Request) -> Response:
        photos = _photos_bulk(request, Scope.MANAGE)
        return Response({"deleted": services.photos_delete(photos=photos)})


class PhotoBulkReprocessApi(APIView):
    scopes = {"POST": Scope.UPLOAD}

    @extend_schema(
        operation_id="photos_bulk_reprocess",
        request=PhotoBulkInputSerializer,
        responses={
            200: inline_serializer(
                name="PhotoBulkReprocessed",
                fields={
                    "queued": serializers.IntegerField(),
                    "jobs": serializers.ListField(child=serializers.IntegerField()),
                },
            ),
            **ERRORS,
            **NOT_FOUND,
            **UNSUPPORTED_MEDIA_TYPE,
        },
        description="Finds the faces of several photos again (a reprocess job per library; named faces keep their "
        "people). Any id unknown: 404, nothing queued.",
    )
    def post(self, request: Request) -> Response:
        photos = _photos_bulk(request, Scope.UPLOAD)
        jobs = ingest.photos_reprocess(photo_ids=[photo.id for photo in photos], user=Caller.of(request).user)
        return Response({"queued": len(photos), "jobs": [job.id for job in jobs]})


class PhotoImageApi(APIView):
    class FilterSerializer(serializers.Serializer):
        size = serializers.IntegerField(
            required=False, min_value=16, max_value=4096, help_text="longest side of a JPEG thumbnail, pixels"
        )

    @extend_schema(
        operation_id="photos_image",
        parameters=[FilterSerializer],
        responses={(200, "image/*"): OpenApiTypes.BINARY, **ERRORS, **NOT_FOUND},
        description="The stored file (or, with `size`, or for formats browsers cannot show, an upright JPEG).",
    )
    def get(self, request: Request, photo_id: int) -> HttpResponse:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        photo = object_get(Photo.objects.all(), Caller.of(request), noun="photo", id=photo_id)
        size = params.validated_data.get("size")
        extension = photo.file.name.rsplit(".", 1)[-1].lower()
        try:
            if size or extension not in BROWSER_FORMATS:
                response = HttpResponse(selectors.photo_rendered(photo=photo, size=size), content_type="image/jpeg")
            else:
                content_type = mimetypes.guess_type(photo.file.name)[0] or "application/octet-stream"
                response = FileResponse(photo_file_path(photo.file.name).open("rb"), content_type=content_type)
        except (OSError, EmbeddingsError) as exc:
            raise ApplicationError("The photo's file cannot be read.", {"id": photo.id}, status=404) from exc
        response["Cache-Control"] = "private, max-age=31536000, immutable"  # content-addressed, ids never reused
        response["ETag"] = f'"{photo.sha256}-{size or 0}"'
        return response


DRAW_ERRORS = error_responses(
    {
        409: "the box covers a face of the photo already (`extra.face` names it), or the photo is not processed",
        429: "over the upload rate, or the server is busy with other inferences; retry after `Retry-After`",
    }
)


class PhotoFaceDrawApi(APIView):
    throttle_classes = [*APIView.throttle_classes, WriteScopedRateThrottle]
    throttle_scope = "upload"  # it runs the networks, as an upload's processing does
    scopes = {"POST": Scope.UPLOAD}

    class InputSerializer(serializers.Serializer):
        box = serializers.ListField(
            child=serializers.FloatField(), min_length=4, max_length=4,
            help_text="[x1, y1, x2, y2] in pixels of the upright photo, like every face's `box`",
        )  # fmt: skip
        person_id = serializers.IntegerField(
            required=False, allow_null=True, min_value=1, help_text="name the face at once (needs `manage`)"
        )

        class Meta:
            ref_name = "FaceDraw"

    @extend_schema(
        operation_id="photos_faces_draw",
        request=InputSerializer,
        responses={
            201: FaceOutputSerializer,
            **ERRORS,
            **NOT_FOUND,
            **DRAW_ERRORS,
            **UNSUPPORTED_MEDIA_TYPE,
        },
        description=(
            "Add a face the detector missed: the face inside `box` is landmarked (MTCNN's O-Net, or the box's "
            "geometry when O-Net sees no face there: then `score` is 0), aligned and encoded like a detected one, "
            "and stored with `source` drawn. A box outside the photo, degenerate, or under FACESEARCH_MIN_FACE_SIZE "
            "pixels a side is a 400."
        ),
    )
    def post(self, request: Request, photo_id: int) -> Response:
        caller = Caller.of(request)
        photo = object_get(Photo.objects.all(), caller, Scope.UPLOAD, noun="photo", id=photo_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        person = None
        if (person_id := serializer.validated_data.get("person_id")) is not None:
            people = Person.objects.filter(library_id=photo.library_id)
            person = object_get(people, caller, Scope.MANAGE, noun="person", id=person_id)
        face = drawing.face_draw(caller=caller, photo=photo, box=serializer.validated_data["box"], person=person)
        face = selectors.face_list(caller=caller).get(id=face.id)
        return Response(FaceOutputSerializer(face, context={"request": request}).data, status=status.HTTP_201_CREATED)


# -------------------------------------------------------------------------------------------------------- faces


class FaceListApi(APIView):
    class FilterSerializer(PageFilterSerializer):
        person = serializers.IntegerField(required=False)
        unassigned = serializers.BooleanField(required=False, allow_null=True, default=None)
        photo = serializers.IntegerField(required=False)
        model_id = serializers.CharField(required=False)
        assignment = serializers.ChoiceField(choices=Face.Assignment.choices, required=False)
        source = serializers.ChoiceField(choices=Face.Source.choices, required=False, help_text="detected or drawn")
        awaiting_name = serializers.BooleanField(
            required=False, allow_null=True, default=None,
            help_text="true: the Unknown faces (unassigned, not hidden, not ignored); false: every other face",
        )  # fmt: skip
        hidden = serializers.BooleanField(
            required=False, allow_null=True, default=None,
            help_text="true: hidden faces only (not a face, or below the quality gate and not named); false: shown",
        )  # fmt: skip
        review = serializers.ChoiceField(choices=Face.Review.choices, required=False, help_text="a person's verdict")
        ordering = serializers.ChoiceField(
            choices=[f"{sign}{field}" for field in ("id", "created_at", "score", "box_size") for sign in ("", "-")],
            required=False,
            help_text="default: by photo, then position in the photo",
        )

    @extend_schema(
        operation_id="faces_list",
        parameters=[FilterSerializer],
        responses={200: page_schema(FaceOutputSerializer), **ERRORS, **PAGE_NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        return list_response(
            request,
            self,
            filter_serializer_class=self.FilterSerializer,
            selector=selectors.face_list,
            output_serializer_class=FaceOutputSerializer,
        )


class FaceDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        person = serializers.IntegerField(
            allow_null=True, min_value=1, help_text="a person of the face's library, or null to unassign"
        )

        class Meta:
            ref_name = "FaceAssign"

    @extend_schema(operation_id="faces_retrieve", responses={200: FaceOutputSerializer, **ERRORS, **NOT_FOUND})
    def get(self, request: Request, face_id: int) -> Response:
        caller = Caller.of(request)
        face = object_get(selectors.face_list(caller=caller), caller, noun="face", id=face_id)
        return Response(FaceOutputSerializer(face, context={"request": request}).data)

    @extend_schema(
        operation_id="faces_assign",
        request=InputSerializer,
        responses={200: FaceOutputSerializer, **ERRORS, **NOT_FOUND, **UNSUPPORTED_MEDIA_TYPE},
        description="Assign the face to a person (manually), or unassign it with null.",
    )
    def patch(self, request: Request, face_id: int) -> Response:
        caller = Caller.of(request)
        face = object_get(Face.objects.only("id", "library_id"), caller, Scope.MANAGE, noun="face", id=face_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        person_id = serializer.validated_data["person"]
        if person_id is None:
            faces_unassign(caller=caller, face_ids=[face.id], library_id=face.library_id)
        else:
            person = object_get(Person.objects.filter(library_id=face.library_id), caller, noun="person", id=person_id)
            faces_assign(caller=caller, person=person, face_ids=[face.id], how=Face.Assignment.MANUAL)
        face = selectors.face_list(caller=caller).get(id=face.id)
        return Response(FaceOutputSerializer(face, context={"request": request}).data)


class FaceReviewApi(APIView):
    class InputSerializer(serializers.Serializer):
        review = serializers.ChoiceField(
            choices=[*Face.Review.values, ""],
            help_text="not_face: not a face, left out everywhere (a named face loses its name); ignored: a real face "
            "nobody wants to name (unnamed faces only); face: shown although the quality gate hid it; empty: undo",
        )

        class Meta:
            ref_name = "FaceReview"

    @extend_schema(
        operation_id="faces_review",
        request=InputSerializer,
        responses={
            200: FaceOutputSerializer,
            **ERRORS,
            **NOT_FOUND,
            **UNSUPPORTED_MEDIA_TYPE,
            **error_responses({409: "ignoring a named face: remove the name first"}),
        },
        description="Record a person's verdict on a face (Not a face, Ignore, Keep), or undo it; kept across "
        "reprocessing.",
    )
    def post(self, request: Request, face_id: int) -> Response:
        caller = Caller.of(request)
        face = object_get(Face.objects.only("id", "library_id"), caller, Scope.MANAGE, noun="face", id=face_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review.face_review(caller=caller, face_id=face.id, review=serializer.validated_data["review"])
        face = selectors.face_list(caller=caller).get(id=face.id)
        return Response(FaceOutputSerializer(face, context={"request": request}).data)


class FaceCropApi(APIView):
    @extend_schema(operation_id="faces_crop", responses={**IMAGE, **ERRORS, **NOT_FOUND})
    def get(self, request: Request, face_id: int) -> HttpResponse:
        crop = selectors.face_crop(caller=Caller.of(request), face_id=face_id)
        if crop is None:
            raise ApplicationError("No such face.", {"id": face_id}, status=404)
        response = HttpResponse(crop, content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=3600"  # a re-encode rewrites the crop under the same id
        return response


# --------------------------------------------------------------------------------------------------------- jobs


class JobListApi(APIView):
    class FilterSerializer(PageFilterSerializer):
        state = serializers.ChoiceField(choices=IngestJob.State.choices, required=False)
        source = serializers.ChoiceField(choices=IngestJob.Source.choices, required=False)

    @extend_schema(
        operation_id="jobs_list",
        parameters=[FilterSerializer],
        responses={200: page_schema(JobOutputSerializer), **ERRORS, **PAGE_NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        return list_response(
            request,
            self,
            filter_serializer_class=self.FilterSerializer,
            selector=selectors.job_list,
            output_serializer_class=JobOutputSerializer,
        )


class JobDetailApi(APIView):
    @extend_schema(operation_id="jobs_retrieve", responses={200: JobDetailOutputSerializer, **ERRORS, **NOT_FOUND})
    def get(self, request: Request, job_id: int) -> Response:
        return Response(_job_detail(request, job_id))


class JobItemListApi(APIView):
    class FilterSerializer(PageFilterSerializer):
        state = serializers.ChoiceField(choices=IngestItem.State.choices, required=False)

    @extend_schema(
        operation_id="jobs_items",
        parameters=[FilterSerializer],
        responses={200: page_schema(ItemOutputSerializer), **ERRORS, **NOT_FOUND},
    )
    def get(self, request: Request, job_id: int) -> Response:
        def items(caller: Caller, filters: dict) -> QuerySet[IngestItem]:  # an unknown job: 404 once filters are valid
            job = object_get(IngestJob.objects.all(), caller, noun="job", id=job_id)
            return selectors.job_items(job=job, state=filters.get("state"))

        return list_response(
            request,
            self,
            filter_serializer_class=self.FilterSerializer,
            selector=items,
            output_serializer_class=ItemOutputSerializer,
        )


class JobRetryApi(APIView):
    scopes = {"POST": Scope.UPLOAD}

    @extend_schema(
        operation_id="jobs_retry",
        request=None,
        responses={
            200: inline_serializer(
                name="JobRetry", fields={"retried": serializers.IntegerField(), "job": JobDetailOutputSerializer()}
            ),
            **ERRORS,
            **NOT_FOUND,
        },
        description="Queue the job's failed items again (a refused upload cannot be retried: its bytes were not kept).",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = object_get(IngestJob.objects.all(), Caller.of(request), Scope.UPLOAD, noun="job", id=job_id)
        retried = ingest.job_retry(job=job)
        return Response({"retried": retried, "job": _job_detail(request, job_id)})
