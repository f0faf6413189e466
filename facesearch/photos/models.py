from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

EMBEDDING_DIM = 128  # the encoders the product runs are 128-D; another size needs another column (checks.py)


def photo_upload_to(photo: "Photo", filename: str) -> str:
    """Content-addressed paths: the same bytes always land at the same place."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"photos/{photo.sha256[:2]}/{photo.sha256[2:4]}/{photo.sha256}.{extension}"


class Photo(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        DONE = "done"
        FAILED = "failed"

    library = models.ForeignKey("libraries.Library", on_delete=models.PROTECT, related_name="photos")
    file = models.FileField(upload_to=photo_upload_to, max_length=255)
    original_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, help_text="of the file: one photo per bytes and library")
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True, help_text="EXIF capture time")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(
        default=timezone.now, help_text="when the status last changed: recovery re-queues photos stuck for too long"
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="processing runs started since the photo was last queued; a worker that dies counts"
    )
    model_id = models.CharField(max_length=64, blank=True, help_text="encoder that produced this photo's faces")
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["library", "sha256"], name="photo_unique_bytes_per_library")]
        indexes = [
            models.Index(fields=["status", "status_changed_at"]),
            models.Index(fields=["library", "-created_at"]),
            models.Index(fields=["sha256"]),
        ]

    def __str__(self) -> str:
        return self.original_name or self.sha256[:12]


class Face(models.Model):
    class Assignment(models.TextChoices):
        MANUAL = "manual"
        ENROLLED = "enrolled"
        AUTOMATIC = "automatic"

    class Source(models.TextChoices):
        DETECTED = "detected"
        DRAWN = "drawn"  # a box a person drew around a face the detector missed (`photos.drawing`)

    class Review(models.TextChoices):
        FACE = "face"  # a person kept it although it failed the quality gate
        NOT_FACE = "not_face"  # not a face (an ornament, a pattern): left out everywhere
        IGNORED = "ignored"  # a real face nobody wants to name: leaves Unknown faces, suggestions and naming

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="faces")
    library = models.ForeignKey(
        "libraries.Library",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the photo's library, kept on the face so the nearest-neighbour scan filters without a join",
    )
    index = models.PositiveSmallIntegerField(help_text="position within the photo, most prominent first")
    box = models.JSONField(help_text="[x1, y1, x2, y2] in photo pixels")
    landmarks = models.JSONField(help_text="5 [x, y] points: eyes, nose, mouth corners")
    score = models.FloatField(help_text="detection confidence; for a drawn face O-Net's, 0 when it saw no face there")
    source = models.CharField(
        max_length=16, choices=Source.choices, default=Source.DETECTED, help_text="how the face was found"
    )
    box_size = models.FloatField()
    sharpness = models.FloatField()
    yaw = models.FloatField()
    pitch = models.FloatField()
    roll = models.FloatField()
    crop = models.BinaryField(help_text="aligned face thumbnail, JPEG; kept in the row so deletion leaves no file")
    model_id = models.CharField(max_length=64)
    embedding = VectorField(dimensions=EMBEDDING_DIM)
    person = models.ForeignKey("people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="faces")
    assignment = models.CharField(max_length=16, choices=Assignment.choices, blank=True)
    assignment_distance = models.FloatField(null=True, blank=True)
    searchable = models.BooleanField(
        default=True, help_text="false for faces of a person marked never-match: no search or naming returns them"
    )
    review = models.CharField(
        max_length=16, choices=Review.choices, blank=True, default="",
        help_text="a person's verdict on the detection; kept across reprocessing and re-encoding",
    )  # fmt: skip
    quality_passed = models.BooleanField(
        default=True, help_text="passed the quality gate (`embeddings.quality.Gate`) when stored; drawn: true"
    )
    # Derived by the database from the columns above, so no service has to keep it in step: a face nobody named is
    # hidden when a person said it is not a face, or when it failed the quality gate and nobody said it is a face.
    # A named face is never hidden. Hidden faces are kept but left out of search, naming, grouping and Unknown faces.
    hidden = models.GeneratedField(
        expression=Q(person__isnull=True) & (Q(review="not_face") | (Q(quality_passed=False) & ~Q(review="face"))),
        output_field=models.BooleanField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["photo_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["photo", "model_id", "index"], name="face_unique_per_photo_model"),
            models.CheckConstraint(
                condition=models.Q(person__isnull=True) | ~models.Q(assignment=""), name="face_assigned_has_how"
            ),
        ]
        indexes = [
            # Euclidean on L2-normalised vectors: the distance the encoders' thresholds are calibrated in.
            HnswIndex(
                name="face_embedding_hnsw_l2",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_l2_ops"],
            ),
            models.Index(fields=["model_id", "person"]),
            # The exact scans of `face_nearest` for small candidate sets. Its searchable faces with their vectors: an
            # index-only scan, no heap page read per candidate (`selectors.EXACT_SCAN_BELOW` says what it measured).
            models.Index(
                fields=["library", "model_id"],
                include=["id", "embedding"],
                name="face_library_vectors",
                condition=models.Q(searchable=True, hidden=False),
            ),
            # Counting candidates (`face_nearest_exact`), and ingest's exact scan (it includes unsearchable faces).
            models.Index(fields=["library", "model_id"], name="face_library_model"),
            # Its confirmed faces (identification).
            models.Index(
                fields=["library", "model_id"],
                name="face_library_confirmed",
                condition=models.Q(person__isnull=False, assignment__in=["manual", "enrolled"], searchable=True),
            ),
        ]

    def __str__(self) -> str:
        return f"face {self.index} of {self.photo}"


CONFIRMED = (Face.Assignment.MANUAL, Face.Assignment.ENROLLED)
"""Assignments a person made (not identification's guesses): identification compares against these faces only."""


def awaiting_name(prefix: str = "") -> Q:
    """Faces waiting for a name: unassigned, not hidden, not ignored (unassigned faces are searchable). Unknown faces,
    suggestions, grouping and automatic naming are about these; `prefix` reaches them through a relation ("face__")."""
    return Q(**{f"{prefix}person__isnull": True, f"{prefix}searchable": True, f"{prefix}hidden": False}) & ~Q(
        **{f"{prefix}review": Face.Review.IGNORED}
    )


class IngestJob(models.Model):
    """A batch of work (an upload, a folder, a re-encode) whose progress users follow."""

    class Source(models.TextChoices):
        UPLOAD = "upload"
        FOLDER = "folder"
        REPROCESS = "reprocess"

    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        INTERRUPTED = "interrupted"

    library = models.ForeignKey("libraries.Library", on_delete=models.PROTECT, related_name="jobs")
    source = models.CharField(max_length=16, choices=Source.choices)
    path = models.TextField(blank=True, help_text="folder for folder jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} job {self.pk}"


class IngestItem(models.Model):
    """One file of a job; its state follows the photo's processing. Counts and reasons derive from these rows."""

    class State(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        SKIPPED = "skipped"
        FAILED = "failed"

    job = models.ForeignKey(IngestJob, on_delete=models.CASCADE, related_name="items")
    name = models.TextField(help_text="file name or path relative to the job's folder")
    photo = models.ForeignKey(Photo, null=True, blank=True, on_delete=models.SET_NULL, related_name="ingest_items")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["job", "name"], name="ingest_item_unique_name")]
        indexes = [models.Index(fields=["photo", "state"])]

    def __str__(self) -> str:
        return self.name
