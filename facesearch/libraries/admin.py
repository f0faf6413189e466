"""Libraries in the admin: members, API keys (the key shown once, on creation), the audit log and erasure receipts.

Every admin page of rows that belong to a library lists only the libraries the staff user is a member of;
superusers see all (`LibraryScopedAdmin`). Deleting a library here is an erasure, with its receipt.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from facesearch.core.errors import ApplicationError
from facesearch.libraries import services
from facesearch.libraries.access import OWN, Caller, in_libraries, library_id_of
from facesearch.libraries.erasure import library_erase
from facesearch.libraries.models import ApiKey, AuditEntry, ErasureReceipt, Library, Membership, Scope


def admin_caller(request: HttpRequest) -> Caller:
    """The admin's caller: a superuser sees every library, other staff the libraries they are members of."""
    return Caller(user=request.user, every_library=request.user.is_superuser)


class LibraryScopedAdmin(admin.ModelAdmin):
    """Rows of the libraries the staff user may read; changes and deletions need `manage` in the row's library."""

    library_field = "library"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return in_libraries(super().get_queryset(request), admin_caller(request), field=self.library_field)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or self._may(request, Scope.MANAGE, obj))

    def _may(self, request: HttpRequest, scope: str, obj) -> bool:
        return admin_caller(request).may(scope, library_id_of(obj, self.library_field))


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    can_delete = False
    fields = ("name", "prefix", "scopes", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # keys are made on the API key page, which shows the key once


@admin.register(Library)
class LibraryAdmin(LibraryScopedAdmin):
    library_field = "id"
    list_display = ("name", "id", "personal_for", "created_at")
    search_fields = ("name", "memberships__user__username")
    fields = ("name", "personal_for", "created_at")
    readonly_fields = ("personal_for", "created_at")
    inlines = (MembershipInline, ApiKeyInline)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or admin_caller(request).may(OWN, obj.id))

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        allowed = admin.ModelAdmin.has_delete_permission(self, request, obj)
        return allowed and (obj is None or admin_caller(request).may(OWN, obj.id))

    def save_model(self, request: HttpRequest, obj: Library, form: forms.ModelForm, change: bool) -> None:
        if change:
            services.library_update(library=obj, name=form.cleaned_data["name"])
        else:
            obj.pk = services.library_create(name=form.cleaned_data["name"], owner=request.user).pk

    def get_deleted_objects(self, objs, request: HttpRequest) -> tuple[list[str], dict, set, list]:
        """The confirmation page lists what the erasure removes; the PROTECT foreign keys that keep rows from being
        deleted any other way do not block it (`library_erase` deletes them in order)."""
        summary = [
            f"{library.name}: every photo (and its file), face, person, job, API key and membership" for library in objs
        ]
        return summary, {}, set(), []

    def delete_model(self, request: HttpRequest, obj: Library) -> None:
        receipt = library_erase(library=obj, caller=admin_caller(request))
        self.message_user(request, f"Erased {obj.name}: {receipt.removed}; verified: {receipt.verified}.")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Library]) -> None:
        for library in queryset:
            self.delete_model(request, library)


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ("library", "name", "scopes", "expires_at")


@admin.register(ApiKey)
class ApiKeyAdmin(LibraryScopedAdmin):
    form = ApiKeyForm
    list_display = ("name", "library", "prefix", "scopes", "expires_at", "last_used_at", "revoked_at", "created_by")
    list_filter = ("library", "revoked_at")
    search_fields = ("name", "prefix")
    actions = ("revoke",)

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("library", "name", "scopes", "expires_at")
        return ("library", "name", "prefix", "scopes", "expires_at", "created_by", "created_at", "last_used_at",
                "revoked_at")  # fmt: skip

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple[str, ...]:
        return () if obj is None else self.get_fields(request, obj)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "library":
            kwargs["queryset"] = in_libraries(Library.objects.all(), admin_caller(request), OWN, field="id")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        try:
            row, key = services.api_key_create(
                library=data["library"], name=data["name"], scopes=data["scopes"], created_by=request.user,
                expires_at=data["expires_at"],
            )  # fmt: skip
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk = row.pk
        self.message_user(request, f"The key (shown only now, copy it): {key}", messages.WARNING)

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            services.api_key_revoke(key=key)
        self.message_user(request, f"{queryset.count()} keys revoked.", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records nobody edits or deletes, not even a superuser."""

    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """A superuser reads every entry; other staff the entries of the libraries they own."""

    list_display = ("created_at", "username", "api_key_name", "kind", "library_ids", "result_count", "best_distance",
                    "succeeded")  # fmt: skip
    list_filter = ("kind", "succeeded", "created_at")
    search_fields = ("username", "api_key_name")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "username", "user", "api_key_name", "kind", "library_ids", "result_count",
                       "best_distance", "succeeded", "detail")  # fmt: skip
    fields = readonly_fields

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEntry]:
        entries = super().get_queryset(request)
        if request.user.is_superuser:
            return entries
        return entries.filter(
            library_ids__overlap=list(admin_caller(request).library_ids(OWN).values_list("id", flat=True))
        )


@admin.register(ErasureReceipt)
class ErasureReceiptAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "subject", "subject_id", "library_name", "requested_by", "verified")
    list_filter = ("subject", "verified")
    readonly_fields = ("created_at", "subject", "subject_id", "library_id", "library_name", "requested_by", "removed",
                       "verification", "verified")  # fmt: skip
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ErasureReceipt]:
        receipts = super().get_queryset(request)
        if request.user.is_superuser:
            return receipts
        return receipts.filter(library_id__in=admin_caller(request).library_ids(OWN))
