"""Admin for photos (with their face boxes drawn), faces (crops; assign to a person) and ingest jobs (progress).

Rows change only through the services: pages are read-only, actions and deletions call the service functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from facesearch.libraries.admin import LibraryScopedAdmin, admin_caller
from facesearch.libraries.models import Library, Scope
from facesearch.people.models import Person
from facesearch.people.services import faces_assign, faces_unassign, person_create
from facesearch.photos import ingest, selectors, services
from facesearch.photos.models import Face, IngestItem, IngestJob, Photo

BOX_COLOURS = ("#22c55e", "#3b82f6", "#f59e0b", "#ef4444", "#a855f7", "#14b8a6")


def _thumbnail(url: str, size: int) -> str:
    return format_html(
        '<img src="{}" loading="lazy" alt="" style="max-width:{}px;max-height:{}px;border-radius:3px">', url, size, size
    )


def _photo_image_url(photo_id: int, size: int) -> str:
    return f"{reverse('photos:photo-image', args=[photo_id])}?size={size}"


def _face_crop(face: Face, size: int = 64) -> str:
    return _thumbnail(reverse("photos:face-crop", args=[face.id]), size)


def _annotation_column(name: str, *, description: str | None = None) -> Callable[[admin.ModelAdmin, Model], Any]:
    """A changelist column showing the queryset's annotation `name`, sortable by it: `list_display` takes only model
    fields by name, and counts are annotations."""
    return admin.display(description=description or name, ordering=name)(lambda self, obj: getattr(obj, name))


def photo_with_boxes(photo: Photo, faces: list[Face], *, size: int = 1024) -> str:
    """The photo with an SVG overlay in the photo's own pixel coordinates: each face's box, index and person."""
    if not photo.width or not photo.height:
        return _thumbnail(_photo_image_url(photo.id, size), size)
    stroke = max(2.0, max(photo.width, photo.height) / 300)
    font = max(12.0, max(photo.width, photo.height) / 40)
    shapes = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="{}" stroke-width="{}"/>'
        '<text x="{}" y="{}" fill="{}" font-size="{}" font-family="sans-serif" paint-order="stroke" '
        'stroke="#000" stroke-width="{}">{}</text>',
        (
            (
                x1, y1, x2 - x1, y2 - y1, colour, stroke,
                x1, max(font, y1 - stroke), colour, font, stroke / 2,
                f"{face.index}: {face.person.name}" if face.person else str(face.index),
            )
            for face in faces
            for (x1, y1, x2, y2), colour in [(face.box, BOX_COLOURS[face.index % len(BOX_COLOURS)])]
        ),
    )  # fmt: skip
    return format_html(
        '<div style="position:relative;display:inline-block;max-width:{}px">'
        '<img src="{}" alt="photo {}" style="display:block;max-width:100%;height:auto">'
        '<svg viewBox="0 0 {} {}" preserveAspectRatio="none" role="img" aria-label="{} faces" '
        'style="position:absolute;left:0;top:0;width:100%;height:100%">{}</svg></div>',
        size, _photo_image_url(photo.id, size), photo.id, photo.width, photo.height, len(faces), shapes,
    )  # fmt: skip


class FaceInline(admin.TabularInline):
    model = Face
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("crop_thumbnail", "index", "person", "assignment", "score", "box_size", "sharpness", "model_id")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Face]:
        return super().get_queryset(request).defer(*selectors.FACE_LIST_FIELDS_DEFERRED).select_related("person")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="crop")
    def crop_thumbnail(self, face: Face) -> str:
        return _face_crop(face)


@admin.register(Photo)
class PhotoAdmin(LibraryScopedAdmin):
    list_display = ("thumbnail", "id", "original_name", "status", "face_count", "taken_at", "created_at", "uploaded_by")
    list_display_links = ("thumbnail", "id", "original_name")
    list_filter = ("library", "status", "model_id", "created_at")
    search_fields = ("original_name", "^sha256")
    date_hierarchy = "created_at"
    actions = ("reprocess",)
    inlines = (FaceInline,)
    fields = ("preview", "library", "original_name", "sha256", "file", "size", "width", "height", "taken_at",
              "uploaded_by", "status", "error", "model_id", "created_at", "processed_at")  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Photo]:
        photos = super().get_queryset(request).select_related("uploaded_by", "library")
        return photos.annotate(face_count=Count("faces"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # photos arrive through the upload API, the web UI or `manage.py ingest`

    @admin.display(description="photo")
    def thumbnail(self, photo: Photo) -> str:
        return _thumbnail(_photo_image_url(photo.id, 96), 96)

    face_count = _annotation_column("face_count", description="faces")

    @admin.display(description="photo and its faces")
    def preview(self, photo: Photo) -> str:
        faces = list(
            Face.objects.filter(photo=photo).defer(*selectors.FACE_LIST_FIELDS_DEFERRED).select_related("person")
        )
        return photo_with_boxes(photo, faces)

    @admin.action(description="Re-encode the selected photos (as a job)")
    def reprocess(self, request: HttpRequest, queryset: QuerySet[Photo]) -> None:
        for job in ingest.photos_reprocess(photo_ids=list(queryset.values_list("id", flat=True)), user=request.user):
            url = reverse("admin:photos_ingestjob_change", args=[job.id])
            self.message_user(
                request, format_html('Queued {} photos: <a href="{}">job {}</a>.', job.items.count(), url, job.id)
            )

    def delete_model(self, request: HttpRequest, obj: Photo) -> None:
        services.photo_delete(photo=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Photo]) -> None:
        for photo in queryset:
            services.photo_delete(photo=photo)


class AssignForm(forms.Form):
    person = forms.ModelChoiceField(queryset=Person.objects.none(), required=False, label="Existing person")
    new_person = forms.CharField(max_length=200, required=False, label="…or a new person named")

    def __init__(self, *args, library_id: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = Person.objects.filter(library_id=library_id).order_by("name")

    def clean(self) -> dict:
        data = super().clean()
        if bool(data.get("person")) == bool((data.get("new_person") or "").strip()):
            raise forms.ValidationError("Choose an existing person or name a new one (not both).")
        return data


@admin.register(Face)
class FaceAdmin(LibraryScopedAdmin):
    list_display = ("crop_thumbnail", "id", "photo_link", "index", "person", "assignment", "score", "box_size",
                    "sharpness", "yaw", "model_id")  # fmt: skip
    list_display_links = ("crop_thumbnail", "id")
    list_filter = ("library", "model_id", "source", "assignment", ("person", admin.EmptyFieldListFilter),
                   ("person", admin.RelatedOnlyFieldListFilter))  # fmt: skip
    search_fields = ("person__name", "photo__original_name", "=photo__id")
    list_select_related = ("person", "photo")
    actions = ("assign_to_person", "unassign")
    fields = ("crop_large", "photo_preview", "photo", "index", "person", "assignment", "assignment_distance",
              "source", "score", "box", "landmarks", "box_size", "sharpness", "yaw", "pitch", "roll", "model_id",
              "created_at")  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Face]:
        return super().get_queryset(request).defer(*selectors.FACE_LIST_FIELDS_DEFERRED)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # faces come from encoding photos

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a face goes with its photo; a wrong face is unassigned, not deleted

    @admin.display(description="crop")
    def crop_thumbnail(self, face: Face) -> str:
        return _face_crop(face)

    @admin.display(description="crop")
    def crop_large(self, face: Face) -> str:
        return _face_crop(face, 160)

    @admin.display(description="in its photo")
    def photo_preview(self, face: Face) -> str:
        return photo_with_boxes(face.photo, [face], size=640)

    @admin.display(description="photo", ordering="photo")
    def photo_link(self, face: Face) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:photos_photo_change", args=[face.photo_id]), face.photo
        )

    @admin.action(description="Assign the selected faces to a person…")
    def assign_to_person(self, request: HttpRequest, queryset: QuerySet[Face]) -> TemplateResponse | None:
        libraries = sorted(set(queryset.values_list("library_id", flat=True)))
        if len(libraries) != 1 or not admin_caller(request).may(Scope.MANAGE, libraries[0]):
            self.message_user(request, "Select faces of one library you may manage.", messages.ERROR)
            return None
        form = AssignForm(request.POST if "apply" in request.POST else None, library_id=libraries[0])
        if form.is_valid():
            person = form.cleaned_data["person"] or person_create(
                library=Library.objects.get(id=libraries[0]), name=form.cleaned_data["new_person"]
            )
            count = faces_assign(
                person=person, face_ids=list(queryset.values_list("id", flat=True)), caller=admin_caller(request)
            )
            self.message_user(request, f"{count} faces assigned to {person.name}.", messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/photos/face/assign_person.html",
            {
                **self.admin_site.each_context(request),
                "title": "Assign faces to a person",
                "opts": self.model._meta,
                "faces": queryset.select_related("person"),
                "form": form,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description="Unassign the selected faces")
    def unassign(self, request: HttpRequest, queryset: QuerySet[Face]) -> None:
        caller = admin_caller(request)
        count = sum(
            faces_unassign(
                face_ids=list(queryset.filter(library_id=library_id).values_list("id", flat=True)),
                library_id=library_id,
                caller=caller,
            )
            for library_id in set(queryset.values_list("library_id", flat=True))
            if caller.may(Scope.MANAGE, library_id)
        )
        self.message_user(request, f"{count} faces unassigned.", messages.SUCCESS)


class FailedItemInline(admin.TabularInline):
    """Only the failed items with their reasons: a folder job can hold tens of thousands of items."""

    model = IngestItem
    verbose_name_plural = "failed items"
    extra = 0
    can_delete = False
    fields = ("name", "error", "photo", "updated_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[IngestItem]:
        return super().get_queryset(request).filter(state=IngestItem.State.FAILED)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(IngestJob)
class IngestJobAdmin(LibraryScopedAdmin):
    list_display = ("id", "source", "path", "state", "progress_bar", "total", "done", "skipped", "failed", "pending",
                    "created_by", "created_at", "finished_at")  # fmt: skip
    list_filter = ("library", "state", "source", "created_at")
    search_fields = ("path",)
    actions = ("retry",)
    inlines = (FailedItemInline,)
    fields = ("source", "path", "state", "progress_bar", "counts", "all_items", "created_by", "created_at",
              "started_at", "finished_at")  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[IngestJob]:
        return selectors.job_list(caller=admin_caller(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs come from uploads, `manage.py ingest` and `manage.py reprocess`

    @admin.display(description="progress")
    def progress_bar(self, job: IngestJob) -> str:  # `finished` and `progress` as `selectors.job_list` computes them
        return format_html(
            '<progress value="{}" max="{}" title="{}/{}" style="width:8em"></progress> {}%',
            job.finished, job.total or 1, job.finished, job.total, round(100 * job.progress),
        )  # fmt: skip

    total = _annotation_column("total")
    done = _annotation_column("done")
    skipped = _annotation_column("skipped")
    failed = _annotation_column("failed")
    pending = _annotation_column("pending")

    @admin.display(description="items")
    def counts(self, job: IngestJob) -> str:
        return f"{job.total} files: {job.done} done, {job.skipped} skipped, {job.failed} failed, {job.pending} pending"

    @admin.display(description="all items")
    def all_items(self, job: IngestJob) -> str:
        url = f"{reverse('admin:photos_ingestitem_changelist')}?job__id__exact={job.id}"
        return format_html('<a href="{}">the {} items of this job</a>', url, job.total)

    @admin.action(description="Retry the failed items of the selected jobs")
    def retry(self, request: HttpRequest, queryset: QuerySet[IngestJob]) -> None:
        retried = sum(ingest.job_retry(job=job) for job in queryset)
        self.message_user(request, f"{retried} failed items queued again.", messages.SUCCESS)


@admin.register(IngestItem)
class IngestItemAdmin(LibraryScopedAdmin):
    library_field = "job__library"

    list_display = ("name", "job", "state", "error", "photo", "updated_at")
    list_filter = ("state", "job__source", "job")
    search_fields = ("name", "error")
    list_select_related = ("job", "photo")
    fields = ("job", "name", "state", "error", "photo", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
