"""Who may see what: libraries (the unit of isolation), their members with roles, applications' API keys, the audit
log of identity operations and the receipts of erasures."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models


class Library(models.Model):
    """Photos, faces, people and jobs belong to one library; search compares only within the libraries a caller may
    read."""

    name = models.CharField(max_length=200)
    personal_for = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="personal_library",
        help_text="the user this library was made for when they joined: where their uploads go by default",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "libraries"

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    VIEWER = "viewer"  # read and search
    EDITOR = "editor"  # also upload, name, merge, delete
    OWNER = "owner"  # also members, API keys, the audit log, erasure of the library


class Membership(models.Model):
    library = models.ForeignKey(Library, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["library_id", "user_id"]
        constraints = [models.UniqueConstraint(fields=["library", "user"], name="membership_unique_user")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.library}"


class Scope(models.TextChoices):
    """What a request may do in a library; a role grants several (`access.ROLE_SCOPES`), a key the ones it names."""

    READ = "read"
    UPLOAD = "upload"
    SEARCH = "search"  # search, identify, verify
    MANAGE = "manage"  # name, merge, assign, delete


class ApiKey(models.Model):
    """An application's key to one library: the secret is shown once and stored only as its sha256."""

    library = models.ForeignKey(Library, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="public part of the key, to find its row")
    digest = models.CharField(max_length=64, help_text="sha256 of the whole key")
    scopes = ArrayField(models.CharField(max_length=16, choices=Scope.choices))
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditEntry(models.Model):
    """One identity operation: who (kept as text too, so it outlives the account), when, what kind, in which
    libraries, how many results. Never an image or a vector."""

    class Kind(models.TextChoices):
        SEARCH = "search"
        IDENTIFY = "identify"
        VERIFY = "verify"
        ENROL = "enrol"
        ASSIGN = "assign"
        UNASSIGN = "unassign"
        MERGE = "merge"
        DELETE = "delete"
        ERASURE = "erasure"
        SUGGESTIONS = "suggestions"
        NEVER_MATCH = "never_match"
        REJECT = "reject"  # "not this person", and its undo (detail: undo)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    username = models.CharField(max_length=150, blank=True, help_text="the acting user, kept when they are deleted")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL)
    api_key_name = models.CharField(max_length=100, blank=True)
    library_ids = ArrayField(
        models.IntegerField(), default=list, help_text="the libraries the operation read or changed"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    result_count = models.PositiveIntegerField(default=0)
    best_distance = models.FloatField(null=True, blank=True)
    succeeded = models.BooleanField(default=True)
    detail = models.JSONField(default=dict, blank=True, help_text="parameters and ids, e.g. face_id, person_ids, limit")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [GinIndex(fields=["library_ids"], name="audit_library_ids_gin")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.username or 'anonymous'} at {self.created_at:%Y-%m-%d %H:%M}"


class ErasureReceipt(models.Model):
    """What an erasure removed and what its verification scan found: counts and ids, no biometric data."""

    class Subject(models.TextChoices):
        PERSON = "person"
        LIBRARY = "library"

    subject = models.CharField(max_length=16, choices=Subject.choices)
    subject_id = models.IntegerField()
    library_id = models.IntegerField(help_text="not a foreign key: the receipt outlives the library")
    library_name = models.CharField(max_length=200)
    requested_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    removed = models.JSONField(help_text="counts: faces, photos, files, thumbnails, people, jobs, api_keys, ...")
    verification = models.JSONField(help_text="the scan after the erasure: what was looked for and what was found")
    verified = models.BooleanField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"erasure of {self.subject} {self.subject_id} ({self.created_at:%Y-%m-%d})"
