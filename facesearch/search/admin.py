"""The audit log in the admin: read-only, for everyone (no add, change or delete, not even for superusers)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from facesearch.search.models import AuditLog


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "result_count", "best_distance")
    list_filter = ("kind", "created_at")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "user", "kind", "result_count", "best_distance", "detail")
    fields = readonly_fields
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False
